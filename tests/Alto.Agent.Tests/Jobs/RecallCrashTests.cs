using System.Runtime.Versioning;
using System.Text.Json;
using Alto.Agent.Tests.Stubs;
using Alto.Tiering;
using Xunit.Abstractions;

namespace Alto.Agent.Tests.Jobs;

/// <summary>
/// Kills the real agent (<c>alto-agent recall --target</c>) with SIGKILL at random moments while
/// it writes stubs' data back, settles what it left with the journal, and checks every file: its
/// original bytes, or a valid stub (no data, attributes whole) whose object holds those bytes.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class RecallCrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Iterations = 100;
    private const int FilesPerRun = 6;
    private readonly string _work = Directory.CreateTempSubdirectory("alto-recall-crash-").FullName;

    public void Dispose() => Directory.Delete(_work, true);

    [Fact]
    public async Task EveryFileIsItsOriginalOrAValidStubAfterAKillAtAnyMomentOfARecall()
    {
        var store = new PathTierStore(Path.Combine(_work, "tier2"));
        var targetFile = Path.Combine(_work, "target.json");
        await File.WriteAllTextAsync(targetFile, JsonSerializer.Serialize(new TierTarget("path", store.Root), JsonSerializerOptions.Web));
        var random = new Random(20261129);
        var (killed, stubs, originals) = (0, 0, 0);
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var folder = Path.Combine(_work, $"run{iteration}");
            var state = Path.Combine(_work, "state");
            Directory.CreateDirectory(folder);
            var files = new Dictionary<string, byte[]>();
            for (var i = 0; i < FilesPerRun; i++)
            {
                var path = Path.Combine(folder, $"f{i}.bin");
                files[path] = StubFiles.Write(path, random.Next(1, 3 << 20));
                await StubFiles.TierAsync(path, store, Guid.Empty);
            }

            killed += await CrashRuns.RunAndKillAsync(random, FilesPerRun, 12, "recall", "--target", targetFile, "--state-dir", state, folder) ? 1 : 0;
            var (stubbed, kept) = await CrashRuns.SettleAndCheckAsync(state, store, files, iteration);
            (stubs, originals) = (stubs + stubbed, originals + kept);
            Directory.Delete(folder, true);
        }
        output.WriteLine($"{Iterations} runs, {killed} killed mid-recall; {stubs} files ended as valid stubs, {originals} as originals");
        Assert.InRange(killed, Iterations / 4, Iterations);
        Assert.True(stubs > 0 && originals > 0);
    }
}
