using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Alto.Scanning;

/// <summary>One object of a tier-2 listing, with what the run's depth found wrong with it.</summary>
public sealed record ListingEntry(string Key, long Length, DateTimeOffset? Modified, string? Problem, bool Checked);

/// <summary>A part of a reconciliation run's listing: its objects in key order after <see cref="After"/> (the run's cursor).</summary>
public sealed record ListingPart(string? After, IReadOnlyList<ListingEntry> Entries, bool Finished, string? Failure);

/// <summary>
/// A listing part as packed binary records — the form an agent sends a million-object listing in.
/// As JSON the same part is about half again as large, and writing it, parsing it and handing it
/// between gateway and silo cost more CPU than listing the store; packed, the gateway passes the
/// bytes on untouched and the run's grain reads them once.
/// <para>
/// Layout, little-endian: the magic "ALP1"; a flags byte (1: finished); the after-key and the
/// failure as strings; the entry count (int32, at most <see cref="MaxEntries"/>); then per entry
/// the key (string), the length (int64), a flags byte (1: modified follows, 2: checked, 4: a
/// problem follows), the modification time (int64 UTC ticks) and the problem (string). A string
/// is its UTF-8 byte count plus one as a 7-bit varint (0: none), then the bytes.
/// </para>
/// </summary>
public static class ListingPartFormat
{
    public const string ContentType = "application/vnd.alto.listing-part";

    /// <summary>Objects in one part: as many as one transaction of the run takes.</summary>
    public const int MaxEntries = 10_000;

    /// <summary>The longest string a part may hold (the checks allow 2,000 characters; UTF-8 takes up to 4 bytes for one).</summary>
    private const int MaxStringBytes = 2000 * 4;
    private static ReadOnlySpan<byte> Magic => "ALP1"u8;
    private const byte Finished = 1;
    private const byte HasModified = 1, IsChecked = 2, HasProblem = 4;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] Write(ListingPart part)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + part.Entries.Count * 128);
        buffer.Write(Magic);
        WriteByte(buffer, part.Finished ? Finished : (byte)0);
        WriteString(buffer, part.After);
        WriteString(buffer, part.Failure);
        WriteInt32(buffer, part.Entries.Count);
        foreach (var entry in part.Entries)
        {
            WriteString(buffer, entry.Key);
            WriteInt64(buffer, entry.Length);
            var flags = (byte)((entry.Modified is null ? 0 : HasModified) | (entry.Checked ? IsChecked : 0) | (entry.Problem is null ? 0 : HasProblem));
            WriteByte(buffer, flags);
            if (entry.Modified is { } modified)
            {
                WriteInt64(buffer, modified.UtcTicks);
            }
            if (entry.Problem is not null)
            {
                WriteString(buffer, entry.Problem);
            }
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The part, or why the bytes are not one (a cut-off, a count past the limit, a string that is not UTF-8, bytes left over).</summary>
    public static ListingPart? Read(ReadOnlySpan<byte> bytes, out string? error)
    {
        var reader = new Reader(bytes);
        try
        {
            if (!reader.Take(Magic.Length).SequenceEqual(Magic))
            {
                throw new FormatException($"it does not begin with the listing part's magic \"ALP1\" ({ContentType})");
            }
            var finished = (reader.Byte() & Finished) != 0;
            var after = reader.String();
            var failure = reader.String();
            var count = reader.Int32();
            if (count < 0 || count > MaxEntries)
            {
                throw new FormatException($"a part holds 0 to {MaxEntries} objects (it says {count})");
            }
            var entries = new ListingEntry[count];
            for (var i = 0; i < count; i++)
            {
                var key = reader.String() ?? throw new FormatException($"object {i} has no key");
                var length = reader.Int64();
                var flags = reader.Byte();
                DateTimeOffset? modified = (flags & HasModified) != 0 ? reader.Time() : null;
                var problem = (flags & HasProblem) != 0 ? reader.String() : null;
                entries[i] = new ListingEntry(key, length, modified, problem, (flags & IsChecked) != 0);
            }
            if (reader.Remaining > 0)
            {
                throw new FormatException($"{reader.Remaining} byte(s) follow the last object");
            }
            error = null;
            return new ListingPart(after, entries, finished, failure);
        }
        catch (FormatException exception)
        {
            error = $"not a listing part: {exception.Message}";
            return null;
        }
    }

    private static void WriteByte(ArrayBufferWriter<byte> buffer, byte value)
    {
        buffer.GetSpan(1)[0] = value;
        buffer.Advance(1);
    }

    private static void WriteInt32(ArrayBufferWriter<byte> buffer, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buffer.GetSpan(4), value);
        buffer.Advance(4);
    }

    private static void WriteInt64(ArrayBufferWriter<byte> buffer, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(buffer.GetSpan(8), value);
        buffer.Advance(8);
    }

    private static void WriteString(ArrayBufferWriter<byte> buffer, string? value)
    {
        if (value is null)
        {
            WriteByte(buffer, 0);
            return;
        }
        var length = StrictUtf8.GetByteCount(value);
        for (var rest = (uint)length + 1; ; rest >>= 7)
        {
            if (rest < 0x80)
            {
                WriteByte(buffer, (byte)rest);
                break;
            }
            WriteByte(buffer, (byte)(rest | 0x80));
        }
        buffer.Advance(StrictUtf8.GetBytes(value, buffer.GetSpan(length)));
    }

    /// <summary>Reads the layout, refusing anything that runs past the end.</summary>
    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _at;

        public readonly int Remaining => _bytes.Length - _at;

        public ReadOnlySpan<byte> Take(int count)
        {
            if (count > Remaining)
            {
                throw new FormatException($"it ends {count - Remaining} byte(s) short, at byte {_bytes.Length}");
            }
            var taken = _bytes.Slice(_at, count);
            _at += count;
            return taken;
        }

        public byte Byte() => Take(1)[0];

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public DateTimeOffset Time()
        {
            var ticks = Int64();
            return ticks is >= 0 and <= 3155378975999999999 // DateTime.MaxValue.Ticks
                ? new DateTimeOffset(ticks, TimeSpan.Zero)
                : throw new FormatException($"a modification time of {ticks} ticks is out of range");
        }

        public string? String()
        {
            uint prefix = 0;
            for (var shift = 0; ; shift += 7)
            {
                if (shift > 21)
                {
                    throw new FormatException("a string's length is longer than any this format allows");
                }
                var next = Byte();
                prefix |= (uint)(next & 0x7f) << shift;
                if (next < 0x80)
                {
                    break;
                }
            }
            if (prefix == 0)
            {
                return null;
            }
            if (prefix - 1 > MaxStringBytes)
            {
                throw new FormatException($"a string of {prefix - 1} bytes is longer than any this format allows");
            }
            try
            {
                return StrictUtf8.GetString(Take((int)(prefix - 1)));
            }
            catch (DecoderFallbackException)
            {
                throw new FormatException("a string is not valid UTF-8");
            }
        }
    }
}
