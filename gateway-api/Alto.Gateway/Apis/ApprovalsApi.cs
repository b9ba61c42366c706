using Alto.GrainInterfaces.Hosts;
using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

/// <summary>Approve jobs by id, or every waiting job (of one host with hostId): exactly one of jobIds and all.</summary>
public sealed record ApproveJobsRequest(Guid[]? JobIds, bool? All, Guid? HostId);

/// <summary>The jobs that wait for approval, with what approving them would move.</summary>
public sealed record ApprovalQueue(int Jobs, long Files, long Bytes, long EstimatedSeconds, AwaitingJob[] Waiting);

/// <summary>What an approval let go.</summary>
public sealed record ApprovalReceipt(Guid[] Approved, long Files, long Bytes);

/// <summary>
/// Plan approval: under a tenant's manual approval policy planned jobs wait (status
/// awaiting_approval) until a tenant admin approves them here; anyone who sees the tenant sees
/// what waits, with the figures its plan gave and sample paths.
/// </summary>
public static class ApprovalsApi
{
    public const int MaxJobIds = 1000;
    private const int SamplesPerJob = 5;

    public static RouteGroupBuilder MapApprovalsApi(this RouteGroupBuilder api)
    {
        var tenant = api.MapGroup("/tenants/{tenantId:guid}/approvals").WithTags("Tiering");
        tenant.MapGet("", ListAsync).Allows(Access.TenantRead).WithSummary("Jobs waiting for approval, with their files, bytes, estimates and sample paths");
        tenant.MapPost("", ApproveAsync).Allows(Access.TenantManage).WithSummary("Approve waiting jobs: by id, or all (of one host)");
        return api;
    }

    public static async Task<Results<Ok<ApprovalQueue>, ProblemHttpResult>> ListAsync(
        [AsParameters] GatewayServices services, TieringReadModel tiering, HostReadModel hosts, Guid tenantId, Guid? hostId)
    {
        if (await TenantAccess.ToReadHostAsync(services.Caller, hosts, tenantId, hostId, services.Cancellation) is { } refusal)
        {
            return refusal;
        }
        var waiting = await tiering.ListAwaitingApprovalAsync(tenantId, hostId, SamplesPerJob, services.Cancellation);
        return TypedResults.Ok(new ApprovalQueue(
            waiting.Length, waiting.Sum(job => (long)job.FileCount), waiting.Sum(job => job.TotalBytes),
            // Hosts transfer side by side: the longest host's queue is the estimate.
            waiting.GroupBy(job => job.HostId).Select(host => host.Sum(job => job.EstimatedSeconds)).DefaultIfEmpty(0).Max(),
            waiting));
    }

    public static async Task<Results<Ok<ApprovalReceipt>, ValidationProblem, ProblemHttpResult>> ApproveAsync(
        [AsParameters] GatewayServices services, TieringReadModel tiering, HostReadModel hosts, Guid tenantId, ApproveJobsRequest request)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "plan approvals") is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        if ((request.JobIds is not null) == (request.All is true))
        {
            errors.Add("jobIds", "give either jobIds or \"all\": true");
        }
        if (request.JobIds is { Length: 0 or > MaxJobIds })
        {
            errors.Add("jobIds", $"jobIds must hold 1 to {MaxJobIds} ids");
        }
        if (request.JobIds is not null && request.HostId is not null)
        {
            errors.Add("hostId", "hostId narrows \"all\"; with jobIds it is not needed");
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        // A hostId that is none of this tenant's hosts is a 404, not an empty approval.
        if (await TenantAccess.ToReadHostAsync(services.Caller, hosts, tenantId, request.HostId, services.Cancellation) is { } unknownHost)
        {
            return unknownHost;
        }
        var waiting = await tiering.ListAwaitingApprovalAsync(tenantId, request.HostId, 0, services.Cancellation);
        if (request.JobIds is { } ids && ids.Except(waiting.Select(job => job.Id)).FirstOrDefault() is var unknown && unknown != Guid.Empty)
        {
            // Another tenant's job, a job that does not exist, or one no longer waiting: nothing is approved.
            return ApiProblems.NotFound($"job {unknown} is not waiting for approval in this tenant");
        }
        var chosen = request.JobIds is { } named ? waiting.Where(job => named.Contains(job.Id)) : waiting;
        var (approved, files, bytes) = (new List<Guid>(), 0L, 0L);
        foreach (var host in chosen.GroupBy(job => job.HostId))
        {
            var receipt = await services.Grains.GetGrain<IHostGrain>(host.Key.ToString()).ApproveJobsAsync([.. host.Select(job => job.Id)]);
            approved.AddRange(receipt.JobIds);
            files += receipt.Files;
            bytes += receipt.Bytes;
        }
        return TypedResults.Ok(new ApprovalReceipt([.. approved], files, bytes));
    }
}
