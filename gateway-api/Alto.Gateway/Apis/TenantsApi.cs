using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Alto.Gateway.Apis;

public sealed record CreateTenantRequest(string? Name, string? Description);

public sealed record UpdateTenantRequest(
    string? Name, string? Description, bool? EncryptTier2, int? RecallAfterReads, PlanApproval? PlanApproval = null, long? MinTierableBytes = null,
    int? OrphanGraceDays = null, bool? ReclaimOrphans = null);

public static class TenantsApi
{
    public const int NameMaxLength = 100;

    /// <summary>1 TiB: a larger minimum would leave nothing to tier and is surely a mistake of units.</summary>
    public const long MaxMinTierableBytes = 1L << 40;
    public const int DescriptionMaxLength = 1000;

    public static RouteGroupBuilder MapTenantsApi(this RouteGroupBuilder api)
    {
        var tenants = api.MapGroup("/tenants").WithTags("Tenants");
        tenants.MapGet("/", ListTenantsAsync).Allows(Access.SignedIn).WithSummary("List the tenants the caller may see");
        tenants.MapPost("/", CreateTenantAsync).Allows(Access.PlatformAdmin).TagsRevision().WithSummary("Create a tenant (platform admin)");
        tenants.MapGet("/{tenantId:guid}", GetTenantAsync).Allows(Access.TenantRead).TagsRevision().WithSummary("Get one tenant (its revision as the ETag)");
        tenants.MapPatch("/{tenantId:guid}", UpdateTenantAsync).Allows(Access.TenantManage).TagsRevision()
            .WithSummary("Rename or describe a tenant, or change its policies (encryption, recalls by reads, plan approval, smallest tierable file, " +
                "orphan grace and reclaim); with If-Match: only if it is still at the revision read");
        tenants.MapPost("/{tenantId:guid}/disable", DisableTenantAsync).Allows(Access.PlatformAdmin).WithSummary("Disable a tenant (platform admin)");
        tenants.MapPost("/{tenantId:guid}/enable", EnableTenantAsync).Allows(Access.PlatformAdmin).WithSummary("Enable a disabled tenant (platform admin)");
        tenants.MapPost("/{tenantId:guid}/key/rotate", RotateKeyAsync).Allows(Access.TenantManage)
            .WithSummary("Rotate the tenant key; what it encrypted before still decrypts, and target credentials are sealed again under the new version");
        return api;
    }

    public static async Task<Results<Ok<Page<TenantInfo>>, ValidationProblem>> ListTenantsAsync(
        [AsParameters] GatewayServices services, TenantReadModel tenants, int? page, int? pageSize, string? status)
    {
        var errors = new RequestErrors();
        var request = Paging.Read(errors, page, pageSize);
        TenantStatus? statusFilter = status switch
        {
            null => null,
            "active" => TenantStatus.Active,
            "disabled" => TenantStatus.Disabled,
            _ => null,
        };
        if (status is not null && statusFilter is null)
        {
            errors.Add("status", "status must be 'active' or 'disabled'");
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        return TypedResults.Ok(await tenants.ListAsync(services.Caller, statusFilter, request, services.Cancellation));
    }

    public static async Task<Results<Created<TenantInfo>, ValidationProblem, ProblemHttpResult>> CreateTenantAsync(
        [AsParameters] GatewayServices services, CreateTenantRequest request)
    {
        if (!services.Caller.IsPlatformAdmin)
        {
            return ApiProblems.Forbidden("only a platform admin creates tenants");
        }
        var errors = new RequestErrors();
        var name = errors.Name("name", request.Name, NameMaxLength, required: true);
        var description = errors.LongText("description", request.Description, DescriptionMaxLength) ?? "";
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }

        var id = Guid.NewGuid();
        var result = await services.Grains.GetGrain<ITenantGrain>(id.ToString()).CreateAsync(new CreateTenant(name!, description));
        return result.Error is { } error
            ? ApiProblems.From(error)
            : TypedResults.Created($"/api/v1/tenants/{id}", result.Value);
    }

