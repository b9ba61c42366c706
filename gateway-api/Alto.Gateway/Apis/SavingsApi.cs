using System.Globalization;
using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Planning;
using Alto.GrainInterfaces.Rules;
using Alto.GrainInterfaces.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Alto.Gateway.Apis;

/// <summary>One target's prices; a price left out is zero.</summary>
public sealed record TargetPriceRequest(Guid? TargetId, decimal? StoragePerGbMonth, decimal? WritesPerThousand, decimal? ReadsPerThousand, decimal? RetrievalPerGb);

/// <summary>A tenant's whole cost model: tier 1's price per GB-month and each priced target's.</summary>
public sealed record CostModelRequest(string? Currency, decimal? LocalPerGbMonth, TargetPriceRequest[]? Targets);

/// <summary>A rule set to preview (left out: the rules in force), on every host or on one.</summary>
public sealed record WhatIfRequest(RuleRequest[]? Rules, Guid? HostId);

/// <summary>What one rule of the previewed set would select, and what tiering it would save a month once done.</summary>
public sealed record WhatIfRule(
    Guid RuleId, string Name, int Priority, RuleAction Action, Guid? TargetId, string? HeldBecause,
    long Files, long Bytes, string[] SamplePaths, decimal MonthlySavings, decimal OneTimeCost);

/// <summary>Files no rule of the set matched: they stay on tier 1.</summary>
public sealed record WhatIfRemainder(long Files, long Bytes, string[] SamplePaths);

/// <summary>A rule set evaluated without saving anything, priced by the tenant's cost model.</summary>
public sealed record WhatIfReport(
    Guid? HostId, bool Draft, string Currency, bool CostModelSet, DateTimeOffset EvaluatedAt,
    long FilesEvaluated, long FilesAlreadyTiered, long FilesOutsideVolumes, long FilesBelowMinimumSize,
    long FilesToTier, long BytesToTier, decimal MonthlySavings, decimal OneTimeCost,
    WhatIfRule[] Rules, WhatIfRemainder Unmatched, double Seconds);

/// <summary>
/// What tiering saves: the tenant's cost model (tenant admins set it, anyone who sees the tenant
/// reads it), savings now and day by day, and what-if previews of the rules in force or a draft.
/// </summary>
public static class SavingsApi
{
    public static RouteGroupBuilder MapSavingsApi(this RouteGroupBuilder api)
    {
        var tenant = api.MapGroup("/tenants/{tenantId:guid}").WithTags("Savings");
        tenant.MapGet("/cost-model", GetCostModelAsync).Allows(Access.TenantRead).TagsRevision()
            .WithSummary("The tenant's prices: tier 1 and each target per GB-month, requests per thousand, retrieval per GB (their revision as the ETag)");
        tenant.MapPut("/cost-model", SetCostModelAsync).Allows(Access.TenantManage).TagsRevision()
            .WithSummary("Replace the tenant's prices (GB = 10^9 bytes; a target left out costs nothing; with If-Match: only if still at the revision read)");
        tenant.MapGet("/analytics/savings", SavingsAsync).Allows(Access.TenantRead)
            .WithSummary("What tiering saves a month now, per target, and day by day (UTC) up to 800 days (filter by host; format=csv for the days)");
        tenant.MapPost("/what-if", WhatIfAsync).Allows(Access.TenantRead).RequireRateLimiting(PlanRateLimit.Policy)
            .WithSummary("Evaluate the rules in force or a draft rule set without saving it: files, bytes, savings and sample paths per rule, and what no rule matches");
        return api;
    }

    public static async Task<Results<Ok<CostModel>, ProblemHttpResult>> GetCostModelAsync([AsParameters] GatewayServices services, Guid tenantId)
    {
        if (TenantAccess.ToRead(services.Caller, tenantId) is { } refusal)
        {
            return refusal;
        }
        return await Tenant(services, tenantId).GetCostModelAsync() is { } model
            ? TypedResults.Ok(model)
            : ApiProblems.NotFound($"tenant {tenantId} not found");
    }

