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
/// Kills the real agent (<c>alto-agent tier</c>) with SIGKILL at random moments of a tiering job,
/// settles what it left with the journal, and checks every file: its original bytes, or a valid
/// stub whose tier-2 object has exactly the original's SHA-256. Nothing may be lost, ever.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class TieringCrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Iterations = 100;
    private const int FilesPerJob = 6;
    private readonly string _work = Directory.CreateTempSubdirectory("alto-crash-").FullName;

    public void Dispose() => Directory.Delete(_work, true);

    [Fact]
    public async Task EveryFileIsItsOriginalOrAVerifiedStubAfterAKillAtAnyMoment()
    {
        var agent = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        var store = new PathTierStore(Path.Combine(_work, "tier2"));
        var random = new Random(20261128);
        var (killed, stubs, originals) = (0, 0, 0);
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var folder = Path.Combine(_work, $"run{iteration}");
            var state = Path.Combine(folder, "state");
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

            using (var process = Process.Start(new ProcessStartInfo("dotnet", [agent, "tier", "--job", jobFile, "--state-dir", state])
                   {
                       RedirectStandardOutput = true,
                       RedirectStandardError = true,
                   })!)
            {
                var errors = process.StandardError.ReadToEndAsync();
                // The agent prints a line when the job starts and one per file: the kill lands a
                // random few milliseconds after a random one of them, inside the job.
                var killAfterLine = random.Next(1, FilesPerJob + 1);
                var delay = random.Next(0, 25);
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
                Assert.Empty(journal.Unfinished());
            }
            foreach (var (path, original) in files)
            {
                if (LinuxStubs.Read(path) is { } stub)
                {
                    StubFiles.AssertReleased(path);
                    Assert.Equal(StubFiles.Sha256(original), stub.Sha256);
                    Assert.Equal(stub.Sha256, await Sha256Check.OfObjectAsync(store, stub.Locator, CancellationToken.None));
                    Assert.Equal(original.Length, new FileInfo(path).Length);
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
        output.WriteLine($"{Iterations} runs, {killed} killed mid-job; {stubs} files ended as verified stubs, {originals} as originals");
        // The kills must really land inside jobs for the test to mean anything.
        Assert.InRange(killed, Iterations / 4, Iterations);
        Assert.True(stubs > 0 && originals > 0);
    }
}
