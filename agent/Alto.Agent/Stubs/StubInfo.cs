using System.Globalization;
using Alto.Tiering;

namespace Alto.Agent.Stubs;

/// <summary>The data key inside a wrapped key of the agent's tenant (asked of the cluster, which holds the tenant key).</summary>
public delegate Task<byte[]> DataKeyUnwrap(string wrapped, CancellationToken cancellationToken);

/// <summary>
/// What a stub carries (as <c>trusted.alto.*</c> attributes on Linux, which only a privileged
/// process can read or write): where its data is on tier 2, the SHA-256 and length of that data,
/// the version of this layout, and the file it was made for (<see cref="Binding"/>).
/// </summary>
public sealed record StubInfo(Guid TargetId, string Locator, string Sha256, long Length)
{
    /// <summary>2: markers in <c>trusted.alto.*</c> with a binding; 1: markers in <c>user.alto.*</c>, no binding.</summary>
    public const int CurrentVersion = 2;

    /// <summary>How the object is encoded on tier 2 ("zstd"), or null when it holds the file's bytes as they are.</summary>
    public string? Codec { get; init; }

    /// <summary>The inode and generation the stub was made for; null for a stub of version 1 (<see cref="IsLegacy"/>).</summary>
    public StubBinding? Binding { get; init; }

    /// <summary>
    /// Whether the markers are version 1's <c>user.alto.*</c> ones, which any owner of a file can
    /// set: such a stub is recalled only when the cluster's record confirms it, and is moved to
    /// <c>trusted.alto.*</c> when the agent starts (<see cref="LegacyStubMigration"/>).
    /// </summary>
    public bool IsLegacy { get; init; }

    public const string Prefix = "trusted.alto.";
    public const string LegacyPrefix = "user.alto.";

    public const string CodecAttribute = Prefix + "codec";
    public const string LocatorAttribute = Prefix + "locator";
    public const string Sha256Attribute = Prefix + "sha256";
    public const string LengthAttribute = Prefix + "size";
    public const string TargetAttribute = Prefix + "target";
    public const string VersionAttribute = Prefix + "version";
    public const string BindingAttribute = Prefix + "binding";

    /// <summary>Written last when stubbing and removed first when recalling: its presence is what makes a file a stub.</summary>
    public static readonly string[] AttributesInWriteOrder =
        [TargetAttribute, Sha256Attribute, LengthAttribute, VersionAttribute, CodecAttribute, BindingAttribute, LocatorAttribute];

    /// <summary>The version-1 name of an attribute (<c>trusted.alto.locator</c> → <c>user.alto.locator</c>).</summary>
    public static string LegacyName(string name) => LegacyPrefix + name[Prefix.Length..];

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

/// <summary>
/// The file a stub was made for: its inode number and generation (FS_IOC_GETVERSION; 0 where the
/// file system has none). A copy of the markers onto another file, even by a privileged tool that
/// copies <c>trusted.*</c> attributes, does not match it.
/// </summary>
public readonly record struct StubBinding(ulong Inode, ulong Generation)
{
    public override string ToString() => FormattableString.Invariant($"{Inode}:{Generation}");

    public static StubBinding? Parse(string? text)
    {
        var colon = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        return colon > 0
            && ulong.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var inode)
            && ulong.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var generation)
            ? new StubBinding(inode, generation)
            : null;
    }
}
