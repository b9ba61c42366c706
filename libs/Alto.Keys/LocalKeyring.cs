using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Npgsql;

namespace Alto.Keys;

/// <summary>
/// The default <see cref="IKeyService"/>: per-tenant AES-256-GCM keys, every version kept in
/// alto.tenant_key wrapped by the master key (<see cref="MasterKey"/>). Ciphertexts read
/// "alto:v{version}:{base64(nonce | ciphertext | tag)}" and are bound to their tenant (the tenant
/// id is the associated data), so one tenant's ciphertext never opens under another's key.
/// </summary>
public sealed class LocalKeyring(NpgsqlDataSource db, byte[] masterKey) : IKeyService
{
    private const string Prefix = "alto:v";
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly ConcurrentDictionary<(Guid Tenant, int Version), byte[]> _keys = new();

    public async Task CreateKeyAsync(Guid tenantId, CancellationToken cancellationToken)
    {
        if (await LatestVersionAsync(tenantId, cancellationToken) is null)
        {
            await AddVersionAsync(tenantId, 1, cancellationToken);
        }
    }

    public async Task<int> RotateKeyAsync(Guid tenantId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var next = (await LatestVersionAsync(tenantId, cancellationToken) ?? 0) + 1;
            if (await AddVersionAsync(tenantId, next, cancellationToken))
            {
                return next;
            }
            if (attempt == 10)
            {
                throw new KeyServiceException($"tenant {tenantId}'s key could not be rotated: other rotations kept winning");
            }
        }
    }

    public async Task<string> EncryptAsync(Guid tenantId, byte[] plaintext, CancellationToken cancellationToken)
    {
        await CreateKeyAsync(tenantId, cancellationToken);
        var version = (await LatestVersionAsync(tenantId, cancellationToken))!.Value;
        var key = await KeyAsync(tenantId, version, cancellationToken);
        return Prefix + version.ToString(CultureInfo.InvariantCulture) + ":" + Convert.ToBase64String(Seal(key, plaintext, tenantId.ToByteArray()));
    }

    public async Task<byte[]> DecryptAsync(Guid tenantId, string ciphertext, CancellationToken cancellationToken)
    {
        var (version, sealedBytes) = Parse(ciphertext);
        return OpenCiphertext(await KeyAsync(tenantId, version, cancellationToken), sealedBytes, tenantId);
    }

    /// <summary>A ciphertext's plaintext under the tenant key version it names.</summary>
    internal static byte[] OpenCiphertext(byte[] tenantKey, byte[] sealedBytes, Guid tenantId) =>
        Open(tenantKey, sealedBytes, tenantId.ToByteArray())
        ?? throw new KeyServiceException("the ciphertext does not decrypt under this tenant's key (damaged, or another tenant's)");

    public async Task<DataKey> GenerateDataKeyAsync(Guid tenantId, CancellationToken cancellationToken)
    {
        var plaintext = RandomNumberGenerator.GetBytes(32);
        return new DataKey(plaintext, await EncryptAsync(tenantId, plaintext, cancellationToken));
    }

    /// <summary>nonce | ciphertext | tag under AES-256-GCM.</summary>
    public Task<string> SealSecretAsync(string name, byte[] plaintext, CancellationToken cancellationToken) =>
        Task.FromResult(SecretPrefix + Convert.ToBase64String(Seal(masterKey, plaintext, SecretContext(name))));

    public Task<byte[]> OpenSecretAsync(string name, string sealedSecret, CancellationToken cancellationToken)
    {
        byte[] sealedBytes;
        try
        {
            sealedBytes = sealedSecret.StartsWith(SecretPrefix, StringComparison.Ordinal)
                ? Convert.FromBase64String(sealedSecret[SecretPrefix.Length..])
                : throw new KeyServiceException($"not a sealed secret of the local keyring ({SecretPrefix}<base64>)");
        }
        catch (FormatException exception)
        {
            throw new KeyServiceException("the sealed secret is not base64", exception);
        }
        return Task.FromResult(Open(masterKey, sealedBytes, SecretContext(name))
            ?? throw new KeyServiceException($"the secret '{name}' does not open under this master key (another installation's key, or damaged)"));
    }

    private const string SecretPrefix = "alto:s1:";

    private static byte[] SecretContext(string name) => System.Text.Encoding.UTF8.GetBytes("alto-secret:" + name);

    public static byte[] Seal(byte[] key, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var output = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(NonceSize, plaintext.Length), output.AsSpan(NonceSize + plaintext.Length), associatedData);
        return output;
    }

    /// <summary>The plaintext of <see cref="Seal"/>'s output, or null when it was not sealed with this key and associated data.</summary>
    public static byte[]? Open(byte[] key, ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> associatedData)
    {
        if (sealedBytes.Length < NonceSize + TagSize)
        {
            return null;
        }
        var plaintext = new byte[sealedBytes.Length - NonceSize - TagSize];
        using var aes = new AesGcm(key, TagSize);
        try
        {
            aes.Decrypt(sealedBytes[..NonceSize], sealedBytes[NonceSize..^TagSize], sealedBytes[^TagSize..], plaintext, associatedData);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    /// <summary>The key version a ciphertext names, and its sealed bytes.</summary>
    internal static (int Version, byte[] Sealed) Parse(string ciphertext)
    {
        // The prefix first: a text shorter than it (anything an agent sends) has no version to look for.
        var colon = ciphertext.StartsWith(Prefix, StringComparison.Ordinal) ? ciphertext.IndexOf(':', Prefix.Length) : -1;
        if (colon < 0
            || !int.TryParse(ciphertext.AsSpan(Prefix.Length, colon - Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            throw new KeyServiceException("not a local keyring ciphertext (alto:v<version>:<base64>)");
        }
        try
        {
            return (version, Convert.FromBase64String(ciphertext[(colon + 1)..]));
        }
        catch (FormatException exception)
        {
            throw new KeyServiceException("the ciphertext is damaged (not base64)", exception);
        }
    }

    private async Task<byte[]> KeyAsync(Guid tenantId, int version, CancellationToken cancellationToken)
    {
        if (_keys.TryGetValue((tenantId, version), out var cached))
        {
            return cached;
        }
        await using var command = db.CreateCommand("SELECT wrapped_key FROM alto.tenant_key WHERE tenant_id = $1 AND version = $2");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
        var wrapped = await command.ExecuteScalarAsync(cancellationToken) as byte[]
            ?? throw new KeyServiceException($"tenant {tenantId} has no key version {version}");
        var key = Unwrap(masterKey, tenantId, version, wrapped)
            ?? throw new KeyServiceException($"tenant {tenantId}'s key version {version} does not open with this master key (is ALTO_MASTER_KEY or the key file the installation's?)");
        _keys[(tenantId, version)] = key;
        return key;
    }

    private async Task<int?> LatestVersionAsync(Guid tenantId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT max(version) FROM alto.tenant_key WHERE tenant_id = $1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        return await command.ExecuteScalarAsync(cancellationToken) is int version ? version : null;
    }

    /// <summary>Adds a wrapped key version; false when another process added that version first.</summary>
    private async Task<bool> AddVersionAsync(Guid tenantId, int version, CancellationToken cancellationToken)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        await using var command = db.CreateCommand(
            "INSERT INTO alto.tenant_key (tenant_id, version, wrapped_key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Seal(masterKey, key, WrappingContext(tenantId, version)) });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>A tenant key version from its wrapped form (alto.tenant_key.wrapped_key), or null when it was not wrapped by this master key for this tenant and version.</summary>
    internal static byte[]? Unwrap(byte[] masterKey, Guid tenantId, int version, byte[] wrapped) => Open(masterKey, wrapped, WrappingContext(tenantId, version));

    /// <summary>A wrapped key is bound to its tenant and version: moving it to another row breaks it.</summary>
    private static byte[] WrappingContext(Guid tenantId, int version) => [.. tenantId.ToByteArray(), .. BitConverter.GetBytes(version)];
}
