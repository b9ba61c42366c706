using System.Runtime.Versioning;
using System.Text.Json;
using Alto.Agent.Stubs;
using Alto.Tiering;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Recall;

/// <summary>How an agent process gets its recall group.</summary>
public enum RecallGuarding
{
    /// <summary>From the recall guard of its state folder, starting the guard when none runs (not under systemd, which runs it as a unit of its own).</summary>
    Auto = 0,

    /// <summary>A group of its own, for this process only: recall stops when it does, so nothing is tiered.</summary>
    Off = 1,
}

/// <summary>
/// Transparent recall as one agent process holds it (DESIGN.md §4): the group (from the recall
/// guard, so it outlives this process), every volume the state folder ever armed plus the ones
/// asked for now, and the listener that answers opens. A file may become a stub only where recall
/// is armed — its file system marked and the group guarded — which <see cref="RefusalFor"/> tells.
/// Started before the process touches any file of a volume, so its own opens never wait on a guard.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed partial class ArmedRecall : IRecallStatus, IDisposable
{
    public const string VolumesFileName = "recall-volumes.json";

    private readonly string _stateDirectory;
    private readonly ILogger _logger;
    private readonly RecallGroup? _group;
    private readonly string? _problem;
    private int _guard;
    private Thread? _guardWatch;
    private volatile bool _disposed;
    private int _disposeStarted;
    private readonly Dictionary<string, VolumeRecall> _volumes = new(StringComparer.Ordinal);
    private readonly HashSet<ulong> _armedDevices = [];
    private readonly Dictionary<string, ulong> _mounts = new(StringComparer.Ordinal);
    private Thread? _mountWatch;
    private readonly Lock _gate = new();

    private ArmedRecall(string stateDirectory, ILogger logger, RecallGroup? group, int guard, string? problem)
    {
        _stateDirectory = stateDirectory;
        _logger = logger;
        _group = group;
        _guard = guard;
        _problem = problem;
    }

    /// <summary>Why recall is not armed at all (no group), or why it would not outlive this process (no guard); null when all is well.</summary>
    public string? Problem => _problem ?? (_group is not null && !SurvivesRestart ? "the recall guard is not running" : null);

    /// <summary>Whether the group outlives this process (a guard keeps it).</summary>
    public bool SurvivesRestart => Volatile.Read(ref _guard) >= 0;

    public (long Recalled, long Failed, long Refused) Counts => Listener?.Counts ?? default;

    public int Waiting => Listener?.Waiting ?? 0;

    public RecallListener? Listener { get; private set; }

    /// <summary>Every volume this process was asked to arm, with its state.</summary>
    public IReadOnlyList<VolumeRecall> Volumes
    {
        get
        {
            lock (_gate)
            {
                return [.. _volumes.Values];
            }
        }
    }

    /// <summary>
    /// Takes the recall group (from the guard, or its own with <see cref="RecallGuarding.Off"/>),
    /// starts answering opens, and arms the volumes armed before plus <paramref name="volumes"/>.
    /// Throws <see cref="RecallHeldElsewhereException"/> when another agent process holds recall.
    /// </summary>
    public static ArmedRecall Start(
        string stateDirectory, RecallGuarding guarding, IEnumerable<string> volumes, Func<Guid, ITierStore> stores, ILogger logger,
        Action<RecallOutcome>? recalled = null, RecallCluster? cluster = null, RecallLimits? limits = null)
    {
        Tiering.PrivateFiles.EnsureStateDirectory(stateDirectory);
        // A process that may not make a fanotify group (not root, an older kernel) has nothing to guard: it says so and leaves the guard alone.
        if (RecallGroup.TryCreate(out var noGroup) is not { } created)
        {
            var failed = new ArmedRecall(stateDirectory, logger, null, -1, noGroup);
            failed.Refuse(volumes.Concat(KnownVolumes(stateDirectory)), noGroup!);
            LogNoRecall(logger, noGroup!);
            return failed;
        }
        GuardHandover? handover = null;
        string? noGuard = "recall is kept for this process only (--no-guard)";
        try
        {
            if (guarding == RecallGuarding.Off && RecallGuardClient.Status(stateDirectory) is { } status && status.Contains("group=yes", StringComparison.Ordinal))
            {
                // A second group on the same volumes would hold opens of stubs while this process lets them through.
                throw new RecallHeldElsewhereException("a recall guard keeps recall for this state folder: run with it (without --no-guard), or stop it first");
            }
            if (guarding == RecallGuarding.Auto)
            {
                // Under systemd the guard is a unit of its own: one started from here would die with this unit's restart.
                var mayStart = Environment.GetEnvironmentVariable("INVOCATION_ID") is null;
                handover = RecallGuardClient.TryAcquire(stateDirectory, mayStart, out noGuard);
            }
        }
        catch
        {
            created.Dispose();
            throw;
        }
        var group = created;
        if (handover?.Group is { } given)
        {
            // The guard's group, with its marks and the opens that waited: the new one is not needed.
            created.Dispose();
            group = RecallGroup.Adopt(given);
        }
        if (handover is { Group: null } && !RecallGuardClient.Keep(handover.Connection, group))
        {
            UnixSockets.Close(handover.Connection);
            handover = null;
            noGuard = "the recall guard did not take the group";
        }
        var recall = new ArmedRecall(stateDirectory, logger, group, handover?.Connection ?? -1, handover is null ? noGuard : null);
        // Listening first: from here on this process's own opens pass, and the opens that waited for an agent are answered.
        recall.Listener = new RecallListener(group, stores, logger, recalled, cluster, limits, handover?.WaitingOpens);
        if (handover is { RefusedMeanwhile: > 0 and var refused })
        {
            recall.Listener.CountRefusedByGuard(refused);
            LogRefusedByGuard(logger, refused, Path.Combine(stateDirectory, RecallGuard.LogName));
            ReportRefusedByGuard(handover.RefusedFiles, recalled);
        }
        // Watching before arming: a mount between the arming and the watch would otherwise go unseen.
        var mounts = MountWatch.TryOpen();
        recall.Arm(KnownVolumes(stateDirectory).Concat(volumes));
        recall.WatchMounts(mounts);
        if (handover is null)
        {
            LogNotGuarded(logger, noGuard!);
        }
        else
        {
            recall.WatchGuard(guarding == RecallGuarding.Auto && Environment.GetEnvironmentVariable("INVOCATION_ID") is null);
        }
        return recall;
    }

    /// <summary>
    /// Reports the opens the guard refused, of files that are still stubs, as failed recalls (the
    /// cluster audits each one, as it does the agent's own refusals). Read without opening the file:
    /// no event, so no recall.
    /// </summary>
    private static void ReportRefusedByGuard(IReadOnlyList<(string Path, string Why)> files, Action<RecallOutcome>? recalled)
    {
        foreach (var (path, why) in files)
        {
            StubInfo? stub;
            try
            {
                stub = LinuxStubs.Peek(path);
            }
            catch (IOException)
            {
                stub = null;
            }
            if (stub is not null)
            {
                recalled?.Invoke(new RecallOutcome(path, stub, TimeSpan.Zero,
                    $"refused with EIO by the recall guard while no agent ran: {why}; the file stays a stub"));
            }
        }
    }

    /// <summary>Arms more volumes (a new configuration); each is remembered in the state folder, so the next start arms it again.</summary>
    public IReadOnlyList<VolumeRecall> Arm(IEnumerable<string> volumes)
    {
        if (_group is null)
        {
            return Refuse(volumes, Problem!);
        }
        var results = new List<VolumeRecall>();
        lock (_gate)
        {
            foreach (var volume in volumes.Distinct(StringComparer.Ordinal))
            {
                if (_volumes.TryGetValue(volume, out var known) && known.Armed)
                {
                    results.Add(known);
                    continue;
                }
                var armed = ArmOne(_group, volume);
                if (!armed.Armed)
                {
                    LogNotArmed(_logger, volume, armed.Reason!);
                }
                results.Add(armed);
            }
            RememberArmed();
        }
        return results;
    }

    /// <summary>Raised on the mount watch's thread after each change of the mount table was handled; a handler must not block.</summary>
    public event Action? MountsChanged;

    /// <summary>
    /// Arms every volume again after the mount table changed (<see cref="MountWatch"/>): a volume
    /// mounted again is a new file system without the mark, whose stubs would read as holes, and
    /// one mounted late was never marked. Each change of a volume is logged.
    /// </summary>
    internal void Rearm()
    {
        if (_group is null)
        {
            return;
        }
        lock (_gate)
        {
            _armedDevices.Clear();
            foreach (var (volume, before) in _volumes.ToArray())
            {
                var mountBefore = _mounts.GetValueOrDefault(volume);
                var now = ArmOne(_group, volume);
                if (now.Armed && !before.Armed)
                {
                    LogArmedNow(_logger, volume);
                }
                else if (now.Armed && _mounts.GetValueOrDefault(volume) != mountBefore)
                {
                    LogArmedAgain(_logger, volume);
                }
                else if (!now.Armed && (before.Armed || before.Reason != now.Reason))
                {
                    LogNotArmed(_logger, volume, now.Reason!);
                }
            }
            RememberArmed();
        }
    }

    /// <summary>Marks one volume's file system (under the gate) and records the outcome, its file system and its mount.</summary>
    private VolumeRecall ArmOne(RecallGroup group, string volume)
    {
        var armed = group.Arm(volume);
        if (armed.Armed)
        {
            _armedDevices.Add(LinuxFiles.StatPath(volume).Device);
            _mounts[volume] = LinuxFiles.MountId(volume);
            if (!SurvivesRestart)
            {
                armed = armed with { Armed = false, Reason = "recall would not outlive this agent process: " + Problem };
            }
        }
        _volumes[volume] = armed;
        return armed;
    }

    private void RememberArmed() =>
        Remember([.. _volumes.Values.Where(v => _armedDevices.Contains(DeviceOf(v.Path))).Select(v => v.Path)]);

    /// <summary>
    /// Arms the volumes again at every change of the mount table, seen within a tenth of a second:
    /// until then a volume mounted again answers its stubs' opens with holes, so the watch starts
    /// before the first arming and runs as long as this process holds recall.
    /// </summary>
    private void WatchMounts(MountWatch? mounts)
    {
        if (mounts is null)
        {
            LogNoMountWatch(_logger);
            return;
        }
        _mountWatch = new Thread(() =>
        {
            using (mounts)
            {
                while (!_disposed)
                {
                    // Short waits: disposing waits for this loop to notice.
                    if (mounts.Changed(100) && !_disposed)
                    {
                        try
                        {
                            Rearm();
                        }
                        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                        {
                            // A volume that vanished mid-way: the next change, or the next start, arms what is there.
                            LogRearmFailed(_logger, exception.Message);
                        }
                        MountsChanged?.Invoke();
                    }
                }
            }
        }) { IsBackground = true, Name = "alto-recall-mount-watch" };
        _mountWatch.Start();
    }

    /// <summary>
    /// Why <paramref name="path"/> may not become a stub now, or null when it may: its file system
    /// is marked and the group outlives this process. Checked by file system (a folder mounted
    /// inside a volume is a file system of its own), without opening the file.
    /// </summary>
    public string? RefusalFor(string path)
    {
        if (_group is null)
        {
            return "recall on open is not armed on this host: " + Problem;
        }
        if (!SurvivesRestart)
        {
            return "recall on open would not outlive this agent process: " + Problem;
        }
        var device = DeviceOf(path);
        lock (_gate)
        {
            return _armedDevices.Contains(device) ? null : "recall on open is not armed for this file's file system (it is not under an armed volume of this host)";
        }
    }

    /// <summary>The stub-driver hooks: hold opens of a file being made a stub, and watch it once it is one.</summary>
    public IStubRecallHooks Hooks => new RecallHooks(this);

    private sealed class RecallHooks(ArmedRecall recall) : IStubRecallHooks
    {
        public IDisposable HoldOpens(FileIdentity file) => recall.Listener?.HoldOpens(file) ?? OnDispose.Nothing;

        public Task<StubInfo?> RecallOnceAsync(FileIdentity file, Func<Task<StubInfo?>> run) =>
            recall.Listener is { } listener ? listener.RecallOnceAsync(file, run) : run();

        public void Watch(int fd) => recall._group?.Watch(fd);
    }

    /// <summary>
    /// Watches the connection to the guard: a guard that restarts (its own upgrade) lost the group
    /// this process holds, so it is given the group again; meanwhile nothing new is tiered.
    /// </summary>
    private void WatchGuard(bool mayStartGuard)
    {
        _guardWatch = new Thread(() =>
        {
            while (!_disposed)
            {
                var guard = Volatile.Read(ref _guard);
                // Short waits: disposing (every stop of the agent, every CLI command) waits for this loop to notice.
                if (guard >= 0 && !UnixSockets.Wait(guard, 100))
                {
                    continue;
                }
                if (_disposed)
                {
                    return;
                }
                if (guard >= 0)
                {
                    UnixSockets.Close(guard);
                    Volatile.Write(ref _guard, -1);
                    LogGuardLost(_logger);
                }
                // A second before asking again, in steps short enough for a stop to be noticed.
                for (var step = 0; step < 10 && !_disposed; step++)
                {
                    Thread.Sleep(100);
                }
                if (_disposed)
                {
                    return;
                }
                try
                {
                    if (RecallGuardClient.TryAcquire(_stateDirectory, mayStartGuard, out _) is { } handover)
                    {
                        if (handover.Group is { } other)
                        {
                            // Another group exists: it cannot be merged with this one; this process keeps its own.
                            Fanotify.Close(other);
                            UnixSockets.Close(handover.Connection);
                            LogGuardHasAnotherGroup(_logger);
                            continue;
                        }
                        if (_group is { } group && RecallGuardClient.Keep(handover.Connection, group))
                        {
                            Volatile.Write(ref _guard, handover.Connection);
                            LogGuardBack(_logger);
                        }
                    }
                }
                catch (RecallHeldElsewhereException exception)
                {
                    LogGuardRefused(_logger, exception.Message);
                }
            }
        }) { IsBackground = true, Name = "alto-recall-guard-watch" };
        _guardWatch.Start();
    }

    /// <summary>
    /// Stops answering opens (those already taken are answered first), then hands the group back to
    /// the guard, which holds further opens of stubs until the next agent; without a guard the group
    /// closes with this process. Once only: the descriptors it closes are numbers, which another
    /// part of the process may have been given since.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) == 1)
        {
            return;
        }
        _disposed = true;
        _guardWatch?.Join();
        _mountWatch?.Join();
        if (Volatile.Read(ref _guard) is var guard and >= 0)
        {
            // Opens still waiting for their turn wait on in the guard for the next agent, rather than fail.
            RecallGuardClient.Release(guard, _group, Listener?.StopAndGiveBack() ?? []);
        }
        Listener?.Dispose();
        _group?.Dispose();
    }

    private IReadOnlyList<VolumeRecall> Refuse(IEnumerable<string> volumes, string reason)
    {
        lock (_gate)
        {
            foreach (var volume in volumes)
            {
                _volumes[volume] = new VolumeRecall(volume, false, reason);
            }
            return [.. _volumes.Values];
        }
    }

    private static ulong DeviceOf(string path)
    {
        try
        {
            return LinuxFiles.StatPath(path).Device;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>The volumes this state folder armed before: stubs may be on them, so they are armed again at every start.</summary>
    internal static string[] KnownVolumes(string stateDirectory) => KnownVolumes(stateDirectory, out _);

    /// <summary>
    /// The volumes this state folder armed before; none, with <paramref name="damaged"/> saying why,
    /// when the list cannot be read or is not a list of absolute paths (edited by hand, or written
    /// by a version that did not flush it before a power loss).
    /// </summary>
    internal static string[] KnownVolumes(string stateDirectory, out string? damaged)
    {
        damaged = null;
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(stateDirectory, VolumesFileName));
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            damaged = exception.Message;
            return [];
        }
        try
        {
            return JsonSerializer.Deserialize<string[]>(text) is { } volumes && volumes.All(volume => volume is not null && Path.IsPathFullyQualified(volume))
                ? volumes
                : throw new JsonException("not a list of absolute paths");
        }
        catch (JsonException exception)
        {
            damaged = exception.Message;
            return [];
        }
    }

    /// <summary>
    /// Adds volumes to the list of those armed before. A damaged list is kept beside it
    /// (<c>.damaged</c>) for the admin, and said: what it named is no longer armed again by itself.
    /// </summary>
    private void Remember(string[] volumes)
    {
        var path = Path.Combine(_stateDirectory, VolumesFileName);
        var known = KnownVolumes(_stateDirectory, out var damaged);
        if (damaged is not null)
        {
            File.Move(path, path + ".damaged", overwrite: true);
            LogVolumesListDamaged(_logger, path, damaged, path + ".damaged");
        }
        Tiering.PrivateFiles.ReplaceDurably(path, JsonSerializer.Serialize(volumes.Union(known, StringComparer.Ordinal).Order(StringComparer.Ordinal)));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The list of volumes this state folder armed before ({Path}) is damaged ({Reason}): a volume with stubs that is no longer one of the host's is not armed again by itself, and its stubs would read as holes; kept as {Kept} — register such volumes with the host again")]
    private static partial void LogVolumesListDamaged(ILogger logger, string path, string reason, string kept);

    [LoggerMessage(Level = LogLevel.Error, Message = "While no agent held recall, the recall guard refused {Refused} open(s) of stubs with EIO (they waited too long, were past the bound of opens waiting, or an agent that ended had left them unanswered; see {Log}); counted as failed recalls")]
    private static partial void LogRefusedByGuard(ILogger logger, int refused, string log);

    [LoggerMessage(Level = LogLevel.Error, Message = "No transparent recall on this host ({Reason}); nothing will be tiered here")]
    private static partial void LogNoRecall(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Recall would not outlive this agent process ({Reason}); nothing will be tiered here")]
    private static partial void LogNotGuarded(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The recall guard went away; until it is back, recall would not outlive this agent and nothing is tiered")]
    private static partial void LogGuardLost(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "The recall guard is back and keeps this agent's recall group again")]
    private static partial void LogGuardBack(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "The recall guard holds a group other than this agent's; restart the agent to take it")]
    private static partial void LogGuardHasAnotherGroup(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "The recall guard would not take this agent's group back: {Reason}")]
    private static partial void LogGuardRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Volume {Volume} was mounted again (a new file system has no recall mark): recall on open is armed on it again")]
    private static partial void LogArmedAgain(ILogger logger, string volume);

    [LoggerMessage(Level = LogLevel.Error, Message = "Arming the volumes again after a change of the mount table failed: {Reason}")]
    private static partial void LogRearmFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Volume {Volume} is mounted now: recall on open is armed on it")]
    private static partial void LogArmedNow(ILogger logger, string volume);

    [LoggerMessage(Level = LogLevel.Error, Message = "The mount table cannot be watched (no /proc/self/mountinfo): a volume mounted again after this start is not armed until the agent restarts")]
    private static partial void LogNoMountWatch(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Recall on open is not armed for volume {Volume}: {Reason}; its files are not tiered")]
    private static partial void LogNotArmed(ILogger logger, string volume, string reason);
}

/// <summary>What making a stub needs from transparent recall (<see cref="ArmedRecall.Hooks"/>).</summary>
public interface IStubRecallHooks
{
    /// <summary>Holds other programs' opens of the file, and recalls of it, until the handle is disposed; first waits for a recall of it running now to end.</summary>
    IDisposable HoldOpens(FileIdentity file);

    /// <summary>Removes any ignore mark of the file, so its opens are recalled.</summary>
    void Watch(int fd);

    /// <summary>
    /// Runs a recall on command of the file, unless an open's recall of it is running: then waits
    /// for that one instead and answers null. One recall of a file at a time (<see cref="StubWork"/>).
    /// </summary>
    Task<StubInfo?> RecallOnceAsync(FileIdentity file, Func<Task<StubInfo?>> recall);
}
