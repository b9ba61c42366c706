using System.CommandLine;
using System.Runtime.Versioning;
using System.Text.Json;
using Alto.Agent.Jobs;
using Alto.Agent.Recall;
using Alto.Agent.Stubs;
using Alto.Tiering;

namespace Alto.Agent.Cli;

/// <summary>
/// <c>alto-agent tier --job FILE</c>: runs one tiering job from a JSON file, the way a job from
/// the management service runs (for operators tiering by hand, and for crash tests). The file
/// holds the target's secrets: keep it private. Unfinished work of an earlier run is settled first.
/// </summary>
public static class TierCommand
{
    private static readonly JsonSerializerOptions JobJson = new(JsonSerializerDefaults.Web);

    public static Command Create()
    {
        var jobFile = new Option<FileInfo>("--job") { Description = "The job as JSON: jobId, tenantId, targetId, target {kind, path|bucket|container, ...}, files [{tierObjectId, path, plannedSize, plannedModifiedUnix}]", Required = true };
        var stateDirectory = AgentOptions.StateDirectory();
        var command = new Command("tier", "Run a tiering job from a JSON file: upload, verify, stub") { jobFile, stateDirectory };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!OperatingSystem.IsLinux())
            {
                await Console.Error.WriteLineAsync("alto-agent tier: this build makes Linux stubs only");
                return 2;
            }
            TieringJob? job;
            try
            {
                await using var json = parse.GetValue(jobFile)!.OpenRead();
                job = await JsonSerializer.DeserializeAsync<TieringJob>(json, JobJson, cancellationToken);
            }
            catch (Exception exception) when (exception is JsonException or IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"alto-agent tier: cannot read the job: {exception.Message}");
                return 2;
            }
            if (job is null || job.Files is null || job.Target is null)
            {
                await Console.Error.WriteLineAsync("alto-agent tier: the job needs a target and files");
                return 2;
            }
            if (job.Files.DistinctBy(file => file.TierObjectId).Count() != job.Files.Count)
            {
                await Console.Error.WriteLineAsync("alto-agent tier: every file of the job needs its own tierObjectId");
                return 2;
            }
            if (job.Files.FirstOrDefault(file => string.IsNullOrEmpty(file.Path) || file.Path.Contains('\0') || !Path.IsPathFullyQualified(file.Path)) is { } unplaced)
            {
                await Console.Error.WriteLineAsync($"alto-agent tier: every file of the job needs an absolute path (tierObjectId {unplaced.TierObjectId} has '{unplaced.Path?.Replace("\0", "\\0", StringComparison.Ordinal)}')");
                return 2;
            }
            var state = parse.GetValue(stateDirectory)!;
            // Recall is armed for the file systems of the job's files before any of them is touched.
            ITierStore store;
            try
            {
                store = job.Target.Open();
            }
            catch (ArgumentException exception)
            {
                await Console.Error.WriteLineAsync($"alto-agent tier: the job's target cannot be used: {exception.Message}");
                return 2;
            }
            // Found once per folder, not per file: finding a file system's root takes a status a path component,
            // which over a job of a million files would have been millions of calls before the first file moved.
            // A folder is looked for by its bytes: Directory.Exists finds none whose name is not UTF-8, and
            // the files there would be refused as on a file system without recall.
            var fileSystems = job.Files.Select(file => Path.GetDirectoryName(file.Path)).OfType<string>().Distinct(StringComparer.Ordinal)
                .Where(IsFolder).Select(RecallGroup.FileSystemRootOf).Distinct(StringComparer.Ordinal).ToArray();
            using var recall = HeldRecall.TryHold("tier", state, fileSystems, id => id == job.TargetId ? store : HeldRecall.NoStore(id));
            if (recall is null)
            {
                return 2;
            }
            foreach (var volume in recall.Volumes.Where(volume => !volume.Armed))
            {
                Console.WriteLine($"recall is not armed for {volume.Path}: {volume.Reason}");
            }
            var stubs = new LinuxStubDriver(recall.Hooks);
            using var journal = new OperationJournal(state);
            foreach (var settled in JournalRecovery.Recover(journal, stubs))
            {
                Console.WriteLine(settled.Unsettled is { } why
                    ? $"an interrupted {settled.Operation} of {RawPaths.Display(settled.Path)} cannot be settled now: {why}"
                    : $"settled an interrupted {settled.Operation} of {RawPaths.Display(settled.Path)}: {(settled.IsStub ? "stub" : "original")}");
            }
            Console.WriteLine($"tiering {job.Files.Count} file(s) to the {job.Target}");
            var paths = job.Files.ToDictionary(file => file.TierObjectId, file => file.Path);
            var done = 0;
            var outcomes = await new JobExecutor(journal, stubs, CommandLog.Logger, openStore: _ => store, refusal: recall.RefusalFor).ExecuteAsync(job, outcome =>
            {
                done++;
                var path = paths[outcome.TierObjectId];
                Console.WriteLine($"[{done}/{job.Files.Count}] {outcome.Kind.ToString().ToLowerInvariant()} {RawPaths.Display(path)}{(outcome.Reason is { } reason ? ": " + reason : "")}");
            }, cancellationToken);
            var counts = outcomes.GroupBy(o => o.Kind).ToDictionary(g => g.Key, g => g.Count());
            Console.WriteLine($"{counts.GetValueOrDefault(FileOutcomeKind.Stubbed)} stubbed, {counts.GetValueOrDefault(FileOutcomeKind.Skipped)} skipped, "
                              + $"{counts.GetValueOrDefault(FileOutcomeKind.Failed)} failed, {counts.GetValueOrDefault(FileOutcomeKind.Unavailable)} unavailable, "
                              + $"{counts.GetValueOrDefault(FileOutcomeKind.Refused)} refused");
            // The guard outlives this command, so a stub is never read as zeros; say so, and what an open of one now waits for.
            if (Recall.RecallGuardClient.Status(state) is { } guard)
            {
                Console.WriteLine($"recall guard stays running: {guard}");
                Console.WriteLine("  an open of these stubs waits for an agent to recall it (alto-agent run, or alto-agent recall --target), "
                                  + "and fails with EIO if none does in time; alto-agent status shows the guard");
            }
            return outcomes.All(o => o.Kind is FileOutcomeKind.Stubbed or FileOutcomeKind.Skipped) ? 0 : 1;
        });
        return command;
    }

    [SupportedOSPlatform("linux")]
    private static bool IsFolder(string path) => LinuxFiles.TypeAt(path) == FileTimes.TypeDirectory;
}
