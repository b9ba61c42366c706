using System.Globalization;
using Alto.Tiering;

namespace Alto.Agent.Stubs;

/// <summary>The data key inside a wrapped key of the agent's tenant (asked of the cluster, which holds the tenant key).</summary>
public delegate Task<byte[]> DataKeyUnwrap(string wrapped, CancellationToken cancellationToken);

/// <summary>
/// What a stub carries (as <c>user.alto.*</c> attributes on Linux): where its data is on tier 2,
/// the SHA-256 and length of that data, and the version of this layout.
/// </summary>
public sealed record StubInfo(Guid TargetId, string Locator, string Sha256, long Length)
{
    public const int CurrentVersion = 1;

    /// <summary>How the object is encoded on tier 2 ("zstd"), or null when it holds the file's bytes as they are.</summary>
    public string? Codec { get; init; }

    public const string CodecAttribute = "user.alto.codec";

    public const string LocatorAttribute = "user.alto.locator";
    public const string Sha256Attribute = "user.alto.sha256";
    public const string LengthAttribute = "user.alto.size";
    public const string TargetAttribute = "user.alto.target";
    public const string VersionAttribute = "user.alto.version";

    /// <summary>Written last when stubbing and removed first when recalling: its presence is what makes a file a stub.</summary>
    public static readonly string[] AttributesInWriteOrder = [TargetAttribute, Sha256Attribute, LengthAttribute, VersionAttribute, CodecAttribute, LocatorAttribute];

    public const string Zstd = "zstd";
    public const string Encrypted = ObjectEncryption.Codec;
    public const string ZstdEncrypted = Zstd + "+" + Encrypted;

    /// <summary>The codec of an object compressed and/or encrypted on the way to tier 2 (compressed first: encrypted bytes do not compress).</summary>
    public static string? CodecFor(bool compressed, bool encrypted) => (compressed, encrypted) switch
    {
        (true, true) => ZstdEncrypted,
        (true, false) => Zstd,
        (false, true) => Encrypted,
        _ => null,
    };

    /// <summary>Whether only whole reads of the object give the file's bytes (no ranges).</summary>
    public bool IsWholeObjectOnly => Codec is not null;

    /// <summary>
    /// The file's original bytes from its tier-2 object as stored (decoded per <see cref="Codec"/>);
    /// an encrypted object's data key is unwrapped by <paramref name="unwrap"/> (the cluster). The
    /// caller disposes both streams.
    /// </summary>
    public async Task<Stream> DecodeAsync(Stream stored, DataKeyUnwrap? unwrap, CancellationToken cancellationToken)
    {
        switch (Codec)
        {
            case null:
                return stored;
            case Zstd:
                return new ZstdSharp.DecompressionStream(stored, leaveOpen: true);
            case Encrypted or ZstdEncrypted:
                if (unwrap is null)
                {
                    throw new InvalidDataException("the stub's object is encrypted; its key can only be unwrapped through the cluster, which this recall does not reach");
                }
                var plain = await ObjectEncryption.DecryptAsync(stored, (wrapped, token) => unwrap(wrapped, token), cancellationToken);
                return Codec == Encrypted ? plain : new ZstdSharp.DecompressionStream(plain, leaveOpen: false);
            default:
                throw new InvalidDataException($"the stub's object is encoded as '{Codec}', which this agent does not read");
        }
    }

    public static string FormatLength(long length) => length.ToString(CultureInfo.InvariantCulture);
}
