using System.Text.Json;
using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Alto.Audit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Alto.Gateway.Apis;

/// <summary>
/// The audit trail: filtered pages (support and admins), the SIEM export as JSON Lines from a
/// cursor, and verification of the hash chain (admins). A tenant's chain lives under the tenant;
/// the platform's own chain (sign-ins, users, tenants) under /audit, for platform admins.
/// </summary>
public static class AuditApi
{
    public const int DefaultExportLimit = 1_000;
    public const int MaxExportLimit = 10_000;
    public const string JsonLines = "application/x-ndjson";
    private static readonly ReadOnlyMemory<byte> NewLine = "\n"u8.ToArray();

    public static RouteGroupBuilder MapAuditApi(this RouteGroupBuilder api)
    {
        var tenant = api.MapGroup("/tenants/{tenantId:guid}/audit").WithTags("Audit");
        tenant.MapGet("", ListTenantAsync).Allows(Access.TenantSupport).WithSummary("Audit entries, newest first (filter by time, actor, action, host and path prefix)");
        tenant.MapGet("/export", ExportTenant).Allows(Access.TenantManage).Produces<AuditRecord>(StatusCodes.Status200OK, JsonLines)
            .WithSummary("Audit entries after a cursor, in chain order, as JSON Lines (SIEM export): one audit record per line");
        tenant.MapGet("/verify", VerifyTenantAsync).Allows(Access.TenantManage).WithSummary("Verify the tenant's audit hash chain");

        var platform = api.MapGroup("/audit").WithTags("Audit");
        platform.MapGet("", ListPlatformAsync).Allows(Access.PlatformAdmin).WithSummary("Platform audit entries (sign-ins, users, tenants), newest first");
        platform.MapGet("/export", ExportPlatform).Allows(Access.PlatformAdmin).Produces<AuditRecord>(StatusCodes.Status200OK, JsonLines)
            .WithSummary("Platform audit entries after a cursor, as JSON Lines: one audit record per line");
        platform.MapGet("/verify", VerifyPlatformAsync).Allows(Access.PlatformAdmin).WithSummary("Verify the platform audit hash chain");
        return api;
    }

    public static Task<Results<Ok<Page<AuditRecord>>, ValidationProblem, ProblemHttpResult>> ListTenantAsync(
        [AsParameters] GatewayServices services, AuditReadModel audit, Guid tenantId, [AsParameters] AuditQuery query) =>
        ListAsync(services, audit, tenantId, query, Refusal(services.Caller, tenantId, manage: false));

    public static Task<Results<Ok<Page<AuditRecord>>, ValidationProblem, ProblemHttpResult>> ListPlatformAsync(
        [AsParameters] GatewayServices services, AuditReadModel audit, [AsParameters] AuditQuery query) =>
        ListAsync(services, audit, null, query, PlatformRefusal(services.Caller));

    public static Results<PushStreamHttpResult, ValidationProblem, ProblemHttpResult> ExportTenant(
        [AsParameters] GatewayServices services, AuditReadModel audit, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
        Guid tenantId, long? after, int? limit) =>
        Export(services, audit, json.Value.SerializerOptions, tenantId, after, limit, Refusal(services.Caller, tenantId, manage: true));

    public static Results<PushStreamHttpResult, ValidationProblem, ProblemHttpResult> ExportPlatform(
        [AsParameters] GatewayServices services, AuditReadModel audit, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
        long? after, int? limit) =>
        Export(services, audit, json.Value.SerializerOptions, null, after, limit, PlatformRefusal(services.Caller));

    public static async Task<Results<Ok<AuditChainVerdict>, ProblemHttpResult>> VerifyTenantAsync(
        [AsParameters] GatewayServices services, NpgsqlDataSource db, Guid tenantId) =>
        Refusal(services.Caller, tenantId, manage: true) is { } refusal
            ? refusal
            : TypedResults.Ok(await AuditChain.VerifyAsync(db, tenantId, services.Cancellation));

    public static async Task<Results<Ok<AuditChainVerdict>, ProblemHttpResult>> VerifyPlatformAsync(
        [AsParameters] GatewayServices services, NpgsqlDataSource db) =>
        PlatformRefusal(services.Caller) is { } refusal
            ? refusal
            : TypedResults.Ok(await AuditChain.VerifyAsync(db, null, services.Cancellation));

    private static async Task<Results<Ok<Page<AuditRecord>>, ValidationProblem, ProblemHttpResult>> ListAsync(
        GatewayServices services, AuditReadModel audit, Guid? tenantId, AuditQuery query, ProblemHttpResult? refusal)
    {
        if (refusal is not null)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var filter = new AuditFilter(query.From, query.To,
            errors.Text("actor", query.Actor, 200, required: false),
            errors.Text("action", query.Action, 100, required: false),
            query.HostId,
            query.PathPrefix is null ? null : errors.AbsolutePath("pathPrefix", query.PathPrefix, required: true));
        if (query.From > query.To)
        {
            errors.Add("to", "to must not be before from");
        }
        var page = Paging.Read(errors, query.Page, query.PageSize);
        return errors.Any ? ApiProblems.Invalid(errors) : TypedResults.Ok(await audit.ListAsync(tenantId, filter, page, services.Cancellation));
    }

    private static Results<PushStreamHttpResult, ValidationProblem, ProblemHttpResult> Export(
        GatewayServices services, AuditReadModel audit, JsonSerializerOptions options, Guid? tenantId, long? after, int? limit, ProblemHttpResult? refusal)
    {
        if (refusal is not null)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        if (after < 0)
        {
            errors.Add("after", "after must be 0 or the seq of an entry already received");
        }
        if (limit is < 1 or > MaxExportLimit)
        {
            errors.Add("limit", $"limit must be between 1 and {MaxExportLimit}");
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        return TypedResults.Stream(async body =>
        {
            await foreach (var entry in audit.ExportAsync(tenantId, after ?? 0, limit ?? DefaultExportLimit, services.Cancellation))
            {
                await JsonSerializer.SerializeAsync(body, entry, options, services.Cancellation);
                await body.WriteAsync(NewLine, services.Cancellation);
            }
        }, JsonLines);
    }

    private static ProblemHttpResult? Refusal(Caller caller, Guid tenantId, bool manage) =>
        TenantAccess.ToRead(caller, tenantId)
        ?? (manage
            ? caller.CanManage(tenantId) ? null : ApiProblems.Forbidden($"role '{caller.Role}' cannot export or verify the audit trail")
            : TenantAccess.ToSupport(caller, tenantId, "read the audit trail"));

    private static ProblemHttpResult? PlatformRefusal(Caller caller) =>
        caller.IsPlatformAdmin ? null : ApiProblems.Forbidden("only platform admins read the platform audit trail");
}

/// <summary>The filters and paging of an audit list, from the query string.</summary>
public sealed record AuditQuery(DateTimeOffset? From, DateTimeOffset? To, string? Actor, string? Action, Guid? HostId, string? PathPrefix, int? Page, int? PageSize);
