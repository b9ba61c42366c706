using Alto.Protocol.Agent.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Connection;

/// <summary>
/// Reports the cluster must not lose (job results, recalls): each is written to the state folder
/// before it is sent, keeps one message id for good, and is dropped only when the gateway
/// acknowledges that id. After a reconnect, or an agent restart, whatever was not acknowledged is
/// sent again, in order; the cluster applies an id once. The file (<c>reports.log</c>) holds one
/// line per report (<c>+ base64</c>) and per acknowledgement (<c>- id</c>), and is rewritten with
/// the unacknowledged ones only when most of it is acknowledged.
/// </summary>
public sealed partial class ReportOutbox : IDisposable
{
    public const string FileName = "reports.log";

    /// <summary>More unacknowledged reports than this and the oldest are dropped (a gateway away for days): the rescan reconciles what they said.</summary>
    public const int MaxPending = 10_000;

    private readonly string _path;
    private readonly Lock _gate = new();
    private readonly LinkedList<AgentMessage> _pending = new();
    private readonly Dictionary<string, LinkedListNode<AgentMessage>> _byId = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private FileStream _file;
    private int _acknowledgedSinceCompaction;
    private long _dropped;

    public ReportOutbox(string stateDirectory, ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        Tiering.PrivateFiles.EnsureStateDirectory(stateDirectory);
        _path = Path.Combine(stateDirectory, FileName);
        var (messages, damaged) = Load(_path);
        foreach (var message in messages)
        {
            _byId[message.Id] = _pending.AddLast(message);
        }
        if (damaged > 0)
        {
            // Lost reports are put right by what follows (the next scan, a reconciliation), but not in silence.
            LogDamaged(_logger, damaged, _path);
        }
        _file = OpenForAppend();
        Compact();
    }

    /// <summary>Raised when a report is added, so the session sends it without waiting.</summary>
    public event Action? Added;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Keeps <paramref name="report"/> (on disk before this returns) until it is acknowledged.</summary>
    public void Add(AgentMessage report)
    {
        lock (_gate)
        {
            Write($"+ {Convert.ToBase64String(Google.Protobuf.MessageExtensions.ToByteArray(report))}\n", flush: true);
            _byId[report.Id] = _pending.AddLast(report);
            while (_pending.Count > MaxPending)
            {
                _byId.Remove(_pending.First!.Value.Id);
                _pending.RemoveFirst();
                if (++_dropped % 1000 == 1)
                {
                    LogDropped(_logger, MaxPending, _dropped);
                }
            }
        }
        Added?.Invoke();
    }

    /// <summary>The unacknowledged reports, oldest first.</summary>
    public IReadOnlyList<AgentMessage> Pending()
    {
        lock (_gate)
        {
            return [.. _pending];
        }
    }

    /// <summary>Whether <paramref name="id"/> is an unacknowledged report.</summary>
    public bool Holds(string id)
    {
        lock (_gate)
        {
            return _byId.ContainsKey(id);
        }
    }

    /// <summary>The gateway took the report: it is dropped for good. An unknown id (not a report) is ignored.</summary>
    public void Acknowledge(string id)
    {
        lock (_gate)
        {
            if (!_byId.Remove(id, out var node))
            {
                return;
            }
            _pending.Remove(node);
            // Not flushed to disk: losing an acknowledgement in a crash only sends its report once more.
            Write($"- {id}\n", flush: false);
            if (++_acknowledgedSinceCompaction >= 1000 && _acknowledgedSinceCompaction > 4 * _pending.Count)
            {
                Compact();
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _file.Dispose();
        }
    }

    private void Write(string line, bool flush)
    {
        _file.Write(System.Text.Encoding.ASCII.GetBytes(line));
        _file.Flush(flushToDisk: flush);
    }

    private void Compact()
    {
        _file.Dispose();
        Tiering.PrivateFiles.ReplaceDurably(_path, string.Concat(_pending.Select(message => "+ " + Convert.ToBase64String(Google.Protobuf.MessageExtensions.ToByteArray(message)) + "\n")));
        _file = OpenForAppend();
        _acknowledgedSinceCompaction = 0;
    }

    // Paths and hashes of the host's files: for the agent's eyes only.
    private FileStream OpenForAppend() => Tiering.PrivateFiles.Open(_path, FileMode.Append);

    /// <summary>The reports not yet acknowledged, and how many lines could not be read (a last line cut short by a crash is not counted: its report was never sent).</summary>
    private static (IEnumerable<AgentMessage> Messages, int Damaged) Load(string path)
    {
        if (!File.Exists(path))
        {
            return ([], 0);
        }
        var pending = new Dictionary<string, AgentMessage>(StringComparer.Ordinal);
        var order = new List<string>();
        var (damaged, lastDamaged) = (0, false);
        foreach (var line in File.ReadLines(path))
        {
            lastDamaged = false;
            if (line.StartsWith("- ", StringComparison.Ordinal))
            {
                pending.Remove(line[2..]);
                continue;
            }
            try
            {
                var message = line.StartsWith("+ ", StringComparison.Ordinal)
                    ? AgentMessage.Parser.ParseFrom(Convert.FromBase64String(line[2..]))
                    : throw new FormatException("neither a report nor an acknowledgement");
                if (pending.TryAdd(message.Id, message))
                {
                    order.Add(message.Id);
                }
            }
            catch (Exception exception) when (exception is FormatException or Google.Protobuf.InvalidProtocolBufferException)
            {
                damaged++;
                lastDamaged = true;
            }
        }
        return (order.Where(pending.ContainsKey).Select(id => pending[id]), lastDamaged ? damaged - 1 : damaged);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} line(s) of {File} could not be read: the reports they held are lost (the next scan or a reconciliation puts right what they said)")]
    private static partial void LogDamaged(ILogger logger, int count, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "More than {Most} reports wait for the gateway: the oldest are dropped ({Dropped} so far; the next scan puts right what they said)")]
    private static partial void LogDropped(ILogger logger, int most, long dropped);
}
