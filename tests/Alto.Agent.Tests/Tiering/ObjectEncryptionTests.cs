using System.Security.Cryptography;
using Alto.Tiering;

namespace Alto.Agent.Tests.Tiering;

[Trait("Layer", "Unit")]
public sealed class ObjectEncryptionTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);
    private const string Wrapped = "alto:v1:wrapped-data-key";

    private static Task<byte[]> UnwrapAsync(string wrapped, CancellationToken _) =>
        wrapped == Wrapped ? Task.FromResult(Key) : throw new InvalidOperationException("unexpected wrapped key " + wrapped);

    private static byte[] Encrypt(byte[] plaintext)
    {
        using var encrypted = ObjectEncryption.Encrypt(new MemoryStream(plaintext), Key, Wrapped);
        using var output = new MemoryStream();
        encrypted.CopyTo(output, 7_777);
        return output.ToArray();
    }

    private static async Task<byte[]> DecryptAsync(byte[] stored, Func<string, CancellationToken, Task<byte[]>>? unwrap = null)
    {
        await using var plain = await ObjectEncryption.DecryptAsync(new MemoryStream(stored), unwrap ?? UnwrapAsync, CancellationToken.None);
        using var output = new MemoryStream();
        await plain.CopyToAsync(output, 5_000);
        return output.ToArray();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(ObjectEncryption.SegmentSize - 1)]
    [InlineData(ObjectEncryption.SegmentSize)]
    [InlineData(ObjectEncryption.SegmentSize + 1)]
    [InlineData(3 * ObjectEncryption.SegmentSize)]
    [InlineData(1_000_003)]
    public async Task WhatIsEncryptedDecryptsToTheSameBytesAndIsNotThePlaintext(int size)
    {
        var plaintext = RandomNumberGenerator.GetBytes(size);

        var stored = Encrypt(plaintext);

        Assert.Equal(plaintext, await DecryptAsync(stored));
        if (size >= 16)
        {
            Assert.Equal(-1, stored.AsSpan().IndexOf(plaintext.AsSpan(0, 16)));
        }
        Assert.NotEqual(stored, Encrypt(plaintext));
    }

    [Fact]
    public async Task AChangedByteAWrongKeyAndACutOffObjectAreRefused()
    {
        var stored = Encrypt(RandomNumberGenerator.GetBytes(3 * ObjectEncryption.SegmentSize + 10));

        var changed = (byte[])stored.Clone();
        changed[^100] ^= 1;
        await Assert.ThrowsAsync<InvalidDataException>(() => DecryptAsync(changed));

        await Assert.ThrowsAsync<InvalidDataException>(() => DecryptAsync(stored, (_, _) => Task.FromResult(RandomNumberGenerator.GetBytes(32))));

        // Cut after whole segments: what is left decrypts segment by segment, but not as the end.
        var header = stored.Length - (3 * (ObjectEncryption.SegmentSize + ObjectEncryption.TagSize) + 10 + ObjectEncryption.TagSize);
        var cut = stored[..(header + 2 * (ObjectEncryption.SegmentSize + ObjectEncryption.TagSize))];
        await Assert.ThrowsAsync<InvalidDataException>(() => DecryptAsync(cut));
        await Assert.ThrowsAsync<InvalidDataException>(() => DecryptAsync(stored[..(header - 3)]));
        await Assert.ThrowsAsync<InvalidDataException>(() => DecryptAsync("not an encrypted object at all"u8.ToArray()));
    }
}
