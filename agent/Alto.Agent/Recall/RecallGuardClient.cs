using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using Alto.Agent.Stubs;

namespace Alto.Agent.Recall;

/// <summary>
/// Recall cannot be taken from the guard of this state folder: another agent process holds it
/// (<see cref="ProcessId"/>), or the guard is there but does not answer as it should. Never a
/// reason to make a group of one's own: two groups on one volume would each hold opens of stubs.
/// </summary>
public sealed class RecallHeldElsewhereException(string message, int processId = 0) : InvalidOperationException(message)
{
    public RecallHeldElsewhereException(int processId)
        : this($"another agent process (pid {processId}) holds recall on this host; one process at a time acts on the volumes' files", processId)
    {
    }

    /// <summary>The process that holds recall, or 0 when the guard did not answer.</summary>
    public int ProcessId { get; } = processId;
}

/// <summary>
/// What the guard handed over: its group (null when it had none yet), the stub opens that waited for
/// an agent, and how many opens it refused with EIO meanwhile (waited too long, past the bound, or
/// left unanswered by an agent that died), which this agent counts as failed recalls, with the
/// files of those it knows (<see cref="RecallGuard.MostRefusedFilesTold"/> at most), which it reports.
/// </summary>
internal sealed record GuardHandover(int Connection, int? Group, IReadOnlyList<WaitingOpen> WaitingOpens)
{
    public int RefusedMeanwhile { get; init; }

    public IReadOnlyList<(string Path, string Why)> RefusedFiles { get; init; } = [];
}

/// <summary>The agent's side of the recall guard's socket (<see cref="RecallGuard"/>).</summary>
[SupportedOSPlatform("linux")]
internal static class RecallGuardClient
{
    private static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(15);

    /// <summary>How long a busy guard is asked again: the holder may be an agent that is stopping (a restart) or just died.</summary>
    private static readonly TimeSpan BusyPatience = TimeSpan.FromSeconds(10);

    /// <summary>How long the guard has to answer a request.</summary>
    private const int AnswerMilliseconds = 30_000;

    /// <summary>
    /// Takes the group from the guard of <paramref name="stateDirectory"/>, starting the guard first
    /// when none listens and <paramref name="mayStartGuard"/>; null (with the reason) only when no
    /// guard listens at all. Throws <see cref="RecallHeldElsewhereException"/> when another process
    /// still holds it after <see cref="BusyPatience"/>, or when the guard listens but does not answer.
    /// </summary>
    public static GuardHandover? TryAcquire(string stateDirectory, bool mayStartGuard, out string? whyNot)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(BusyPatience.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                return TryAcquireOnce(stateDirectory, mayStartGuard, out whyNot);
            }
            catch (RecallHeldElsewhereException) when (Stopwatch.GetTimestamp() < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }

