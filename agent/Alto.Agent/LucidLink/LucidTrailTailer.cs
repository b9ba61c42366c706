using System.IO.Hashing;
using System.Text.Json;

namespace Alto.Agent.LucidLink;

/// <summary>What one pass over the audit trail found: the events Alto acts on (quarantined lines that parse now among them), and counts of the lines it did not send.</summary>
public sealed record LucidTrailRead(IReadOnlyList<LucidTrailEvent> Events, long Malformed, long Duplicates, long Ignored, long Files)
{
    /// <summary>Quarantined lines this agent can read now, sent among <see cref="Events"/>.</summary>
    public int Replayed { get; init; }
}

/// <summary>
/// Tails a LucidLink filespace's audit trail, <c>.lucid_audit/&lt;node&gt;/&lt;yyyy&gt;/&lt;mm&gt;/&lt;begin&gt;.log[.active]</c>,
/// from a byte offset per file kept in <paramref name="stateFile"/>. A file is known by its name
/// without ".active", so the rename when a file rotates keeps its offset: nothing is lost or read
/// twice. Only complete lines count: a half-written last line is left for the next pass (in a
/// rotated ".log" a last line without its newline is taken when it parses). A line the parser
/// refuses is never simply passed over: it goes to the <see cref="LucidQuarantine"/> with its
/// reason (and comes back when a newer agent can read it); a line seen again (a replay) is
/// dropped and counted. Offsets move only when <see cref="Commit"/> is called, after the events
/// were delivered.
/// </summary>
public sealed class LucidTrailTailer(string filespaceRoot, string stateFile, int rememberedLines = 200_000)
{
    private readonly LucidQuarantine _quarantine = new(stateFile + ".quarantine.jsonl");
    private List<QuarantinedLine> _pendingQuarantine = [];
    private int _pendingReplayed;
    private long _pendingMalformed;
    private long _pendingDuplicates;

    public const string AuditFolder = ".lucid_audit";
    private const string ActiveSuffix = ".active";
    private Dictionary<string, long>? _committed;
    private Dictionary<string, long> _pending = new(StringComparer.Ordinal);
    /// <summary>Longest line taken; the trail is read through a buffer of this size.</summary>
    public const int MaxLineBytes = 1 << 20;
    private readonly byte[] _buffer = new byte[MaxLineBytes];
    private readonly HashSet<ulong> _seen = [];
    private readonly Queue<ulong> _seenOrder = new();
    private readonly HashSet<ulong> _pendingSeen = [];
    /// <summary>Lines parsed side by side when a slice has at least this many; handing fewer out costs more than it saves.</summary>
    private const int LinesWorthSharing = 256;
    private readonly List<(int Start, int Length)> _lines = [];
    private ParsedLine[] _parsed = new ParsedLine[1024];

    public string AuditRoot => Path.Combine(filespaceRoot, AuditFolder);

    /// <summary>Lines refused since the agent started (each also quarantined, or counted as overflow when the quarantine is full).</summary>
    public long MalformedTotal { get; private set; }

    /// <summary>Lines dropped as seen before, since the agent started.</summary>
    public long DuplicatesTotal { get; private set; }

    /// <summary>Lines waiting in the quarantine.</summary>
    public int Quarantined => _quarantine.Count;

    /// <summary>Refused lines that found the quarantine full: counted and logged, not kept.</summary>
    public long QuarantineOverflow => _quarantine.Overflow;

