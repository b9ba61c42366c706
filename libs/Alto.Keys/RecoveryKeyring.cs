namespace Alto.Keys;

/// <summary>
/// The tenant keys of a <see cref="RecoveryKit"/>, with no database: opened by the master key when
/// the kit is read (a wrong master key or an altered kit is refused before anything is restored),
/// or, for an installation on Vault, asked of Vault's Transit engine as the cluster would.
/// </summary>
public sealed class RecoveryKeyring
{
    private readonly Dictionary<(Guid Tenant, int Version), byte[]> _keys;
    private readonly IKeyService? _vault;

    private RecoveryKeyring(Dictionary<(Guid, int), byte[]> keys, IKeyService? vault)
    {
        _keys = keys;
        _vault = vault;
    }

    /// <summary>
    /// Opens every key of <paramref name="kit"/>: a local keyring's with <paramref name="masterKey"/>,
    /// a Vault installation's through <paramref name="vault"/>.
    /// </summary>
    /// <exception cref="KeyServiceException">The key material needed is missing, or a key does not open with it.</exception>
    public static RecoveryKeyring Open(RecoveryKit kit, byte[]? masterKey, IKeyService? vault)
    {
        if (kit.Keyring == "vault")
        {
            return new RecoveryKeyring([], vault ?? throw new KeyServiceException("the recovery kit is of an installation on Vault: give Vault's address and a token with the transit policy"));
        }
        if (masterKey is null)
        {
            throw new KeyServiceException($"the recovery kit's keys open only with the installation's master key: give its file, or set {KeyOptions.MasterKeyVariable}");
        }
        var keys = new Dictionary<(Guid, int), byte[]>();
        foreach (var tenant in kit.Tenants)
        {
            foreach (var key in tenant.Keys)
            {
                byte[] wrapped;
                try
                {
                    wrapped = Convert.FromBase64String(key.Wrapped);
                }
                catch (FormatException exception)
                {
                    throw new KeyServiceException($"tenant {tenant.Name}'s key version {key.Version} in the kit is damaged (not base64)", exception);
                }
                keys[(tenant.Id, key.Version)] = LocalKeyring.Unwrap(masterKey, tenant.Id, key.Version, wrapped)
                    ?? throw new KeyServiceException($"tenant {tenant.Name}'s key version {key.Version} does not open with this master key (another installation's key, or the kit was altered)");
            }
        }
        return new RecoveryKeyring(keys, null);
    }

    /// <summary>The plaintext of a tenant key ciphertext (a wrapped data key, sealed credentials).</summary>
    /// <exception cref="KeyServiceException">The kit has no such key version, or the ciphertext does not open under it.</exception>
    public async Task<byte[]> DecryptAsync(Guid tenantId, string ciphertext, CancellationToken cancellationToken)
    {
        if (_vault is not null)
        {
            return await _vault.DecryptAsync(tenantId, ciphertext, cancellationToken);
        }
        var (version, sealedBytes) = LocalKeyring.Parse(ciphertext);
        return _keys.TryGetValue((tenantId, version), out var key)
            ? LocalKeyring.OpenCiphertext(key, sealedBytes, tenantId)
            : throw new KeyServiceException($"the recovery kit has no key version {version} of tenant {tenantId} (exported before that rotation?)");
    }
}
