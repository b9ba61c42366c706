using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.GrainInterfaces.Tenants;
using Alto.GrainInterfaces.Tiers;
using Alto.Keys;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Alto.Gateway.Apis;

/// <summary>
/// The recovery kit (docs/runbooks.md, "Disaster recovery"): with the master key it is all an
/// operator needs to bring every stub's bytes back from tier 2 when the database and its backups
/// are lost. It holds nothing in the clear that opens data — keys wrapped by the master key,
/// credentials sealed by the tenant keys — but it is still exported by platform admins only, and
/// every export is audited.
/// </summary>
public static class RecoveryKitApi
{
    private static readonly JsonSerializerOptions TargetJson = new(JsonSerializerOptions.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static RouteGroupBuilder MapRecoveryKitApi(this RouteGroupBuilder api)
    {
        api.MapGet("/recovery-kit", ExportAsync).WithTags("Recovery").Allows(Access.PlatformAdmin)
            .WithSummary("Every tenant's key versions (wrapped by the master key) and storage targets (credentials sealed): with the master key, what restores stubs from tier 2 without the database (platform admin; audited)");
        return api;
    }

    public static async Task<Results<Ok<RecoveryKit>, ProblemHttpResult>> ExportAsync(
        [AsParameters] GatewayServices services, HttpContext context, RecoveryKitReadModel database, IOptions<KeyOptions> keyOptions, GatewayAudit audit)
    {
        if (!services.Caller.IsPlatformAdmin)
        {
            return ApiProblems.Forbidden("only a platform admin exports the recovery kit");
        }
        var keyring = keyOptions.Value.Provider;
        // On Vault the tenant keys never leave it: the kit names the keyring and Vault answers at restore time.
        var keys = keyring == "local" ? await database.WrappedKeysAsync(services.Cancellation) : null;
        var tenants = new List<RecoveryKitTenant>();
        foreach (var (id, name) in await database.TenantsAsync(services.Cancellation))
        {
            var targets = await services.Grains.GetGrain<ITenantGrain>(id.ToString()).ListRecoveryTargetsAsync();
            tenants.Add(new RecoveryKitTenant(id, name, keys?[id].ToArray() ?? [], [.. targets.Select(ToKitTarget)]));
        }
        var kit = new RecoveryKit(RecoveryKit.CurrentFormat, DateTimeOffset.UtcNow, keyring, [.. tenants]);
        await audit.RecordAsync(context, GatewayAudit.ActorOf(context.User), "recovery_kit.exported", "installation", null, succeeded: true,
            new Dictionary<string, object?>
            {
                ["keyring"] = keyring,
                ["tenants"] = tenants.Count,
                ["keyVersions"] = tenants.Sum(tenant => tenant.Keys.Length),
                ["targets"] = tenants.Sum(tenant => tenant.Targets.Length),
            });
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.ContentDisposition = string.Create(CultureInfo.InvariantCulture, $"attachment; filename=\"alto-recovery-kit-{kit.CreatedAt:yyyyMMdd-HHmmss}.json\"");
        return TypedResults.Ok(kit);
    }

    /// <summary>The target as the agent's tier-2 client reads it (the same shape as a recall's target access), with no secret in it.</summary>
    private static RecoveryKitTarget ToKitTarget(RecoveryTarget target)
    {
        var access = AgentTargetAccess.From(Grpc.JobMessages.ToStorageTarget(new AgentTarget(target.Id, target.Kind, target.Settings, Credentials: null)));
        return new RecoveryKitTarget(target.Id, target.Name, JsonSerializer.SerializeToNode(access, TargetJson)!.AsObject(), target.SealedCredentials);
    }
}
