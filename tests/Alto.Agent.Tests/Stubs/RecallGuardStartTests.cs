using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using Alto.Agent.Recall;
using Alto.Agent.Tests.Jobs;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Stubs;

/// <summary>
/// How the recall guard (<c>alto-agent guard</c>, run here as its own process) starts: one guard
/// per state folder, and, under systemd, ready only once agents can connect. Either gone wrong,
/// an agent holds recall without a guard, or a guard holds opens of stubs that no agent can reach.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class RecallGuardStartTests : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _state = Directory.CreateTempSubdirectory("alto-guard-start-").FullName;
    private readonly List<ProgramRun> _guards = [];

    public async ValueTask DisposeAsync()
    {
        await AgentStateFolder.DeleteAsync(_state);
        foreach (var guard in _guards)
        {
            await guard.DisposeAsync();
        }
    }

    [Fact]
    public async Task ASecondGuardForTheSameStateFolderLeavesTheFirstServingAndSaysWhichProcessServes()
    {
        var first = StartGuard();
        await WaitForAsync(() => Status() is not null, "the first guard to answer");
        var firstProcess = GuardProcess(Status()!);

        // Started by hand, or by an agent whose connect came while the first still started.
        var second = StartGuard();
        Assert.Equal(1, await second.WaitForExitAsync(Patience));
        Assert.Contains($"another recall guard (pid {firstProcess}) serves this state folder", await File.ReadAllTextAsync(Path.Combine(_state, RecallGuard.LogName)), StringComparison.Ordinal);

        // The socket is still the first one's, and so is the pid file.
        Assert.Equal(firstProcess, GuardProcess(Status()!));
        Assert.Equal(first.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), (await File.ReadAllTextAsync(Path.Combine(_state, RecallGuard.PidName))).Trim());
    }

    [Fact]
    public async Task AGuardGivenAStateFolderThatDoesNotExistRefusesToStartSayingSoAndMakesNothing()
    {
        // A typing mistake in the unit or on the command line: a guard there would serve no agent.
        var mistyped = _state + "-mistyped";
        var guard = ProgramRun.Start(TieringWorld.AgentDll, new Dictionary<string, string>(), "guard", "--state-dir", mistyped);
        _guards.Add(guard);
        Assert.Equal(2, await guard.WaitForExitAsync(Patience));
        Assert.Contains($"the state folder {mistyped} does not exist", guard.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(mistyped), "the mistyped folder was made");
    }

    [Fact]
    public async Task AGuardWhoseSocketWasDeletedListensThereAgain()
    {
        var guard = StartGuard();
        await WaitForAsync(() => Status() is not null, "the guard to answer");

        // A clean-up of the state folder by hand: the next agent would find no guard, and keep a group of its own beside the guard's.
        File.Delete(RecallGuard.SocketPath(_state));
        Assert.Null(Status());
        await WaitForAsync(() => Status() is not null, "the guard to listen again");
        Assert.Equal(guard.ProcessId, GuardProcess(Status()!));
        Assert.Contains("was gone (deleted by someone); it listens there again", await File.ReadAllTextAsync(Path.Combine(_state, RecallGuard.LogName)), StringComparison.Ordinal);
    }

    /// <summary>
    /// Stand-in for systemd's side of sd_notify(3) (systemd does not run here): a Unix datagram socket
    /// named by NOTIFY_SOCKET, where a Type=notify service sends "READY=1" once it serves.
    /// </summary>
    [Fact]
    public async Task UnderSystemdTheGuardSaysItIsReadyOnlyOnceAgentsCanConnect()
    {
        using var notify = SystemdNotifySocket(out var notifyPath);

        var guard = StartGuard(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notifyPath });
        var notification = await NotificationAsync(notify);

        // At the moment it says so, an agent finds it at the first try.
        var status = Status();
        Assert.Contains("READY=1", notification, StringComparison.Ordinal);
        Assert.NotNull(status);
        Assert.Equal(guard.ProcessId, GuardProcess(status));
    }

    /// <summary>
    /// Under systemd, a guard that finds another one serving (one an agent started before the units
    /// were installed) stands by: it says it is ready, since agents reach the serving one, stays, and
    /// takes over when that one ends. Exiting instead, it would be started again each second until
    /// systemd gave up on the unit, and nothing would keep recall alive once the other guard ended.
    /// </summary>
    [Fact]
    public async Task UnderSystemdAGuardFindingAnotherServingStandsByAndTakesOverWhenItEnds()
    {
        var first = StartGuard();
        await WaitForAsync(() => Status() is not null, "the first guard to answer");
        using var notify = SystemdNotifySocket(out var notifyPath);

        var second = StartGuard(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notifyPath });

        Assert.Contains("READY=1", await NotificationAsync(notify), StringComparison.Ordinal);
        Assert.Equal(first.ProcessId, GuardProcess(Status()!));
        await Assert.ThrowsAsync<TimeoutException>(() => second.WaitForExitAsync(TimeSpan.FromSeconds(3)));
        Assert.Equal(first.ProcessId, GuardProcess(Status()!));

        // The serving guard dies (a crash, or the end of the agent that started it): the unit's guard takes over.
        await first.KillAsync();
        await WaitForAsync(() => Status() is { } status && GuardProcess(status) == second.ProcessId, "the standing-by guard to take over");
        var log = await File.ReadAllTextAsync(Path.Combine(_state, RecallGuard.LogName));
        Assert.Contains($"Recall guard standing by: another recall guard (pid {first.ProcessId}) serves this state folder", log, StringComparison.Ordinal);
        Assert.Contains("The recall guard that served this state folder ended; this one takes over", log, StringComparison.Ordinal);
    }

    /// <summary>The stand-in for systemd's side of sd_notify(3): a datagram socket in the state folder, its path for NOTIFY_SOCKET.</summary>
    private Socket SystemdNotifySocket(out string path)
    {
        path = Path.Combine(_state, "notify.sock");
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>The next notification a service sent to the stand-in (fails after the test's patience).</summary>
    private static async Task<string> NotificationAsync(Socket notify)
    {
        var buffer = new byte[512];
        using var timeout = new CancellationTokenSource(Patience);
        var received = await notify.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, received);
    }

    private ProgramRun StartGuard(Dictionary<string, string>? environment = null)
    {
        var guard = ProgramRun.Start(TieringWorld.AgentDll, environment ?? [], "guard", "--state-dir", _state);
        _guards.Add(guard);
        return guard;
    }

    /// <summary>The guard's answer to STATUS at its socket, or null when no guard listens there.</summary>
    private string? Status()
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(RecallGuard.SocketPath(_state)));
        }
        catch (SocketException)
        {
            return null;
        }
        socket.Send(Encoding.UTF8.GetBytes(RecallGuardProtocol.Status));
        socket.ReceiveTimeout = 5000;
        var answer = new byte[UnixSocketMessageBytes];
        return Encoding.UTF8.GetString(answer, 0, socket.Receive(answer));
    }

    private const int UnixSocketMessageBytes = 4096;

    private static int GuardProcess(string status) =>
        int.Parse(status.Split(' ').Single(word => word.StartsWith("guard=", StringComparison.Ordinal))["guard=".Length..], System.Globalization.CultureInfo.InvariantCulture);

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < Patience, $"waited {Patience.TotalSeconds} s for {what}");
            await Task.Delay(50);
        }
    }
}