    public static async Task<Results<Ok<TenantInfo>, ProblemHttpResult>> GetTenantAsync(
        [AsParameters] GatewayServices services, Guid tenantId)
    {
        var tenant = services.Caller.CanSee(tenantId)
            ? await services.Grains.GetGrain<ITenantGrain>(tenantId.ToString()).GetAsync()
            : null;
        return tenant is null ? ApiProblems.NotFound($"tenant {tenantId} not found") : TypedResults.Ok(tenant);
    }

    public static async Task<Results<Ok<TenantInfo>, ValidationProblem, ProblemHttpResult>> UpdateTenantAsync(
        [AsParameters] GatewayServices services, Guid tenantId, UpdateTenantRequest request,
        [FromHeader(Name = Preconditions.IfMatchHeader)] string? ifMatch)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "tenants") is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var expected = Preconditions.IfMatch(errors, ifMatch);
        var name = request.Name is null ? null : errors.Name("name", request.Name, NameMaxLength, required: true);
        var description = errors.LongText("description", request.Description, DescriptionMaxLength);
        if (request.Name is null && request.Description is null && request.EncryptTier2 is null && request.RecallAfterReads is null
            && request.PlanApproval is null && request.MinTierableBytes is null && request.OrphanGraceDays is null && request.ReclaimOrphans is null)
        {
            errors.Add("body", "give at least one of name, description, encryptTier2, recallAfterReads, planApproval, minTierableBytes, orphanGraceDays, reclaimOrphans");
        }
        if (request.OrphanGraceDays is < 1 or > TenantDefaults.MaxOrphanGraceDays)
        {
            errors.Add("orphanGraceDays", $"orphanGraceDays must be between 1 and {TenantDefaults.MaxOrphanGraceDays}");
        }
        if (request.MinTierableBytes is < 0 or > MaxMinTierableBytes)
        {
            errors.Add("minTierableBytes", $"minTierableBytes must be between 0 (tier files of any size) and {MaxMinTierableBytes}");
        }
        if (request.RecallAfterReads is < 0 or > 1_000_000)
        {
            errors.Add("recallAfterReads", "recallAfterReads must be between 1 and 1000000, or 0 to never recall a stub for its reads");
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }

        var result = await services.Grains.GetGrain<ITenantGrain>(tenantId.ToString()).UpdateAsync(new UpdateTenant(name, description)
        {
            EncryptTier2 = request.EncryptTier2,
            RecallAfterReads = request.RecallAfterReads,
            PlanApproval = request.PlanApproval,
            MinTierableBytes = request.MinTierableBytes,
            OrphanGraceDays = request.OrphanGraceDays,
            ReclaimOrphans = request.ReclaimOrphans,
        }, expected);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static async Task<Results<Ok<TenantKeyInfo>, ProblemHttpResult>> RotateKeyAsync([AsParameters] GatewayServices services, Guid tenantId)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "the tenant key") is { } refusal)
        {
            return refusal;
        }
        var result = await services.Grains.GetGrain<ITenantGrain>(tenantId.ToString()).RotateKeyAsync();
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static Task<Results<Ok<TenantInfo>, ProblemHttpResult>> DisableTenantAsync(
        [AsParameters] GatewayServices services, Guid tenantId) => SetStatusAsync(services, tenantId, TenantStatus.Disabled);

    public static Task<Results<Ok<TenantInfo>, ProblemHttpResult>> EnableTenantAsync(
        [AsParameters] GatewayServices services, Guid tenantId) => SetStatusAsync(services, tenantId, TenantStatus.Active);

    private static async Task<Results<Ok<TenantInfo>, ProblemHttpResult>> SetStatusAsync(
        GatewayServices services, Guid tenantId, TenantStatus status)
    {
        if (TenantAccess.ToRead(services.Caller, tenantId) is { } refusal)
        {
            return refusal;
        }
        if (!services.Caller.IsPlatformAdmin)
        {
            return ApiProblems.Forbidden("only a platform admin enables or disables tenants");
        }
        var result = await services.Grains.GetGrain<ITenantGrain>(tenantId.ToString()).SetStatusAsync(status);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }
}
