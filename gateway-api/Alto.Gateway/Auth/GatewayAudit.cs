using System.Security.Claims;
using Alto.Audit;
using Npgsql;

namespace Alto.Gateway.Auth;

/// <summary>
/// Audits what the gateway itself decides (sign-ins, users) on the platform chain, and names the
/// caller of every request (<see cref="ActorOf"/>) for the grains' audit entries.
/// </summary>
public sealed class GatewayAudit(NpgsqlDataSource db)
{
    public Task RecordAsync(HttpContext http, string actor, string action, string objectType, string? objectId, bool succeeded,
        IReadOnlyDictionary<string, object?> details, Guid? tenantId = null, Guid? hostId = null) =>
        AuditLog.AppendAsync(db, Entry(http, actor, action, objectType, objectId, succeeded, details, tenantId, hostId), CancellationToken.None);

    /// <summary>The entry of what this request did, for the transaction that stores the change with it.</summary>
    public static AuditEntry Entry(HttpContext http, string actor, string action, string objectType, string? objectId, bool succeeded,
        IReadOnlyDictionary<string, object?> details, Guid? tenantId = null, Guid? hostId = null) =>
        new(tenantId, actor, action, objectType, objectId, succeeded, details) { Origin = OriginOf(http), HostId = hostId };

    public static string ActorOf(ClaimsPrincipal user) =>
        user.FindFirstValue(HostCredentialAuthentication.HostClaim) is { } host ? $"agent:{host}"
        : user.FindFirstValue(AltoClaims.Name) is { } name ? $"user:{name}"
        : "anonymous";

    public static string? OriginOf(HttpContext http) => http.Connection.RemoteIpAddress?.ToString();

    /// <summary>Puts the caller and its address into the Orleans request context of the calls this request makes.</summary>
    public static Task NameTheCallerAsync(HttpContext http, RequestDelegate next)
    {
        AuditContext.Set(ActorOf(http.User), OriginOf(http));
        return next(http);
    }
}
