using System.Text.Json;

namespace Alto.Agent.LucidLink;

/// <summary>
/// A trail line this agent could not pass on: where it was, why, its bytes (base64, at most 64 KiB
/// of them), and — for lines the gateway refused rather than the parser — which agent sent them.
/// </summary>
public sealed record QuarantinedLine(string File, long Offset, string Reason, string Line, DateTimeOffset At, string? RefusedForAgent = null)
{
    public const int MaxKeptBytes = 64 * 1024;

    /// <summary>This agent's build: a line the gateway refused goes again only from another build.</summary>
    public static readonly string AgentBuild =
        typeof(QuarantinedLine).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";

    public static QuarantinedLine Of(string file, long offset, string reason, ReadOnlySpan<byte> line) =>
        new(file, offset, reason, Convert.ToBase64String(line.Length > MaxKeptBytes ? line[..MaxKeptBytes] : line), DateTimeOffset.UtcNow);

    /// <summary>An event the gateway refused, written back as the documented trail record.</summary>
    public static QuarantinedLine Refused(LucidTrailEvent refused, string reason)
    {
        var record = new Dictionary<string, object?>
        {
            ["timestamp"] = refused.TimestampMicros,
            ["operation"] = new Dictionary<string, string?>
            {
                ["action"] = refused.Action.ToString(),
                ["entryPath"] = "/" + refused.EntryPath,
                ["targetPath"] = refused.TargetPath is null ? null : "/" + refused.TargetPath,
            },
        };
        var line = JsonSerializer.SerializeToUtf8Bytes(record);
        // Known by its content: the same event refused twice is kept once.
        return new("(refused by the gateway)", (long)System.IO.Hashing.XxHash64.HashToUInt64(line), reason, Convert.ToBase64String(line), DateTimeOffset.UtcNow, AgentBuild);
    }

    public byte[] Bytes() => Convert.FromBase64String(Line);
}

/// <summary>
/// The audit-trail lines this agent could not read, kept in a JSON Lines file beside the offsets
/// so that none is lost: at most <see cref="Capacity"/> of them (beyond that a refused line is
/// counted as overflow, and logged by the uploader). On each pass the lines the current parser
/// can read are handed back (an upgraded agent reads what an older one refused) and leave the
/// file once they were delivered.
/// </summary>
public sealed class LucidQuarantine(string file, int capacity = LucidQuarantine.DefaultCapacity)
{
    public const int DefaultCapacity = 10_000;
    private List<QuarantinedLine>? _lines;
    private List<QuarantinedLine> _readable = [];
    private List<LucidTrailEvent> _readableEvents = [];
    private bool _looked;

    public int Capacity => capacity;

    public int Count => Lines().Count;

    public long Overflow { get; private set; }

    /// <summary>The quarantined lines, oldest first (to show an operator).</summary>
    public IReadOnlyList<QuarantinedLine> Entries => Lines();

    /// <summary>
    /// The events of quarantined lines this agent reads; they leave the quarantine at the next
    /// <see cref="Commit"/>. The lines are looked at once per process: the parser does not change
    /// while it runs, so only a restart into another build can read more.
    /// </summary>
    public List<LucidTrailEvent> Readable()
    {
        if (_looked)
        {
            return [.. _readableEvents];
        }
        _looked = true;
        foreach (var line in Lines())
        {
            if (line.RefusedForAgent == QuarantinedLine.AgentBuild)
            {
                continue;
            }
            if (LucidTrailLine.TryParse(line.Bytes(), out var parsed))
            {
                // Readable now; an operation Alto does not act on simply leaves the quarantine.
                _readable.Add(line);
                if (parsed.Action != LucidAction.Other)
                {
                    _readableEvents.Add(parsed);
                }
            }
        }
        return [.. _readableEvents];
    }

    /// <summary>How many quarantined lines <see cref="Readable"/> found readable and are not yet delivered.</summary>
    public int ReadableCount => _readable.Count;

    /// <summary>Adds newly refused lines and drops the readable ones (when <paramref name="replayed"/> is not 0), then writes the file.</summary>
    public void Commit(IReadOnlyList<QuarantinedLine> refused, int replayed)
    {
        if (refused.Count == 0 && replayed == 0)
        {
            return;
        }
        var lines = Lines();
        if (replayed > 0)
        {
            var delivered = _readable.ToHashSet();
            lines.RemoveAll(delivered.Contains);
            _readable = [];
            _readableEvents = [];
        }
        var known = lines.Select(line => (line.File, line.Offset)).ToHashSet();
        foreach (var line in refused)
        {
            // A pass that was not committed reads the same lines again: each place is kept once.
            if (known.Add((line.File, line.Offset)))
            {
                if (lines.Count < capacity)
                {
                    lines.Add(line);
                }
                else
                {
                    Overflow++;
                }
            }
        }
        Tiering.PrivateFiles.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        Tiering.PrivateFiles.ReplaceDurably(file, string.Concat(lines.Select(line => JsonSerializer.Serialize(line) + "\n")));
    }

    private List<QuarantinedLine> Lines()
    {
        if (_lines is null)
        {
            _lines = [];
            if (File.Exists(file))
            {
                foreach (var text in File.ReadLines(file))
                {
                    QuarantinedLine? line;
                    try
                    {
                        line = text.Length > 0 ? JsonSerializer.Deserialize<QuarantinedLine>(text) : null;
                    }
                    catch (JsonException exception)
                    {
                        _lines = null;
                        throw new InvalidDataException(
                            $"the audit trail's quarantine {file} is damaged ({exception.Message}); the trail is not followed until it is repaired, "
                            + "or moved aside (the lines it kept are then lost)");
                    }
                    if (line is not null)
                    {
                        _lines.Add(line);
                    }
                }
            }
        }
        return _lines;
    }
}