    /// <summary>Reads every complete line added since the last commit (at most <paramref name="maxEvents"/> events).</summary>
    public LucidTrailRead ReadNew(int maxEvents = int.MaxValue)
    {
        var offsets = Offsets();
        _pending = new Dictionary<string, long>(offsets, StringComparer.Ordinal);
        _pendingSeen.Clear();
        _pendingQuarantine = [];
        // Lines an older agent could not read go first, if this one can.
        var events = _quarantine.Readable();
        _pendingReplayed = _quarantine.ReadableCount;
        long malformed = 0, duplicates = 0, ignored = 0, files = 0;
        if (!Directory.Exists(AuditRoot))
        {
            return new LucidTrailRead(events, 0, 0, 0, 0) { Replayed = _pendingReplayed };
        }
        foreach (var (key, path) in TrailFiles())
        {
            files++;
            var position = offsets.GetValueOrDefault(key);
            using var stream = OpenTrailFile(path);
            if (stream is null || stream.Length <= position || events.Count >= maxEvents)
            {
                continue;
            }
            stream.Position = position;
            var rotated = !path.EndsWith(ActiveSuffix, StringComparison.Ordinal);
            var carried = 0;
            while (events.Count < maxEvents)
            {
                var read = stream.Read(_buffer, carried, _buffer.Length - carried);
                var length = carried + read;
                var atEnd = read == 0;
                var consumed = 0;
                while (events.Count < maxEvents)
                {
                    // No more lines than events still wanted: a line is one event at most, so none is parsed in vain.
                    var end = SliceLines(length, consumed, maxEvents - events.Count, lastLineMayLackNewline: atEnd && rotated);
                    if (end == consumed)
                    {
                        break;
                    }
                    ParseSlice();
                    for (var i = 0; i < _lines.Count; i++)
                    {
                        var (start, lineLength) = _lines[i];
                        var line = _parsed[i];
                        if (!line.Parses)
                        {
                            malformed++;
                            _pendingQuarantine.Add(QuarantinedLine.Of(key, position + start, line.Problem!, _buffer.AsSpan(start, lineLength)));
                        }
                        else if (!FirstSighting(line.Hash))
                        {
                            duplicates++;
                        }
                        else if (line.Event.Action == LucidAction.Other)
                        {
                            ignored++;
                        }
                        else
                        {
                            events.Add(line.Event);
                        }
                    }
                    consumed = end;
                }
                position += consumed;
                if (atEnd || events.Count >= maxEvents)
                {
                    break;
                }
                carried = length - consumed;
                if (carried == _buffer.Length)
                {
                    // A "line" longer than the buffer is not an audit event: its start is quarantined, the rest passed over.
                    malformed++;
                    _pendingQuarantine.Add(QuarantinedLine.Of(key, position, $"a line longer than {MaxLineBytes} bytes", _buffer));
                    position += carried;
                    carried = 0;
                    continue;
                }
                _buffer.AsSpan(consumed, carried).CopyTo(_buffer);
            }
            _pending[key] = position;
        }
        (_pendingMalformed, _pendingDuplicates) = (malformed, duplicates);
        return new LucidTrailRead(events, malformed, duplicates, ignored, files) { Replayed = _pendingReplayed };
    }

    /// <summary>Events of the last read that the gateway refused: kept in the quarantine with its reason when the read is committed.</summary>
    public void QuarantineRefused(IEnumerable<LucidTrailEvent> refused, string reason) =>
        _pendingQuarantine.AddRange(refused.Select(e => QuarantinedLine.Refused(e, reason)));

