using System.Text.Json;
using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Reconcile;
using Alto.Scanning;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Alto.Gateway.Apis;

/// <summary>
/// How closely to look (list, head or deep), how much of the target to re-hash in deep mode, how
/// hard to press tier 2, and whether to delete orphans past the grace period (the tenant's policy when not given).
/// </summary>
public sealed record StartReconcileRequest(string? Depth, int? SamplePercent, int? RequestsPerSecond, bool? AllowMassLoss = null, bool? ReclaimOrphans = null);

/// <summary>A run as its listing agent needs it.</summary>
public sealed record AgentReconcileRun(Guid RunId, Guid TargetId, string Depth, int SamplePercent, int RequestsPerSecond, string Status, string? Cursor);

public sealed record ListedObjectRequest(string? Key, long? Length, DateTimeOffset? Modified, string? Problem, bool? Checked);

/// <summary>The next part of a run's listing as JSON, after the run's cursor (the agent sends it packed: see <see cref="ListingPartFormat"/>).</summary>
public sealed record ReconcileListingRequest(string? After, ListedObjectRequest[]? Objects, bool? Finished, string? Failure);

/// <summary>A target's reconciliation schedule: every so many hours, with a run's settings.</summary>
public sealed record ReconcileScheduleRequest(int? EveryHours, string? Depth, int? SamplePercent, int? RequestsPerSecond);

/// <summary>What the agent found at one path; <c>pathEscaped</c> when the path is a name that is not UTF-8, escaped as the census asked it.</summary>
public sealed record StubFactRequest(string? Path, string? Found, string? Locator, string? Sha256, Guid? TargetId, string? Detail, bool? PathEscaped = null);

/// <summary>What the agent found at the paths a run's census asked it about.</summary>
public sealed record CensusReportRequest(StubFactRequest[]? Facts);

public sealed record ReclaimResultRequest(string? Key, string? Outcome, string? Detail);

public sealed record RestoreResultRequest(long? TierObjectId, string? Outcome, string? Detail);

/// <summary>What a copy's agent did with the lost stubs it was given to re-tier.</summary>
public sealed record RestoreReportRequest(RestoreResultRequest[]? Results);

/// <summary>What the listing agent did with the orphans it was given to delete.</summary>
public sealed record ReclaimReportRequest(ReclaimResultRequest[]? Results);

/// <summary>
/// The sanitizer: reconciliation runs of a storage target (started by a tenant admin, read by
/// support roles) and the agent's side of a run (its host credential, its own runs only).
/// </summary>
public static class ReconcileApi
{
    public const int DefaultDeepSamplePercent = 10;

