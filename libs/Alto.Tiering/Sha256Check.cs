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

    public static async Task<string> OfStreamAsync(Stream stream, CancellationToken cancellationToken) =>
        Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
}