    private static GuardHandover? TryAcquireOnce(string stateDirectory, bool mayStartGuard, out string? whyNot)
    {
        var socket = RecallGuard.SocketPath(stateDirectory);
        var connection = UnixSockets.Connect(socket, out _);
        if (connection < 0 && mayStartGuard)
        {
            StartGuard(stateDirectory);
            var deadline = Stopwatch.GetTimestamp() + (long)(StartPatience.TotalSeconds * Stopwatch.Frequency);
            while (connection < 0 && Stopwatch.GetTimestamp() < deadline)
            {
                Thread.Sleep(50);
                connection = UnixSockets.Connect(socket, out _);
            }
        }
        if (connection < 0)
        {
            whyNot = mayStartGuard
                ? $"the recall guard did not start (see {Path.Combine(stateDirectory, RecallGuard.LogName)})"
                : "no recall guard is running (under systemd, enable alto-agent-guard.service)";
            return null;
        }
        if (!UnixSockets.Send(connection, RecallGuardProtocol.Acquire))
        {
            UnixSockets.Close(connection);
            throw new RecallHeldElsewhereException("the recall guard closed the connection before it was asked anything");
        }
        var answer = UnixSockets.Receive(connection, AnswerMilliseconds, out var group);
        if (answer?.StartsWith(RecallGuardProtocol.Busy, StringComparison.Ordinal) == true)
        {
            UnixSockets.Close(connection);
            throw new RecallHeldElsewhereException(int.Parse(answer.AsSpan(RecallGuardProtocol.Busy.Length + 1), CultureInfo.InvariantCulture));
        }
        if (answer == RecallGuardProtocol.None)
        {
            whyNot = null;
            return new GuardHandover(connection, null, []);
        }
        if (answer != RecallGuardProtocol.Group || group < 0)
        {
            UnixSockets.Close(connection);
            throw new RecallHeldElsewhereException(answer is null
                ? $"the recall guard did not answer within {AnswerMilliseconds / 1000} s (see {Path.Combine(stateDirectory, RecallGuard.LogName)})"
                : $"the recall guard answered '{answer}'");
        }
        var waiting = new List<WaitingOpen>();
        var refused = 0;
        var refusedFiles = new List<(string Path, string Why)>();
        while (UnixSockets.Receive(connection, AnswerMilliseconds, out var opened) is { } message && message != RecallGuardProtocol.End)
        {
            if (RecallGuardProtocol.TryReadEvent(message, opened, out var open))
            {
                waiting.Add(open);
            }
            else if (RecallGuardProtocol.TryReadRefused(message) is { } count)
            {
                refused += count;
            }
            else if (RecallGuardProtocol.TryReadRefusedFile(message) is { } refusedFile)
            {
                refusedFiles.Add(refusedFile);
            }
        }
        whyNot = null;
        return new GuardHandover(connection, group, waiting) { RefusedMeanwhile = refused, RefusedFiles = refusedFiles };
    }

    /// <summary>Gives the guard a new group to keep (after it answered that it had none).</summary>
    public static bool Keep(int connection, RecallGroup group) => UnixSockets.Send(connection, RecallGuardProtocol.Keep, group.Descriptor);

    /// <summary>
    /// Hands the group back: this process stopped reading and answered everything it took but the
    /// opens in <paramref name="waiting"/>, whose recall never started; those go to the guard with
    /// their numbers, for the next agent (one the guard cannot be sent gets EIO: the file stays a stub).
    /// </summary>
    public static void Release(int connection, RecallGroup? group, IReadOnlyList<WaitingOpen> waiting)
    {
        foreach (var open in waiting)
        {
            if (!UnixSockets.Send(connection, RecallGuardProtocol.EventMessage(open), open.Fd) && group is not null)
            {
                Fanotify.Respond(group.Descriptor, open.Number, Fanotify.DenyWithError(LinuxFiles.ErrorIo));
            }
            Fanotify.Close(open.Fd);
        }
        UnixSockets.Send(connection, RecallGuardProtocol.Release);
        UnixSockets.Close(connection);
    }

    /// <summary>The guard's own account of itself, or null when none answers.</summary>
    public static string? Status(string stateDirectory)
    {
        var connection = UnixSockets.Connect(RecallGuard.SocketPath(stateDirectory), out _);
        if (connection < 0)
        {
            return null;
        }
        try
        {
            return UnixSockets.Send(connection, RecallGuardProtocol.Status) ? UnixSockets.Receive(connection, 5000, out _) : null;
        }
        finally
        {
            UnixSockets.Close(connection);
        }
    }

    /// <summary>
    /// Starts <c>alto-agent guard</c> in a session of its own, with its output in its log, so it
    /// outlives this process (and its process group, and its terminal).
    /// </summary>
    private static void StartGuard(string stateDirectory)
    {
        var self = Environment.ProcessPath ?? "dotnet";
        string[] program = Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? [self, typeof(RecallGuardClient).Assembly.Location]
            : [self];
        var start = new ProcessStartInfo(self) { UseShellExecute = false };
        foreach (var argument in program.Skip(1).Concat(["guard", "--state-dir", stateDirectory]))
        {
            start.ArgumentList.Add(argument);
        }
        // Not systemd's service: whatever this process's unit is told, the guard does not speak for it.
        start.Environment.Remove("NOTIFY_SOCKET");
        // The guard redirects its own standard streams: nothing of this process's pipes stays open in it.
        start.RedirectStandardInput = start.RedirectStandardOutput = start.RedirectStandardError = true;
        using var guard = Process.Start(start);
        guard?.StandardInput.Close();
        guard?.StandardOutput.Close();
        guard?.StandardError.Close();
    }
}
