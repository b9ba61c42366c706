using System.Buffers;
using System.IO.Hashing;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Alto.Tiering;

/// <summary>
/// What a tiering's read-back compares: XXH3 128-bit over every byte handed to the store and over
/// every byte the store returns for the object. It guards against storage and transfer faults — a
/// write lost or torn, an object already under the same name that is not these bytes — at memory
/// speed, where a second SHA-256 cost as much CPU as the upload's own. It is no cryptographic
/// hash, and need not be: the object's SHA-256 (its name, and the stub's recorded hash) is still
/// taken as it is written, and a recall verifies the bytes it brings back against that.
/// </summary>
public sealed class ReadBackCheck(Stream inner) : ReadOnlyForwardStream
{
    private readonly XxHash128 _hash = new();

    /// <summary>The check of everything read so far (lower-case hex); taken once the store has read the content to its end.</summary>
    public string Value => Convert.ToHexStringLower(_hash.GetCurrentHash());

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        _hash.Append(buffer[..read]);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        _hash.Append(buffer.Span[..read]);
        return read;
    }

    /// <summary>The check of an open file's bytes, read from its start to its end (from the page cache, as a rule).</summary>
    public static async Task<string> OfFileAsync(SafeFileHandle file, CancellationToken cancellationToken) =>
        (await OfFileWithSha256Async(file, sha256: null, progress: null, cancellationToken)).Check;

    /// <summary>Reads an open file from its start to its end once, taking its check and, when given, feeding <paramref name="sha256"/>; returns the check and the length.</summary>
    internal static async Task<(string Check, long Length)> OfFileWithSha256Async(
        SafeFileHandle file, IncrementalHash? sha256, CallProgress? progress, CancellationToken cancellationToken)
    {
        var hash = new XxHash128();
        var buffer = ArrayPool<byte>.Shared.Rent(LocalPiece);
        try
        {
            long offset = 0;
            int read;
            progress?.Calling(LocalPiece);
            while ((read = await RandomAccess.ReadAsync(file, buffer.AsMemory(0, LocalPiece), offset, cancellationToken)) > 0)
            {
                hash.Append(buffer.AsSpan(0, read));
                sha256?.AppendData(buffer, 0, read);
                offset += read;
                progress?.Add(read);
            }
            return (Convert.ToHexStringLower(hash.GetCurrentHash()), offset);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A local file is read in megabytes: a read is a system call and a thread-pool hop.</summary>
    private const int LocalPiece = 1 << 20;

    /// <summary>Reads the whole object back from the store and returns its check.</summary>
    /// <exception cref="TierObjectNotFoundException">The key holds no object.</exception>
    public static async Task<string> OfObjectAsync(ITierStore store, string key, CancellationToken cancellationToken)
    {
        var hash = new XxHash128();
        await using var stream = await store.OpenReadAsync(key, 0, null, cancellationToken);
        await Sha256Check.DrainAsync(stream, (buffer, count) => hash.Append(buffer.AsSpan(0, count)), cancellationToken);
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }
}
