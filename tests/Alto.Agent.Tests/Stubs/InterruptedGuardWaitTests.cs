using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using Alto.Agent.Recall;
using Alto.TestSupport;

namespace Alto.Agent.Tests.Stubs;

/// <summary>
/// A signal handled by the process interrupts a wait on the recall guard's socket (poll(2) fails
/// with EINTR whatever SA_RESTART says). .NET handles signals in every agent (a child's end, a
/// registered one); a wait that took the interruption for "nothing came" dropped the agent's
/// connection, and with it the opens and refusals the guard was handing over.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed partial class InterruptedGuardWaitTests : IAsyncDisposable
{
    private const int UserSignal2 = 12;
    private const int PollCall = 7;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly string _state = Directory.CreateTempSubdirectory("alto-interrupted-guard-").FullName;
    private readonly CancellationTokenSource _stopGuard = new();

    public async ValueTask DisposeAsync()
    {
        await _stopGuard.CancelAsync();
        _stopGuard.Dispose();
        await AgentStateFolder.DeleteAsync(_state);
    }

    [Fact]
    public async Task AGuardInterruptedBySignalsWhileWaitingForAnAgentsFirstWordStillAnswersIt()
    {
        // poll(2) is call 7 on x86-64; the test finds the guard in it by its arguments.
        Assert.Equal(Architecture.X64, RuntimeInformation.ProcessArchitecture);
        // Handled (a handler is set), so it interrupts a call instead of ending the process.
        using var handled = PosixSignalRegistration.Create((PosixSignal)UserSignal2, context => context.Cancel = true);
        var guardThread = new TaskCompletionSource<int>();
        var guard = new Thread(() =>
        {
            guardThread.SetResult(gettid());
            new RecallGuard(_state, TimeSpan.FromMinutes(2), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).Run(_stopGuard.Token);
        }) { IsBackground = true };
        guard.Start();
        var thread = await guardThread.Task;
        await WaitForAsync(() => File.Exists(RecallGuard.SocketPath(_state)), "the guard to listen");

        using var agent = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        await agent.ConnectAsync(new UnixDomainSocketEndPoint(RecallGuard.SocketPath(_state)));
        // The guard waits (up to 5 s) for this connection's first word: poll on one descriptor, 5,000 ms.
        await WaitForAsync(() => InCall(thread) is [PollCall, _, 1, 5000, ..], "the guard to wait for the agent's first word");
        for (var signal = 0; signal < 3; signal++)
        {
            Assert.Equal(0, tgkill(Environment.ProcessId, thread, UserSignal2));
            await Task.Delay(50);
        }

        await agent.SendAsync(Encoding.ASCII.GetBytes(RecallGuardProtocol.Acquire));
        var answer = new byte[256];
        var length = await agent.ReceiveAsync(answer).WaitAsync(Patience);
        Assert.Equal(RecallGuardProtocol.None, Encoding.ASCII.GetString(answer, 0, length));
    }

    /// <summary>The system call a thread of this process is in, with its arguments (proc(5), /proc/pid/task/tid/syscall); empty when it runs.</summary>
    private static long[] InCall(int thread)
    {
        var fields = File.ReadAllText($"/proc/self/task/{thread}/syscall").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length < 7 || !long.TryParse(fields[0], out var call)
            ? []
            : [call, .. fields.Skip(1).Take(6).Select(argument => Convert.ToInt64(argument, 16))];
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < Patience, $"waited {Patience.TotalSeconds} s for {what}");
            await Task.Delay(10);
        }
    }

    [LibraryImport("libc")]
    private static partial int gettid();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tgkill(int process, int thread, int signal);
}