    public static RouteGroupBuilder MapReconcileApi(this RouteGroupBuilder api)
    {
        var tenant = api.MapGroup("/tenants/{tenantId:guid}").WithTags("Reconciliation");
        tenant.MapPost("/targets/{targetId:guid}/reconcile", StartAsync).Allows(Access.TenantManage)
            .WithSummary("Reconcile a storage target with the tier-object records (depth list, head or deep); an online agent of the tenant lists it");
        // The schedule's revision is its settings' (its last tick moves by itself).
        tenant.MapGet("/targets/{targetId:guid}/reconcile-schedule", GetScheduleAsync).Allows(Access.TenantSupport)
            .TagsRevision<ReconcileScheduleInfo>(info => info.Schedule)
            .WithSummary("The target's reconciliation schedule and what its last tick did (its settings' revision as the ETag)");
        tenant.MapPut("/targets/{targetId:guid}/reconcile-schedule", SetScheduleAsync).Allows(Access.TenantManage)
            .TagsRevision<ReconcileScheduleInfo>(info => info.Schedule)
            .WithSummary("Reconcile the target every so many hours (1 to 2160), with a run's depth, sample and request rate (with If-Match: only if the schedule is still at the revision read)");
        tenant.MapDelete("/targets/{targetId:guid}/reconcile-schedule", ClearScheduleAsync).Allows(Access.TenantManage)
            .WithSummary("Stop reconciling the target on a schedule (with If-Match: only if the schedule is still at the revision read)");
        tenant.MapGet("/reconcile-runs", ListRunsAsync).Allows(Access.TenantSupport).WithSummary("Reconciliation runs, newest first (filter by target)");
        tenant.MapGet("/reconcile-runs/{runId:guid}", GetRunAsync).Allows(Access.TenantSupport).WithSummary("One run: status, progress and counts per class");
        tenant.MapPost("/reconcile-runs/{runId:guid}/cancel", CancelRunAsync).Allows(Access.TenantManage)
            .WithSummary("Cancel a run still going: its agent stops listing at its next part, and orphans not yet deleted are kept (409 once it is over)");
        tenant.MapGet("/reconcile-runs/{runId:guid}/findings", ListFindingsAsync).Allows(Access.TenantSupport)
            .WithSummary("What a run found and what was done about it (filter by class: missing, orphan, drift, found)");

        var agents = api.MapGroup("/agents/reconcile-runs").WithTags("Agents");
        agents.MapGet("/{runId:guid}", GetForAgentAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithSummary("A reconciliation run this agent lists: target, depth and the cursor to resume after (host credential)");
        agents.MapPost("/{runId:guid}/listing", RecordListingAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .Accepts<ReconcileListingRequest>("application/json", ListingPartFormat.ContentType)
            .WithSummary($"The next part of a run's listing, in key order after the run's cursor, packed or as JSON (host credential; at most {ListingPartFormat.MaxEntries} objects)");
        agents.MapPost("/{runId:guid}/stubs", RecordCensusAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithSummary($"What the agent found at the paths a run's census asked it about (host credential; at most {StubFact.MaxPerReport} paths)");
        agents.MapGet("/{runId:guid}/reclaim", GetReclaimAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithSummary($"The next orphans (at most {ReclaimOrder.MaxKeys}) a reclaiming run's listing agent is to delete, and the cut-off (host credential)");
        agents.MapPost("/{runId:guid}/reclaimed", RecordReclaimAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithSummary("What the listing agent did with orphans it was given: deleted, newer, absent or failed (host credential)");
        agents.MapGet("/{runId:guid}/restores", GetRestoresAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithSummary("Lost stubs this host is to re-tier from its intact copies: the file, its SHA-256 and size, the target and key (host credential)");
        agents.MapPost("/{runId:guid}/restored", RecordRestoresAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithSummary("What this host's agent did with each: restored, mismatch or failed (host credential)");
        return api;
    }

    public static async Task<Results<Accepted<ReconcileRunInfo>, ValidationProblem, ProblemHttpResult>> StartAsync(
        [AsParameters] GatewayServices services, HttpContext context, Guid tenantId, Guid targetId, StartReconcileRequest? request)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "reconcile storage targets") is { } refusal)
        {
            return refusal;
        }
        request ??= new StartReconcileRequest(null, null, null);
        var errors = new RequestErrors();
        var depth = RunSettings(errors, request.Depth, request.SamplePercent, request.RequestsPerSecond);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var order = new ReconcileOrder(targetId, depth, request.SamplePercent ?? DefaultDeepSamplePercent,
            request.RequestsPerSecond ?? ReconcileOrder.DefaultRequestsPerSecond, GatewayAudit.ActorOf(context.User), request.AllowMassLoss ?? false,
            request.ReclaimOrphans);
        var runId = Guid.NewGuid();
        var result = await services.Grains.GetGrain<IReconcileRunGrain>(runId).StartAsync(tenantId, order);
        return result.Error is { } error
            ? ApiProblems.From(error)
            : TypedResults.Accepted($"/api/v1/tenants/{tenantId}/reconcile-runs/{runId}", result.Value);
    }

    /// <summary>A run's depth (head when not given), with the sample and the request rate checked against it.</summary>
    private static ReconcileDepth RunSettings(RequestErrors errors, string? depthName, int? samplePercent, int? requestsPerSecond)
    {
        ReconcileDepth? parsed = depthName switch
        {
            null or "head" => ReconcileDepth.Head,
            "list" => ReconcileDepth.List,
            "deep" => ReconcileDepth.Deep,
            _ => null,
        };
        if (parsed is not { } depth)
        {
            errors.Add("depth", "depth must be list, head or deep");
            depth = ReconcileDepth.Head;
        }
        if (samplePercent is { } sample && (sample is < 1 or > 100 || depth != ReconcileDepth.Deep))
        {
            errors.Add("samplePercent", depth == ReconcileDepth.Deep ? "samplePercent must be 1 to 100" : "samplePercent applies to depth deep only");
        }
        if (requestsPerSecond is < 1 or > 100_000)
        {
            errors.Add("requestsPerSecond", "requestsPerSecond must be 1 to 100000");
        }
        return depth;
    }

    public static async Task<Results<Ok<ReconcileScheduleInfo>, ProblemHttpResult>> GetScheduleAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid targetId)
    {
        if (TenantAccess.ToSupport(services.Caller, tenantId, "read reconciliation schedules") is { } refusal)
        {
            return refusal;
        }
        return await services.Grains.GetGrain<IReconcileScheduleGrain>(targetId).GetAsync(tenantId) is { } schedule
            ? TypedResults.Ok(schedule)
            : ApiProblems.NotFound($"storage target {targetId} has no reconciliation schedule");
    }

    public static async Task<Results<Ok<ReconcileScheduleInfo>, ValidationProblem, ProblemHttpResult>> SetScheduleAsync(
        [AsParameters] GatewayServices services, HttpContext context, Guid tenantId, Guid targetId, ReconcileScheduleRequest request,
        [FromHeader(Name = Preconditions.IfMatchHeader)] string? ifMatch)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "schedule reconciliations") is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var expected = Preconditions.IfMatch(errors, ifMatch);
        if (request.EveryHours is not (>= 1 and <= ReconcileSchedule.MaxEveryHours))
        {
            errors.Add("everyHours", $"everyHours is required, 1 to {ReconcileSchedule.MaxEveryHours}");
        }
        var depth = RunSettings(errors, request.Depth, request.SamplePercent, request.RequestsPerSecond);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var result = await services.Grains.GetGrain<IReconcileScheduleGrain>(targetId).SetAsync(tenantId,
            new ReconcileSchedule(request.EveryHours!.Value, depth, request.SamplePercent ?? DefaultDeepSamplePercent, request.RequestsPerSecond ?? ReconcileOrder.DefaultRequestsPerSecond),
            GatewayAudit.ActorOf(context.User), expected);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> ClearScheduleAsync(
        [AsParameters] GatewayServices services, HttpContext context, Guid tenantId, Guid targetId, [FromHeader(Name = Preconditions.IfMatchHeader)] string? ifMatch) =>
        TenantAccess.DeleteAsync(services.Caller, tenantId, "schedule reconciliations", ifMatch,
            expected => services.Grains.GetGrain<IReconcileScheduleGrain>(targetId).ClearAsync(tenantId, GatewayAudit.ActorOf(context.User), expected));

    public static async Task<Results<Ok<Page<ReconcileRunView>>, ValidationProblem, ProblemHttpResult>> ListRunsAsync(
        [AsParameters] GatewayServices services, ReconcileReadModel runs, StorageTargetReadModel targets, Guid tenantId, Guid? targetId, int? page, int? pageSize)
    {
        if (TenantAccess.ToSupport(services.Caller, tenantId, "read reconciliation runs") is { } refusal)
        {
            return refusal;
        }
        // A filter naming no target of the tenant (mistyped, or another tenant's) is answered as
        // not found, as a host filter is: an empty list would read as "never reconciled".
        if (targetId is { } target && !await targets.BelongsAsync(tenantId, target, services.Cancellation))
        {
            return ApiProblems.NotFound($"storage target {target} not found");
        }
        return await TenantAccess.ListAsync(services.Caller, tenantId, page, pageSize, request => runs.ListRunsAsync(tenantId, targetId, request, services.Cancellation));
    }

    public static async Task<Results<Ok<ReconcileRunInfo>, ProblemHttpResult>> CancelRunAsync(
        [AsParameters] GatewayServices services, HttpContext context, Guid tenantId, Guid runId)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "cancel reconciliation runs") is { } refusal)
        {
            return refusal;
        }
        var result = await services.Grains.GetGrain<IReconcileRunGrain>(runId).CancelAsync(tenantId, GatewayAudit.ActorOf(context.User));
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static async Task<Results<Ok<ReconcileRunView>, ProblemHttpResult>> GetRunAsync(
        [AsParameters] GatewayServices services, ReconcileReadModel runs, Guid tenantId, Guid runId)
    {
        if (TenantAccess.ToSupport(services.Caller, tenantId, "read reconciliation runs") is { } refusal)
        {
            return refusal;
        }
        return await runs.GetRunAsync(tenantId, runId, services.Cancellation) is { } run
            ? TypedResults.Ok(run)
            : ApiProblems.NotFound($"reconcile run {runId} not found");
    }

