using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Planning;
using Alto.GrainInterfaces.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

/// <summary>
/// Planning on request. A dry run (the default, as it changes nothing) only needs to see the
/// tenant; planning for real needs a role that may change it.
/// </summary>
public static class PlansApi
{
    public static RouteGroupBuilder MapPlansApi(this RouteGroupBuilder api)
    {
        api.MapPost("/tenants/{tenantId:guid}/plan", PlanTenantAsync).Allows(Access.TenantRead).WithTags("Planning").RequireRateLimiting(PlanRateLimit.Policy)
            .WithSummary("Plan every host of a tenant, or with dryRun=true (the default) preview what the rules would tier");
        api.MapPost("/tenants/{tenantId:guid}/hosts/{hostId:guid}/plan", PlanHostAsync).Allows(Access.TenantRead).WithTags("Planning").RequireRateLimiting(PlanRateLimit.Policy)
            .WithSummary("Plan one host, or with dryRun=true (the default) preview what the rules would tier");
        return api;
    }

    public static async Task<Results<Ok<PlanSummary>, ProblemHttpResult>> PlanTenantAsync(
        [AsParameters] GatewayServices services, GatewayAudit audit, HttpContext http, Guid tenantId, bool? dryRun)
    {
        var preview = dryRun ?? true;
        if (Refusal(services, tenantId, preview) is { } refusal)
        {
            return refusal;
        }
        var result = await services.Grains.GetGrain<ITenantGrain>(tenantId.ToString()).PlanAsync(preview);
        return await AnswerAsync(services, audit, http, tenantId, null, preview, result);
    }

    public static async Task<Results<Ok<PlanSummary>, ProblemHttpResult>> PlanHostAsync(
        [AsParameters] GatewayServices services, GatewayAudit audit, HttpContext http, Guid tenantId, Guid hostId, bool? dryRun)
    {
        var preview = dryRun ?? true;
        if (Refusal(services, tenantId, preview) is { } refusal)
        {
            return refusal;
        }
        if ((await services.Grains.GetGrain<IHostGrain>(hostId.ToString()).GetAsync())?.TenantId != tenantId)
        {
            return ApiProblems.NotFound($"host {hostId} not found");
        }
        var result = await services.Grains.GetGrain<IHostInventoryGrain>(hostId.ToString()).PlanAsync(preview);
        return await AnswerAsync(services, audit, http, tenantId, hostId, preview, result);
    }

    /// <summary>A plan run for real is an admin action: audited with what it planned (previews change nothing and are not).</summary>
    private static async Task<Results<Ok<PlanSummary>, ProblemHttpResult>> AnswerAsync(
        GatewayServices services, GatewayAudit audit, HttpContext http, Guid tenantId, Guid? hostId, bool preview, CommandResult<PlanSummary> result)
    {
        if (result.Error is { } error)
        {
            return ApiProblems.From(error);
        }
        if (!preview)
        {
            try
            {
                await audit.RecordAsync(http, GatewayAudit.ActorOf(services.User), "plan.run", hostId is null ? "tenant" : "host", (hostId ?? tenantId).ToString(),
                    succeeded: true, new Dictionary<string, object?> { ["after"] = result.Value }, tenantId, hostId);
            }
            catch (Exception exception) when (UnavailableExceptionHandler.WhatIsUnavailable(exception) is not null)
            {
                // The plan is made and stored (its own transaction): only its entry is missing, and planning again adds nothing already planned.
                throw new UnrecordedChangeException(
                    $"The plan was made ({result.Value!.Changes?.NewlyPlanned ?? 0} file(s) newly planned) but its audit entry could not be written: plan again to record it (nothing already planned is planned twice).",
                    exception);
            }
        }
        return TypedResults.Ok(result.Value!);
    }

    private static ProblemHttpResult? Refusal(GatewayServices services, Guid tenantId, bool preview) =>
        preview ? TenantAccess.ToRead(services.Caller, tenantId) : TenantAccess.ToManage(services.Caller, tenantId, "plans");
}
