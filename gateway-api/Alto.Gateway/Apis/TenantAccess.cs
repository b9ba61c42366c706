using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Common;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

/// <summary>The one place that decides 404 versus 403 for a tenant-scoped request.</summary>
public static class TenantAccess
{
    /// <summary>Null when the caller may go on; otherwise the answer to give.</summary>
    public static ProblemHttpResult? ToRead(Caller caller, Guid tenantId) =>
        caller.CanSee(tenantId) ? null : ApiProblems.NotFound($"tenant {tenantId} not found");

    /// <summary>
    /// As <see cref="ToRead"/>, and a host named in the request must be the tenant's: another
    /// tenant's host is answered as not found, like another tenant.
    /// </summary>
    public static async Task<ProblemHttpResult?> ToReadHostAsync(Caller caller, HostReadModel hosts, Guid tenantId, Guid? hostId, CancellationToken cancellationToken) =>
        ToRead(caller, tenantId)
        ?? (hostId is { } host && !await hosts.BelongsAsync(tenantId, host, cancellationToken) ? ApiProblems.NotFound($"host {host} not found") : null);

    /// <summary>The shared shape of every list inside a tenant: scope check, paging, then the read model.</summary>
    public static async Task<Results<Ok<Page<T>>, ValidationProblem, ProblemHttpResult>> ListAsync<T>(
        Caller caller, Guid tenantId, int? page, int? pageSize, Func<PageRequest, Task<Page<T>>> list)
    {
        if (ToRead(caller, tenantId) is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var request = Paging.Read(errors, page, pageSize);
        return errors.Any ? ApiProblems.Invalid(errors) : TypedResults.Ok(await list(request));
    }

    /// <summary>
    /// The shared shape of a deletion inside a tenant by a caller who may manage
    /// <paramref name="what"/>: scope and role, then If-Match, then the grain's answer (204, or its refusal).
    /// </summary>
    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DeleteAsync<T>(
        Caller caller, Guid tenantId, string what, string? ifMatch, Func<string[]?, Task<CommandResult<T>>> delete)
    {
        if (ToManage(caller, tenantId, what) is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var expected = Preconditions.IfMatch(errors, ifMatch);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var result = await delete(expected);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.NoContent();
    }

    /// <summary>Recalls and the audit trail: viewers are refused with 403.</summary>
    public static ProblemHttpResult? ToSupport(Caller caller, Guid tenantId, string what) =>
        ToRead(caller, tenantId)
        ?? (caller.CanSupport(tenantId) ? null : ApiProblems.Forbidden($"role '{caller.Role}' cannot {what}"));

    /// <summary>Reading is not enough to change: support and viewer are refused with 403.</summary>
    public static ProblemHttpResult? ToManage(Caller caller, Guid tenantId, string what) =>
        ToRead(caller, tenantId)
        ?? (caller.CanManage(tenantId) ? null : ApiProblems.Forbidden($"role '{caller.Role}' cannot change {what}"));
}
