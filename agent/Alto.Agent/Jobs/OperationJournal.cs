using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Alto.Agent.Stubs;

namespace Alto.Agent.Jobs;

/// <summary>One line of the journal: an operation on a file and how far it got.</summary>
public sealed record JournalEntry(
    [property: JsonPropertyName("op")] string Operation,
    [property: JsonPropertyName("id")] long TierObjectId,
    [property: JsonPropertyName("path"), JsonConverter(typeof(RawPathJsonConverter))] string Path,
    [property: JsonPropertyName("phase")] string Phase,
    [property: JsonPropertyName("target")] Guid? TargetId = null,
    [property: JsonPropertyName("locator")] string? Locator = null,
    [property: JsonPropertyName("sha256")] string? Sha256 = null)
{
    public const string Tier = "tier";
    public const string Recall = "recall";
    public const string Begin = "begin";
    public const string Uploaded = "uploaded";
    public const string Done = "done";
}

/// <summary>An operation the journal keeps because its file could not be settled, and why.</summary>
public sealed record WaitingOperation(string Operation, long TierObjectId, string Path, string Why);

/// <summary>
/// The agent's local record of operations in flight (state-dir/journal.jsonl), flushed to disk
/// at every step, so that after a crash each operation is finished or rolled back
/// (<see cref="JournalRecovery"/>). Lines of finished operations are dropped when the journal
/// is compacted.
/// </summary>
public sealed class OperationJournal : IDisposable
{
    private readonly string _path;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<(string Operation, long TierObjectId), WaitingOperation> _waiting = new();
    private FileStream _file;

    public OperationJournal(string stateDirectory)
    {
        Tiering.PrivateFiles.EnsureStateDirectory(stateDirectory);
        StateDirectory = stateDirectory;
        _path = Path.Combine(stateDirectory, "journal.jsonl");
        _file = OpenForAppend();
        EndTornLine();
    }

    /// <summary>The agent's state folder; work files (compressed uploads) go below it, never to a shared temporary folder.</summary>
    public string StateDirectory { get; }

    /// <summary>
    /// Appends an entry. A <paramref name="durable"/> one is on disk when this returns: only the
    /// entries recovery depends on need that (a verified upload, about to release data); the
    /// others are flushed with the next durable one, and losing them only makes recovery check
    /// a file that needed nothing.
    /// </summary>
    public void Append(JournalEntry entry, bool durable = true) => Append([entry], durable);

    /// <summary>Appends several entries, with one flush to disk for all when <paramref name="durable"/>.</summary>
    public void Append(IReadOnlyList<JournalEntry> entries, bool durable = true)
    {
        var lines = entries.Select(entry => JsonSerializer.SerializeToUtf8Bytes(entry)).ToArray();
        lock (_gate)
        {
            foreach (var line in lines)
            {
                _file.Write(line);
                _file.WriteByte((byte)'\n');
            }
            _file.Flush(flushToDisk: durable);
        }
        foreach (var done in entries.Where(entry => entry.Phase == JournalEntry.Done))
        {
            _waiting.TryRemove((done.Operation, done.TierObjectId), out _);
        }
    }

    /// <summary>
    /// Operations that could not be settled (a stubbing or recall cut short on a file the agent may
    /// not write now), since this journal was opened: they stay in the journal until an attempt at
    /// settling them succeeds, and the agent reports them so that no one has to find them in its log.
    /// </summary>
    public IReadOnlyList<WaitingOperation> Waiting => [.. _waiting.Values.OrderBy(waiting => waiting.Path, StringComparer.Ordinal)];

    /// <summary>Records that <paramref name="entry"/>'s operation could not be settled, and why; the entry that finishes it clears this.</summary>
    public void MarkWaiting(JournalEntry entry, string why) =>
        _waiting[(entry.Operation, entry.TierObjectId)] = new WaitingOperation(entry.Operation, entry.TierObjectId, entry.Path, why);

    /// <summary>The last entry of every operation that has not reached <see cref="JournalEntry.Done"/>.</summary>
    public IReadOnlyList<JournalEntry> Unfinished()
    {
        lock (_gate)
        {
            var latest = new Dictionary<(string, long), JournalEntry>();
            using var reader = new StreamReader(new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
            while (reader.ReadLine() is { } line)
            {
                // A line cut short by a crash is the last one and says nothing that happened.
                if (TryParse(line) is { } entry)
                {
                    latest[(entry.Operation, entry.TierObjectId)] = entry;
                }
            }
            return [.. latest.Values.Where(entry => entry.Phase != JournalEntry.Done)];
        }
    }

    /// <summary>Rewrites the journal with only the unfinished operations.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            var keep = Unfinished();
            _file.Dispose();
            var fresh = _path + ".new";
            Tiering.PrivateFiles.WriteAllText(fresh, string.Concat(keep.Select(entry => JsonSerializer.Serialize(entry) + "\n")));
            using (var flush = new FileStream(fresh, FileMode.Open, FileAccess.ReadWrite))
            {
                flush.Flush(flushToDisk: true);
            }
            File.Move(fresh, _path, overwrite: true);
            _file = OpenForAppend();
        }
    }

    public void Dispose() => _file.Dispose();

    // Paths, hashes and locators of the host's files: for the agent's eyes only.
    private FileStream OpenForAppend() => Tiering.PrivateFiles.Open(_path, FileMode.Append);

    /// <summary>
    /// A crash mid-write leaves a last line without its end; the next entry appended to it would
    /// become part of that unreadable line and be lost with it, so the line is ended first.
    /// </summary>
    private void EndTornLine()
    {
        using var read = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (read.Length == 0)
        {
            return;
        }
        read.Seek(-1, SeekOrigin.End);
        if (read.ReadByte() != '\n')
        {
            _file.WriteByte((byte)'\n');
            _file.Flush(flushToDisk: true);
        }
    }

    private static JournalEntry? TryParse(string line)
    {
        try
        {
            // Whole JSON that is not an entry (damage that happens to parse) says nothing either.
            return JsonSerializer.Deserialize<JournalEntry>(line) is { Operation: not null, Path: not null, Phase: not null } entry ? entry : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