    public static async Task<Results<Ok<Page<ReconcileFindingView>>, ValidationProblem, ProblemHttpResult>> ListFindingsAsync(
        [AsParameters] GatewayServices services, ReconcileReadModel runs, Guid tenantId, Guid runId, string? @class, int? page, int? pageSize)
    {
        if (TenantAccess.ToSupport(services.Caller, tenantId, "read reconciliation runs") is { } refusal)
        {
            return refusal;
        }
        if (@class is not null && !ReconcileReadModel.Classes.Contains(@class))
        {
            return ApiProblems.Invalid("class", $"class must be one of {string.Join(", ", ReconcileReadModel.Classes)}");
        }
        if (await runs.GetRunAsync(tenantId, runId, services.Cancellation) is null)
        {
            return ApiProblems.NotFound($"reconcile run {runId} not found");
        }
        return await TenantAccess.ListAsync(services.Caller, tenantId, page, pageSize,
            request => runs.ListFindingsAsync(tenantId, runId, @class, request, services.Cancellation));
    }

    public static async Task<Results<Ok<AgentReconcileRun>, ProblemHttpResult>> GetForAgentAsync(HttpContext context, IGrainFactory grains, Guid runId)
    {
        var agent = AgentCaller.From(context.User);
        var result = await grains.GetGrain<IReconcileRunGrain>(runId).GetForAgentAsync(agent.TenantId, agent.HostId);
        if (result.Error is { } error)
        {
            return ApiProblems.From(error);
        }
        var run = result.Value!;
        return TypedResults.Ok(new AgentReconcileRun(run.RunId, run.TargetId, run.Depth.ToString().ToLowerInvariant(), run.SamplePercent, run.RequestsPerSecond,
            run.Status, run.CursorKey));
    }

