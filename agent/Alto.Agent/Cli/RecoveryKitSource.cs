using System.Text.Json;
using Alto.Agent.Stubs;
using Alto.Keys;
using Alto.Tiering;

namespace Alto.Agent.Cli;

/// <summary>
/// Tier 2 and the keys as a recovery kit gives them to a standalone recall, with no database and
/// no cluster: each target opened with its credentials unsealed by its tenant's key, and each
/// encrypted object's data key unwrapped by the tenant that owns the stub's target. Everything is
/// opened when the kit is loaded, so a wrong master key or a damaged kit stops the recall before
/// it touches a file.
/// </summary>
internal sealed class RecoveryKitSource
{
    private static readonly JsonSerializerOptions CredentialsJson = new() { PropertyNameCaseInsensitive = true };
    private readonly Dictionary<Guid, (Guid Tenant, ITierStore Store)> _targets;
    private readonly RecoveryKeyring _keyring;

    private RecoveryKitSource(Dictionary<Guid, (Guid, ITierStore)> targets, RecoveryKeyring keyring)
    {
        _targets = targets;
        _keyring = keyring;
    }

    public int TargetCount => _targets.Count;

    /// <exception cref="InvalidDataException">The kit cannot be read, or a target in it is not one a tier-2 client can open.</exception>
    /// <exception cref="KeyServiceException">The key material does not open the kit's keys or credentials.</exception>
    public static async Task<RecoveryKitSource> LoadAsync(RecoveryKit kit, byte[]? masterKey, IKeyService? vault, CancellationToken cancellationToken)
    {
        var keyring = RecoveryKeyring.Open(kit, masterKey, vault);
        var targets = new Dictionary<Guid, (Guid, ITierStore)>();
        foreach (var tenant in kit.Tenants)
        {
            foreach (var kitTarget in tenant.Targets)
            {
                var target = await TierTargetAsync(keyring, tenant, kitTarget, cancellationToken);
                try
                {
                    targets[kitTarget.Id] = (tenant.Id, target.Open());
                }
                catch (ArgumentException exception)
                {
                    throw new InvalidDataException($"target {kitTarget.Name} ({kitTarget.Id}) of tenant {tenant.Name} cannot be opened: {exception.Message}", exception);
                }
            }
        }
        return new RecoveryKitSource(targets, keyring);
    }

    /// <summary>The store of a stub's target; one the kit does not hold fails that stub's recall alone.</summary>
    public ITierStore Store(Guid targetId) => _targets.TryGetValue(targetId, out var target)
        ? target.Store
        : throw new TierStoreUnavailableException($"target {targetId} is not in the recovery kit (added after the kit was exported?)");

    /// <summary>
    /// What a recall of a stub on <paramref name="targetId"/> uses in place of the cluster: its
    /// tenant's keys, and no record to ask (the stub's binding to its file decides).
    /// </summary>
    public RecallCluster? ClusterFor(Guid targetId) =>
        _targets.TryGetValue(targetId, out var target) ? new RecallCluster((wrapped, token) => UnwrapAsync(target.Tenant, wrapped, token), Check: null) : null;

    private async Task<byte[]> UnwrapAsync(Guid tenantId, string wrapped, CancellationToken cancellationToken)
    {
        byte[] key;
        try
        {
            key = await _keyring.DecryptAsync(tenantId, wrapped, cancellationToken);
        }
        catch (KeyServiceException exception)
        {
            // A recall failure the runner reports for this stub alone (it stays a stub).
            throw new InvalidDataException($"the object's data key does not unwrap with the kit: {exception.Message}", exception);
        }
        return key.Length == 32 ? key : throw new InvalidDataException("the object's header does not hold a 256-bit data key");
    }

    private static async Task<TierTarget> TierTargetAsync(RecoveryKeyring keyring, RecoveryKitTenant tenant, RecoveryKitTarget kitTarget, CancellationToken cancellationToken)
    {
        TierTarget target;
        TargetCredentials? credentials = null;
        try
        {
            target = kitTarget.Target.Deserialize<TierTarget>(JsonSerializerOptions.Web) ?? throw new JsonException("empty");
            if (kitTarget.SealedCredentials is { } sealedCredentials)
            {
                credentials = JsonSerializer.Deserialize<TargetCredentials>(
                    await keyring.DecryptAsync(tenant.Id, sealedCredentials, cancellationToken), CredentialsJson);
            }
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"target {kitTarget.Name} ({kitTarget.Id}) of tenant {tenant.Name} in the kit is damaged: {exception.Message}", exception);
        }
        return credentials is null ? target : target with
        {
            AccessKeyId = credentials.AccessKeyId,
            SecretAccessKey = credentials.SecretAccessKey,
            ConnectionString = credentials.ConnectionString,
            AccountName = credentials.AccountName,
            AccountKey = credentials.AccountKey,
            SasToken = credentials.SasToken,
        };
    }

    /// <summary>A target's credentials as the tenant grain seals them.</summary>
    private sealed record TargetCredentials(
        string? AccessKeyId, string? SecretAccessKey, string? ConnectionString, string? AccountName, string? AccountKey, string? SasToken);
}
