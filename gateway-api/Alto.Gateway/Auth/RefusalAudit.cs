using System.Diagnostics.Metrics;
using Alto.GrainInterfaces.Common;

namespace Alto.Gateway.Auth;

/// <summary>
/// Every refused attempt is recorded: REST answers 401, 403 and 404 (forged, expired or revoked
/// tokens, bad host credentials, a spent enrollment token, a role that may not, another tenant's
/// ids), refused agent sessions and refused key unwraps. Each is counted
/// (<c>alto_access_refused</c>) and audited with the caller and its address — at most
/// <see cref="PerSourcePerMinute"/> entries per address a minute, so an attack cannot flood a
/// chain; the next entry from that address says how many were left out.
/// </summary>
public sealed partial class RefusalAudit(GatewayAudit audit, IMeterFactory meters, TimeProvider time, ILogger<RefusalAudit> logger)
{
    public const int PerSourcePerMinute = 20;

    /// <summary>Where an authentication handler leaves why it refused a credential, for the audit entry.</summary>
    public const string FailureItem = "alto.auth.failure";

    /// <summary>Set by a handler that audited its own refusal, so it is not audited twice.</summary>
    public const string AuditedItem = "alto.refusal.audited";

    private readonly Counter<long> _refused = meters.Create(AltoMeter.Name)
        .CreateFailureCounter("alto.access.refused", "{attempt}", "Refused attempts (401/403/404, refused agent sessions and key unwraps), by kind");

    private readonly Alto.Audit.PerSourceBudget _budget = new(PerSourcePerMinute, time);

    /// <summary>Counts a refused attempt and, within the source's budget, audits it.</summary>
    public async Task RecordAsync(HttpContext http, string action, string? reason, IReadOnlyDictionary<string, object?> details, Guid? tenantId = null, Guid? hostId = null)
    {
        _refused.Add(1, new KeyValuePair<string, object?>("kind", action));
        var source = GatewayAudit.OriginOf(http) ?? "unknown";
        LogRefused(logger, action, source, reason ?? "");
        var entry = new Dictionary<string, object?>(details) { ["reason"] = reason };
        if (!_budget.TryTake(source, entry))
        {
            return;
        }
        http.Items[AuditedItem] = true;
        try
        {
            await audit.RecordAsync(http, GatewayAudit.ActorOf(http.User), action, "request", null, succeeded: false, entry, tenantId, hostId);
        }
        catch (Npgsql.NpgsqlException exception)
        {
            // The refusal stands whatever happens here; one that could not be audited is logged and counted instead.
            _refused.Add(1, new KeyValuePair<string, object?>("kind", "not_audited"));
            LogNotAudited(logger, exception.Message);
        }
    }

    /// <summary>Middleware: audits the REST answers 401, 403 and 404 of a matched endpoint that no handler audited itself.</summary>
    public static async Task AuditRefusalsAsync(HttpContext http, RequestDelegate next)
    {
        await next(http);
        var status = http.Response.StatusCode;
        if (status is not (StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden or StatusCodes.Status404NotFound)
            || http.GetEndpoint() is null || http.Items.ContainsKey(AuditedItem))
        {
            return;
        }
        // Inside a tenant the caller belongs to, the tenant's own chain; anything else (another
        // tenant's ids, forged tokens, a platform admin's miss) the platform's.
        var tenant = Guid.TryParse(http.GetRouteValue("tenantId")?.ToString(), out var id) && Caller.From(http.User).Tenants.Contains(id) ? id : (Guid?)null;
        var refusals = http.RequestServices.GetRequiredService<RefusalAudit>();
        var reason = http.Items[FailureItem] as string ?? (http.Request.Headers.Authorization.Count == 0 && status == StatusCodes.Status401Unauthorized ? "no credential" : null);
        await refusals.RecordAsync(http, "access.refused", reason,
            new Dictionary<string, object?> { ["method"] = http.Request.Method, ["path"] = http.Request.Path.Value, ["status"] = status }, tenant);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A refused request could not be audited: {Reason}")]
    private static partial void LogNotAudited(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused {Action} from {Source}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string action, string source, string reason);
}
