using Alto.GrainInterfaces.Hosts;
using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

/// <summary>Approve jobs by id, or every waiting job (of one host with hostId): exactly one of jobIds and all.</summary>
public sealed record ApproveJobsRequest(Guid[]? JobIds, bool? All, Guid? HostId);

/// <summary>
/// Decline jobs as <see cref="ApproveJobsRequest"/> names them; their files are not planned again
/// for holdDays (default <see cref="ApprovalsApi.DefaultHoldDays"/>), and the reason is kept with each.
/// </summary>
public sealed record DeclineJobsRequest(Guid[]? JobIds, bool? All, Guid? HostId, int? HoldDays, string? Reason);

/// <summary>The jobs that wait for approval, with what approving them would move.</summary>
public sealed record ApprovalQueue(int Jobs, long Files, long Bytes, long EstimatedSeconds, AwaitingJob[] Waiting);

/// <summary>What an approval let go.</summary>
public sealed record ApprovalReceipt(Guid[] Approved, long Files, long Bytes);

/// <summary>What a decline stopped, and until when its files are held back from planning.</summary>
public sealed record DeclineReceipt(Guid[] Declined, long Files, long Bytes, DateTimeOffset? HeldUntil);

/// <summary>
/// Plan approval: under a tenant's manual approval policy planned jobs wait (status
/// awaiting_approval) until a tenant admin approves them here; anyone who sees the tenant sees
/// what waits, with the figures its plan gave and sample paths. A declined job's files are held
/// back from planning for a while, so the next plan does not ask for them again at once.
/// </summary>
public static class ApprovalsApi
{
    public const int MaxJobIds = 1000;
    private const int SamplesPerJob = 5;
    public const int DefaultHoldDays = 30;
    public const int MaxHoldDays = 365;
    public const int MaxReasonLength = 500;

    public static RouteGroupBuilder MapApprovalsApi(this RouteGroupBuilder api)
    {
        var tenant = api.MapGroup("/tenants/{tenantId:guid}/approvals").WithTags("Tiering");
        tenant.MapGet("", ListAsync).Allows(Access.TenantRead).WithSummary("Jobs waiting for approval, with their files, bytes, estimates and sample paths");
        tenant.MapPost("", ApproveAsync).Allows(Access.TenantManage).WithSummary("Approve waiting jobs: by id, or all (of one host)");
        tenant.MapPost("/decline", DeclineAsync).Allows(Access.TenantManage)
            .WithSummary("Decline waiting jobs: by id, or all (of one host); their files are not planned again for holdDays");
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
        if (TenantAccess.ToManage(services.Caller, tenantId, "plan approvals") is { } forbidden)
        {
            return forbidden;
        }
        var errors = new RequestErrors();
        CheckSelection(errors, request.JobIds, request.All, request.HostId);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var (chosen, refusal) = await ChooseAsync(services, tiering, hosts, tenantId, request.JobIds, request.HostId);
        if (refusal is not null)
        {
            return refusal;
        }
        var receipts = await PerHostAsync(services, chosen, (host, jobIds) => host.ApproveJobsAsync(jobIds));
        return TypedResults.Ok(new ApprovalReceipt([.. receipts.SelectMany(receipt => receipt.JobIds)], receipts.Sum(receipt => receipt.Files), receipts.Sum(receipt => receipt.Bytes)));
    }