    public static async Task<Results<Ok<CostModel>, ValidationProblem, ProblemHttpResult>> SetCostModelAsync(
        [AsParameters] GatewayServices services, Guid tenantId, CostModelRequest request,
        [FromHeader(Name = Preconditions.IfMatchHeader)] string? ifMatch)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "the cost model") is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var expected = Preconditions.IfMatch(errors, ifMatch);
        var currency = errors.Text("currency", request.Currency, 3, required: true);
        if (currency is not null && (currency.Length != 3 || !currency.All(char.IsAsciiLetterUpper)))
        {
            errors.Add("currency", "currency is an ISO 4217 code of three capital letters, such as USD or EUR");
        }
        var local = Price(errors, "localPerGbMonth", request.LocalPerGbMonth);
        var prices = new List<TargetPrice>();
        if (request.Targets is null)
        {
            errors.Add("targets", "targets is required (an empty list prices no target)");
        }
        for (var i = 0; i < (request.Targets?.Length ?? 0); i++)
        {
            var field = $"targets[{i}]";
            if (request.Targets![i] is not { } target)
            {
                errors.Add(field, "a target's prices are required");
                continue;
            }
            if (target.TargetId is null)
            {
                errors.Add($"{field}.targetId", "targetId is required");
            }
            prices.Add(new TargetPrice(target.TargetId ?? Guid.Empty,
                Price(errors, $"{field}.storagePerGbMonth", target.StoragePerGbMonth), Price(errors, $"{field}.writesPerThousand", target.WritesPerThousand),
                Price(errors, $"{field}.readsPerThousand", target.ReadsPerThousand), Price(errors, $"{field}.retrievalPerGb", target.RetrievalPerGb)));
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        // The tenant grain checks again, and that each target is the tenant's; it audits the change.
        var result = await Tenant(services, tenantId).SetCostModelAsync(new CostModel(currency!, local, [.. prices]), expected);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static async Task<Results<Ok<SavingsReport>, FileContentHttpResult, ValidationProblem, ProblemHttpResult>> SavingsAsync(
        [AsParameters] GatewayServices services, SavingsReadModel savings, HostReadModel hosts, Guid tenantId, Guid? hostId, int? days, string? format)
    {
        if (await TenantAccess.ToReadHostAsync(services.Caller, hosts, tenantId, hostId, services.Cancellation) is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        if (days is < 1 or > AnalyticsApi.MaxDays)
        {
            errors.Add("days", $"days is 1 to {AnalyticsApi.MaxDays}");
        }
        var csv = CsvDownload.Asked(errors, format);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        if (await Tenant(services, tenantId).GetCostModelAsync() is not { } model)
        {
            return ApiProblems.NotFound($"tenant {tenantId} not found");
        }
        var report = await savings.ReportAsync(tenantId, hostId, days ?? 400, model, services.Cancellation);
        return csv
            ? CsvDownload.Of("savings", ["day", "stubbed_bytes", "savings", "currency"],
                report.Days.Select(d => new object[] { d.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), d.StubbedBytes, d.Savings, report.Currency }))
            : TypedResults.Ok(report);
    }

    public static async Task<Results<Ok<WhatIfReport>, ValidationProblem, ProblemHttpResult>> WhatIfAsync(
        [AsParameters] GatewayServices services, HostReadModel hosts, Guid tenantId, WhatIfRequest request)
    {
        if (await TenantAccess.ToReadHostAsync(services.Caller, hosts, tenantId, request.HostId, services.Cancellation) is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        RuleDefinition[]? draft = null;
        if (request.Rules is { } rules)
        {
            draft = new RuleDefinition[rules.Length];
            for (var i = 0; i < rules.Length; i++)
            {
                var ruleErrors = new RequestErrors();
                if (rules[i] is not { } rule)
                {
                    errors.Add($"rules[{i}]", "a rule is required");
                }
                else if (RuleRequestRules.Read(ruleErrors, rule) is { } definition)
                {
                    draft[i] = definition;
                }
                errors.AddAll($"rules[{i}].", ruleErrors);
            }
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var tenant = Tenant(services, tenantId);
        if (await tenant.GetCostModelAsync() is not { } model)
        {
            return ApiProblems.NotFound($"tenant {tenantId} not found");
        }
        var result = await tenant.WhatIfAsync(draft, request.HostId);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(Priced(result.Value!, model, draft is not null, request.HostId));
    }

    /// <summary>Each tiering rule's selection priced: a month of its bytes on its target instead of tier 1, and a write per file once.</summary>
    private static WhatIfReport Priced(PlanSummary plan, CostModel model, bool draft, Guid? hostId)
    {
        var rules = plan.Rules.Select(rule =>
        {
            var saves = rule is { Action: RuleAction.Tier, HeldBecause: null, TargetId: not null };
            return new WhatIfRule(rule.RuleId, rule.RuleName, rule.Priority, rule.Action, rule.TargetId, rule.HeldBecause, rule.Files, rule.Bytes, rule.SamplePaths,
                saves ? Pricing.Round(Pricing.SavedPerMonth(model, rule.TargetId!.Value, rule.Bytes)) : 0m,
                saves ? Pricing.Round(Pricing.RequestCosts(model, rule.TargetId!.Value, rule.Files, 0, 0)) : 0m);
        }).ToArray();
        return new WhatIfReport(
            hostId, draft, model.Currency, model.UpdatedAt is not null, plan.EvaluatedAt,
            plan.FilesEvaluated, plan.FilesAlreadyTiered, plan.FilesOutsideVolumes, plan.FilesBelowMinimumSize,
            plan.FilesToTier, plan.BytesToTier, rules.Sum(rule => rule.MonthlySavings), rules.Sum(rule => rule.OneTimeCost),
            rules, new WhatIfRemainder(plan.FilesUnmatched, plan.BytesUnmatched, plan.UnmatchedSamplePaths), plan.Seconds);
    }

    private static decimal Price(RequestErrors errors, string field, decimal? price)
    {
        if (price is < 0 or > CostModel.MaxPrice)
        {
            errors.Add(field, $"{field} is a price from 0 to {CostModel.MaxPrice} (got {price})");
        }
        return price ?? 0m;
    }

    private static ITenantGrain Tenant(GatewayServices services, Guid tenantId) => services.Grains.GetGrain<ITenantGrain>(tenantId.ToString());
}
