using Alto.Keys;
using Alto.TestSupport;

namespace Alto.Grains.Tests.Keys;

/// <summary>The Vault Transit key service against <see cref="VaultTransitStandIn"/> (no Vault server can run here).</summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class VaultTransitKeyServiceTests(PostgresClusterFixture fixture) : KeyServiceContract(fixture), IAsyncLifetime
{
    private VaultTransitStandIn _vault = null!;
    private static readonly HttpClient Http = new();

    public async Task InitializeAsync() => _vault = await VaultTransitStandIn.StartAsync();

    public async Task DisposeAsync() => await _vault.DisposeAsync();

    protected override Task<IKeyService> ServiceAsync() =>
        Task.FromResult<IKeyService>(new VaultTransitKeyService(Http, new VaultOptions { Address = _vault.Address.ToString(), Token = _vault.Token }));

    [Fact]
    public async Task AWrongTokenOrAnUnreachableVaultIsAClearError()
    {
        var tenant = Guid.NewGuid();
        var wrongToken = new VaultTransitKeyService(Http, new VaultOptions { Address = _vault.Address.ToString(), Token = "s.wrong" });
        var denied = await Assert.ThrowsAsync<KeyServiceException>(() => wrongToken.EncryptAsync(tenant, [1], CancellationToken.None));
        Assert.Contains("permission denied", denied.Message, StringComparison.Ordinal);

        var nowhere = new VaultTransitKeyService(Http, new VaultOptions { Address = $"http://127.0.0.1:{FreePorts.Next()}", Token = _vault.Token });
        var unreachable = await Assert.ThrowsAsync<KeyServiceException>(() => nowhere.EncryptAsync(tenant, [1], CancellationToken.None));
        Assert.Contains("could not be reached", unreachable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheTokenIsReadFromItsFileWhenGivenOne()
    {
        var tokenFile = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(tokenFile, _vault.Token + "\n");
            var keys = new VaultTransitKeyService(Http, new VaultOptions { Address = _vault.Address.ToString(), TokenFile = tokenFile });
            var tenant = Guid.NewGuid();
            Assert.Equal([7], await keys.DecryptAsync(tenant, await keys.EncryptAsync(tenant, [7], CancellationToken.None), CancellationToken.None));
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }
}
