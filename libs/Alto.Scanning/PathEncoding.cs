using System.Buffers;
using System.Globalization;
using System.Text;

namespace Alto.Scanning;

/// <summary>
/// File names on Linux are bytes, not text. Alto carries paths as text and keeps them exact:
/// <list type="bullet">
/// <item>bytes that are valid UTF-8 are sent as that text (<see cref="PathEncodingKind.Utf8"/>);</item>
/// <item>otherwise (<see cref="PathEncodingKind.Escaped"/>) every byte that is not part of a valid
/// UTF-8 sequence, and every backslash, is written as <c>\xHH</c> (two upper-case hex digits),
/// and all other characters as themselves.</item>
/// </list>
/// Decoding an escaped path gives back exactly the original bytes.
/// </summary>
public static class PathEncoding
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static (string Text, PathEncodingKind Kind) Encode(ReadOnlySpan<byte> path)
    {
        if (System.Text.Unicode.Utf8.IsValid(path))
        {
            return (Encoding.UTF8.GetString(path), PathEncodingKind.Utf8);
        }
        var text = new StringBuilder(path.Length + 16);
        while (!path.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(path, out var rune, out var consumed);
            if (status == OperationStatus.Done && rune.Value != '\\')
            {
                text.Append(rune.ToString());
            }
            else
            {
                // An invalid sequence: escape its first byte and resynchronise on the next.
                consumed = status == OperationStatus.Done ? consumed : 1;
                for (var i = 0; i < consumed; i++)
                {
                    text.Append(CultureInfo.InvariantCulture, $"\\x{path[i]:X2}");
                }
            }
            path = path[consumed..];
        }
        return (text.ToString(), PathEncodingKind.Escaped);
    }

    public static byte[] Decode(string text, PathEncodingKind kind)
    {
        if (kind == PathEncodingKind.Utf8)
        {
            return StrictUtf8.GetBytes(text);
        }
        var bytes = new List<byte>(text.Length);
        var buffer = new byte[4];
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                if (i + 3 < text.Length && text[i + 1] == 'x'
                    && byte.TryParse(text.AsSpan(i + 2, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
                {
                    bytes.Add(value);
                    i += 3;
                    continue;
                }
                throw new FormatException($"escaped path has a backslash not followed by xHH at position {i}");
            }
            var length = char.IsHighSurrogate(text[i]) && i + 1 < text.Length ? 2 : 1;
            var written = StrictUtf8.GetBytes(text.AsSpan(i, length), buffer);
            bytes.AddRange(buffer.AsSpan(0, written));
            i += length - 1;
        }
        return [.. bytes];
    }

    /// <summary>True when the text is a well-formed escaped path (every backslash starts \xHH).</summary>
    public static bool IsWellFormed(string text, PathEncodingKind kind)
    {
        if (kind == PathEncodingKind.Utf8)
        {
            return true;
        }
        try
        {
            Decode(text, kind);
            return true;
        }
        catch (Exception exception) when (exception is FormatException or EncoderFallbackException or ArgumentException)
        {
            return false;
        }
    }

    public static string Name(PathEncodingKind kind) => kind == PathEncodingKind.Escaped ? "escaped" : "utf8";

    public static bool TryParseName(ReadOnlySpan<char> name, out PathEncodingKind kind)
    {
        kind = PathEncodingKind.Utf8;
        if (name.SequenceEqual("utf8") || name.IsEmpty)
        {
            return true;
        }
        if (name.SequenceEqual("escaped"))
        {
            kind = PathEncodingKind.Escaped;
            return true;
        }
        return false;
    }
}
