using System.Buffers;
using System.Security.Cryptography;

namespace Alto.Tiering;

/// <summary>Verification by reading back: the SHA-256 of what a store actually returns for a key.</summary>
public static class Sha256Check
{
    public static async Task<string> OfObjectAsync(ITierStore store, string key, CancellationToken cancellationToken)
    {
        await using var stream = await store.OpenReadAsync(key, 0, null, cancellationToken);
        return await OfStreamAsync(stream, cancellationToken);
    }

    /// <summary>Reads in 128 KiB pieces from a pooled buffer: few reads for a large object, no allocation per object.</summary>
    public static async Task<string> OfStreamAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await DrainAsync(stream, (buffer, count) => hash.AppendData(buffer, 0, count), cancellationToken);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Reads a stream to its end in 128 KiB pieces of one pooled buffer, handing each piece (buffer, count) to <paramref name="append"/>.</summary>
    internal static async Task DrainAsync(Stream stream, Action<byte[], int> append, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(128 * 1024);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                append(buffer, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
