using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Alto.Gateway.Apis;

public sealed record CreateStorageTargetRequest(
    string? Name, string? Kind, StorageTargetSettings? Settings, StorageTargetCredentials? Credentials);

/// <summary>A partial update; settings, when given, replace the old ones whole.</summary>
/// <summary>
/// A change of a target; only what is given changes. <c>objectsMoved</c> confirms that the
/// target's objects are where new settings that place it elsewhere (another folder, bucket,
/// prefix, container, account or endpoint) point: required while its stubs are recalled from it.
/// </summary>
public sealed record UpdateStorageTargetRequest(
    string? Name, StorageTargetSettings? Settings, StorageTargetCredentials? Credentials, bool? Enabled, bool? ObjectsMoved = null);

public static class StorageTargetsApi
{
    public const int NameMaxLength = 100;

    public static RouteGroupBuilder MapStorageTargetsApi(this RouteGroupBuilder api)
    {
        var targets = api.MapGroup("/tenants/{tenantId:guid}/targets").WithTags("Storage targets");
        targets.MapGet("/", ListTargetsAsync).Allows(Access.TenantRead).WithSummary("List a tenant's tier-2 storage targets (never with credentials)");
        targets.MapPost("/", CreateTargetAsync).Allows(Access.TenantManage).TagsRevision().WithSummary("Add a tier-2 storage target: path, s3 or azure");
        targets.MapGet("/{targetId:guid}", GetTargetAsync).Allows(Access.TenantRead).TagsRevision().WithSummary("Get one storage target (its revision as the ETag)");
        targets.MapPatch("/{targetId:guid}", UpdateTargetAsync).Allows(Access.TenantManage).TagsRevision()
            .WithSummary("Change a storage target (with If-Match: only if it is still at the revision read)");
        targets.MapDelete("/{targetId:guid}", DeleteTargetAsync).Allows(Access.TenantManage)
            .WithSummary("Delete a storage target nothing names: no rule, no file tiered or planned to it, no reconciliation (409 saying what names it; a target that has held data is disabled instead)");
        return api;
    }

    public static Task<Results<Ok<Page<StorageTargetInfo>>, ValidationProblem, ProblemHttpResult>> ListTargetsAsync(
        [AsParameters] GatewayServices services, StorageTargetReadModel targets, Guid tenantId, int? page, int? pageSize) =>
        TenantAccess.ListAsync(services.Caller, tenantId, page, pageSize, request => targets.ListAsync(tenantId, request, services.Cancellation));

    public static async Task<Results<Created<StorageTargetInfo>, ValidationProblem, ProblemHttpResult>> CreateTargetAsync(
        [AsParameters] GatewayServices services, StorageTargetReadModel targets, Guid tenantId, CreateStorageTargetRequest request)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "storage targets") is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var name = errors.Name("name", request.Name, NameMaxLength, required: true);
        var kind = StorageTargetRules.Kind(errors, request.Kind);
        StorageTargetSettings? settings = null;
        StorageTargetCredentials? credentials = null;
        if (kind is { } known)
        {
            settings = StorageTargetRules.Settings(errors, known, request.Settings);
            credentials = StorageTargetRules.Credentials(errors, known, settings, request.Credentials, creating: true);
        }
        if (settings?.Path is { } path && await targets.OverlappingAsync(tenantId, path, services.Cancellation) is { } overlap)
        {
            errors.Add("settings.path", overlap);
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }

        var id = Guid.NewGuid();
        var result = await services.Grains.GetGrain<ITenantGrain>(tenantId.ToString())
            .AddTargetAsync(new CreateStorageTarget(id, name!, kind!.Value, settings!, credentials));
        return result.Error is { } error
            ? ApiProblems.From(error)
            : TypedResults.Created($"/api/v1/tenants/{tenantId}/targets/{id}", result.Value);
    }

    public static async Task<Results<Ok<StorageTargetInfo>, ProblemHttpResult>> GetTargetAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid targetId)
    {
        if (TenantAccess.ToRead(services.Caller, tenantId) is { } refusal)
        {
            return refusal;
        }
        var target = await services.Grains.GetGrain<ITenantGrain>(tenantId.ToString()).GetTargetAsync(targetId);
        return target is null ? ApiProblems.NotFound($"storage target {targetId} not found") : TypedResults.Ok(target);
    }

    public static async Task<Results<Ok<StorageTargetInfo>, ValidationProblem, ProblemHttpResult>> UpdateTargetAsync(
        [AsParameters] GatewayServices services, StorageTargetReadModel targets, Guid tenantId, Guid targetId, UpdateStorageTargetRequest request,
        [FromHeader(Name = Preconditions.IfMatchHeader)] string? ifMatch)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "storage targets") is { } refusal)
        {
            return refusal;
        }
        var tenant = services.Grains.GetGrain<ITenantGrain>(tenantId.ToString());
        var current = await tenant.GetTargetAsync(targetId);
        if (current is null)
        {
            return ApiProblems.NotFound($"storage target {targetId} not found");
        }

        var errors = new RequestErrors();
        var expected = Preconditions.IfMatch(errors, ifMatch);
        var name = request.Name is null ? null : errors.Name("name", request.Name, NameMaxLength, required: true);
        var settings = request.Settings is null ? null : StorageTargetRules.Settings(errors, current.Kind, request.Settings);
        var credentials = StorageTargetRules.Credentials(
            errors, current.Kind, settings ?? current.Settings, request.Credentials, creating: false, hasStored: current.HasCredentials);
        if (settings?.Path is { } path && await targets.OverlappingAsync(tenantId, path, services.Cancellation) is { } overlap)
        {
            errors.Add("settings.path", overlap);
        }
        if (request is { Name: null, Settings: null, Credentials: null, Enabled: null })
        {
            errors.Add("body", "give at least one of name, settings, credentials, enabled");
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        // A stub's recall reads its object where the target is: pointed elsewhere by a slip, every
        // recall of the target would fail (never read wrong bytes: each is checked by its SHA-256).
        if (settings is not null && request.ObjectsMoved != true && StorageTargetRules.PlacedElsewhere(current.Settings, settings)
            && await targets.ObjectsInUseAsync(tenantId, targetId, services.Cancellation) is > 0 and var inUse)
        {
            return ApiProblems.Conflict(
                $"{inUse} stubbed file(s) are recalled from this target where it is now; the new settings place it elsewhere. " +
                "Copy its objects there first, then send the change again with \"objectsMoved\": true (or add a new target for new files).");
        }

        var result = await tenant.UpdateTargetAsync(targetId, new UpdateStorageTarget(name, settings, credentials, request.Enabled), expected);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DeleteTargetAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid targetId, [FromHeader(Name = Preconditions.IfMatchHeader)] string? ifMatch) =>
        TenantAccess.DeleteAsync(services.Caller, tenantId, "storage targets", ifMatch,
            expected => services.Grains.GetGrain<ITenantGrain>(tenantId.ToString()).DeleteTargetAsync(targetId, expected));
}