    /// <summary>
    /// Takes a part as the agent sends it — packed (<see cref="ListingPartFormat"/>), handed to
    /// the run untouched — or as JSON, which is checked for its shape and packed here. Either way
    /// the run's grain reads the part and refuses it whole if anything in it is wrong.
    /// </summary>
    public static async Task<Results<Ok<ReconcileListingReceipt>, ValidationProblem, ProblemHttpResult>> RecordListingAsync(
        HttpContext context, IGrainFactory grains, Guid runId, CancellationToken cancellationToken)
    {
        var agent = AgentCaller.From(context.User);
        byte[] packed;
        switch (context.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant())
        {
            case ListingPartFormat.ContentType:
                using (var body = new MemoryStream())
                {
                    // The gateway's request size limit bounds what is read.
                    await context.Request.Body.CopyToAsync(body, cancellationToken);
                    packed = body.ToArray();
                }
                break;
            case "application/json":
                var request = await ReadJsonAsync<ReconcileListingRequest>(context.Request, cancellationToken);
                var errors = new RequestErrors();
                if (Pack(request, errors) is not { } fromJson)
                {
                    return ApiProblems.Invalid(errors);
                }
                packed = fromJson;
                break;
            default:
                return TypedResults.Problem($"a listing part is sent as Content-Type: {ListingPartFormat.ContentType} or application/json",
                    statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type");
        }
        var result = await grains.GetGrain<IReconcileRunGrain>(runId).RecordListingAsync(agent.TenantId, agent.HostId, new ReconcileListing(packed));
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    /// <summary>A JSON part packed as the agent would have sent it, or null with what is missing.</summary>
    private static byte[]? Pack(ReconcileListingRequest? request, RequestErrors errors)
    {
        var objects = request?.Objects ?? [];
        if (objects.Length > ListingPartFormat.MaxEntries)
        {
            errors.Add("objects", $"a part holds at most {ListingPartFormat.MaxEntries} objects (got {objects.Length})");
            return null;
        }
        var entries = new ListingEntry[objects.Length];
        for (var i = 0; i < objects.Length && errors.Count < 50; i++)
        {
            if (objects[i] is not { Key: { } key, Length: { } length } item)
            {
                errors.Add($"objects[{i}]", "each object needs its key and length");
                continue;
            }
            entries[i] = new ListingEntry(key, length, item.Modified, item.Problem, item.Checked ?? false);
        }
        return errors.Any ? null : ListingPartFormat.Write(new ListingPart(request?.After, entries, request?.Finished ?? false, request?.Failure));
    }

    /// <summary>The body as JSON with the API's settings; JSON that does not parse is refused as the framework's own binding refuses it.</summary>
    private static async Task<T?> ReadJsonAsync<T>(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await request.ReadFromJsonAsync<T>(cancellationToken);
        }
        catch (JsonException exception)
        {
            throw new BadHttpRequestException("The body is not valid JSON for this request.", StatusCodes.Status400BadRequest, exception);
        }
    }

    public static async Task<Results<Ok<CensusReceipt>, ValidationProblem, ProblemHttpResult>> RecordCensusAsync(
        HttpContext context, IGrainFactory grains, Guid runId, CensusReportRequest request)
    {
        var agent = AgentCaller.From(context.User);
        var facts = (request.Facts ?? []).Take(StubFact.MaxPerReport + 1)
            .Select(fact => new StubFact(fact?.Path ?? "", fact?.Found ?? "", fact?.Locator, fact?.Sha256, fact?.TargetId, fact?.Detail) { PathEscaped = fact?.PathEscaped ?? false })
            .ToArray();
        var result = await grains.GetGrain<IReconcileRunGrain>(runId).RecordCensusAsync(agent.TenantId, agent.HostId, facts);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static async Task<Results<Ok<ReclaimOrder>, ProblemHttpResult>> GetReclaimAsync(HttpContext context, IGrainFactory grains, Guid runId)
    {
        var agent = AgentCaller.From(context.User);
        var result = await grains.GetGrain<IReconcileRunGrain>(runId).GetReclaimAsync(agent.TenantId, agent.HostId);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static async Task<Results<Ok<ReclaimReceipt>, ValidationProblem, ProblemHttpResult>> RecordReclaimAsync(
        HttpContext context, IGrainFactory grains, Guid runId, ReclaimReportRequest request)
    {
        var agent = AgentCaller.From(context.User);
        var results = (request.Results ?? []).Take(ReclaimOrder.MaxKeys + 1)
            .Select(result => new ReclaimResult(result?.Key ?? "", result?.Outcome ?? "", result?.Detail)).ToArray();
        var result = await grains.GetGrain<IReconcileRunGrain>(runId).RecordReclaimAsync(agent.TenantId, agent.HostId, results);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static async Task<Results<Ok<RestoreItem[]>, ProblemHttpResult>> GetRestoresAsync(HttpContext context, IGrainFactory grains, Guid runId)
    {
        var agent = AgentCaller.From(context.User);
        var result = await grains.GetGrain<IReconcileRunGrain>(runId).GetRestoresAsync(agent.TenantId, agent.HostId);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static async Task<Results<Ok<RestoreReceipt>, ValidationProblem, ProblemHttpResult>> RecordRestoresAsync(
        HttpContext context, IGrainFactory grains, Guid runId, RestoreReportRequest request)
    {
        var agent = AgentCaller.From(context.User);
        var results = (request.Results ?? []).Take(RestoreResult.MaxPerReport + 1)
            .Select(result => new RestoreResult(result?.TierObjectId ?? 0, result?.Outcome ?? "", result?.Detail)).ToArray();
        var result = await grains.GetGrain<IReconcileRunGrain>(runId).RecordRestoresAsync(agent.TenantId, agent.HostId, results);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }
}
