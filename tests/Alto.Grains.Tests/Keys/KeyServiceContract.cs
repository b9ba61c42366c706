using System.Security.Cryptography;
using System.Text;
using Alto.GrainInterfaces.Tenants;
using Alto.Keys;

namespace Alto.Grains.Tests.Keys;

/// <summary>What every <see cref="IKeyService"/> must do, run against the local keyring and against Vault Transit (its stand-in).</summary>
public abstract class KeyServiceContract(PostgresClusterFixture fixture)
{
    protected PostgresClusterFixture Fixture { get; } = fixture;

    protected abstract Task<IKeyService> ServiceAsync();

    /// <summary>A tenant that exists (the local keyring's rows refer to it).</summary>
    protected async Task<Guid> TenantAsync()
    {
        var tenantId = Guid.NewGuid();
        Assert.True((await Fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString()).CreateAsync(new CreateTenant($"keys-{tenantId:N}", ""))).Succeeded);
        return tenantId;
    }

    [Fact]
    public async Task WhatIsEncryptedDecryptsAndTheCiphertextIsNotThePlaintext()
    {
        var keys = await ServiceAsync();
        var tenant = await TenantAsync();
        var secret = Encoding.UTF8.GetBytes("AKIA-secret-access-key/with+chars=");

        var ciphertext = await keys.EncryptAsync(tenant, secret, CancellationToken.None);

        Assert.DoesNotContain("secret-access-key", ciphertext, StringComparison.Ordinal);
        Assert.Equal(secret, await keys.DecryptAsync(tenant, ciphertext, CancellationToken.None));
        Assert.NotEqual(ciphertext, await keys.EncryptAsync(tenant, secret, CancellationToken.None));
    }

    [Fact]
    public async Task AnInstallationSecretOpensUnderItsOwnNameOnly()
    {
        var keys = await ServiceAsync();
        var secret = RandomNumberGenerator.GetBytes(64);

        var sealedSecret = await keys.SealSecretAsync("jwt-signing-key", secret, CancellationToken.None);

        Assert.DoesNotContain(Convert.ToBase64String(secret), sealedSecret, StringComparison.Ordinal);
        Assert.Equal(secret, await keys.OpenSecretAsync("jwt-signing-key", sealedSecret, CancellationToken.None));
        await Assert.ThrowsAsync<KeyServiceException>(() => keys.OpenSecretAsync("another-secret", sealedSecret, CancellationToken.None));
    }

    [Fact]
    public async Task AfterARotationNewCiphertextsUseTheNewVersionAndOldOnesStillDecrypt()
    {
        var keys = await ServiceAsync();
        var tenant = await TenantAsync();
        await keys.CreateKeyAsync(tenant, CancellationToken.None);
        var before = await keys.EncryptAsync(tenant, [1, 2, 3], CancellationToken.None);

        var version = await keys.RotateKeyAsync(tenant, CancellationToken.None);
        var after = await keys.EncryptAsync(tenant, [4, 5, 6], CancellationToken.None);

        Assert.Equal(2, version);
        Assert.Contains(":v1:", before, StringComparison.Ordinal);
        Assert.Contains(":v2:", after, StringComparison.Ordinal);
        Assert.Equal([1, 2, 3], await keys.DecryptAsync(tenant, before, CancellationToken.None));
        Assert.Equal([4, 5, 6], await keys.DecryptAsync(tenant, after, CancellationToken.None));
        Assert.Equal(3, await keys.RotateKeyAsync(tenant, CancellationToken.None));
    }

    [Fact]
    public async Task AnotherTenantsKeyCannotDecryptAndDamageIsRefused()
    {
        var keys = await ServiceAsync();
        var tenant = await TenantAsync();
        var other = await TenantAsync();
        var ciphertext = await keys.EncryptAsync(tenant, [9, 9, 9], CancellationToken.None);
        await keys.CreateKeyAsync(other, CancellationToken.None);

        await Assert.ThrowsAsync<KeyServiceException>(() => keys.DecryptAsync(other, ciphertext, CancellationToken.None));
        var damaged = ciphertext[..^6] + (ciphertext[^6] == 'A' ? 'B' : 'A') + ciphertext[^5..];
        await Assert.ThrowsAsync<KeyServiceException>(() => keys.DecryptAsync(tenant, damaged, CancellationToken.None));
        await Assert.ThrowsAsync<KeyServiceException>(() => keys.DecryptAsync(tenant, "not a ciphertext", CancellationToken.None));
    }

    /// <summary>What an agent or a damaged record may hand in as a wrapped key: refused as such, never a crash of the parser.</summary>
    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("alto")]
    [InlineData("alto:v")]
    [InlineData("alto:v1")]
    [InlineData("alto:v:AAAA")]
    [InlineData("alto:vx:AAAA")]
    [InlineData("alto:v-1:AAAA")]
    [InlineData("alto:v1:not base64!")]
    [InlineData("alto:v99999999999:AAAA")]
    [InlineData("vault")]
    [InlineData("vault:v")]
    [InlineData("vault:v1:")]
    public async Task AMalformedCiphertextIsRefusedAsOne(string ciphertext)
    {
        var keys = await ServiceAsync();
        var tenant = await TenantAsync();
        await keys.CreateKeyAsync(tenant, CancellationToken.None);

        await Assert.ThrowsAsync<KeyServiceException>(() => keys.DecryptAsync(tenant, ciphertext, CancellationToken.None));
    }

    [Fact]
    public async Task ADataKeyUnwrapsToItsOwnBytes()
    {
        var keys = await ServiceAsync();
        var tenant = await TenantAsync();

        var dataKey = await keys.GenerateDataKeyAsync(tenant, CancellationToken.None);

        Assert.Equal(32, dataKey.Plaintext.Length);
        Assert.Equal(dataKey.Plaintext, await keys.DecryptAsync(tenant, dataKey.Wrapped, CancellationToken.None));
        Assert.NotEqual(dataKey.Plaintext, (await keys.GenerateDataKeyAsync(tenant, CancellationToken.None)).Plaintext);
        Assert.DoesNotContain(Convert.ToBase64String(dataKey.Plaintext), dataKey.Wrapped, StringComparison.Ordinal);
        Assert.NotEqual(SHA256.HashData(dataKey.Plaintext), SHA256.HashData(Encoding.UTF8.GetBytes(dataKey.Wrapped)));
    }
}
