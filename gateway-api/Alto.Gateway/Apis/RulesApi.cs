using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Alto.Gateway.Apis;

/// <summary>What a file must satisfy; every criterion given must hold. Sizes in bytes, ages in whole days.</summary>
public sealed record RuleCriteriaRequest(
    string[]? PathGlobs, string[]? ExcludePathGlobs, string? PathRegex, string? ExcludePathRegex,
    long? MinSizeBytes, long? MaxSizeBytes, int? AccessedOlderThanDays, int? ModifiedOlderThanDays,
    string[]? Extensions, string[]? ExcludeExtensions);

/// <summary>A whole rule (create and replace). Priority: lower runs first; left out, a new rule goes last and an updated one keeps its place.</summary>
public sealed record RuleRequest(
    string? Name, int? Priority, bool? Enabled, string? Action, Guid? TargetId, Guid? HostId, RuleCriteriaRequest? Criteria);

public sealed record ReorderRulesRequest(Guid[]? RuleIds);

public static class RulesApi
{
    public static RouteGroupBuilder MapRulesApi(this RouteGroupBuilder api)
    {
        var rules = api.MapGroup("/tenants/{tenantId:guid}/rules").WithTags("Rules");
        rules.MapGet("/", ListRulesAsync).Allows(Access.TenantRead).WithSummary("List a tenant's rules in evaluation order (first match wins)");
        rules.MapPost("/", CreateRuleAsync).Allows(Access.TenantManage).TagsRevision().WithSummary("Add a rule: tier matching files to a target, or exclude them from tiering");
        rules.MapPost("/reorder", ReorderRulesAsync).Allows(Access.TenantManage).WithSummary("Put all of a tenant's rules in a new order");
        rules.MapGet("/{ruleId:guid}", GetRuleAsync).Allows(Access.TenantRead).TagsRevision().WithSummary("Get one rule (its revision as the ETag)");
        rules.MapPut("/{ruleId:guid}", ReplaceRuleAsync).Allows(Access.TenantManage).TagsRevision()
            .WithSummary("Replace a rule (with If-Match: only if it is still at the revision read)");
        rules.MapDelete("/{ruleId:guid}", DeleteRuleAsync).Allows(Access.TenantManage)
            .WithSummary("Delete a rule (files it planned are re-planned at the next plan; with If-Match: only if it is still at the revision read)");
        return api;
    }

    public static async Task<Results<Ok<RuleInfo[]>, ProblemHttpResult>> ListRulesAsync([AsParameters] GatewayServices services, Guid tenantId)
    {
        if (TenantAccess.ToRead(services.Caller, tenantId) is { } refusal)
        {
            return refusal;
        }
        var rules = await Tenant(services, tenantId).ListRulesAsync();
        return rules is null ? ApiProblems.NotFound($"tenant {tenantId} not found") : TypedResults.Ok(rules);
    }

    public static async Task<Results<Created<RuleInfo>, ValidationProblem, ProblemHttpResult>> CreateRuleAsync(
        [AsParameters] GatewayServices services, Guid tenantId, RuleRequest request)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "rules") is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        if (RuleRequestRules.Read(errors, request) is not { } rule)
        {
            return ApiProblems.Invalid(errors);
        }
        var id = Guid.NewGuid();
        var result = await Tenant(services, tenantId).AddRuleAsync(id, rule);
        return result.Error is { } error
            ? ApiProblems.From(error)
            : TypedResults.Created($"/api/v1/tenants/{tenantId}/rules/{id}", result.Value);
    }

    public static async Task<Results<Ok<RuleInfo>, ProblemHttpResult>> GetRuleAsync([AsParameters] GatewayServices services, Guid tenantId, Guid ruleId)
    {
        if (TenantAccess.ToRead(services.Caller, tenantId) is { } refusal)
        {
            return refusal;
        }
        var rule = await Tenant(services, tenantId).GetRuleAsync(ruleId);
        return rule is null ? ApiProblems.NotFound($"rule {ruleId} not found") : TypedResults.Ok(rule);
    }

    public static async Task<Results<Ok<RuleInfo>, ValidationProblem, ProblemHttpResult>> ReplaceRuleAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid ruleId, RuleRequest request,
        [FromHeader(Name = Preconditions.IfMatchHeader)] string? ifMatch)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "rules") is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var expected = Preconditions.IfMatch(errors, ifMatch);
        if (RuleRequestRules.Read(errors, request) is not { } rule || errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var result = await Tenant(services, tenantId).UpdateRuleAsync(ruleId, rule, expected);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DeleteRuleAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid ruleId, [FromHeader(Name = Preconditions.IfMatchHeader)] string? ifMatch) =>
        TenantAccess.DeleteAsync(services.Caller, tenantId, "rules", ifMatch, expected => Tenant(services, tenantId).DeleteRuleAsync(ruleId, expected));

    public static async Task<Results<Ok<RuleInfo[]>, ValidationProblem, ProblemHttpResult>> ReorderRulesAsync(
        [AsParameters] GatewayServices services, Guid tenantId, ReorderRulesRequest request)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "rules") is { } refusal)
        {
            return refusal;
        }
        if (request.RuleIds is null)
        {
            return ApiProblems.Invalid("ruleIds", "ruleIds is required: every rule of the tenant, in the new order");
        }
        var result = await Tenant(services, tenantId).ReorderRulesAsync(request.RuleIds);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    private static ITenantGrain Tenant(GatewayServices services, Guid tenantId) =>
        services.Grains.GetGrain<ITenantGrain>(tenantId.ToString());
}