    /// <summary>The events of the last read were delivered: their offsets are kept (and survive restarts).</summary>
    public void Commit()
    {
        // Refused lines are kept before the offsets move past them; replayed ones leave the quarantine once delivered.
        _quarantine.Commit(_pendingQuarantine, _pendingReplayed);
        _pendingQuarantine = [];
        _pendingReplayed = 0;
        MalformedTotal += _pendingMalformed;
        DuplicatesTotal += _pendingDuplicates;
        (_pendingMalformed, _pendingDuplicates) = (0, 0);
        Tiering.PrivateFiles.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(stateFile))!);
        Tiering.PrivateFiles.ReplaceDurably(stateFile, JsonSerializer.Serialize(_pending));
        _committed = new Dictionary<string, long>(_pending, StringComparer.Ordinal);
        foreach (var hash in _pendingSeen)
        {
            Remember(hash);
        }
        _pendingSeen.Clear();
    }

    /// <summary>
    /// A trail file, opened only when it is a regular file at its own name (on Linux, where the agent
    /// runs as root): a pipe named like a log would make the read wait for a writer for ever, and
    /// with it every access time the trail brings; a link would feed the trail another file's lines.
    /// Null for anything else, which is passed over.
    /// </summary>
    private static FileStream? OpenTrailFile(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        }
        var trailFile = Stubs.RegularFileOpen.Open(path, FileAccess.Read, refusal: null, out _);
        return trailFile is null ? null : new FileStream(trailFile, FileAccess.Read, 1);
    }

    /// <summary>Every trail file by its key (its path under the audit folder without ".active"); a rotated ".log" wins over a stale ".active" twin.</summary>
    private IEnumerable<(string Key, string Path)> TrailFiles()
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(AuditRoot, "*.log*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(AuditRoot, path).Replace('\\', '/');
            var active = relative.EndsWith(".log" + ActiveSuffix, StringComparison.Ordinal);
            if (!active && !relative.EndsWith(".log", StringComparison.Ordinal))
            {
                continue;
            }
            var key = active ? relative[..^ActiveSuffix.Length] : relative;
            if (!active || !files.ContainsKey(key))
            {
                files[key] = path;
            }
        }
        return files.Select(pair => (pair.Key, pair.Value));
    }

    /// <exception cref="InvalidDataException">
    /// The offsets file is damaged. Neither guess is safe to make alone: reading every audit file
    /// again from its start would apply old deletes and moves a second time, and reading from their
    /// ends would lose what was not sent yet; so the trail waits for the admin.
    /// </exception>
    private Dictionary<string, long> Offsets()
    {
        if (_committed is null)
        {
            Dictionary<string, long>? read = null;
            try
            {
                read = File.Exists(stateFile) ? JsonSerializer.Deserialize<Dictionary<string, long>>(File.ReadAllText(stateFile)) : [];
            }
            catch (JsonException exception)
            {
                throw new InvalidDataException(
                    $"the audit trail's offsets file {stateFile} is damaged ({exception.Message}); the trail is not followed until it is repaired, "
                    + "or moved aside to read every audit file again from its start (old deletes and moves are then applied again; a full scan puts them right)");
            }
            _committed = new Dictionary<string, long>(read ?? [], StringComparer.Ordinal);
        }
        return _committed;
    }

    /// <summary>
    /// False for a line seen among the last <c>rememberedLines</c> delivered, or earlier in this
    /// pass (LucidLink replays and duplicated lines). Lines of a pass that was not committed are
    /// not remembered: they come again whole.
    /// </summary>
    private bool FirstSighting(ulong hash) => !_seen.Contains(hash) && _pendingSeen.Add(hash);

    /// <summary>
    /// The complete, non-empty lines of the buffer from <paramref name="from"/> (at most
    /// <paramref name="most"/>) into <see cref="_lines"/>; returns where they end. The last line
    /// of a rotated file may lack its newline and is taken when it parses; in a file still being
    /// written it is not whole yet.
    /// </summary>
    private int SliceLines(int length, int from, int most, bool lastLineMayLackNewline)
    {
        _lines.Clear();
        var at = from;
        while (_lines.Count < most && at < length)
        {
            var rest = _buffer.AsSpan(at, length - at);
            var newline = rest.IndexOf((byte)'\n');
            if (newline < 0 && !(lastLineMayLackNewline && LucidTrailLine.TryParse(rest, out _)))
            {
                break;
            }
            var line = (newline >= 0 ? rest[..newline] : rest).TrimEnd((byte)'\r');
            if (!line.IsEmpty)
            {
                _lines.Add((at, line.Length));
            }
            at += newline >= 0 ? newline + 1 : rest.Length;
        }
        return at;
    }

    /// <summary>
    /// Parses (and hashes, for <see cref="FirstSighting"/>) the sliced lines into <see cref="_parsed"/>,
    /// on every core when there are enough of them: parsing is nearly all of a catch-up's time, and
    /// each line is parsed on its own; what the lines mean is then taken in order, on one thread.
    /// </summary>
    private void ParseSlice()
    {
        if (_parsed.Length < _lines.Count)
        {
            _parsed = new ParsedLine[Math.Max(_lines.Count, 2 * _parsed.Length)];
        }
        if (_lines.Count < LinesWorthSharing)
        {
            for (var i = 0; i < _lines.Count; i++)
            {
                ParseLine(i);
            }
            return;
        }
        Parallel.For(0, _lines.Count, ParseLine);
    }

    private void ParseLine(int index)
    {
        var (start, length) = _lines[index];
        var line = _buffer.AsSpan(start, length);
        var parses = LucidTrailLine.TryParse(line, out var parsed, out var problem);
        _parsed[index] = new ParsedLine(parses, parsed, problem, parses ? XxHash64.HashToUInt64(line) : 0);
    }

    /// <summary>One line as parsed: its event, or why it is malformed; the hash that finds it again when replayed.</summary>
    private readonly record struct ParsedLine(bool Parses, LucidTrailEvent Event, string? Problem, ulong Hash);

    private void Remember(ulong hash)
    {
        if (!_seen.Add(hash))
        {
            return;
        }
        _seenOrder.Enqueue(hash);
        if (_seenOrder.Count > rememberedLines)
        {
            _seen.Remove(_seenOrder.Dequeue());
        }
    }
}
