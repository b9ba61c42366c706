using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text.Json;
using Alto.Agent.Jobs;
using Alto.Agent.Stubs;
using Alto.Agent.Tests.Stubs;
using Alto.TestSupport;
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
        var agent = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        var store = new PathTierStore(Path.Combine(_work, "tier2"));
        var targetFile = Path.Combine(_work, "target.json");
        await File.WriteAllTextAsync(targetFile, JsonSerializer.Serialize(new TierTarget("path", store.Root), JsonSerializerOptions.Web));
        var random = new Random(20261129);
        var (killed, stubs, originals) = (0, 0, 0);
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var folder = Path.Combine(_work, $"run{iteration}");
            var state = Path.Combine(_work, $"state{iteration}");
            Directory.CreateDirectory(folder);
            var files = new Dictionary<string, byte[]>();
            for (var i = 0; i < FilesPerRun; i++)
            {
                var path = Path.Combine(folder, $"f{i}.bin");
                files[path] = StubFiles.Write(path, random.Next(1, 3 << 20));
                await StubFiles.TierAsync(path, store, Guid.Empty);
            }

            using (var process = Process.Start(new ProcessStartInfo("dotnet",
                       [agent, "recall", "--target", targetFile, "--state-dir", state, folder])
                   {
                       RedirectStandardOutput = true,
                       RedirectStandardError = true,
                   })!)
            {
                var errors = process.StandardError.ReadToEndAsync();
                var killAfterLine = random.Next(1, FilesPerRun + 1);
                var delay = random.Next(0, 12);
                for (var line = 0; line < killAfterLine && await process.StandardOutput.ReadLineAsync() is not null; line++)
                {
                }
                await Task.Delay(delay);
                if (!process.HasExited)
                {
                    process.Kill();
                    killed++;
                }
                await process.StandardOutput.ReadToEndAsync();
                await errors;
                await process.WaitForExitAsync();
            }

            using (var journal = new OperationJournal(state))
            {
                JournalRecovery.Recover(journal);
            }
            foreach (var (path, original) in files)
            {
                if (LinuxStubs.Read(path) is { } stub)
                {
                    StubFiles.AssertReleased(path);
                    Assert.Equal(StubFiles.Sha256(original), stub.Sha256);
                    Assert.Equal(stub.Sha256, await Sha256Check.OfObjectAsync(store, stub.Locator, CancellationToken.None));
                    stubs++;
                }
                else
                {
                    var now = await File.ReadAllBytesAsync(path);
                    Assert.True(original.AsSpan().SequenceEqual(now), $"iteration {iteration}: {path} lost its bytes");
                    originals++;
                }
            }
            Directory.Delete(folder, true);
        }
        output.WriteLine($"{Iterations} runs, {killed} killed mid-recall; {stubs} files ended as valid stubs, {originals} as originals");
        Assert.InRange(killed, Iterations / 4, Iterations);
        Assert.True(stubs > 0 && originals > 0);
    }
}
