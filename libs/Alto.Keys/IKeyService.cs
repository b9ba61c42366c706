namespace Alto.Keys;

/// <summary>A fresh data key: its bytes (use, then forget) and the same bytes encrypted with the tenant key (store).</summary>
public sealed record DataKey(byte[] Plaintext, string Wrapped);

/// <summary>
/// Per-tenant keys (DESIGN.md §5): the local keyring by default, Vault's Transit engine when
/// configured. Ciphertexts name their key version ("alto:v2:…", "vault:v2:…"), so everything
/// encrypted before a rotation still decrypts after it; a tenant's ciphertext never decrypts
/// under another tenant's key.
/// </summary>
public interface IKeyService
{
    /// <summary>Makes the tenant's key if it has none yet (harmless when it has).</summary>
    Task CreateKeyAsync(Guid tenantId, CancellationToken cancellationToken);

    /// <summary>Adds a new key version; new encryptions use it. Returns the new version.</summary>
    Task<int> RotateKeyAsync(Guid tenantId, CancellationToken cancellationToken);

    Task<string> EncryptAsync(Guid tenantId, byte[] plaintext, CancellationToken cancellationToken);

    /// <summary>Decrypts with the key version the ciphertext names; throws <see cref="KeyServiceException"/> when it cannot.</summary>
    Task<byte[]> DecryptAsync(Guid tenantId, string ciphertext, CancellationToken cancellationToken);

    /// <summary>A new 256-bit data key for encrypting one object, with its wrapped form.</summary>
    Task<DataKey> GenerateDataKeyAsync(Guid tenantId, CancellationToken cancellationToken);

    /// <summary>
    /// Seals a secret of the installation (no tenant's: the sign-in token key) under the master key
    /// (local) or Vault's key <c>alto-platform</c>, bound to <paramref name="name"/>: it opens under
    /// no other name.
    /// </summary>
    Task<string> SealSecretAsync(string name, byte[] plaintext, CancellationToken cancellationToken);

    /// <summary>Opens what <see cref="SealSecretAsync"/> sealed under the same name; throws <see cref="KeyServiceException"/> otherwise.</summary>
    Task<byte[]> OpenSecretAsync(string name, string sealedSecret, CancellationToken cancellationToken);
}

/// <summary>A key operation failed: unknown key or version, a ciphertext that is damaged or not this tenant's, or the key service unreachable.</summary>
public sealed class KeyServiceException(string message, Exception? inner = null) : Exception(message, inner);