    public static async Task<Results<Ok<DeclineReceipt>, ValidationProblem, ProblemHttpResult>> DeclineAsync(
        [AsParameters] GatewayServices services, TieringReadModel tiering, HostReadModel hosts, Guid tenantId, DeclineJobsRequest request)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "plan approvals") is { } forbidden)
        {
            return forbidden;
        }
        var errors = new RequestErrors();
        CheckSelection(errors, request.JobIds, request.All, request.HostId);
        var (hold, reason) = HoldAndReason(errors, request.HoldDays, request.Reason);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var (chosen, refusal) = await ChooseAsync(services, tiering, hosts, tenantId, request.JobIds, request.HostId);
        if (refusal is not null)
        {
            return refusal;
        }
        var receipts = await PerHostAsync(services, chosen, (host, jobIds) => host.DeclineJobsAsync(jobIds, hold, reason));
        return TypedResults.Ok(new DeclineReceipt([.. receipts.SelectMany(receipt => receipt.JobIds)], receipts.Sum(receipt => receipt.Files),
            receipts.Sum(receipt => receipt.Bytes), receipts.Max(receipt => receipt.HeldUntil)));
    }

    /// <summary>
    /// How long the files of a job stopped by an admin (declined, or cancelled) are held back from
    /// planning, 1 to <see cref="MaxHoldDays"/> days, and why (at most <see cref="MaxReasonLength"/> characters).
    /// </summary>
    public static (TimeSpan Hold, string? Reason) HoldAndReason(RequestErrors errors, int? holdDays, string? reason)
    {
        if (holdDays is < 1 or > MaxHoldDays)
        {
            errors.Add("holdDays", $"holdDays must be 1 to {MaxHoldDays} (default {DefaultHoldDays})");
        }
        return (TimeSpan.FromDays(Math.Clamp(holdDays ?? DefaultHoldDays, 1, MaxHoldDays)), errors.Name("reason", reason, MaxReasonLength, required: false));
    }

    /// <summary>Each host decides on its own jobs: one grain call per host of the chosen jobs, in turn.</summary>
    private static async Task<List<T>> PerHostAsync<T>(GatewayServices services, AwaitingJob[] chosen, Func<IHostGrain, Guid[], Task<T>> decide)
    {
        var receipts = new List<T>();
        foreach (var host in chosen.GroupBy(job => job.HostId))
        {
            receipts.Add(await decide(services.Grains.GetGrain<IHostGrain>(host.Key.ToString()), [.. host.Select(job => job.Id)]));
        }
        return receipts;
    }

    /// <summary>Exactly one of jobIds (1 to <see cref="MaxJobIds"/>) and "all": true; a hostId only narrows "all".</summary>
    private static void CheckSelection(RequestErrors errors, Guid[]? jobIds, bool? all, Guid? hostId)
    {
        if ((jobIds is not null) == (all is true))
        {
            errors.Add("jobIds", "give either jobIds or \"all\": true");
        }
        if (jobIds is { Length: 0 or > MaxJobIds })
        {
            errors.Add("jobIds", $"jobIds must hold 1 to {MaxJobIds} ids");
        }
        if (jobIds is not null && hostId is not null)
        {
            errors.Add("hostId", "hostId narrows \"all\"; with jobIds it is not needed");
        }
    }

    /// <summary>
    /// The waiting jobs a sound request names, or the refusal to answer with: a named job that is
    /// not waiting in this tenant (another tenant's, unknown, or decided meanwhile) refuses the
    /// whole request, so nothing is decided.
    /// </summary>
    private static async Task<(AwaitingJob[] Chosen, ProblemHttpResult? Refusal)> ChooseAsync(
        GatewayServices services, TieringReadModel tiering, HostReadModel hosts, Guid tenantId, Guid[]? jobIds, Guid? hostId)
    {
        // A hostId that is none of this tenant's hosts is a 404, not an empty decision.
        if (await TenantAccess.ToReadHostAsync(services.Caller, hosts, tenantId, hostId, services.Cancellation) is { } unknownHost)
        {
            return ([], unknownHost);
        }
        var waiting = await tiering.ListAwaitingApprovalAsync(tenantId, hostId, 0, services.Cancellation);
        if (jobIds is { } ids && ids.Except(waiting.Select(job => job.Id)).FirstOrDefault() is var unknown && unknown != Guid.Empty)
        {
            return ([], ApiProblems.NotFound($"job {unknown} is not waiting for approval in this tenant"));
        }
        return (jobIds is { } named ? [.. waiting.Where(job => named.Contains(job.Id))] : waiting, null);
    }
}
