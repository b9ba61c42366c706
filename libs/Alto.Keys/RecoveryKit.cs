using System.Text.Json;
using System.Text.Json.Nodes;

namespace Alto.Keys;

/// <summary>
/// What it takes, besides the master key (or Vault) and the tier-2 objects, to bring every stub's
/// bytes back when the database is lost: each tenant's key versions as the database holds them
/// (wrapped by the master key, so the kit alone opens nothing), and each storage target with its
/// credentials still sealed under the tenant key. A wrapped key is bound to its tenant and version,
/// so a kit whose keys were swapped or altered fails to open; the targets' settings may be edited
/// (tier 2 mounted elsewhere after the disaster).
/// </summary>
public sealed record RecoveryKit(string Format, DateTimeOffset CreatedAt, string Keyring, RecoveryKitTenant[] Tenants)
{
    public const string CurrentFormat = "alto-recovery-kit/1";

    /// <summary>Reads a kit, refusing one of another format or with missing parts.</summary>
    /// <exception cref="InvalidDataException">The text is not a recovery kit Alto can read.</exception>
    public static RecoveryKit Parse(string json)
    {
        RecoveryKit? kit;
        try
        {
            kit = JsonSerializer.Deserialize<RecoveryKit>(json, JsonSerializerOptions.Web);
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"not a recovery kit (JSON): {exception.Message}", exception);
        }
        if (kit is null || kit.Format != CurrentFormat)
        {
            throw new InvalidDataException($"not a recovery kit of format {CurrentFormat} (its format: {kit?.Format ?? "none"})");
        }
        if (kit.Keyring is not ("local" or "vault") || kit.Tenants is null
            || kit.Tenants.Any(tenant => tenant?.Keys is null || tenant.Targets is null || tenant.Targets.Any(target => target?.Target is null)))
        {
            throw new InvalidDataException("the recovery kit is incomplete: it needs a keyring (local or vault) and, for every tenant, its keys and targets");
        }
        return kit;
    }
}

/// <summary>A tenant's key versions (base64 of the master-key-wrapped bytes; none for Vault) and targets.</summary>
public sealed record RecoveryKitTenant(Guid Id, string Name, RecoveryKitKey[] Keys, RecoveryKitTarget[] Targets);

public sealed record RecoveryKitKey(int Version, string Wrapped);

/// <summary>
/// A storage target as an agent's tier-2 client takes it (kind, path, bucket, endpoint, ...) with
/// no secret in it; <see cref="SealedCredentials"/> is its credentials' JSON encrypted with the tenant key.
/// </summary>
public sealed record RecoveryKitTarget(Guid Id, string Name, JsonObject Target, string? SealedCredentials);
