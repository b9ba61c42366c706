using System.CommandLine;
using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text.Json;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;
using Alto.Tiering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Cli;

/// <summary>
/// <c>alto-agent recall PATH...</c>: brings stubs back now (files, or every stub below a
/// folder), with progress. It opens each stub the way any program would, so the running agent
/// (<c>alto-agent run</c>) recalls it, verified, and reports it to the cluster; a stub that stays
/// a stub is reported as failed. With <c>--target FILE</c> (the target as JSON, secrets
/// included) it recalls by itself, journaled, with no agent or cluster running: the emergency
/// way back.
/// </summary>
public static class RecallCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("path") { Description = "Stubs, or folders whose stubs to recall", Arity = ArgumentArity.OneOrMore };
        var targetFile = new Option<FileInfo?>("--target") { Description = "Recall without the running agent, from this target (JSON: kind, path|bucket|container, ..., secrets); keep it private" };
        var stateDirectory = AgentOptions.StateDirectory();
        var command = new Command("recall", "Recall stubs now, through the running agent (or by itself with --target)") { paths, targetFile, stateDirectory };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!OperatingSystem.IsLinux())
            {
                await Console.Error.WriteLineAsync("alto-agent recall: this build recalls Linux stubs only");
                return 2;
            }
            var stubs = new List<string>();
            var notStubs = 0;
            foreach (var file in parse.GetValue(paths)!.SelectMany(Files))
            {
                if (LinuxStubs.Peek(file) is not null)
                {
                    stubs.Add(file);
                }
                else
                {
                    notStubs++;
                }
            }
            if (parse.GetValue(targetFile) is { } target)
            {
                return await RecallByItselfAsync(target, stubs, notStubs, parse.GetValue(stateDirectory)!, cancellationToken);
            }
            var failed = 0;
            for (var i = 0; i < stubs.Count; i++)
            {
                var clock = Stopwatch.StartNew();
                string? error = null;
                try
                {
                    await using var stream = new FileStream(stubs[i], FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
                    _ = await stream.ReadAsync(new byte[1], cancellationToken);
                }
                catch (IOException exception)
                {
                    error = exception.Message;
                }
                if (error is null && LinuxStubs.Peek(stubs[i]) is not null)
                {
                    error = "it is still a stub: is alto-agent run active (as root) on this host?";
                }
                failed += error is null ? 0 : 1;
                Console.WriteLine($"[{i + 1}/{stubs.Count}] {(error is null ? "recalled" : "failed")} {stubs[i]} ({clock.ElapsedMilliseconds} ms){(error is null ? "" : ": " + error)}");
            }
            Console.WriteLine($"{stubs.Count - failed} recalled, {failed} failed, {notStubs} file(s) were not stubs");
            return failed == 0 ? 0 : 1;
        });
        return command;
    }

    [SupportedOSPlatform("linux")]
    private static async Task<int> RecallByItselfAsync(FileInfo targetFile, List<string> stubs, int notStubs, string stateDirectory, CancellationToken cancellationToken)
    {
        TierTarget target;
        try
        {
            await using var json = targetFile.OpenRead();
            target = await JsonSerializer.DeserializeAsync<TierTarget>(json, JsonSerializerOptions.Web, cancellationToken)
                     ?? throw new JsonException("empty");
        }
        catch (Exception exception) when (exception is JsonException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"alto-agent recall: cannot read the target: {exception.Message}");
            return 2;
        }
        var store = target.Open();
        // Holding recall while it runs: its own opens pass, and other programs' opens of stubs are answered from the same target.
        using var recall = HeldRecall.TryHold("recall", stateDirectory, [], _ => store);
        if (recall is null)
        {
            return 2;
        }
        var stubDriver = new LinuxStubDriver(recall.Hooks);
        using var journal = new OperationJournal(stateDirectory);
        JournalRecovery.Recover(journal, stubDriver);
        var runner = new RecallRunner(journal, stubDriver, _ => store, NullLogger.Instance);
        Console.WriteLine($"recalling {stubs.Count} stub(s) from the {target}");
        var failed = 0;
        for (var i = 0; i < stubs.Count; i++)
        {
            var outcome = (await runner.RecallAsync([stubs[i]], cancellationToken)).SingleOrDefault();
            failed += outcome?.Error is null ? 0 : 1;
            Console.WriteLine($"[{i + 1}/{stubs.Count}] {(outcome?.Error is null ? "recalled" : "failed")} {stubs[i]}"
                              + (outcome is null ? "" : $" ({outcome.Duration.TotalMilliseconds:0} ms)") + (outcome?.Error is { } error ? ": " + error : ""));
        }
        Console.WriteLine($"{stubs.Count - failed} recalled, {failed} failed, {notStubs} file(s) were not stubs");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>A file, or the regular files below a folder (symbolic links are not followed).</summary>
    private static IEnumerable<string> Files(string path)
    {
        var full = Path.GetFullPath(path);
        if (!Directory.Exists(full))
        {
            return [full];
        }
        return new DirectoryInfo(full)
            .EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true })
            .Select(file => file.FullName);
    }
}
