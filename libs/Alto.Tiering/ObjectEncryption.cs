using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Alto.Tiering;

/// <summary>
/// Encrypted tier-2 objects: streaming AES-256-GCM under a data key of the object's own, which is
/// stored (wrapped by the tenant key) in the object's header. Layout:
/// "ALTOAE01", the wrapped key's length (2 bytes) and UTF-8 text, a 12-byte base nonce, the
/// segment size (4 bytes); then segments of at most that many bytes, each sealed with its own
/// nonce (the base nonce with the segment number folded into its last 8 bytes) and its number
/// and a last-segment flag as associated data — so segments cannot be reordered, dropped or cut
/// off without the read failing.
/// </summary>
public static class ObjectEncryption
{
    public const string Codec = "aes256gcm";
    public const int SegmentSize = 64 * 1024;
    public const int TagSize = 16;
    public const int NonceSize = 12;
    private static readonly byte[] Magic = "ALTOAE01"u8.ToArray();

    /// <summary>The object's bytes for <paramref name="plaintext"/>, produced as they are read.</summary>
    public static Stream Encrypt(Stream plaintext, byte[] dataKey, string wrappedKey) => new EncryptingStream(plaintext, dataKey, wrappedKey);

    /// <summary>The plaintext of an encrypted object; <paramref name="unwrap"/> turns the header's wrapped key into the data key.</summary>
    public static async Task<Stream> DecryptAsync(Stream stored, Func<string, CancellationToken, Task<byte[]>> unwrap, CancellationToken cancellationToken)
    {
        var fixedPart = new byte[Magic.Length + 2];
        await ReadHeaderAsync(stored, fixedPart, cancellationToken);
        if (!fixedPart.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new InvalidDataException("the object is not an Alto encrypted object");
        }
        var wrapped = new byte[BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(Magic.Length))];
        await ReadHeaderAsync(stored, wrapped, cancellationToken);
        var rest = new byte[NonceSize + 4];
        await ReadHeaderAsync(stored, rest, cancellationToken);
        if (BinaryPrimitives.ReadInt32BigEndian(rest.AsSpan(NonceSize)) is var segmentSize && segmentSize is < 1 or > 16 << 20)
        {
            throw new InvalidDataException($"the object's segment size {segmentSize} is not valid");
        }
        var key = await unwrap(Encoding.UTF8.GetString(wrapped), cancellationToken);
        return new DecryptingStream(stored, key, rest[..NonceSize], segmentSize);
    }

    private static async Task ReadHeaderAsync(Stream stored, byte[] buffer, CancellationToken cancellationToken)
    {
        if (await stored.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken) != buffer.Length)
        {
            throw new InvalidDataException("the encrypted object ends inside its header");
        }
    }

    private static byte[] Nonce(byte[] baseNonce, long segment)
    {
        var nonce = (byte[])baseNonce.Clone();
        var counter = BinaryPrimitives.ReadInt64BigEndian(nonce.AsSpan(4)) ^ segment;
        BinaryPrimitives.WriteInt64BigEndian(nonce.AsSpan(4), counter);
        return nonce;
    }

    private static byte[] AssociatedData(long segment, bool last)
    {
        var data = new byte[9];
        BinaryPrimitives.WriteInt64BigEndian(data, segment);
        data[8] = last ? (byte)1 : (byte)0;
        return data;
    }

    /// <summary>
    /// Reads its source a segment at a time, one segment ahead (a full segment is the last one only
    /// if nothing follows it), and hands out each segment as <see cref="Transform"/> turns it.
    /// </summary>
    private abstract class SegmentStream(Stream source, int chunkLength, bool ownsSource) : ReadOnlyForwardStream
    {
        private byte[] _pending = [];
        private int _offset;
        private byte[] _current = new byte[chunkLength];
        private byte[] _ahead = new byte[chunkLength];
        private int _currentCount = -1;
        private long _segment;
        private bool _done;

        /// <summary>One segment's output; <paramref name="last"/> says whether it ends the object.</summary>
        protected abstract byte[] Transform(ReadOnlySpan<byte> chunk, long segment, bool last);

        /// <summary>Bytes handed out before the first segment (a header).</summary>
        protected void Pending(byte[] bytes)
        {
            _pending = bytes;
            _offset = 0;
        }

        public override int Read(Span<byte> buffer)
        {
            while (_offset == _pending.Length)
            {
                if (_done)
                {
                    return 0;
                }
                if (_currentCount < 0)
                {
                    _currentCount = source.ReadAtLeast(_current, chunkLength, throwOnEndOfStream: false);
                }
                Advance(_currentCount == chunkLength ? source.ReadAtLeast(_ahead, chunkLength, throwOnEndOfStream: false) : 0);
            }
            return Take(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_offset == _pending.Length)
            {
                if (_done)
                {
                    return 0;
                }
                if (_currentCount < 0)
                {
                    _currentCount = await source.ReadAtLeastAsync(_current, chunkLength, throwOnEndOfStream: false, cancellationToken);
                }
                Advance(_currentCount == chunkLength ? await source.ReadAtLeastAsync(_ahead, chunkLength, throwOnEndOfStream: false, cancellationToken) : 0);
            }
            return Take(buffer.Span);
        }

        private void Advance(int aheadCount)
        {
            var last = aheadCount == 0;
            Pending(Transform(_current.AsSpan(0, _currentCount), _segment, last));
            _segment++;
            (_current, _ahead) = (_ahead, _current);
            _currentCount = aheadCount;
            _done = last;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && ownsSource)
            {
                source.Dispose();
            }
            base.Dispose(disposing);
        }

        private int Take(Span<byte> buffer)
        {
            var count = Math.Min(buffer.Length, _pending.Length - _offset);
            _pending.AsSpan(_offset, count).CopyTo(buffer);
            _offset += count;
            return count;
        }
    }

    private sealed class EncryptingStream : SegmentStream
    {
        private readonly AesGcm _aes;
        private readonly byte[] _baseNonce = RandomNumberGenerator.GetBytes(NonceSize);

        public EncryptingStream(Stream plaintext, byte[] dataKey, string wrappedKey) : base(plaintext, SegmentSize, ownsSource: false)
        {
            _aes = new AesGcm(dataKey, TagSize);
            var wrapped = Encoding.UTF8.GetBytes(wrappedKey);
            var header = new byte[Magic.Length + 2 + wrapped.Length + NonceSize + 4];
            Magic.CopyTo(header, 0);
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(Magic.Length), checked((ushort)wrapped.Length));
            wrapped.CopyTo(header, Magic.Length + 2);
            _baseNonce.CopyTo(header, Magic.Length + 2 + wrapped.Length);
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(header.Length - 4), SegmentSize);
            Pending(header);
        }

        protected override byte[] Transform(ReadOnlySpan<byte> chunk, long segment, bool last)
        {
            var output = new byte[chunk.Length + TagSize];
            _aes.Encrypt(Nonce(_baseNonce, segment), chunk, output.AsSpan(0, chunk.Length), output.AsSpan(chunk.Length), AssociatedData(segment, last));
            return output;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _aes.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    private sealed class DecryptingStream(Stream stored, byte[] dataKey, byte[] baseNonce, int segmentSize) : SegmentStream(stored, segmentSize + TagSize, ownsSource: true)
    {
        private readonly AesGcm _aes = new(dataKey, TagSize);

        protected override byte[] Transform(ReadOnlySpan<byte> chunk, long segment, bool last)
        {
            if (chunk.Length < TagSize)
            {
                throw new InvalidDataException("the encrypted object was cut off");
            }
            var output = new byte[chunk.Length - TagSize];
            try
            {
                _aes.Decrypt(Nonce(baseNonce, segment), chunk[..output.Length], chunk[output.Length..], output, AssociatedData(segment, last));
            }
            catch (AuthenticationTagMismatchException exception)
            {
                throw new InvalidDataException($"segment {segment} of the encrypted object does not decrypt: it was changed, moved or cut off, or the key is not its own", exception);
            }
            return output;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _aes.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
