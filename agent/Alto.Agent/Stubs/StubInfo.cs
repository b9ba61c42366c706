using System.Globalization;

namespace Alto.Agent.Stubs;

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

    /// <summary>The file's original bytes from its tier-2 object as stored (decoded per <see cref="Codec"/>); the caller disposes both.</summary>
    public Stream Decode(Stream stored) => Codec switch
    {
        null => stored,
        "zstd" => new ZstdSharp.DecompressionStream(stored, leaveOpen: true),
        _ => throw new InvalidDataException($"the stub's object is encoded as '{Codec}', which this agent does not read"),
    };

    public static string FormatLength(long length) => length.ToString(CultureInfo.InvariantCulture);
}
