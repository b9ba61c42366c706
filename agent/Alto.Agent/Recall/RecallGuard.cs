using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Recall;

/// <summary>
/// The recall guard (<c>alto-agent guard</c>): a small process that keeps the fanotify group of
/// transparent recall alive while the agent restarts or is upgraded, so a program that opens a stub
/// meanwhile waits instead of reading holes (DESIGN.md §4). It holds the group's descriptor and
/// hands it, over a root-only Unix socket, to one agent process at a time (the holder). While no
/// agent holds it, the guard reads the events itself: opens of ordinary files pass at once, opens
/// of stubs wait, and go to the next agent with the group (as do the opens a stopping agent had
/// not started recalling yet, which it hands back with the group); one that waits longer than
/// <c>holdStubOpens</c> is refused with EIO (an error, never zeros), as is one past the agent's
/// bound on opens waiting (<paramref name="limits"/>). When a holder dies without answering opens it
/// had taken, the guard refuses them with EIO before reading again, so no program hangs on a dead
/// agent. The next agent counts every such refusal as a failed recall. The guard exits when there is nothing left to guard: its state folder is
/// gone, or no marked file system is mounted and it knows of no volume. Volumes it knows of that
/// are unmounted for a while (a file system check, a disk moved) it waits for, and marks again
/// when they come back: their stubs must not read as holes then.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed partial class RecallGuard(string stateDirectory, TimeSpan holdStubOpens, ILogger logger, RecallLimits? limits = null)
{
    public const string SocketName = "recall-guard.sock";
    public const string LogName = "recall-guard.log";
    public const string PidName = "recall-guard.pid";

    /// <summary>Event numbers a dead holder may have left unanswered: its descriptors are numbered from 0 up, lowest free first.</summary>
    public const int SweptNumbers = 65_536;

    private static readonly TimeSpan IdleWithoutGroup = TimeSpan.FromMinutes(1);

    /// <summary>How often the guard looks that its socket is still where agents look for it.</summary>
    private static readonly TimeSpan SocketLookEvery = TimeSpan.FromSeconds(2);
    private readonly int _ownProcess = Environment.ProcessId;
    /// <summary>Opens of stubs waiting for an agent: each one's descriptor here, the number the kernel knows it by, its user, and since when it waits.</summary>
    private readonly List<(WaitingOpen Open, long HeldSince)> _heldStubOpens = [];

    /// <summary>
    /// The agent's bound on opens of stubs waiting, and on one user's share of them, held here too:
    /// while no agent runs, each waiting open holds one of the guard's descriptors, and a local user
    /// opening stubs by the thousand would otherwise run the guard out of them (the kernel then
    /// refuses every open of the volumes, ordinary files' too) and, handed over, past the agent's bound.
    /// </summary>
    private readonly RecallAdmission _admission = new(limits ?? RecallLimits.Default, logger);

    /// <summary>Opens this guard refused with EIO since it last handed the group over (the next agent counts them as failed recalls), and since it started.</summary>
    private int _refusedSinceHandover;
    private long _refusedInAll;

    /// <summary>
    /// The files of those refusals, and why, for the next agent to report as failed recalls (the
    /// audit log's); the first <see cref="MostRefusedFilesTold"/> of them. Opens refused for a dead
    /// agent are known by number only, and counted only.
    /// </summary>
    private readonly List<(string Path, string Why)> _refusedFiles = [];

    /// <summary>How many refused files one handover names; beyond them, the count says how many more there were.</summary>
    public const int MostRefusedFilesTold = 1000;

    /// <summary>Numbers of handed-back opens that could not take their number here: every open read is checked against these only.</summary>
    private readonly HashSet<int> _numbersNotHeld = [];
    private readonly byte[] _buffer = new byte[16 * 1024];
    private readonly List<Fanotify.PermissionEvent> _events = [];
    private RecallGroup? _group;
    private int _holder = -1;
    private int _holderProcess;
    private bool _waitingForVolumes;
    private bool _socketMissing;

    public static string SocketPath(string stateDirectory) => Path.Combine(stateDirectory, SocketName);

    /// <summary>
    /// Serves until <paramref name="stopping"/> or until there is nothing left to guard; returns the
    /// exit code. <paramref name="listening"/> is called once agents can connect (systemd's readiness).
    /// With <paramref name="standBy"/>, a guard that finds another serving the state folder waits
    /// and takes over when that one ends, instead of exiting.
    /// </summary>
    public int Run(CancellationToken stopping, Action? listening = null, bool standBy = false)
    {
        var socketPath = SocketPath(stateDirectory);
        // One guard per state folder: a second one would take the socket from the first, which
        // would then hold opens of stubs that no agent can reach any more.
        using var only = TakeLock(standBy, ref listening, stopping);
        if (only is null)
        {
            return stopping.IsCancellationRequested ? 0 : 1;
        }
        var socket = UnixSockets.Listen(socketPath, out var errno);
        if (socket < 0)
        {
            LogCannotListen(logger, socketPath, errno);
            return 1;
        }
        Tiering.PrivateFiles.WriteAllText(Path.Combine(stateDirectory, PidName), _ownProcess.ToString(CultureInfo.InvariantCulture));
        LogStarted(logger, socketPath, holdStubOpens.TotalSeconds);
        listening?.Invoke();
        var idleSince = Stopwatch.GetTimestamp();
        var lastLook = Stopwatch.GetTimestamp();
        var lastSocketLook = Stopwatch.GetTimestamp();
        using var mounts = MountWatch.TryOpen();
        var mountsChanged = false;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                // While no agent holds the group, the guard arms the volumes again after a mount change, as the agent would.
                if ((mountsChanged || mounts?.Changed(0) == true) && _holder < 0 && _group is { } marked)
                {
                    RearmKnownVolumes(marked);
                }
                if (UnixSockets.Wait(socket, 0))
                {
                    Accept(socket);
                }
                if (_holder >= 0 && UnixSockets.Wait(_holder, 0))
                {
                    ServeHolder();
                }
                if (_holder < 0 && _group is { } group && Fanotify.Wait(group.Descriptor, 0))
                {
                    ReadEvents(group);
                }
                RefuseStaleStubOpens(holdStubOpens);
                if (Stopwatch.GetElapsedTime(lastSocketLook) >= SocketLookEvery)
                {
                    lastSocketLook = Stopwatch.GetTimestamp();
                    socket = ListenAgainIfGone(socketPath, socket);
                }
                if (_holder >= 0 || _heldStubOpens.Count > 0)
                {
                    idleSince = Stopwatch.GetTimestamp();
                }
                else if (Stopwatch.GetElapsedTime(lastLook) >= TimeSpan.FromSeconds(2))
                {
                    lastLook = Stopwatch.GetTimestamp();
                    // A guard that was never given a group waits a while for the agent that started it.
                    if ((_group is not null || Stopwatch.GetElapsedTime(idleSince) >= IdleWithoutGroup) && NothingLeftToGuard())
                    {
                        break;
                    }
                }
                // A change of the mount table wakes the guard at once: until it arms a volume mounted again, its stubs read as holes.
                mountsChanged = WaitForAnything(socket, mounts);
            }
        }
        finally
        {
            // Stub opens still waiting get an error: once the group goes, they would read holes.
            RefuseStaleStubOpens(TimeSpan.Zero);
            _group?.Dispose();
            UnixSockets.Close(socket);
            if (_holder >= 0)
            {
                UnixSockets.Close(_holder);
            }
            File.Delete(socketPath);
            File.Delete(Path.Combine(stateDirectory, PidName));
            LogStopped(logger);
        }
        return 0;
    }

    /// <summary>
    /// The socket's name, deleted (a clean-up of the state folder by hand, a tmpfiles rule), would
    /// leave this guard unreachable with the group: the next agent, finding no guard, would keep a
    /// group of its own beside this one, whose opens of stubs this guard would hold and then
    /// refuse. The name is this guard's alone (<see cref="GuardLock"/>), so it is made again, two to
    /// four seconds after it went.
    /// </summary>
    private int ListenAgainIfGone(string socketPath, int socket)
    {
        // A state folder gone altogether ends the guard instead (NothingLeftToGuard). The socket is
        // made again only when it was missing at the look before too: a recursive delete of the
        // folder (rm -rf) seen half done would otherwise find the socket made again under it, fail
        // with "Directory not empty", and leave this guard serving a folder half deleted.
        var missing = !File.Exists(socketPath) && Directory.Exists(stateDirectory);
        var missingBefore = _socketMissing;
        _socketMissing = missing;
        if (!missing || !missingBefore)
        {
            return socket;
        }
        _socketMissing = false;
        var again = UnixSockets.Listen(socketPath, out var errno);
        if (again < 0)
        {
            LogCannotListen(logger, socketPath, errno);
            return socket;
        }
        UnixSockets.Close(socket);
        LogListeningAgain(logger, socketPath);
        return again;
    }

    /// <summary>
    /// The state folder's guard lock, or null when another guard holds it (or it cannot be taken).
    /// Standing by, the guard waits for the lock instead: a guard under systemd that finds one an
    /// agent started (before the units were installed) would otherwise exit, be started again each
    /// second and soon be given up by systemd, leaving no unit to take over when that guard ends.
    /// Meanwhile agents reach the serving guard, so <paramref name="listening"/> is called (and
    /// cleared) at once.
    /// </summary>
    private GuardLock? TakeLock(bool standBy, ref Action? listening, CancellationToken stopping)
    {
        var lockPath = Path.Combine(stateDirectory, GuardLock.FileName);
        var told = false;
        while (true)
        {
            if (GuardLock.TryTake(stateDirectory, out var errno) is { } taken)
            {
                if (told)
                {
                    LogTakingOver(logger, lockPath);
                }
                return taken;
            }
            if (errno != GuardLock.ErrorHeld)
            {
                LogCannotLock(logger, lockPath, errno);
                return null;
            }
            if (!standBy)
            {
                LogAnotherGuard(logger, lockPath, OtherGuardProcess());
                return null;
            }
            if (!told)
            {
                LogStandingBy(logger, OtherGuardProcess(), lockPath);
                listening?.Invoke();
                listening = null;
                told = true;
            }
            if (stopping.WaitHandle.WaitOne(TimeSpan.FromSeconds(1)))
            {
                return null;
            }
        }
    }

    /// <summary>The process id the guard that holds the lock wrote, or "unknown" (it may be starting, or just stopped).</summary>
    private string OtherGuardProcess()
    {
        try
        {
            return File.ReadAllText(Path.Combine(stateDirectory, PidName)).Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>Marks again the file system of every volume the state folder armed before (marking twice is harmless).</summary>
    private void RearmKnownVolumes(RecallGroup group)
    {
        foreach (var volume in ArmedRecall.KnownVolumes(stateDirectory))
        {
            var armed = group.Arm(volume);
            LogRearmed(logger, volume, armed.Armed ? "armed" : "not armed: " + armed.Reason);
        }
    }

    private bool NothingLeftToGuard()
    {
        if (!Directory.Exists(stateDirectory))
        {
            LogExiting(logger, "its state folder is gone");
            return true;
        }
        if (_group is null)
        {
            LogExiting(logger, "no agent gave it a group to keep");
            return true;
        }
        if (_group.HasFilesystemMarks())
        {
            _waitingForVolumes = false;
            return false;
        }
        if (ArmedRecall.KnownVolumes(stateDirectory) is { Length: > 0 } known)
        {
            if (!_waitingForVolumes)
            {
                _waitingForVolumes = true;
                LogWaitingForVolumes(logger, string.Join(", ", known));
            }
            return false;
        }
        LogExiting(logger, "no marked file system is mounted any more, and it knows of no volume");
        return true;
    }

    /// <summary>Sleeps until a connection, the holder's words, (with no holder) an open or a change of the mount table comes in, or a second passes; true on a mount change.</summary>
    private bool WaitForAnything(int listening, MountWatch? mounts) =>
        UnixSockets.WaitAny([listening, _holder, _holder < 0 ? _group?.Descriptor ?? -1 : -1], _heldStubOpens.Count > 0 ? 200 : 1000,
            _holder < 0 ? mounts?.Descriptor ?? -1 : -1);

    private void Accept(int listening)
    {
        var connection = UnixSockets.Accept(listening);
        if (connection < 0)
        {
            return;
        }
        var peer = UnixSockets.PeerOf(connection);
        if (peer.UserId != 0)
        {
            // Only root may take the group: whoever holds it decides which opens succeed.
            LogRefusedPeer(logger, peer.ProcessId, peer.UserId);
            UnixSockets.Close(connection);
            return;
        }
        var request = UnixSockets.Receive(connection, 5000, out var stray);
        while (request == RecallGuardProtocol.Acquire && _holder >= 0 && UnixSockets.Wait(_holder, 0))
        {
            // The holder may have just ended (its socket says so before this loop looked), after
            // handing back the opens it had not started: all of that is settled first.
            ServeHolder();
        }
        switch (request)
        {
            case RecallGuardProtocol.Acquire when _holder >= 0:
                UnixSockets.Send(connection, $"{RecallGuardProtocol.Busy} {_holderProcess}");
                UnixSockets.Close(connection);
                break;
            case RecallGuardProtocol.Acquire:
                HandOver(connection, peer.ProcessId);
                break;
            case RecallGuardProtocol.Status:
                UnixSockets.Send(connection, string.Create(CultureInfo.InvariantCulture,
                    $"{RecallGuardProtocol.Status} holder={(_holder >= 0 ? _holderProcess : 0)} group={(_group is null ? "no" : "yes")} waiting={_heldStubOpens.Count} refused={_refusedInAll} guard={_ownProcess}"));
                UnixSockets.Close(connection);
                break;
            default:
                UnixSockets.Close(connection);
                break;
        }
        if (stray >= 0)
        {
            UnixSockets.Close(stray);
        }
    }

    /// <summary>The group and every stub open that waited for an agent go to the new holder.</summary>
    private void HandOver(int connection, int process)
    {
        _holder = connection;
        _holderProcess = process;
        if (_group is null)
        {
            UnixSockets.Send(connection, RecallGuardProtocol.None);
            LogHolder(logger, process, "a new group");
            return;
        }
        UnixSockets.Send(connection, RecallGuardProtocol.Group, _group.Descriptor);
        foreach (var (open, _) in _heldStubOpens)
        {
            UnixSockets.Send(connection, RecallGuardProtocol.EventMessage(open), open.Fd);
            Fanotify.Close(open.Fd);
            _admission.Dismiss(open.User);
        }
        foreach (var refused in _refusedFiles)
        {
            if (RecallGuardProtocol.RefusedFileMessage(refused.Path, refused.Why) is { } message)
            {
                UnixSockets.Send(connection, message);
            }
        }
        _refusedFiles.Clear();
        if (_refusedSinceHandover > 0)
        {
            UnixSockets.Send(connection, string.Create(CultureInfo.InvariantCulture, $"{RecallGuardProtocol.Refused} {_refusedSinceHandover}"));
            _refusedSinceHandover = 0;
        }
        UnixSockets.Send(connection, RecallGuardProtocol.End);
        _numbersNotHeld.Clear();
        LogHolder(logger, process, $"the group with {_heldStubOpens.Count} waiting stub open(s)");
        _heldStubOpens.Clear();
    }

    private void ServeHolder()
    {
        var message = UnixSockets.Receive(_holder, 0, out var fd);
        if (RecallGuardProtocol.TryReadEvent(message, fd, out var handedBack))
        {
            // An open whose recall the stopping holder never started: it waits here for the next
            // agent. The holder admitted it under its own bound; it is counted, not refused again.
            LogHandedBack(logger, LinuxFiles.PathOf(fd), _holderProcess);
            _admission.AdmitAlways(handedBack.User);
            _heldStubOpens.Add((handedBack, Stopwatch.GetTimestamp()));
            return;
        }
        if (message == RecallGuardProtocol.Keep && fd >= 0)
        {
            if (_group is null)
            {
                _group = RecallGroup.Adopt(fd);
                LogKept(logger, _holderProcess);
            }
            else
            {
                Fanotify.Close(fd);
            }
            return;
        }
        if (fd >= 0)
        {
            Fanotify.Close(fd);
        }
        if (message is not (null or RecallGuardProtocol.Release))
        {
            return;
        }
        // A holder's socket closes with its descriptors, the group's among them, as its process
        // ends: it can answer nothing any more, so opens it took and never answered are refused now.
        var graceful = message == RecallGuardProtocol.Release;
        UnixSockets.Close(_holder);
        _holder = -1;
        TakeHeldNumbers();
        var refused = _group is null ? 0 : Sweep(_group, [.. _heldStubOpens.Select(held => held.Open.Number)]);
        CountRefused(refused);
        LogHolderGone(logger, _holderProcess, graceful ? "released the group" : "ended without releasing it", refused);
    }

    /// <summary>
    /// The opens the holder handed back hold their own numbers here where they can (as the agent's
    /// listener does with those it is handed): an open read here under one's number would take its answer.
    /// </summary>
    private void TakeHeldNumbers()
    {
        var opens = _heldStubOpens.Select(held => held.Open).ToList();
        Fanotify.TakeNumbers(opens);
        for (var i = 0; i < opens.Count; i++)
        {
            _heldStubOpens[i] = _heldStubOpens[i] with { Open = opens[i] };
            if (opens[i].Fd != opens[i].Number)
            {
                _numbersNotHeld.Add(opens[i].Number);
            }
        }
    }

    /// <summary>
    /// Answers EIO to every open a dead holder left unanswered (the kernel finds them by number; other
    /// numbers answer ENOENT), but for those it handed back (<paramref name="waiting"/>), which wait on here.
    /// </summary>
    private static int Sweep(RecallGroup group, HashSet<int> waiting)
    {
        var answered = 0;
        for (var number = 0; number < SweptNumbers; number++)
        {
            if (!waiting.Contains(number) && Fanotify.TryRespond(group.Descriptor, number, Fanotify.DenyWithError(LinuxFiles.ErrorIo)))
            {
                answered++;
            }
        }
        return answered;
    }

    private void ReadEvents(RecallGroup group)
    {
        Fanotify.ReadEvents(group.Descriptor, _buffer, _events);
        foreach (var (fd, process) in _events)
        {
            if (fd < 0)
            {
                // The kernel could not open the file for the event and refused that access itself.
                LogRefusedByKernel(logger, process, Marshal.GetPInvokeErrorMessage(-fd));
                continue;
            }
            RefuseHeldOpenWithNumber(group, fd);
            bool? isStub;
            try
            {
                isStub = LinuxStubs.HasMarkers(fd);
            }
            catch (IOException)
            {
                // Whether it is a stub cannot be told: let through (as the agent does), but not marked.
                isStub = null;
            }
            if (isStub == true && process != _ownProcess)
            {
                HoldOrRefuse(group, fd, process);
                continue;
            }
            // Only a file known to be no stub gets the ignore mark: a stub with one would raise no
            // event at its next open, and read as holes (the guard's own opens of a stub pass unmarked).
            if (isStub == false)
            {
                group.Ignore(fd);
            }
            Fanotify.Respond(group.Descriptor, fd, Fanotify.Allow);
            Fanotify.Close(fd);
        }
    }

    /// <summary>
    /// An event just read under the number of a handed-back open that could not take it here: any
    /// answer naming the number would reach that older open first, so it is refused now (EIO; the
    /// file stays a stub), before the new event is answered.
    /// </summary>
    private void RefuseHeldOpenWithNumber(RecallGroup group, int number)
    {
        if (!_numbersNotHeld.Remove(number))
        {
            return;
        }
        var index = _heldStubOpens.FindIndex(held => held.Open.Number == number && held.Open.Fd != number);
        if (index < 0)
        {
            return;
        }
        LogHeldOpenRefused(logger, LinuxFiles.PathOf(_heldStubOpens[index].Open.Fd), number);
        RefuseHeld(group, index, "its event number came to another open while it waited (an answer names the number only)");
    }

    /// <summary>
    /// An open of a stub read while no agent holds the group waits for the next one, unless the
    /// opens waiting are at the agent's bound, or its user's share of them is: then it gets EIO at
    /// once (the file stays a stub), as the agent would answer it.
    /// </summary>
    private void HoldOrRefuse(RecallGroup group, int fd, int process)
    {
        var user = LinuxProcesses.FileSystemUser(process);
        if (_admission.TryAdmit(user) is { } overloaded)
        {
            Fanotify.Respond(group.Descriptor, fd, Fanotify.DenyWithError(LinuxFiles.ErrorIo));
            CountRefused(1, LinuxFiles.PathOf(fd), overloaded.Message);
            Fanotify.Close(fd);
            return;
        }
        LogHolding(logger, LinuxFiles.PathOf(fd), process);
        _heldStubOpens.Add((new WaitingOpen(fd, fd, user), Stopwatch.GetTimestamp()));
    }

    /// <summary>Refuses the held open at <paramref name="index"/> with EIO, <paramref name="why"/>, and lets it go.</summary>
    private void RefuseHeld(RecallGroup group, int index, string why)
    {
        var (open, _) = _heldStubOpens[index];
        Fanotify.Respond(group.Descriptor, open.Number, Fanotify.DenyWithError(LinuxFiles.ErrorIo));
        CountRefused(1, LinuxFiles.PathOf(open.Fd), why);
        Fanotify.Close(open.Fd);
        _admission.Dismiss(open.User);
        _heldStubOpens.RemoveAt(index);
    }

    private void CountRefused(int count, string? path = null, string? why = null)
    {
        _refusedSinceHandover += count;
        _refusedInAll += count;
        if (path is not null && why is not null && _refusedFiles.Count < MostRefusedFilesTold)
        {
            _refusedFiles.Add((path, why));
        }
    }

    private void RefuseStaleStubOpens(TimeSpan olderThan)
    {
        var refused = 0;
        for (var i = _heldStubOpens.Count - 1; i >= 0; i--)
        {
            if (Stopwatch.GetElapsedTime(_heldStubOpens[i].HeldSince) >= olderThan && _group is { } group)
            {
                RefuseHeld(group, i, string.Create(CultureInfo.InvariantCulture, $"it waited {olderThan.TotalSeconds:0} s for an agent"));
                refused++;
            }
        }
        if (refused > 0)
        {
            LogRefusedStubOpens(logger, refused, olderThan.TotalSeconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "An access by process {Process} to a file of an armed volume was refused by the kernel (EPERM): the file could not be opened for the event: {Reason}")]
    private static partial void LogRefusedByKernel(ILogger logger, int process, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recall guard listening on {Socket}; stub opens wait up to {Seconds} s for an agent")]
    private static partial void LogStarted(ILogger logger, string socket, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Recall guard not started: another recall guard (pid {Process}) serves this state folder (it holds {Lock})")]
    private static partial void LogAnotherGuard(ILogger logger, string @lock, string process);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recall guard standing by: another recall guard (pid {Process}) serves this state folder (it holds {Lock}); this one takes over when it ends")]
    private static partial void LogStandingBy(ILogger logger, string process, string @lock);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The recall guard that served this state folder ended; this one takes over ({Lock})")]
    private static partial void LogTakingOver(ILogger logger, string @lock);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Recall guard cannot lock {Lock} (errno {Errno})")]
    private static partial void LogCannotLock(ILogger logger, string @lock, int errno);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The recall guard's socket {Socket} was gone (deleted by someone); it listens there again")]
    private static partial void LogListeningAgain(ILogger logger, string socket);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Recall guard cannot listen on {Socket} (errno {Errno})")]
    private static partial void LogCannotListen(ILogger logger, string socket, int errno);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a connection from process {Process} (uid {User}): only root may hold recall")]
    private static partial void LogRefusedPeer(ILogger logger, int process, uint user);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent process {Process} holds recall: it was given {What}")]
    private static partial void LogHolder(ILogger logger, int process, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "Keeping the recall group of agent process {Process}")]
    private static partial void LogKept(ILogger logger, int process);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent process {Process} {How}; {Refused} open(s) it left unanswered were refused with EIO; the guard answers opens until the next agent")]
    private static partial void LogHolderGone(ILogger logger, int process, string how, int refused);

    [LoggerMessage(Level = LogLevel.Information, Message = "An open of stub {Path} that agent process {Process} had not recalled yet when it stopped waits for the next agent")]
    private static partial void LogHandedBack(ILogger logger, string path, int process);

    [LoggerMessage(Level = LogLevel.Error, Message = "An open of {Path} handed back by an agent was refused with EIO: its event number ({Number}) came to another open here, and an answer names the number only; the file stays a stub")]
    private static partial void LogHeldOpenRefused(ILogger logger, string path, int number);

    [LoggerMessage(Level = LogLevel.Information, Message = "An open of stub {Path} by process {Process} waits for an agent")]
    private static partial void LogHolding(ILogger logger, string path, int process);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} open(s) of stubs waited {Seconds} s for an agent and were refused with EIO")]
    private static partial void LogRefusedStubOpens(ILogger logger, int count, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recall guard exits: {Reason}")]
    private static partial void LogExiting(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The mount table changed while no agent held recall: volume {Volume} {Outcome}")]
    private static partial void LogRearmed(ILogger logger, string volume, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No marked file system is mounted: the recall guard waits for its volumes ({Volumes}) and marks them again when they are mounted")]
    private static partial void LogWaitingForVolumes(ILogger logger, string volumes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recall guard stopped")]
    private static partial void LogStopped(ILogger logger);
}

/// <summary>The words of the recall guard's socket; each is one SOCK_SEQPACKET message, some with a descriptor.</summary>
public static class RecallGuardProtocol
{
    /// <summary>Agent → guard: give me the group (answered GROUP, EVENT…, END; or NONE; or BUSY pid).</summary>
    public const string Acquire = "ACQUIRE";

    /// <summary>Agent → guard, with the group: keep this one (after NONE).</summary>
    public const string Keep = "KEEP";

    /// <summary>Agent → guard: I stopped reading and answered everything I took; the group is yours again.</summary>
    public const string Release = "RELEASE";

    /// <summary>Anyone (root) → guard: who holds the group; answered STATUS holder=… group=… waiting=… refused=… guard=….</summary>
    public const string Status = "STATUS";

    public const string Group = "GROUP";

    /// <summary>Either way, with an open's descriptor: <c>EVENT number user</c> (<see cref="EventMessage"/>).</summary>
    public const string Event = "EVENT";

    /// <summary>Guard → agent, before END: <c>REFUSED n</c>, the opens the guard refused with EIO since it last handed the group over.</summary>
    public const string Refused = "REFUSED";

    /// <summary>Guard → agent, before REFUSED: <c>REFUSED-FILE why</c>, a line break, and the path of one of those opens' files.</summary>
    public const string RefusedFile = "REFUSED-FILE";

    public const string End = "END";
    public const string None = "NONE";
    public const string Busy = "BUSY";

    /// <summary>The message an open is handed on with (its descriptor goes with it).</summary>
    public static string EventMessage(WaitingOpen open) =>
        string.Create(CultureInfo.InvariantCulture, $"{Event} {open.Number} {open.User}");

    /// <summary>
    /// The open an <see cref="Event"/> message with descriptor <paramref name="fd"/> hands on. Its user
    /// may be missing (an older guard or agent sent only the number): then it is not known.
    /// </summary>
    public static bool TryReadEvent(string? message, int fd, out WaitingOpen open)
    {
        open = default;
        if (fd < 0 || message is null || !message.StartsWith(Event + " ", StringComparison.Ordinal))
        {
            return false;
        }
        var fields = message.AsSpan(Event.Length + 1);
        var space = fields.IndexOf(' ');
        var user = RecallAdmission.UnknownUser;
        if (!int.TryParse(space < 0 ? fields : fields[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || (space >= 0 && !uint.TryParse(fields[(space + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out user)))
        {
            return false;
        }
        open = new WaitingOpen(fd, number, user);
        return true;
    }

    /// <summary>The message that names one refused open's file and why; null for a path too long for one message (the count still covers it).</summary>
    public static string? RefusedFileMessage(string path, string why) =>
        $"{RefusedFile} {why.ReplaceLineEndings(" ")}\n{path}" is var message && RawPaths.ToBytes(message).Length <= UnixSockets.MaxMessageBytes
            ? message
            : null;

    /// <summary>The file and the reason a <see cref="RefusedFile"/> message gives, or null for any other message.</summary>
    public static (string Path, string Why)? TryReadRefusedFile(string? message)
    {
        if (message is null || !message.StartsWith(RefusedFile + " ", StringComparison.Ordinal))
        {
            return null;
        }
        var lineBreak = message.IndexOf('\n', StringComparison.Ordinal);
        return lineBreak < 0 ? null : (message[(lineBreak + 1)..], message[(RefusedFile.Length + 1)..lineBreak]);
    }

    /// <summary>The count a <see cref="Refused"/> message gives, or null for any other message.</summary>
    public static int? TryReadRefused(string? message) =>
        message is not null && message.StartsWith(Refused + " ", StringComparison.Ordinal)
        && int.TryParse(message.AsSpan(Refused.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            ? count
            : null;
}
