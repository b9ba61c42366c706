using System.Net;
using System.Net.Http.Json;
using Alto.GrainInterfaces.Tenants;
using Microsoft.Extensions.DependencyInjection;
using Alto.TestSupport;
using Npgsql;

namespace Alto.Gateway.Tests;

/// <summary>
/// Storage-target credentials exist only sealed with the tenant key: not in any table, not in any
/// answer; only the agent's target carries them. The sign-in token key exists only sealed with the
/// master key.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class SecretsAtRestTests(GatewayFixture fixture)
{
    [Fact]
    public async Task TheTokenSigningKeyIsStoredOnlySealedAndAnOlderClearKeyIsSealedInPlace()
    {
        await using var database = await TestDatabase.CreateAsync("signing-key");
        await database.MigrateAsync();
        var clear = System.Security.Cryptography.RandomNumberGenerator.GetBytes(64);
        await using (var insert = database.DataSource.CreateCommand("INSERT INTO alto.secret (name, value) VALUES ('jwt-signing-key', $1)"))
        {
            insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = clear });
            await insert.ExecuteNonQueryAsync();
        }
        var masterKey = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var keys = new Alto.Keys.LocalKeyring(database.DataSource, masterKey);

        var first = new Auth.SigningKeyStore(database.DataSource, keys, NoSigningKey);
        await first.LoadAsync(CancellationToken.None);
        var second = new Auth.SigningKeyStore(database.DataSource, keys, NoSigningKey);
        await second.LoadAsync(CancellationToken.None);

        // The older installation's key is kept (its tokens stay valid), now only sealed; every gateway reads the same.
        Assert.Equal(clear, first.Key.Key);
        Assert.Equal(clear, second.Key.Key);
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM alto.secret WHERE name = 'jwt-signing-key'"));
        var stored = await database.ScalarAsync<byte[]>("SELECT value FROM alto.secret WHERE name = 'jwt-signing-key.sealed'");
        Assert.StartsWith("alto:s1:", System.Text.Encoding.UTF8.GetString(stored), StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(clear), System.Text.Encoding.UTF8.GetString(stored), StringComparison.Ordinal);
        Assert.False(stored.AsSpan().IndexOf(clear.AsSpan(0, 16)) >= 0);
        // A copy of the database without the master key signs nothing.
        var elsewhere = new Auth.SigningKeyStore(database.DataSource, new Alto.Keys.LocalKeyring(database.DataSource, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), NoSigningKey);
        await Assert.ThrowsAsync<Alto.Keys.KeyServiceException>(() => elsewhere.LoadAsync(CancellationToken.None));

        // A key the operator keeps in a secret store (Alto:Auth:SigningKey) is used as given, by any gateway, master key or not.
        var given = System.Security.Cryptography.RandomNumberGenerator.GetBytes(48);
        var configured = new Auth.SigningKeyStore(database.DataSource, new Alto.Keys.LocalKeyring(database.DataSource, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            Microsoft.Extensions.Options.Options.Create(new Options.AuthOptions { SigningKey = Convert.ToBase64String(given) }));
        await configured.LoadAsync(CancellationToken.None);
        Assert.Equal(given, configured.Key.Key);
        var tooShort = new Options.AuthOptions { SigningKey = Convert.ToBase64String(new byte[16]) };
        Assert.Contains(tooShort.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(tooShort)), result => result.ErrorMessage!.Contains("at least 32 bytes", StringComparison.Ordinal));
    }

    private static readonly Microsoft.Extensions.Options.IOptions<Options.AuthOptions> NoSigningKey = Microsoft.Extensions.Options.Options.Create(new Options.AuthOptions());

    [Fact]
    public async Task CredentialsAreStoredOnlySealedSurviveAKeyRotationAndReachOnlyTheAgent()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "sealed-" + Guid.NewGuid().ToString("N")[..8]);
        var secret = "SECRET-" + Guid.NewGuid().ToString("N");
        var created = await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/targets", new
        {
            name = "s3",
            kind = "s3",
            settings = new { bucket = "alto-tier2", region = "us-east-1", endpoint = "http://127.0.0.1:4568", forcePathStyle = true },
            credentials = new { accessKeyId = "AKIAEXAMPLE", secretAccessKey = secret },
        })).AssertJsonAsync(HttpStatusCode.Created);
        var targetId = created.GetProperty("id").GetGuid();
        Assert.DoesNotContain(secret, created.ToString(), StringComparison.Ordinal);

        Assert.Empty(await TablesHoldingAsync(secret));
        // The search does find what is stored in the clear, in rows and in grain state alike.
        Assert.Superset(new HashSet<string> { "alto.storage_target", "orleans.grain_state" }, (await TablesHoldingAsync("alto-tier2")).ToHashSet());
        var grains = fixture.Services.GetRequiredService<IGrainFactory>();
        var tenantGrain = grains.GetGrain<ITenantGrain>(tenant.ToString());
        Assert.Equal(secret, (await tenantGrain.GetTargetForAgentAsync(targetId))!.Credentials!.SecretAccessKey);

        var rotated = await (await admin.PostAsync(new Uri($"/api/v1/tenants/{tenant}/key/rotate", UriKind.Relative), null)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal((2, 1), (rotated.GetProperty("keyVersion").GetInt32(), rotated.GetProperty("resealedTargets").GetInt32()));
        Assert.Equal(secret, (await tenantGrain.GetTargetForAgentAsync(targetId))!.Credentials!.SecretAccessKey);
        Assert.Empty(await TablesHoldingAsync(secret));
        var audited = await (await admin.GetAsync(new Uri($"/api/v1/tenants/{tenant}/audit?action=tenant.key_rotated", UriKind.Relative)))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(1, audited.GetProperty("total").GetInt64());

        using var support = fixture.ClientFor("support");
        Assert.Equal(HttpStatusCode.NotFound, (await support.PostAsync(new Uri($"/api/v1/tenants/{tenant}/key/rotate", UriKind.Relative), null)).StatusCode);
    }

    /// <summary>
    /// The recovery kit holds each tenant's key versions only wrapped and each target's credentials
    /// only sealed — they open with the master key, and nothing else in it does — and only a
    /// platform admin exports it, audited in the platform trail.
    /// </summary>
    [Fact]
    public async Task TheRecoveryKitHoldsKeysOnlyWrappedAndCredentialsOnlySealedAndOnlyAPlatformAdminExportsIt()
    {
        using var admin = fixture.ClientFor("platform-admin");
        var tenant = await GatewayFixture.CreateTenantAsync(admin, "kit-" + Guid.NewGuid().ToString("N")[..8]);
        var secret = "SECRET-" + Guid.NewGuid().ToString("N");
        var targetId = (await (await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/targets", new
        {
            name = "blob",
            kind = "azure",
            settings = new { container = "tier2", prefix = "p" },
            credentials = new { connectionString = $"DefaultEndpointsProtocol=http;AccountName=a;AccountKey={secret};BlobEndpoint=http://127.0.0.1:10000/a;" },
        })).AssertJsonAsync(HttpStatusCode.Created)).GetProperty("id").GetGuid();
        await (await admin.PostAsync(new Uri($"/api/v1/tenants/{tenant}/key/rotate", UriKind.Relative), null)).AssertJsonAsync(HttpStatusCode.OK);

        using var response = await admin.GetAsync(new Uri("/api/v1/recovery-kit", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.DoesNotContain(secret, text, StringComparison.Ordinal);

        var kit = Keys.RecoveryKit.Parse(text);
        Assert.Equal("local", kit.Keyring);
        var entry = kit.Tenants.Single(candidate => candidate.Id == tenant);
        Assert.Equal([1, 2], entry.Keys.Select(key => key.Version));
        var target = entry.Targets.Single();
        Assert.Equal((targetId, "azure", "tier2"), (target.Id, target.Target["kind"]!.GetValue<string>(), target.Target["container"]!.GetValue<string>()));
        Assert.StartsWith("alto:v2:", target.SealedCredentials, StringComparison.Ordinal);
        var masterKey = Keys.MasterKey.Load(new Keys.KeyOptions { MasterKeyFile = fixture.Database.MasterKeyFile }, _ => null);
        var opened = await Keys.RecoveryKeyring.Open(kit, masterKey, vault: null).DecryptAsync(tenant, target.SealedCredentials!, CancellationToken.None);
        Assert.Contains(secret, System.Text.Encoding.UTF8.GetString(opened), StringComparison.Ordinal);

        var audited = await (await admin.GetAsync(new Uri("/api/v1/audit?action=recovery_kit.exported", UriKind.Relative))).AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(audited.GetProperty("total").GetInt64() >= 1);
        using var tenantAdmin = fixture.ClientFor("tenant-admin");
        Assert.Equal(HttpStatusCode.Forbidden, (await tenantAdmin.GetAsync(new Uri("/api/v1/recovery-kit", UriKind.Relative))).StatusCode);
    }

    /// <summary>Every table of the database whose rows, as JSON (bytea as hex), contain the text or its UTF-8 bytes.</summary>
    private async Task<List<string>> TablesHoldingAsync(string text)
    {
        var tables = new List<string>();
        await using (var list = fixture.Database.DataSource.CreateCommand("""
            SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
            WHERE schemaname IN ('alto', 'orleans', 'scan_staging', 'public') ORDER BY 1
            """))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }
        var holding = new List<string>();
        foreach (var table in tables)
        {
            await using var search = fixture.Database.DataSource.CreateCommand($"""
                SELECT count(*) FROM {table} AS t
                WHERE strpos(row_to_json(t)::text, $1) > 0 OR strpos(row_to_json(t)::text, encode(convert_to($1, 'UTF8'), 'hex')) > 0
                """);
            search.Parameters.Add(new NpgsqlParameter<string> { TypedValue = text });
            if ((long)(await search.ExecuteScalarAsync())! > 0)
            {
                holding.Add(table);
            }
        }
        Assert.Contains("orleans.grain_state", tables);
        return holding;
    }
}
