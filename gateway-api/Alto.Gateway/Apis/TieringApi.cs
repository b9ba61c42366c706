using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.Rules;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

/// <summary>Files that wait for an admin (abandoned, or held): optionally only those below this folder (as the host spells paths).</summary>
public sealed record WaitingFilesRequest(string? Directory);

/// <summary>Cancel a job: its files not tiered are held back from planning for holdDays (default 30), and the reason is kept with it.</summary>
public sealed record CancelJobRequest(int? HoldDays, string? Reason);

/// <summary>How many abandoned (or held) files go out again.</summary>
public sealed record RetriedFiles(int Files);

/// <summary>
/// What tiering is doing: jobs, tier objects and a per-state summary (read models; any role that
/// sees the tenant); and, for its admins, abandoned files tried again once their cause is fixed,
/// and held files (declined, or refused by the agent) released before their pause is over.
/// </summary>
public static class TieringApi
{
    public static RouteGroupBuilder MapTieringApi(this RouteGroupBuilder api)
    {
        var tenant = api.MapGroup("/tenants/{tenantId:guid}").WithTags("Tiering");
        tenant.MapGet("/jobs", ListJobsAsync).Allows(Access.TenantRead).WithSummary("Tiering jobs, newest first (filter by host and status)");
        tenant.MapGet("/jobs/{jobId:guid}", GetJobAsync).Allows(Access.TenantRead).WithSummary("One tiering job (its files: tier-objects?jobId=…)");
        tenant.MapPost("/jobs/{jobId:guid}/cancel", CancelJobAsync).Allows(Access.TenantManage)
            .WithSummary("Cancel a job that has not ended: at once when no agent has it; else the agent finishes the files on their way and starts no other (status cancelling until it reports). Its files not tiered are not planned again for holdDays");
        tenant.MapGet("/tier-objects", ListTierObjectsAsync).Allows(Access.TenantRead).WithSummary("Tier objects by path (filter by host, state, job and path prefix)");
        tenant.MapGet("/tier-objects/summary", SummarizeAsync).Allows(Access.TenantRead).WithSummary("Files and bytes per tiering state (filter by host or job)");
        tenant.MapPost("/hosts/{hostId:guid}/retry-abandoned", RetryAbandonedAsync).Allows(Access.TenantManage)
            .WithSummary("Try a host's abandoned files again (all, or below a folder), once what made them fail is fixed: planned at once with a fresh count of attempts");
        tenant.MapPost("/hosts/{hostId:guid}/release-held", ReleaseHeldAsync).Allows(Access.TenantManage)
            .WithSummary("Release a host's files held back from planning (declined, or refused by the agent; all, or below a folder) before their pause is over: planned at once");
        return api;
    }

    public static async Task<Results<Ok<Page<JobView>>, ValidationProblem, ProblemHttpResult>> ListJobsAsync(
        [AsParameters] GatewayServices services, TieringReadModel tiering, HostReadModel hosts, Guid tenantId, Guid? hostId, string? status, int? page, int? pageSize)
    {
        if (await TenantAccess.ToReadHostAsync(services.Caller, hosts, tenantId, hostId, services.Cancellation) is { } refusal)
        {
            return refusal;
        }
        if (status is not null && !TieringReadModel.JobStatuses.Contains(status))
        {
            return ApiProblems.Invalid("status", $"status must be one of {string.Join(", ", TieringReadModel.JobStatuses)}");
        }
        return await TenantAccess.ListAsync(services.Caller, tenantId, page, pageSize,
            request => tiering.ListJobsAsync(tenantId, hostId, status, request, services.Cancellation));
    }

    public static async Task<Results<Ok<JobView>, ProblemHttpResult>> GetJobAsync(
        [AsParameters] GatewayServices services, TieringReadModel tiering, Guid tenantId, Guid jobId)
    {
        if (TenantAccess.ToRead(services.Caller, tenantId) is { } refusal)
        {
            return refusal;
        }
        return await tiering.GetJobAsync(tenantId, jobId, services.Cancellation) is { } job ? TypedResults.Ok(job) : JobNotFound(jobId);
    }

