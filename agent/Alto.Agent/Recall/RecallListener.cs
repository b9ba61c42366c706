using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Alto.Agent.Stubs;
using Alto.Tiering;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Recall;

/// <summary>One recall: the file, what it was a stub of, how long the opener waited, and the error if it was refused.</summary>
public sealed record RecallOutcome(string Path, StubInfo Stub, TimeSpan Duration, string? Error);

/// <summary>
/// Transparent recall on Linux: reads the events of a <see cref="RecallGroup"/>. Opening or
/// reading a stub blocks the program until its data is back from tier 2 (written through the
/// file opened again for writing, the event's own descriptor being read-only: the agent's own
/// events are let through at once), then the file gets an ignore mark and
/// the program goes on; if tier 2 cannot deliver, the program gets EIO and the file stays a stub.
/// Files that are not stubs get an ignore mark at their first event, the agent's own opens and
/// reads included (it tiers, verifies and journals through files of the volume, and each of those
/// opens and reads would otherwise be a round trip to this thread). The agent's own events are
/// always allowed at once: it never waits on itself. A file being made a stub right now is held
/// until it is one (<see cref="HoldOpens"/>), so an open can never see it half made; making a
/// stub takes any ignore mark off (<see cref="RecallGroup.Watch"/>) before the data goes.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed partial class RecallListener : IDisposable
{
    private static readonly TimeSpan DrainPatience = TimeSpan.FromSeconds(30);

    /// <summary>The listener thread's nice value: ahead of the agent's other threads (0), as an interactive program would be.</summary>
    private const int ListenerNice = -10;
    private readonly RecallGroup _group;
    private readonly Func<Guid, ITierStore> _stores;
    private readonly RecallCluster? _cluster;
    private readonly TimeSpan _stallLimit;
    private readonly RecallSlots _slots;
    /// <summary>Cancelled when this listener begins to stop (opens still waiting for their turn go to the next holder); never disposed, since recalls still running read its token afterwards.</summary>
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _logger;
    private readonly int _ownProcess = Environment.ProcessId;
    private readonly StubWork _work = new();

    /// <summary>Events taken and not answered yet: each one's descriptor here, and the number the kernel knows it by.</summary>
    private readonly ConcurrentDictionary<int, int> _unanswered = new();

    /// <summary>
    /// Opens handed over by the recall guard whose number this process could not take (another of
    /// its descriptors had it): by number, with the descriptor each came with. Changed, like every
    /// answer, under <see cref="_answering"/>.
    /// </summary>
    private readonly ConcurrentDictionary<int, int> _numbersNotHeld = new();
    private readonly Lock _answering = new();

    /// <summary>Opens whose recall had not started when this listener began to stop, unanswered, for whoever holds the group next.</summary>
    private readonly List<WaitingOpen> _givenBack = [];
    private bool _stopped;
    private readonly Thread _reader;
    private readonly Action<RecallOutcome>? _recalledHook;
    private volatile bool _stopping;
    private long _recalled;
    private long _failed;
    private long _refused;

    /// <summary>
    /// Starts reading <paramref name="group"/>'s events. <paramref name="recalled"/> is told of every
    /// recall, done or refused, with the file's path: the agent reports them to the cluster.
    /// <paramref name="limits"/> bound each recall's silence and how many run at once (<see cref="RecallLimits.Default"/>).
    /// <paramref name="handedOver"/> are the opens the recall guard read while no agent held the
    /// group: each one's descriptor here, the guard's number for it (the kernel knows the event
    /// by that number, whoever answers), and the user it counts under.
    /// </summary>
    public RecallListener(
        RecallGroup group, Func<Guid, ITierStore> stores, ILogger logger, Action<RecallOutcome>? recalled = null, RecallCluster? cluster = null,
        RecallLimits? limits = null, IReadOnlyList<WaitingOpen>? handedOver = null)
    {
        limits ??= RecallLimits.Default;
        _group = group;
        _stallLimit = limits.Stall;
        _slots = new RecallSlots(limits, logger);
        _stores = stores;
        _cluster = cluster;
        _logger = logger;
        _recalledHook = recalled;
        _reader = new Thread(ReadEvents) { IsBackground = true, Name = "alto-recall" };
        var adopted = Adopt(handedOver ?? []);
        _reader.Start();
        foreach (var open in adopted)
        {
            _ = Task.Run(() => HandleAsync(open.Fd, open.Number, process: 0, open.User));
        }
    }

    /// <summary>Counts opens of stubs that the recall guard refused with EIO while no agent held the group as failed recalls of this process's.</summary>
    public void CountRefusedByGuard(int refused) => Interlocked.Add(ref _failed, refused);

    /// <summary>Recalls done, failed (EIO) and refused as not the file's own stub (EPERM) since start.</summary>
    public (long Recalled, long Failed, long Refused) Counts => (Interlocked.Read(ref _recalled), Interlocked.Read(ref _failed), Interlocked.Read(ref _refused));

    /// <summary>Opens of stubs waiting now for a recall to start (<see cref="RecallLimits.AtOnce"/> run at once).</summary>
    public int Waiting => _slots.Waiting;

    /// <summary>Whether a stop has begun (<see cref="StopAndGiveBack"/>): no recall starts from then on.</summary>
    public bool Stopping => _stop.IsCancellationRequested;

    /// <summary>Opens kept so far for the next holder of the group, their recalls never started (a stop under way).</summary>
    public int GivenBack
    {
        get
        {
            lock (_answering)
            {
                return _givenBack.Count;
            }
        }
    }

    /// <summary>
    /// A group of its own on <paramref name="volumes"/> with a listener on it, or null with the
    /// reason. For tests and benchmarks that need recall and nothing else; the agent arms recall
    /// through <see cref="ArmedRecall"/>, which keeps the group alive across restarts.
    /// </summary>
    public static (RecallGroup Group, RecallListener Listener)? TryStartAlone(
        IReadOnlyList<string> volumes, Func<Guid, ITierStore> stores, ILogger logger, out string? whyNot, Action<RecallOutcome>? recalled = null,
        RecallLimits? limits = null)
    {
        if (RecallGroup.TryCreate(out whyNot) is not { } group)
        {
            return null;
        }
        foreach (var volume in volumes)
        {
            if (group.Arm(volume) is { Armed: false, Reason: var reason })
            {
                group.Dispose();
                whyNot = reason;
                return null;
            }
        }
        return (group, new RecallListener(group, stores, logger, recalled, limits: limits));
    }

    /// <summary>
    /// An open the recall guard read, taken before this listener reads any event. The kernel answers
    /// the oldest event with the number an answer names, and numbers are each process's own: an
    /// event read here under the guard's number for this one would have its answer go to this one,
    /// and this one's to it (an ordinary file's open waiting on a stub's recall, for ever once that
    /// answer is spent; a stub's open let through for another file's sake). So the
    /// descriptor moves to that number when it is free here, and while it is held no event read here
    /// can have it (<see cref="Fanotify.TakeNumbers"/>).
    /// </summary>
    private List<WaitingOpen> Adopt(IReadOnlyList<WaitingOpen> handedOver)
    {
        var adopted = handedOver.ToList();
        Fanotify.TakeNumbers(adopted);
        foreach (var (fd, number, _) in adopted)
        {
            _unanswered[fd] = number;
            if (fd != number)
            {
                _numbersNotHeld[number] = fd;
            }
        }
        return adopted;
    }

    /// <summary>
    /// An event just read under the number of a handed-over open that could not take it and is not
    /// answered yet: any answer naming the number would reach that older open first, so it is
    /// refused now (EIO: the file stays a stub, and the program's next open recalls it), before the
    /// new event is answered. Rare: the number was another descriptor's here when the open was handed over.
    /// </summary>
    private void RefuseHandedOverOpenWithNumber(int number)
    {
        if (_numbersNotHeld.IsEmpty)
        {
            return;
        }
        lock (_answering)
        {
            if (_numbersNotHeld.TryRemove(number, out var older) && _unanswered.TryRemove(older, out _))
            {
                Fanotify.Respond(_group.Descriptor, number, Fanotify.DenyWithError(LinuxFiles.ErrorIo));
                Interlocked.Increment(ref _failed);
                LogHandedOverRefused(_logger, RawPaths.Display(LinuxFiles.PathOf(older)), number);
            }
        }
    }

    /// <summary>
    /// Holds other programs' opens of the file until the returned handle is disposed, once a recall
    /// of it running now has ended (<see cref="StubWork.Hold"/>): the file is being made a stub, or
    /// an operation on it that a crash cut short is being settled, and an open must see it either
    /// before or after. Taken under the lock an ignore mark is decided in: one decided before is
    /// taken off by the stubbing's watch, any later one sees the hold.
    /// </summary>
    public IDisposable HoldOpens(FileIdentity file) => _work.Hold(file);

    /// <summary>
    /// A recall on command of the file (<paramref name="recall"/>), run unless an open's recall of
    /// it is running already: then it waits for that one and answers null (that open reports it).
    /// </summary>
    public async Task<StubInfo?> RecallOnceAsync(FileIdentity file, Func<Task<StubInfo?>> recall)
    {
        while (true)
        {
            var (stub, how) = await _work.RecallAsync(file, recall);
            if (how != StubWork.Outcome.WaitedForHold)
            {
                return how == StubWork.Outcome.Ran ? stub : null;
            }
            // Held meanwhile: the recall looks at the file as the hold left it.
        }
    }

    /// <summary>What making a stub needs from this listener (for one started alone; the agent's come from <see cref="ArmedRecall.Hooks"/>).</summary>
    public IStubRecallHooks Hooks => new ListenerHooks(this);

    private sealed class ListenerHooks(RecallListener listener) : IStubRecallHooks
    {
        public IDisposable HoldOpens(FileIdentity file) => listener.HoldOpens(file);

        public Task<StubInfo?> RecallOnceAsync(FileIdentity file, Func<Task<StubInfo?>> recall) => listener.RecallOnceAsync(file, recall);

        public void Watch(int fd) => listener._group.Watch(fd);
    }

    private void ReadEvents()
    {
        // Every open of the volume's files by every program waits for this thread: it comes before
        // the agent's own work (hashing, uploads) when the cores are busy. Measured on the tier
        // bench, whose jobs keep both cores busy: the agent's own opens waited 0.9 ms on average
        // at the default priority, 0.5-0.7 ms above it.
        if (!Fanotify.RaiseThreadPriority(ListenerNice))
        {
            LogPriorityNotRaised(_logger, ListenerNice, Marshal.GetLastPInvokeError());
        }
        var buffer = new byte[64 * 1024];
        var events = new List<Fanotify.PermissionEvent>();
        while (!_stopping)
        {
            // A short wait: stopping (an agent restart) waits for this loop to notice.
            if (!Fanotify.Wait(_group.Descriptor, 50))
            {
                continue;
            }
            Fanotify.ReadEvents(_group.Descriptor, buffer, events);
            foreach (var (fd, process) in events)
            {
                if (fd < 0)
                {
                    // The kernel could not open the file for the event (a write lease on it being
                    // broken, or no descriptor left) and refused that access itself (EPERM); there is
                    // nothing to answer.
                    Interlocked.Increment(ref _failed);
                    LogRefusedByKernel(_logger, process, -fd == LinuxFiles.ErrorWouldBlock
                        ? "another program's write lease on the file is being broken"
                        : Marshal.GetPInvokeErrorMessage(-fd));
                    continue;
                }
                RefuseHandedOverOpenWithNumber(fd);
                if (process == _ownProcess)
                {
                    IgnoreOwn(fd);
                    // Closed before the answer lets the agent's open return: a descriptor of a group
                    // made before event descriptors were read-only is open for writing, and the agent
                    // asks next whether anyone else may write to the file (WriterProbe). The answer
                    // still finds its event by this number: no event is read, so none can be given
                    // the number, before it is sent.
                    Fanotify.Close(fd);
                    Fanotify.Respond(_group.Descriptor, fd, Fanotify.Allow);
                    continue;
                }
                _unanswered[fd] = fd;
                // Recalls run beside the reader, so one slow tier-2 read does not hold every other open.
                _ = Task.Run(() => HandleAsync(fd, fd, process));
            }
        }
    }

    /// <summary>
    /// Answers one open: <paramref name="process"/> made it (0 when not known: an open the recall
    /// guard handed over, which comes with its user, <paramref name="handedOverUser"/>).
    /// </summary>
    private async Task HandleAsync(int fd, int responseNumber, int process, uint? handedOverUser = null)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        StubInfo? stub = null;
        var admitted = false;
        var user = RecallAdmission.UnknownUser;
        try
        {
            var file = LinuxFiles.Stat(fd).Identity;
            while (true)
            {
                // A file being made a stub, or settled after a crash, is looked at once that is done.
                await _work.UntilUnheldAsync(file);
                try
                {
                    stub = LinuxStubs.Read(fd);
                }
                catch (IOException exception)
                {
                    // Whether this is a stub cannot be told (its attributes do not read): the program
                    // goes on as with any other file. A refusal here would fail opens that are none of Alto's business.
                    LogNotReadable(_logger, exception.Message);
                    Answer(fd, responseNumber, Fanotify.Allow);
                    return;
                }
                if (stub is null)
                {
                    // An ordinary file is let through; one held since it was read is looked at again.
                    if (TryIgnoreOrdinary(fd, file))
                    {
                        Answer(fd, responseNumber, Fanotify.Allow);
                        return;
                    }
                    continue;
                }
                if (!admitted)
                {
                    user = handedOverUser ?? LinuxProcesses.FileSystemUser(process);
                    if (_slots.TryAdmit(user) is { } overloaded)
                    {
                        throw overloaded;
                    }
                    admitted = true;
                }
                // Several openers of one stub, and a recall on command of it, share one recall; only
                // the one that runs it waits for a slot.
                var (_, how) = await _work.RecallAsync(file, () => _slots.RunAsync(
                    () => LinuxStubs.RecallAsync(fd, LinuxFiles.PathOf(fd), _stores, CancellationToken.None, _cluster, _stallLimit), user, _stop.Token));
                if (how == StubWork.Outcome.Ran)
                {
                    break;
                }
                // Another's recall ended well, or a hold did: the file is looked at as it was left (a stub again recalls).
            }
            // The opener whose event did the recall reports it; the others only waited for it.
            Interlocked.Increment(ref _recalled);
            Report(fd, stub, started, error: null);
            TryIgnoreOrdinary(fd, file);
            Answer(fd, responseNumber, Fanotify.Allow);
        }
        catch (RecallNotStartedException)
        {
            GiveBack(new WaitingOpen(fd, responseNumber, user));
        }
        catch (RecallOverloadedException overloaded)
        {
            // Said by a warning now and then rather than once per open: a storm refuses thousands.
            Interlocked.Increment(ref _failed);
            Report(fd, stub!, started, overloaded.Message);
            Answer(fd, responseNumber, Fanotify.DenyWithError(LinuxFiles.ErrorIo));
        }
        catch (StubRefusedException refused)
        {
            // Not this file's stub: the opener is refused (EPERM) and nothing was written; the cluster audited it when it was asked.
            Interlocked.Increment(ref _refused);
            LogRecallRefused(_logger, RawPaths.Display(refused.Path), refused.Reason);
            Answer(fd, responseNumber, Fanotify.DenyWithError(LinuxFiles.ErrorNotPermitted));
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // Every event gets an answer, whatever went wrong: an unanswered one would hang its program.
            Interlocked.Increment(ref _failed);
            LogRecallFailed(_logger, exception);
            if (stub is not null)
            {
                Report(fd, stub, started, exception.Message);
            }
            Answer(fd, responseNumber, Fanotify.DenyWithError(LinuxFiles.ErrorIo));
        }
        finally
        {
            if (admitted)
            {
                _slots.Dismiss(user);
            }
        }
    }

    /// <summary>
    /// The agent's own open or read of a file that is no stub (an object it writes or reads back, a
    /// file it is about to tier): the file gets the ignore mark, so its further opens and reads raise
    /// no events. Measured on the tier bench (4,233 files, tier 2 on the same volume): about 19,500
    /// opens and 50,000 reads and writes each waited for this thread. A stub's own events keep coming.
    /// </summary>
    private void IgnoreOwn(int fd)
    {
        try
        {
            TryIgnoreOrdinary(fd, LinuxFiles.Stat(fd).Identity);
        }
        catch (IOException)
        {
            // Whether it is a stub cannot be told: no mark, and its events keep coming.
        }
    }

    /// <summary>
    /// Gives an ordinary file the ignore mark, unless it is a stub or held (false). Decided under
    /// the lock <see cref="HoldOpens"/> takes: a stubbing that begins after the decision watches
    /// the file (taking the mark off) before it releases the data, and one that began before is
    /// seen here, so a stub never keeps an ignore mark.
    /// </summary>
    private bool TryIgnoreOrdinary(int fd, FileIdentity file) => _work.UnlessHeld(file, () =>
    {
        try
        {
            if (LinuxStubs.HasMarkers(fd))
            {
                return false;
            }
        }
        catch (IOException)
        {
            // Its attributes no longer read: let through unmarked, as a file whose attributes never did.
            return true;
        }
        _group.Ignore(fd);
        return true;
    });

    private void Report(int fd, StubInfo stub, long started, string? error)
    {
        if (_recalledHook is null)
        {
            return;
        }
        var path = LinuxFiles.PathOf(fd);
        _recalledHook(new RecallOutcome(path, stub, System.Diagnostics.Stopwatch.GetElapsedTime(started), error));
    }

    /// <summary>Keeps an open whose recall never started for the next holder of the group, unanswered (unless it was refused at stop meanwhile).</summary>
    private void GiveBack(WaitingOpen open)
    {
        lock (_answering)
        {
            if (TakeUnanswered(open.Fd, open.Number))
            {
                _givenBack.Add(open);
                return;
            }
        }
        Fanotify.Close(open.Fd);
    }

    /// <summary>Whether the event was still unanswered (and is now this caller's to answer or give back); under <see cref="_answering"/>.</summary>
    private bool TakeUnanswered(int fd, int responseNumber)
    {
        if (!_unanswered.TryRemove(fd, out _))
        {
            return false;
        }
        if (responseNumber != fd)
        {
            _numbersNotHeld.TryRemove(responseNumber, out _);
        }
        return true;
    }

    /// <summary>Answers an event once (one refused at stop, or for its number, is not answered again) and closes its descriptor.</summary>
    private void Answer(int fd, int responseNumber, uint response)
    {
        lock (_answering)
        {
            if (TakeUnanswered(fd, responseNumber))
            {
                Fanotify.Respond(_group.Descriptor, responseNumber, response);
            }
        }
        Fanotify.Close(fd);
    }

    /// <summary>
    /// Stops. Opens whose recall has not had its turn yet, and opens of stubs read from now on, are
    /// not started: they are returned unanswered with the number the kernel knows each by, for the
    /// next holder of the group (the recall guard keeps them for the next agent); the caller owns
    /// their descriptors. The recalls running get <see cref="DrainPatience"/> to end, while events
    /// are still read and answered (their own writes to the file raise events too); then reading
    /// stops, and what is still unanswered (a tier 2 that hangs) is refused with EIO, so no program
    /// waits on an agent that is going away. Events not yet read stay queued in the group for
    /// whoever holds it next. Once only; later calls return nothing.
    /// </summary>
    public IReadOnlyList<WaitingOpen> StopAndGiveBack()
    {
        lock (_answering)
        {
            if (_stopped)
            {
                return [];
            }
            _stopped = true;
        }
        // No recall starts from here on: one started after this listener is gone would race the next agent's recall of the file.
        _stop.Cancel();
        var running = _unanswered.Keys.ToHashSet();
        WaitWhile(() => running.Any(_unanswered.ContainsKey), DrainPatience);
        _stopping = true;
        _reader.Join();
        // The events read last are answered, or given back, at once.
        WaitWhile(() => !_unanswered.IsEmpty, TimeSpan.FromSeconds(1));
        foreach (var (fd, number) in _unanswered)
        {
            lock (_answering)
            {
                if (TakeUnanswered(fd, number))
                {
                    RefuseAtStop(fd, number);
                }
            }
        }
        lock (_answering)
        {
            return [.. _givenBack];
        }
    }

    private static void WaitWhile(Func<bool> condition, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (condition() && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(20);
        }
    }

    /// <summary>Stops as <see cref="StopAndGiveBack"/> does, with no one to give the opens not started to: they get EIO (the files stay stubs).</summary>
    public void Dispose()
    {
        foreach (var (fd, number, _) in StopAndGiveBack())
        {
            RefuseAtStop(fd, number);
            Fanotify.Close(fd);
        }
    }

    private void RefuseAtStop(int fd, int number)
    {
        LogRefusedAtStop(_logger, RawPaths.Display(LinuxFiles.PathOf(fd)));
        Fanotify.Respond(_group.Descriptor, number, Fanotify.DenyWithError(LinuxFiles.ErrorIo));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A stub could not be recalled; its reader got EIO and it stays a stub")]
    private static partial void LogRecallFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused to recall {Path} for its opener (EPERM): {Reason}")]
    private static partial void LogRecallRefused(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An opened file's stub attributes could not be read; it was let through: {Reason}")]
    private static partial void LogNotReadable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The recall listener runs at the agent's own priority: the kernel refused nice {Nice} (errno {Errno}; CAP_SYS_NICE is needed); opens of the volume's files may wait longer for it when the cores are busy")]
    private static partial void LogPriorityNotRaised(ILogger logger, int nice, int errno);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An access by process {Process} to a file of an armed volume was refused by the kernel (EPERM): the file could not be opened for the event: {Reason}")]
    private static partial void LogRefusedByKernel(ILogger logger, int process, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "An open of {Path} handed over by the recall guard was refused with EIO before its recall ended: its event number ({Number}) came to another open here, and an answer names the number only; the file stays a stub, and the next open recalls it")]
    private static partial void LogHandedOverRefused(ILogger logger, string path, int number);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The agent stopped while {Path} was being recalled; its opener got EIO")]
    private static partial void LogRefusedAtStop(ILogger logger, string path);
}
