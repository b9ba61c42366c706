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

    /// <summary>Hands out prepared bytes; <see cref="Next"/> prepares more, or returns false at the end.</summary>
    private abstract class SegmentStream : ReadOnlyForwardStream
    {
        private byte[] _pending = [];
        private int _offset;

        protected abstract bool Next(out byte[] output);

        protected abstract ValueTask<(bool More, byte[] Output)> NextAsync(CancellationToken cancellationToken);

        protected void Pending(byte[] bytes)
        {
            _pending = bytes;
            _offset = 0;
        }

        public override int Read(Span<byte> buffer)
        {
            while (_offset == _pending.Length)
            {
                if (!Next(out var output))
                {
                    return 0;
                }
                Pending(output);
            }
            return Take(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_offset == _pending.Length)
            {
                var (more, output) = await NextAsync(cancellationToken);
                if (!more)
                {
                    return 0;
                }
                Pending(output);
            }
            return Take(buffer.Span);
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
        private readonly Stream _plaintext;
        private readonly AesGcm _aes;
        private readonly byte[] _baseNonce = RandomNumberGenerator.GetBytes(NonceSize);
        private byte[] _current = new byte[SegmentSize];
        private byte[] _ahead = new byte[SegmentSize];
        private int _currentCount = -1;
        private long _segment;
        private bool _done;

        public EncryptingStream(Stream plaintext, byte[] dataKey, string wrappedKey)
        {
            _plaintext = plaintext;
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

        protected override bool Next(out byte[] output)
        {
            if (_done)
            {
                output = [];
                return false;
            }
            if (_currentCount < 0)
            {
                _currentCount = _plaintext.ReadAtLeast(_current, SegmentSize, throwOnEndOfStream: false);
            }
            // A full segment is the last one only if nothing follows it: read the next one ahead.
            var aheadCount = _currentCount == SegmentSize ? _plaintext.ReadAtLeast(_ahead, SegmentSize, throwOnEndOfStream: false) : 0;
            output = Seal(aheadCount);
            return true;
        }

        protected override async ValueTask<(bool More, byte[] Output)> NextAsync(CancellationToken cancellationToken)
        {
            if (_done)
            {
                return (false, []);
            }
            if (_currentCount < 0)
            {
                _currentCount = await _plaintext.ReadAtLeastAsync(_current, SegmentSize, throwOnEndOfStream: false, cancellationToken);
            }
            var aheadCount = _currentCount == SegmentSize
                ? await _plaintext.ReadAtLeastAsync(_ahead, SegmentSize, throwOnEndOfStream: false, cancellationToken)
                : 0;
            return (true, Seal(aheadCount));
        }

        private byte[] Seal(int aheadCount)
        {
            var last = aheadCount == 0;
            var output = new byte[_currentCount + TagSize];
            _aes.Encrypt(Nonce(_baseNonce, _segment), _current.AsSpan(0, _currentCount), output.AsSpan(0, _currentCount),
                output.AsSpan(_currentCount), AssociatedData(_segment, last));
            _segment++;
            (_current, _ahead) = (_ahead, _current);
            _currentCount = aheadCount;
            _done = last;
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

    private sealed class DecryptingStream(Stream stored, byte[] dataKey, byte[] baseNonce, int segmentSize) : SegmentStream
    {
        private readonly AesGcm _aes = new(dataKey, TagSize);
        private byte[] _current = new byte[segmentSize + TagSize];
        private byte[] _ahead = new byte[segmentSize + TagSize];
        private int _currentCount = -1;
        private long _segment;
        private bool _done;

        protected override bool Next(out byte[] output)
        {
            if (_done)
            {
                output = [];
                return false;
            }
            if (_currentCount < 0)
            {
                _currentCount = stored.ReadAtLeast(_current, _current.Length, throwOnEndOfStream: false);
            }
            var aheadCount = _currentCount == _current.Length ? stored.ReadAtLeast(_ahead, _ahead.Length, throwOnEndOfStream: false) : 0;
            output = Open(aheadCount);
            return true;
        }

        protected override async ValueTask<(bool More, byte[] Output)> NextAsync(CancellationToken cancellationToken)
        {
            if (_done)
            {
                return (false, []);
            }
            if (_currentCount < 0)
            {
                _currentCount = await stored.ReadAtLeastAsync(_current, _current.Length, throwOnEndOfStream: false, cancellationToken);
            }
            var aheadCount = _currentCount == _current.Length
                ? await stored.ReadAtLeastAsync(_ahead, _ahead.Length, throwOnEndOfStream: false, cancellationToken)
                : 0;
            return (true, Open(aheadCount));
        }

        private byte[] Open(int aheadCount)
        {
            if (_currentCount < TagSize)
            {
                throw new InvalidDataException("the encrypted object was cut off");
            }
            var last = aheadCount == 0;
            var output = new byte[_currentCount - TagSize];
            try
            {
                _aes.Decrypt(Nonce(baseNonce, _segment), _current.AsSpan(0, output.Length), _current.AsSpan(output.Length, TagSize), output,
                    AssociatedData(_segment, last));
            }
            catch (AuthenticationTagMismatchException exception)
            {
                throw new InvalidDataException($"segment {_segment} of the encrypted object does not decrypt: it was changed, moved or cut off, or the key is not its own", exception);
            }
            _segment++;
            (_current, _ahead) = (_ahead, _current);
            _currentCount = aheadCount;
            _done = last;
            return output;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _aes.Dispose();
                stored.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
