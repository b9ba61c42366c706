using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.TestSupport;
using Alto.Tiering;
using Xunit.Abstractions;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// Kills the real agent (<c>alto-agent tier</c>) with SIGKILL at random moments of a tiering job,
/// settles what it left with the journal, and checks every file: its original bytes, or a valid
/// stub whose tier-2 object has exactly the original's SHA-256. Nothing may be lost, ever. The
/// files are on a loop-mounted volume of their own: stubs are made only where recall is armed.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class TieringCrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Iterations = 100;
    private const int FilesPerJob = 6;
    private readonly ScratchFileSystem _volume = ScratchFileSystem.TryCreate(out var whyNot) ?? throw new InvalidOperationException(whyNot);
    private readonly string _work = Directory.CreateTempSubdirectory("alto-crash-").FullName;

    public void Dispose()
    {
        // The state folder goes first: the recall guard it started sees that and ends, releasing the volume.
        Directory.Delete(_work, true);
        _volume.Dispose();
    }

    [Fact]
    public async Task ARunToTheEndSaysWhatItDidAndThatTheRecallGuardStaysToKeepTheStubsRecallable()
    {
        var store = new PathTierStore(Path.Combine(_work, "tier2"));
        var folder = Path.Combine(_volume.Root, "whole");
        Directory.CreateDirectory(folder);
        var paths = new[] { Path.Combine(folder, "a.bin"), Path.Combine(folder, "b.bin") };
        var originals = paths.Select((path, i) => StubFiles.Write(path, 100_000 + i)).ToArray();
        var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, Guid.NewGuid(), new TierTarget("path", store.Root),
            [.. paths.Select((path, i) => new JobFile(i + 1, path, originals[i].Length, StubFiles.Stat(path).ModifySeconds))]);
        var jobFile = Path.Combine(_work, "job.json");
        await File.WriteAllTextAsync(jobFile, JsonSerializer.Serialize(job, JsonSerializerOptions.Web));

        var agent = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        var state = Path.Combine(_work, "state");
        await using (var tier = ProgramRun.Start(agent, new Dictionary<string, string>(), "tier", "--job", jobFile, "--state-dir", state))
        {
            Assert.True(await tier.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, tier.Output);
            Assert.Contains("2 stubbed, 0 skipped, 0 failed", tier.Output);
            Assert.Contains("recall guard stays running: ", tier.Output);
            Assert.Contains("an open of these stubs waits for an agent to recall it (alto-agent run, or alto-agent recall --target)", tier.Output);
        }
        // Stubs now, asked by path (an open would wait on the guard for an agent that is not there).
        Assert.All(paths, path => Assert.True(Alto.Tiering.Native.LinuxFileSystem.HasAttribute(
            Encoding.UTF8.GetBytes(path + "\0"), Encoding.UTF8.GetBytes(StubInfo.LocatorAttribute + "\0"))));

        // What it says to do brings the data back, under the same guard.
        var targetFile = Path.Combine(_work, "target.json");
        await File.WriteAllTextAsync(targetFile, JsonSerializer.Serialize(new TierTarget("path", store.Root), JsonSerializerOptions.Web));
        await using (var recall = ProgramRun.Start(agent, new Dictionary<string, string>(), "recall", "--target", targetFile, "--state-dir", state, folder))
        {
            Assert.True(await recall.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, recall.Output);
        }
        Assert.Equal(originals, await Task.WhenAll(paths.Select(path => File.ReadAllBytesAsync(path))));
    }

    /// <summary>
    /// A job file names a file that is not UTF-8 by its escaped bytes (JSON text cannot hold them):
    /// <c>tier</c> makes it a stub, and <c>recall --target</c> with the stub named on the command
    /// line by its bytes (.NET reads such an argument as U+FFFD) brings its bytes back.
    /// </summary>
    [Fact]
    public async Task AJobFileNamingAFileByItsEscapedBytesIsTieredAndRecalledByTheCommands()
    {
        var store = new PathTierStore(Path.Combine(_work, "tier2"));
        // Its folder's name is not UTF-8 either, and it is the only folder of the job on its file
        // system: recall is armed there only if the folder is found by its bytes.
        var folder = RawPaths.FromBytes([.. Encoding.UTF8.GetBytes(_volume.Root + "/l"), 0xE0, .. "tin1"u8]);
        StubFiles.MakeRawFolder(folder);
        var path = RawPaths.FromBytes([.. RawPaths.ToBytes(folder), .. "/caf"u8, 0xE9, .. ".bin"u8]);
        var original = StubFiles.WriteUnderRawName(path, 100_000);
        var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, Guid.NewGuid(), new TierTarget("path", store.Root),
            [new JobFile(1, path, original.Length, StubFiles.Stat(path).ModifySeconds)]);
        var json = JsonSerializer.Serialize(job, JsonSerializerOptions.Web);
        Assert.Contains($"{{\"escaped\":\"{_volume.Root}/l\\\\xE0tin1/caf\\\\xE9.bin\"}}", json, StringComparison.Ordinal);
        var jobFile = Path.Combine(_work, "job.json");
        await File.WriteAllTextAsync(jobFile, json);

        var agent = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        var state = Path.Combine(_work, "state");
        await using (var tier = ProgramRun.Start(agent, new Dictionary<string, string>(), "tier", "--job", jobFile, "--state-dir", state))
        {
            Assert.True(await tier.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, tier.Output);
            Assert.Contains("1 stubbed, 0 skipped, 0 failed", tier.Output);
            // Named by its escaped bytes, as the log names it, not with U+FFFD for each byte.
            Assert.Contains("stubbed /tmp/", tier.Output);
            Assert.Contains("/l\\xE0tin1/caf\\xE9.bin", tier.Output);
        }
        Assert.Equal(StubFiles.Sha256(original), LinuxStubs.Peek(path)?.Sha256);

        var targetFile = Path.Combine(_work, "target.json");
        await File.WriteAllTextAsync(targetFile, JsonSerializer.Serialize(new TierTarget("path", store.Root), JsonSerializerOptions.Web));
        // The stub named on the command line by its own bytes, as a shell user types it ($'…caf\xE9.bin').
        await using (var recall = ProgramRun.StartWithEscapedArguments(agent, new Dictionary<string, string>(),
                         "recall", "--target", targetFile, "--state-dir", state, RawPaths.ToWire(path).Text))
        {
            Assert.True(await recall.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, recall.Output);
            Assert.Contains("1 recalled, 0 failed", recall.Output);
            Assert.Contains("/l\\xE0tin1/caf\\xE9.bin", recall.Output);
        }
        Assert.Null(LinuxStubs.Peek(path));
        using var recalled = LinuxFiles.OpenByPath(path, FileAccess.Read);
        var bytes = new byte[original.Length];
        Assert.Equal(original.Length, await RandomAccess.ReadAsync(recalled, bytes, 0));
        Assert.Equal(original, bytes);
    }

    /// <summary>
    /// <c>recall</c> given a path where nothing is (a typing mistake) says so and recalls nothing, and
    /// a file below a folder whose markers are damaged is said and counted as failed while the
    /// others are recalled — neither ends in an unhandled exception.
    /// </summary>
    [Fact]
    public async Task ARecallOfAMistypedPathRecallsNothingAndADamagedStubIsCountedAsFailed()
    {
        var store = new PathTierStore(Path.Combine(_work, "tier2"));
        var folder = Path.Combine(_volume.Root, "some");
        Directory.CreateDirectory(folder);
        var stubPath = Path.Combine(folder, "a.bin");
        var original = StubFiles.Write(stubPath, 80_000);
        var agent = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        var state = Path.Combine(_work, "state");
        await TierByCommandAsync(store, state, stubPath);
        var targetFile = Path.Combine(_work, "target.json");
        await File.WriteAllTextAsync(targetFile, JsonSerializer.Serialize(new TierTarget("path", store.Root), JsonSerializerOptions.Web));

        var mistyped = Path.Combine(folder, "a.bni");
        await using (var recall = ProgramRun.Start(agent, new Dictionary<string, string>(), "recall", "--target", targetFile, "--state-dir", state, stubPath, mistyped))
        {
            Assert.True(await recall.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 2, recall.Output);
            Assert.Contains($"alto-agent recall: nothing is at {mistyped}", recall.Output);
            Assert.DoesNotContain("Unhandled exception", recall.Output);
        }
        Assert.NotNull(LinuxStubs.Peek(stubPath));

        // A file carrying a locator and none of the other markers (damaged, or set by hand).
        var damaged = Path.Combine(folder, "damaged.bin");
        StubFiles.Write(damaged, 1_000);
        using (var handle = File.OpenHandle(damaged, FileMode.Open, FileAccess.ReadWrite))
        {
            LinuxFiles.SetAttribute(handle, StubInfo.LocatorAttribute, "ab/cd/whatever");
        }
        await using (var recall = ProgramRun.Start(agent, new Dictionary<string, string>(), "recall", "--target", targetFile, "--state-dir", state, folder))
        {
            Assert.True(await recall.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 1, recall.Output);
            Assert.Contains($"alto-agent recall: {damaged}: the file has an Alto locator but its other stub attributes are missing or damaged", recall.Output);
            Assert.Contains("1 recalled, 1 failed, 0 file(s) were not stubs", recall.Output);
            Assert.DoesNotContain("Unhandled exception", recall.Output);
        }
        Assert.Null(LinuxStubs.Peek(stubPath));
        Assert.Equal(original, await File.ReadAllBytesAsync(stubPath));
    }

    /// <summary>
    /// The list of volumes a state folder armed before is what keeps stubs on a volume the host no
    /// longer registers recallable. Found damaged (here cut short, as a rename committed before its
    /// data leaves it after a power loss), it is said in the log and kept beside for the admin, and
    /// a whole list is written in its place — not silently taken for empty and overwritten.
    /// </summary>
    [Fact]
    public async Task ADamagedListOfVolumesArmedBeforeIsSaidAndKeptBesideNotSilentlyReplaced()
    {
        var store = new PathTierStore(Path.Combine(_work, "tier2"));
        var folder = Path.Combine(_volume.Root, "listed");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "a.bin");
        StubFiles.Write(file, 70_000);
        var state = Path.Combine(_work, "state");
        Directory.CreateDirectory(state);
        var list = Path.Combine(state, "recall-volumes.json");
        const string CutShort = "[\"/srv/old-projects\",\"/srv/ar";
        await File.WriteAllTextAsync(list, CutShort);

        var output = await TierByCommandAsync(store, state, file);

        Assert.Contains($"The list of volumes this state folder armed before ({list}) is damaged", output);
        Assert.Contains($"kept as {list}.damaged", output);
        Assert.Equal(CutShort, await File.ReadAllTextAsync(list + ".damaged"));
        Assert.Equal([_volume.Root], JsonSerializer.Deserialize<string[]>(await File.ReadAllTextAsync(list)) ?? []);
        Assert.False(File.Exists(list + ".new"));
    }

    /// <summary>A job file tiering the files (as they are now) to <paramref name="target"/>; returns its path.</summary>
    private async Task<string> WriteJobAsync(TierTarget target, params string[] files)
    {
        var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, Guid.NewGuid(), target,
            [.. files.Select((file, i) => new JobFile(i + 1, file, StubFiles.Stat(file).Size, StubFiles.Stat(file).ModifySeconds))]);
        var jobFile = Path.Combine(_work, "job.json");
        await File.WriteAllTextAsync(jobFile, JsonSerializer.Serialize(job, JsonSerializerOptions.Web));
        return jobFile;
    }

    /// <summary>Tiers the files (as they are now) to <paramref name="store"/> with <c>alto-agent tier</c>, which must succeed; returns what it printed.</summary>
    private async Task<string> TierByCommandAsync(PathTierStore store, string state, params string[] files)
    {
        var jobFile = await WriteJobAsync(new TierTarget("path", store.Root), files);
        await using var tier = ProgramRun.Start(RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent"), new Dictionary<string, string>(),
            "tier", "--job", jobFile, "--state-dir", state);
        Assert.True(await tier.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 0, tier.Output);
        return tier.Output;
    }

    /// <summary>
    /// A hand-written job or target file naming a target that cannot be used (a kind Alto does not
    /// know, a folder that is not absolute, an S3 bucket without credentials) is refused with the
    /// reason, exit 2, before any file is touched — not an unhandled exception.
    /// </summary>
    [Theory]
    [InlineData("ftp", "/srv/tier2", "unknown storage target kind 'ftp'")]
    [InlineData("path", "tier2", "a path target needs an absolute path (got 'tier2')")]
    [InlineData("s3", null, "the s3 target has no credentials")]
    public async Task AJobOrRecallWhoseTargetCannotBeUsedIsRefusedWithTheReason(string kind, string? path, string reason)
    {
        var file = Path.Combine(_volume.Root, "kept.bin");
        var original = StubFiles.Write(file, 50_000);
        var target = new TierTarget(kind, path);
        var jobFile = await WriteJobAsync(target, file);
        var targetFile = Path.Combine(_work, "target.json");
        await File.WriteAllTextAsync(targetFile, JsonSerializer.Serialize(target, JsonSerializerOptions.Web));
        var agent = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        var state = Path.Combine(_work, "state");

        await using (var tier = ProgramRun.Start(agent, new Dictionary<string, string>(), "tier", "--job", jobFile, "--state-dir", state))
        {
            Assert.True(await tier.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 2, tier.Output);
            Assert.Contains($"alto-agent tier: the job's target cannot be used: {reason}", tier.Output);
            Assert.DoesNotContain("Unhandled exception", tier.Output);
        }
        await using (var recall = ProgramRun.Start(agent, new Dictionary<string, string>(), "recall", "--target", targetFile, "--state-dir", state, file))
        {
            Assert.True(await recall.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 2, recall.Output);
            Assert.Contains($"alto-agent recall: the target cannot be used: {reason}", recall.Output);
            Assert.DoesNotContain("Unhandled exception", recall.Output);
        }
        Assert.Equal(original, await File.ReadAllBytesAsync(file));
        Assert.Null(LinuxStubs.Peek(file));
    }

    /// <summary>A hand-written job file is outside input: a path that is empty or not absolute is refused with its reason, and nothing is tiered.</summary>
    [Theory]
    [InlineData("")]
    [InlineData("whole/a.bin")]
    public async Task AJobWithAFileThatHasNoAbsolutePathIsRefusedBeforeAnythingIsTouched(string badPath)
    {
        var store = new PathTierStore(Path.Combine(_work, "tier2"));
        var good = Path.Combine(_volume.Root, "kept.bin");
        var original = StubFiles.Write(good, 50_000);
        var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, Guid.NewGuid(), new TierTarget("path", store.Root),
            [new JobFile(1, good, original.Length, StubFiles.Stat(good).ModifySeconds), new JobFile(2, badPath, 10, 0)]);
        var jobFile = Path.Combine(_work, "job.json");
        await File.WriteAllTextAsync(jobFile, JsonSerializer.Serialize(job, JsonSerializerOptions.Web));

        var agent = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        await using (var tier = ProgramRun.Start(agent, new Dictionary<string, string>(), "tier", "--job", jobFile, "--state-dir", Path.Combine(_work, "state")))
        {
            Assert.True(await tier.WaitForExitAsync(TimeSpan.FromMinutes(2)) == 2, tier.Output);
            Assert.Contains("every file of the job needs an absolute path (tierObjectId 2", tier.Output);
        }
        Assert.Equal(original, await File.ReadAllBytesAsync(good));
        Assert.False(Directory.Exists(store.Root) && Directory.EnumerateFiles(store.Root, "*", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public async Task EveryFileIsItsOriginalOrAVerifiedStubAfterAKillAtAnyMoment()
    {
        var store = new PathTierStore(Path.Combine(_work, "tier2"));
        var state = Path.Combine(_work, "state");
        var random = new Random(20261128);
        var (killed, stubs, originals) = (0, 0, 0);
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var folder = Path.Combine(_volume.Root, $"run{iteration}");
            Directory.CreateDirectory(folder);
            var files = new Dictionary<string, byte[]>();
            var jobFiles = new List<JobFile>();
            for (var i = 0; i < FilesPerJob; i++)
            {
                var path = Path.Combine(folder, $"f{i}.bin");
                files[path] = StubFiles.Write(path, random.Next(1, 3 << 20));
                jobFiles.Add(new JobFile(i + 1, path, files[path].Length, StubFiles.Stat(path).ModifySeconds));
            }
            var job = new TieringJob(Guid.NewGuid(), StubFiles.TenantId, Guid.NewGuid(), new TierTarget("path", store.Root), jobFiles);
            var jobFile = Path.Combine(folder, "job.json");
            await File.WriteAllTextAsync(jobFile, JsonSerializer.Serialize(job, JsonSerializerOptions.Web));

            killed += await CrashRuns.RunAndKillAsync(random, FilesPerJob, 25, "tier", "--job", jobFile, "--state-dir", state) ? 1 : 0;
            var (stubbed, kept) = await CrashRuns.SettleAndCheckAsync(state, store, files, iteration);
            (stubs, originals) = (stubs + stubbed, originals + kept);
            Directory.Delete(folder, true);
        }
        output.WriteLine($"{Iterations} runs, {killed} killed mid-job; {stubs} files ended as verified stubs, {originals} as originals");
        // The kills must really land inside jobs for the test to mean anything.
        Assert.InRange(killed, Iterations / 4, Iterations);
        Assert.True(stubs > 0 && originals > 0);
    }
}
