using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Alto.GrainInterfaces.Tenants;
using Alto.Keys;
using Alto.TestSupport;
using Npgsql;

namespace Alto.Grains.Tests.Keys;

/// <summary>
/// The recovery kit's keys opened with no database: what the local keyring wrapped (read from
/// alto.tenant_key as the export does) opens with the master key alone, for every version; a
/// wrong master key, a key moved to another tenant or version, or a kit of another format is
/// refused; a Vault installation's kit asks Vault (<see cref="VaultTransitStandIn"/>, no Vault
/// server can run here).
/// </summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class RecoveryKeyringTests(PostgresClusterFixture fixture)
{
    private byte[] MasterKeyOfTheCluster => MasterKey.Load(new KeyOptions { MasterKeyFile = fixture.Database.MasterKeyFile }, _ => null);

    [Fact]
    public async Task EveryKeyVersionOpensWithTheMasterKeyAloneAndOnlyForItsOwnTenant()
    {
        var keyring = new LocalKeyring(fixture.Database.DataSource, MasterKeyOfTheCluster);
        var (tenant, other) = (await TenantAsync(), await TenantAsync());
        var before = await keyring.EncryptAsync(tenant, [1, 2, 3], CancellationToken.None);
        await keyring.RotateKeyAsync(tenant, CancellationToken.None);
        var dataKey = await keyring.GenerateDataKeyAsync(tenant, CancellationToken.None);
        var othersSecret = await keyring.EncryptAsync(other, [9], CancellationToken.None);
        var kit = await KitAsync("local", tenant, other);

        var recovery = RecoveryKeyring.Open(kit, MasterKeyOfTheCluster, vault: null);

        Assert.Equal([1, 2, 3], await recovery.DecryptAsync(tenant, before, CancellationToken.None));
        Assert.Equal(dataKey.Plaintext, await recovery.DecryptAsync(tenant, dataKey.Wrapped, CancellationToken.None));
        Assert.Equal([9], await recovery.DecryptAsync(other, othersSecret, CancellationToken.None));
        var crossed = await Assert.ThrowsAsync<KeyServiceException>(() => recovery.DecryptAsync(tenant, othersSecret, CancellationToken.None));
        Assert.Contains("does not decrypt under this tenant's key", crossed.Message, StringComparison.Ordinal);

        // A ciphertext of a version the kit does not hold (a rotation after the export).
        await keyring.RotateKeyAsync(tenant, CancellationToken.None);
        var later = await keyring.EncryptAsync(tenant, [4], CancellationToken.None);
        var missing = await Assert.ThrowsAsync<KeyServiceException>(() => recovery.DecryptAsync(tenant, later, CancellationToken.None));
        Assert.Contains("no key version 3", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWrongMasterKeyOrAKeyMovedToAnotherTenantOrVersionIsRefusedWhenTheKitIsOpened()
    {
        var keyring = new LocalKeyring(fixture.Database.DataSource, MasterKeyOfTheCluster);
        var (tenant, other) = (await TenantAsync(), await TenantAsync());
        await keyring.CreateKeyAsync(tenant, CancellationToken.None);
        await keyring.CreateKeyAsync(other, CancellationToken.None);
        var kit = await KitAsync("local", tenant, other);

        var wrongMaster = Assert.Throws<KeyServiceException>(() => RecoveryKeyring.Open(kit, RandomNumberGenerator.GetBytes(32), vault: null));
        Assert.Contains("does not open with this master key", wrongMaster.Message, StringComparison.Ordinal);
        var noMaster = Assert.Throws<KeyServiceException>(() => RecoveryKeyring.Open(kit, masterKey: null, vault: null));
        Assert.Contains(KeyOptions.MasterKeyVariable, noMaster.Message, StringComparison.Ordinal);

        var swapped = kit with
        {
            Tenants = [kit.Tenants[0] with { Keys = kit.Tenants[1].Keys }, kit.Tenants[1] with { Keys = kit.Tenants[0].Keys }],
        };
        Assert.Throws<KeyServiceException>(() => RecoveryKeyring.Open(swapped, MasterKeyOfTheCluster, vault: null));
        var renumbered = kit with { Tenants = [kit.Tenants[0] with { Keys = [kit.Tenants[0].Keys[0] with { Version = 2 }] }] };
        Assert.Throws<KeyServiceException>(() => RecoveryKeyring.Open(renumbered, MasterKeyOfTheCluster, vault: null));
        var damaged = kit with { Tenants = [kit.Tenants[0] with { Keys = [kit.Tenants[0].Keys[0] with { Wrapped = "not base64!" }] }] };
        Assert.Contains("not base64", Assert.Throws<KeyServiceException>(() => RecoveryKeyring.Open(damaged, MasterKeyOfTheCluster, vault: null)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVaultInstallationsKitAsksVaultForEachKey()
    {
        await using var vault = await VaultTransitStandIn.StartAsync();
        using var http = new HttpClient();
        var transit = new VaultTransitKeyService(http, new VaultOptions { Address = vault.Address.ToString(), Token = vault.Token });
        var tenant = Guid.NewGuid();
        var dataKey = await transit.GenerateDataKeyAsync(tenant, CancellationToken.None);
        var kit = new RecoveryKit(RecoveryKit.CurrentFormat, DateTimeOffset.UtcNow, "vault", [new RecoveryKitTenant(tenant, "t", [], [])]);

        var withoutVault = Assert.Throws<KeyServiceException>(() => RecoveryKeyring.Open(kit, MasterKeyOfTheCluster, vault: null));
        Assert.Contains("Vault", withoutVault.Message, StringComparison.Ordinal);
        var recovery = RecoveryKeyring.Open(kit, masterKey: null, transit);
        Assert.Equal(dataKey.Plaintext, await recovery.DecryptAsync(tenant, dataKey.Wrapped, CancellationToken.None));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"format":"alto-recovery-kit/9","createdAt":"2026-01-01T00:00:00Z","keyring":"local","tenants":[]}""")]
    [InlineData("""{"format":"alto-recovery-kit/1","createdAt":"2026-01-01T00:00:00Z","keyring":"hsm","tenants":[]}""")]
    [InlineData("""{"format":"alto-recovery-kit/1","createdAt":"2026-01-01T00:00:00Z","keyring":"local"}""")]
    [InlineData("""{"format":"alto-recovery-kit/1","createdAt":"2026-01-01T00:00:00Z","keyring":"local","tenants":[{"id":"00000000-0000-0000-0000-000000000001","name":"t","keys":[]}]}""")]
    public void ATextThatIsNotACompleteKitIsRefusedWithTheReason(string text) =>
        Assert.Throws<InvalidDataException>(() => RecoveryKit.Parse(text));

    [Fact]
    public async Task AKitSurvivesItsOwnJsonRoundTrip()
    {
        var kit = await KitAsync("local");
        var target = new RecoveryKitTarget(Guid.NewGuid(), "nas", new JsonObject { ["kind"] = "path", ["path"] = "/mnt/tier2" }, null);
        var withTarget = kit with { Tenants = [new RecoveryKitTenant(Guid.NewGuid(), "t", [], [target])] };

        var read = RecoveryKit.Parse(JsonSerializer.Serialize(withTarget, JsonSerializerOptions.Web));

        Assert.Equal("/mnt/tier2", read.Tenants[0].Targets[0].Target["path"]!.GetValue<string>());
    }

    /// <summary>A tenant that exists (the local keyring's rows refer to it), with its first key.</summary>
    private async Task<Guid> TenantAsync()
    {
        var tenantId = Guid.NewGuid();
        Assert.True((await fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString()).CreateAsync(new CreateTenant($"kit-{tenantId:N}", ""))).Succeeded);
        return tenantId;
    }

    /// <summary>The kit's keys as the gateway's export reads them: every stored version of each tenant, wrapped as stored.</summary>
    private async Task<RecoveryKit> KitAsync(string keyring, params Guid[] tenants)
    {
        var kitTenants = new List<RecoveryKitTenant>();
        foreach (var tenant in tenants)
        {
            var keys = new List<RecoveryKitKey>();
            await using var command = fixture.Database.DataSource.CreateCommand("SELECT version, wrapped_key FROM alto.tenant_key WHERE tenant_id = $1 ORDER BY version");
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenant });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                keys.Add(new RecoveryKitKey(reader.GetInt32(0), Convert.ToBase64String(await reader.GetFieldValueAsync<byte[]>(1))));
            }
            kitTenants.Add(new RecoveryKitTenant(tenant, tenant.ToString("N")[..8], [.. keys], []));
        }
        return new RecoveryKit(RecoveryKit.CurrentFormat, DateTimeOffset.UtcNow, keyring, [.. kitTenants]);
    }
}
