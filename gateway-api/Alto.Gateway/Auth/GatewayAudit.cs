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
        AuditLog.AppendAsync(db,
            new AuditEntry(tenantId, actor, action, objectType, objectId, succeeded, details) { Origin = OriginOf(http), HostId = hostId },
            CancellationToken.None);

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