    public static async Task<Results<Ok<CancelledJob>, ValidationProblem, ProblemHttpResult>> CancelJobAsync(
        [AsParameters] GatewayServices services, TieringReadModel tiering, Guid tenantId, Guid jobId, CancelJobRequest? request)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "tiering") is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var (hold, reason) = ApprovalsApi.HoldAndReason(errors, request?.HoldDays, request?.Reason);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        if (await tiering.GetJobAsync(tenantId, jobId, services.Cancellation) is not { } job)
        {
            return JobNotFound(jobId);
        }
        var result = await services.Grains.GetGrain<IHostGrain>(job.HostId.ToString()).CancelJobAsync(jobId, hold, reason);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static async Task<Results<Ok<Page<TierObjectView>>, ValidationProblem, ProblemHttpResult>> ListTierObjectsAsync(
        [AsParameters] GatewayServices services, TieringReadModel tiering, HostReadModel hosts, Guid tenantId, Guid? hostId, string? state, string? pathPrefix,
        Guid? jobId, int? page, int? pageSize)
    {
        if (await ToReadHostAndJobAsync(services, tiering, hosts, tenantId, hostId, jobId) is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var upperState = state?.ToUpperInvariant();
        if (upperState is not null && !TieringReadModel.TierStates.Contains(upperState))
        {
            errors.Add("state", $"state must be one of {string.Join(", ", TieringReadModel.TierStates)}");
        }
        var prefix = pathPrefix is null ? null : errors.AbsolutePath("pathPrefix", pathPrefix, required: true);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        // Where a file's data lies on tier 2 and its hash are for those who support the tenant, not for viewers.
        var seesObjects = services.Caller.CanSupport(tenantId);
        return await TenantAccess.ListAsync(services.Caller, tenantId, page, pageSize, async request =>
        {
            var found = await tiering.ListTierObjectsAsync(tenantId, new TierObjectFilter(hostId, upperState, prefix, jobId), request, services.Cancellation);
            return seesObjects ? found : found with { Items = [.. found.Items.Select(item => item with { Sha256 = null, Locator = null })] };
        });
    }

    public static async Task<Results<Ok<TierStateCount[]>, ProblemHttpResult>> SummarizeAsync(
        [AsParameters] GatewayServices services, TieringReadModel tiering, HostReadModel hosts, Guid tenantId, Guid? hostId, Guid? jobId)
    {
        if (await ToReadHostAndJobAsync(services, tiering, hosts, tenantId, hostId, jobId) is { } refusal)
        {
            return refusal;
        }
        return TypedResults.Ok(await tiering.SummarizeAsync(tenantId, hostId, jobId, services.Cancellation));
    }

    /// <summary>The tenant readable, and a host or job named in the request its own: another tenant's is not found, not an empty answer.</summary>
    private static async Task<ProblemHttpResult?> ToReadHostAndJobAsync(
        GatewayServices services, TieringReadModel tiering, HostReadModel hosts, Guid tenantId, Guid? hostId, Guid? jobId) =>
        await TenantAccess.ToReadHostAsync(services.Caller, hosts, tenantId, hostId, services.Cancellation)
        ?? (jobId is { } job && await tiering.GetJobAsync(tenantId, job, services.Cancellation) is null ? JobNotFound(job) : null);

    private static ProblemHttpResult JobNotFound(Guid jobId) => ApiProblems.NotFound($"job {jobId} not found");

    public static Task<Results<Ok<RetriedFiles>, ValidationProblem, ProblemHttpResult>> RetryAbandonedAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid hostId, WaitingFilesRequest? request) =>
        SendOnAsync(services, tenantId, hostId, request, (grain, directory) => grain.RetryAbandonedAsync(directory));

    public static Task<Results<Ok<RetriedFiles>, ValidationProblem, ProblemHttpResult>> ReleaseHeldAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid hostId, WaitingFilesRequest? request) =>
        SendOnAsync(services, tenantId, hostId, request, (grain, directory) => grain.ReleaseHeldAsync(directory));

    /// <summary>Files that wait for an admin sent on by one: the tenant's admins only, a folder of the host's if any, the host the tenant's.</summary>
    private static async Task<Results<Ok<RetriedFiles>, ValidationProblem, ProblemHttpResult>> SendOnAsync(
        GatewayServices services, Guid tenantId, Guid hostId, WaitingFilesRequest? request, Func<IHostGrain, string?, Task<CommandResult<int>>> sendOn)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "tiering") is { } refusal)
        {
            return refusal;
        }
        var grain = services.Grains.GetGrain<IHostGrain>(hostId.ToString());
        var host = await grain.GetAsync();
        var errors = new RequestErrors();
        var directory = request?.Directory is null ? null : errors.HostPath("directory", request.Directory, HostPathFlavor.Of(host?.Os ?? HostOs.Linux), required: true);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        if (host?.TenantId != tenantId)
        {
            return ApiProblems.NotFound($"host {hostId} not found");
        }
        var result = await sendOn(grain, directory);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(new RetriedFiles(result.Value));
    }
}
