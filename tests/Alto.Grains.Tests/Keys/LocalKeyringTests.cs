using Alto.Keys;

namespace Alto.Grains.Tests.Keys;

[Collection(PostgresClusterCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LocalKeyringTests(PostgresClusterFixture fixture) : KeyServiceContract(fixture), IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("alto-keys-").FullName;

    public void Dispose() => Directory.Delete(_folder, true);

    private KeyOptions Options(string name = "master.key") => new() { MasterKeyFile = Path.Combine(_folder, "state", name) };

    private static byte[] LoadWithoutEnvironment(KeyOptions options) => MasterKey.Load(options, _ => null);

    /// <summary>The keyring as the cluster's silos have it (they made each tenant's first key when the tenant was created).</summary>
    protected override Task<IKeyService> ServiceAsync() =>
        Task.FromResult<IKeyService>(new LocalKeyring(Fixture.Database.DataSource,
            LoadWithoutEnvironment(new KeyOptions { MasterKeyFile = Fixture.Database.MasterKeyFile })));

    [Fact]
    public void TheMasterKeyIsGeneratedAtFirstStartReadableByItsOwnerOnlyAndKept()
    {
        var options = Options();

        var first = LoadWithoutEnvironment(options);

        Assert.Equal(32, first.Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(options.MasterKeyFile));
        Assert.Equal(first, LoadWithoutEnvironment(options));
    }

    [Fact]
    public void TheEnvironmentWinsAndBadKeysAreRefusedWithTheReason()
    {
        var fromEnvironment = Convert.ToBase64String(new byte[32].Select((_, i) => (byte)i).ToArray());
        Assert.Equal(Convert.FromBase64String(fromEnvironment), MasterKey.Load(Options(), name => name == KeyOptions.MasterKeyVariable ? fromEnvironment : null));
        Assert.False(File.Exists(Options().MasterKeyFile));

        var shortKey = Assert.Throws<InvalidOperationException>(() => MasterKey.Load(Options(), _ => Convert.ToBase64String(new byte[16])));
        Assert.Contains("exactly 32 bytes", shortKey.Message, StringComparison.Ordinal);

        var open = Options("open.key");
        LoadWithoutEnvironment(open);
        File.SetUnixFileMode(open.MasterKeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var exposed = Assert.Throws<InvalidOperationException>(() => LoadWithoutEnvironment(open));
        Assert.Contains("chmod 600", exposed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherMasterKeyCannotOpenTheTenantKeys()
    {
        var tenant = await TenantAsync();
        var ciphertext = await (await ServiceAsync()).EncryptAsync(tenant, [1, 2, 3], CancellationToken.None);
        var stranger = new LocalKeyring(Fixture.Database.DataSource, LoadWithoutEnvironment(Options("other.key")));

        var refused = await Assert.ThrowsAsync<KeyServiceException>(() => stranger.DecryptAsync(tenant, ciphertext, CancellationToken.None));
        Assert.Contains("master key", refused.Message, StringComparison.Ordinal);
    }
}
