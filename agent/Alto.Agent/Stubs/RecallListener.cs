using System.Collections.Concurrent;
using System.Runtime.Versioning;
using Alto.Tiering;
using Microsoft.Extensions.Logging;

namespace Alto.Agent.Stubs;

/// <summary>
/// Transparent recall on Linux: a pre-content fanotify group with a filesystem mark on each
/// volume. Opening or reading a stub blocks the program until its data is back from tier 2
/// (written through the event's own descriptor, so it raises no further events), then the file
/// gets an ignore mark and the program goes on; if tier 2 cannot deliver, the program gets EIO
/// and the file stays a stub. Files that are not stubs get an ignore mark at their first event.
/// The agent's own opens are always allowed at once: it never waits on itself.
/// </summary>
/// <summary>One recall: the file, what it was a stub of, how long the opener waited, and the error if it was refused.</summary>
public sealed record RecallOutcome(string Path, StubInfo Stub, TimeSpan Duration, string? Error);

[SupportedOSPlatform("linux")]
public sealed partial class RecallListener : IDisposable
{
    private const ulong Events = Fanotify.OpenPermission | Fanotify.PreAccess;
    private readonly int _group;
    private readonly Func<Guid, ITierStore> _stores;
    private readonly DataKeyUnwrap? _unwrap;
    private readonly ILogger _logger;
    private readonly int _ownProcess = Environment.ProcessId;
    private readonly ConcurrentDictionary<ulong, Task> _recalls = new();
    private readonly Thread _reader;
    private readonly Action<RecallOutcome>? _recalledHook;
    private volatile bool _stopping;
    private long _recalled;
    private long _failed;

    private RecallListener(int group, Func<Guid, ITierStore> stores, DataKeyUnwrap? unwrap, ILogger logger, Action<RecallOutcome>? recalled)
    {
        _group = group;
        _stores = stores;
        _unwrap = unwrap;
        _logger = logger;
        _recalledHook = recalled;
        _reader = new Thread(ReadEvents) { IsBackground = true, Name = "alto-recall" };
    }

    /// <summary>Recalls done and refused (EIO) since start.</summary>
    public (long Recalled, long Failed) Counts => (Interlocked.Read(ref _recalled), Interlocked.Read(ref _failed));

    /// <summary>
    /// Starts watching the volumes, or says why it cannot (not root, or a kernel without
    /// pre-content events): then recall is by command only. <c>recalled</c> is told of every
    /// recall, done or refused, with the file's path: the agent reports them to the cluster.
    /// </summary>
    public static RecallListener? TryStart(
        IReadOnlyList<string> volumes, Func<Guid, ITierStore> stores, ILogger logger, out string? whyNot, Action<RecallOutcome>? recalled = null,
        DataKeyUnwrap? unwrap = null)
    {
        var group = Fanotify.Init();
        if (group < 0)
        {
            whyNot = $"fanotify pre-content groups need root (CAP_SYS_ADMIN) and a kernel with fanotify (errno {Fanotify.LastError})";
            return null;
        }
        foreach (var volume in volumes)
        {
            if (Fanotify.MarkPath(group, Fanotify.MarkAdd | Fanotify.MarkFilesystem, Events, volume) != 0)
            {
                var errno = Fanotify.LastError;
                Fanotify.Close(group);
                whyNot = errno == 22
                    ? "this kernel has no fanotify pre-content events (Linux 6.14 or later, on ext4, xfs or btrfs)"
                    : $"could not watch {volume} (errno {errno})";
                return null;
            }
        }
        whyNot = null;
        var listener = new RecallListener(group, stores, unwrap, logger, recalled);
        listener._reader.Start();
        return listener;
    }

    /// <summary>Call after turning a file into a stub: a file recalled earlier carries an ignore mark that must go.</summary>
    public void Watch(int fd) =>
        _ = Fanotify.MarkDescriptor(_group, Fanotify.MarkRemove | Fanotify.MarkIgnore, Events, fd);

    private void ReadEvents()
    {
        var buffer = new byte[64 * 1024];
        while (!_stopping)
        {
            if (!Fanotify.Wait(_group, 200))
            {
                continue;
            }
            var length = Fanotify.Read(_group, buffer);
            for (var offset = 0; offset + Fanotify.EventMetadataLength <= length;)
            {
                var eventLength = BitConverter.ToInt32(buffer, offset);
                var fd = BitConverter.ToInt32(buffer, offset + 16);
                var process = BitConverter.ToInt32(buffer, offset + 20);
                offset += Math.Max(eventLength, Fanotify.EventMetadataLength);
                if (fd == Fanotify.NoFd)
                {
                    continue;
                }
                if (process == _ownProcess)
                {
                    Finish(fd, Fanotify.Allow);
                    continue;
                }
                // Recalls run beside the reader, so one slow tier-2 read does not hold every other open.
                _ = Task.Run(() => HandleAsync(fd));
            }
        }
    }

    private async Task HandleAsync(int fd)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        StubInfo? stub = null;
        try
        {
            try
            {
                stub = LinuxStubs.Read(fd);
            }
            catch (IOException exception)
            {
                // Whether this is a stub cannot be told (its attributes do not read): the program
                // goes on as with any other file. A refusal here would fail opens that are none of Alto's business.
                LogNotReadable(_logger, exception.Message);
                Finish(fd, Fanotify.Allow);
                return;
            }
            if (stub is null)
            {
                Ignore(fd);
                Finish(fd, Fanotify.Allow);
                return;
            }
            // Several openers of one stub share one recall.
            var inode = LinuxFiles.Stat(fd).Inode;
            Task? mine = null;
            var recall = _recalls.GetOrAdd(inode, _ => mine = LinuxStubs.RecallAsync(fd, $"inode {inode}", _stores, CancellationToken.None, _unwrap));
            try
            {
                await recall;
            }
            finally
            {
                _recalls.TryRemove(KeyValuePair.Create(inode, recall));
            }
            // The opener whose event did the recall reports it; the others only waited for it.
            if (ReferenceEquals(recall, mine))
            {
                Interlocked.Increment(ref _recalled);
                Report(fd, stub, started, error: null);
            }
            Ignore(fd);
            Finish(fd, Fanotify.Allow);
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
            Finish(fd, Fanotify.DenyWithError(LinuxFiles.ErrorIo));
        }
    }

    private void Report(int fd, StubInfo stub, long started, string? error)
    {
        if (_recalledHook is null)
        {
            return;
        }
        var path = LinuxFiles.PathOf(fd);
        _recalledHook(new RecallOutcome(path, stub, System.Diagnostics.Stopwatch.GetElapsedTime(started), error));
    }

    private void Ignore(int fd) =>
        _ = Fanotify.MarkDescriptor(_group, Fanotify.MarkAdd | Fanotify.MarkIgnore | Fanotify.MarkIgnoredSurviveModify | Fanotify.MarkEvictable, Events, fd);

    private void Finish(int fd, uint response)
    {
        Fanotify.Respond(_group, fd, response);
        Fanotify.Close(fd);
    }

    public void Dispose()
    {
        _stopping = true;
        _reader.Join();
        // Closing the group allows every event still pending.
        Fanotify.Close(_group);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A stub could not be recalled; its reader got EIO and it stays a stub")]
    private static partial void LogRecallFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An opened file's stub attributes could not be read; it was let through: {Reason}")]
    private static partial void LogNotReadable(ILogger logger, string reason);
}
