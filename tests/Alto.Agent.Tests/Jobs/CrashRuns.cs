using System.Diagnostics;
using System.Runtime.Versioning;
using Alto.Agent.Jobs;
using Alto.Agent.Recall;
using Alto.Agent.Stubs;
using Microsoft.Extensions.Logging.Abstractions;
using Alto.Agent.Tests.Stubs;
using Alto.TestSupport;
using Alto.Tiering;

namespace Alto.Agent.Tests.Jobs;

/// <summary>What the crash tests share: running the real agent and killing it mid-work, then checking what is left.</summary>
[SupportedOSPlatform("linux")]
internal static class CrashRuns
{
    /// <summary>
    /// Runs <c>alto-agent ARGS</c>, which prints a line when it starts and one per file, and kills
    /// it (SIGKILL) a random few milliseconds after a random one of the first
    /// <paramref name="lines"/> lines. True when the kill landed before it finished.
    /// </summary>
    public static async Task<bool> RunAndKillAsync(Random random, int lines, int maxDelayMilliseconds, params string[] arguments)
    {
        var agent = RepositoryPaths.ProgramDll("agent/Alto.Agent", "alto-agent");
        using var process = Process.Start(new ProcessStartInfo("dotnet", [agent, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var errors = process.StandardError.ReadToEndAsync();
        var killAfterLine = random.Next(1, lines + 1);
        var delay = random.Next(0, maxDelayMilliseconds);
        for (var line = 0; line < killAfterLine && await process.StandardOutput.ReadLineAsync() is not null; line++)
        {
        }
        await Task.Delay(delay);
        var killed = false;
        if (!process.HasExited)
        {
            process.Kill();
            killed = true;
        }
        await process.StandardOutput.ReadToEndAsync();
        await errors;
        await process.WaitForExitAsync();
        return killed;
    }

    /// <summary>
    /// Settles the journal as the next start would, then checks every file: its original bytes,
    /// or a stub without data whose tier-2 object has the original's SHA-256.
    /// </summary>
    public static async Task<(int Stubs, int Originals)> SettleAndCheckAsync(string state, ITierStore store, IReadOnlyDictionary<string, byte[]> files, int iteration)
    {
        // The test acts on the volume's files as the next agent start would: holding recall (from
        // the guard the killed agent left), so its own opens of stubs pass and nothing it settles goes unwatched.
        using var recall = ArmedRecall.Start(state, RecallGuarding.Auto, [], _ => store, NullLogger.Instance);
        using (var journal = new OperationJournal(state))
        {
            JournalRecovery.Recover(journal, new LinuxStubDriver(recall.Hooks));
            Assert.Empty(journal.Unfinished());
        }
        var (stubs, originals) = (0, 0);
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
        return (stubs, originals);
    }
}
