using System.Buffers;
using System.Text;
using Alto.Scanning;

namespace Alto.Agent.Stubs;

/// <summary>
/// A Linux path as the agent holds it in a string. Names on Linux are bytes; most are UTF-8, but an
/// old file server may hold thousands of Latin-1 or Shift-JIS names. The bytes are decoded as UTF-8
/// and each byte that is not part of a valid UTF-8 sequence is kept as the lone surrogate
/// <c>U+DC80 + (byte − 0x80)</c> (the scheme Python calls surrogateescape). Valid UTF-8 never decodes
/// to a lone surrogate, so the string gives back the exact bytes: such a file is opened, stubbed,
/// journalled and recalled under its own name.
/// </summary>
/// <remarks>
/// .NET's own file calls would write such a string as U+FFFD and reach another name or none, so
/// these paths go only through the agent's libc calls (<see cref="LinuxFiles.Nul"/>) and
/// <c>/proc/self/fd</c> links. To the cluster they travel in the scan format's escaped form
/// (<see cref="PathEncoding"/>), the form the inventory holds them in.
/// </remarks>
public static class RawPaths
{
    private const char FirstByteEscape = '\uDC80';
    private const char LastByteEscape = '\uDCFF';

    /// <summary>The path the bytes name, each byte outside valid UTF-8 kept as its lone surrogate.</summary>
    public static string FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return Encoding.UTF8.GetString(bytes);
        }
        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            // An invalid sequence keeps its first byte and resynchronises on the next, as PathEncoding does.
            if (Rune.DecodeFromUtf8(bytes, out var rune, out var consumed) == OperationStatus.Done)
            {
                text.Append(rune.ToString());
            }
            else
            {
                text.Append((char)(FirstByteEscape + bytes[0] - 0x80));
                consumed = 1;
            }
            bytes = bytes[consumed..];
        }
        return text.ToString();
    }

    /// <summary>The bytes of the path, each kept byte given back as itself; NUL-terminated for a libc call with <paramref name="nulTerminated"/>.</summary>
    public static byte[] ToBytes(string path, bool nulTerminated = false)
    {
        if (!HasRawBytes(path))
        {
            return Encoding.UTF8.GetBytes(nulTerminated ? path + "\0" : path);
        }
        var bytes = new ArrayBufferWriter<byte>(path.Length * 3 + 1);
        for (var i = 0; i < path.Length; i++)
        {
            if (IsKeptByte(path, i))
            {
                bytes.Write([(byte)(path[i] - FirstByteEscape + 0x80)]);
                continue;
            }
            var length = char.IsHighSurrogate(path[i]) && i + 1 < path.Length && char.IsLowSurrogate(path[i + 1]) ? 2 : 1;
            var written = Encoding.UTF8.GetBytes(path.AsSpan(i, length), bytes.GetSpan(4));
            bytes.Advance(written);
            i += length - 1;
        }
        if (nulTerminated)
        {
            bytes.Write([(byte)0]);
        }
        return bytes.WrittenSpan.ToArray();
    }

    /// <summary>Whether the path holds a byte that is not valid UTF-8 (and so cannot go through .NET's file calls).</summary>
    public static bool HasRawBytes(string path)
    {
        for (var i = 0; i < path.Length; i++)
        {
            if (IsKeptByte(path, i))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The path a scan's escaped text names (<c>\xHH</c> for each byte outside UTF-8).</summary>
    /// <exception cref="FormatException">A backslash not followed by <c>xHH</c>.</exception>
    public static string FromEscaped(string text) => FromBytes(PathEncoding.Decode(text, PathEncodingKind.Escaped));

    /// <summary>The path as the cluster knows it: the text and whether it is escaped, as a scan reports it.</summary>
    public static (string Text, bool Escaped) ToWire(string path)
    {
        if (!HasRawBytes(path))
        {
            return (path, false);
        }
        var (text, kind) = PathEncoding.Encode(ToBytes(path));
        return (text, kind == PathEncodingKind.Escaped);
    }

    /// <summary>The path for a log line or a message: its escaped text, which shows every byte (a lone surrogate would print as U+FFFD).</summary>
    public static string Display(string path) => HasRawBytes(path) ? ToWire(path).Text : path;

    /// <summary>Whether the character at <paramref name="index"/> is a kept byte: a lone low surrogate of the kept range.</summary>
    private static bool IsKeptByte(string path, int index) =>
        path[index] is >= FirstByteEscape and <= LastByteEscape && (index == 0 || !char.IsHighSurrogate(path[index - 1]));
}
