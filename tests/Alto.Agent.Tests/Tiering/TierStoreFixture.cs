using Alto.Tiering;
using Alto.TestSupport;
using Amazon.S3;

namespace Alto.Agent.Tests.Tiering;

/// <summary>One s3rver and one azurite for the tier-store tests, plus a fresh store of each kind on request.</summary>
public sealed class TierStoreFixture : IAsyncLifetime
{
    public const string Bucket = "alto-tier2";

    /// <summary>Small parts, so multipart and staged uploads are exercised with a few MiB.</summary>
    public const int PartSize = 5 << 20;

    public Tier2Server S3 { get; private set; } = null!;

    public Tier2Server Azurite { get; private set; } = null!;

    private readonly List<string> _pathStores = [];

    public async Task InitializeAsync()
    {
        var s3 = Tier2Server.StartS3Async(Bucket);
        var azurite = Tier2Server.StartAzuriteAsync();
        S3 = await s3;
        Azurite = await azurite;
    }

    public async Task DisposeAsync()
    {
        await S3.DisposeAsync();
        await Azurite.DisposeAsync();
        foreach (var folder in _pathStores)
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public IAmazonS3 S3Client() => S3TierStore.CreateClient(S3.S3Endpoint, "us-east-1", true, Tier2Server.S3Key, Tier2Server.S3Key);

    /// <summary>A store of the kind, under its own prefix so tests never see each other's objects.</summary>
    private string NewPathStoreFolder()
    {
        var folder = Directory.CreateTempSubdirectory("alto-tier2-").FullName;
        lock (_pathStores)
        {
            _pathStores.Add(folder);
        }
        return folder;
    }

    public ITierStore Open(string kind, string prefix) => kind switch
    {
        "path" => new PathTierStore(NewPathStoreFolder(), prefix),
        "s3" => new S3TierStore(S3Client(), Bucket, prefix, PartSize),
        "azure" => new AzureBlobTierStore(
            AzureBlobTierStore.CreateContainerClient("tier2", Azurite.AzureConnectionString, null, null, null, null), prefix, PartSize),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}

[CollectionDefinition(Name)]
public sealed class TierStoreCollection : ICollectionFixture<TierStoreFixture>
{
    public const string Name = "tier-stores";
}
