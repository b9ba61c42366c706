using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tenants;
using Alto.Keys;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

public sealed record EnrollRequest(string? Token, string? AgentVersion, string? MachineName);

public sealed record AgentHostView(Guid HostId, Guid TenantId, string Name, string[] Volumes);

/// <summary>Endpoints agents call (as opposed to people).</summary>
public sealed record UnwrapDataKeyRequest(string? Wrapped);

/// <summary>A stub the agent is about to recall, as it reads it (see <c>StubTrust</c> in the agent).</summary>
public sealed record StubCheckRequest(string? Path, string? Locator, string? Sha256, bool? Legacy, string? BindingProblem);

/// <summary>"confirmed" (a record vouches for the stub) or "unknown" (none names its object, none contradicts it).</summary>
public sealed record StubCheckAnswer(string Verdict, string? RecordPath);

/// <summary>A data key in base64; sent only to the agent, over its authenticated connection.</summary>
public sealed record UnwrappedDataKey(string Key);

/// <summary>A target as the agent's tier-2 client takes it, secrets included; sent only to an agent of the target's tenant.</summary>
public sealed record AgentTargetAccess(
    string Kind, string? Path, string? Bucket, string? Region, string? Endpoint, string? Prefix, string? Container, string? AccountUrl,
    bool ForcePathStyle, string? AccessKeyId, string? SecretAccessKey, string? ConnectionString, string? AccountName, string? AccountKey,
    string? SasToken, string? Compression, bool UseHostIdentity)
{
    public static AgentTargetAccess From(Protocol.Agent.V1.StorageTarget target) => new(
        target.Kind, Empty(target.Path), Empty(target.Bucket), Empty(target.Region), Empty(target.Endpoint), Empty(target.Prefix), Empty(target.Container),
        Empty(target.AccountUrl), target.ForcePathStyle, Empty(target.AccessKeyId), Empty(target.SecretAccessKey), Empty(target.ConnectionString),
        Empty(target.AccountName), Empty(target.AccountKey), Empty(target.SasToken), Empty(target.Compression), target.UseHostIdentity);

    private static string? Empty(string text) => text.Length == 0 ? null : text;

    // The secrets stay out of logs.
    public override string ToString() => $"{Kind} target";
}

public static partial class AgentsApi
{
    public static RouteGroupBuilder MapAgentsApi(this RouteGroupBuilder api)
    {
        var agents = api.MapGroup("/agents").WithTags("Agents");
        agents.MapPost("/enroll", EnrollAsync).Allows(Access.Anonymous).AllowAnonymous().RequireRateLimiting(LoginRateLimit.Policy)
            .WithSummary("Exchange a host's one-time enrollment token for its host credential");
        agents.MapPost("/data-keys/unwrap", UnwrapDataKeyAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithSummary("The data key of an encrypted tier-2 object of the agent's own tenant, for a recall (host credential)");
        agents.MapPost("/targets/{targetId:guid}/access", GetTargetAccessAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithSummary("A storage target of the agent's own tenant with its secrets, when a recall needs it (host credential; audited)");
        agents.MapPost("/stubs/check", CheckStubAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithSummary("The cluster's word on a stub the agent is about to recall: confirmed, unknown, or refused (403) with the reason (host credential; refusals audited)");
        agents.MapGet("/me", GetOwnHostAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithSummary("The calling agent's own host: name and registered volumes (host credential)");
        return api;
    }

    public static async Task<Results<Ok<UnwrappedDataKey>, ValidationProblem, ProblemHttpResult>> UnwrapDataKeyAsync(
        HttpContext context, IGrainFactory grains, RefusalAudit refusals, UnwrapDataKeyRequest request)
    {
        var agent = AgentCaller.From(context.User);
        var errors = new RequestErrors();
        var wrapped = errors.Text("wrapped", request.Wrapped, 4096, required: true);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        // Only the key of the agent's own tenant is tried: another tenant's wrapped key does not open.
        var result = await grains.GetGrain<ITenantGrain>(agent.TenantId.ToString()).UnwrapDataKeyAsync(wrapped!);
        if (result.Error is { } error)
        {
            // A key that does not open under the tenant's key is another tenant's, or forged: audited as a refusal.
            await refusals.RecordAsync(context, "agent.unwrap_refused", error.Message, new Dictionary<string, object?>(), agent.TenantId, agent.HostId);
            return ApiProblems.From(error);
        }
        return TypedResults.Ok(new UnwrappedDataKey(Convert.ToBase64String(result.Value!)));
    }

    /// <summary>
    /// Secrets reach an agent only when it needs them: inside each job, and here, for a recall of
    /// a stub whose target it has not been sent since it started (a disabled target too: what it
    /// holds is still recalled). Each hand-out is audited.
    /// </summary>
    public static async Task<Results<Ok<AgentTargetAccess>, ValidationProblem, ProblemHttpResult>> GetTargetAccessAsync(
        HttpContext context, IGrainFactory grains, Alto.Audit.AdminAudit audit, Guid targetId, string? reason)
    {
        var agent = AgentCaller.From(context.User);
        // Recorded with each hand-out: a recall of a stub (the default), or a reconciliation run's work on the target.
        if ((reason ??= "recall") is not ("recall" or "reconcile"))
        {
            return ApiProblems.Invalid("reason", "reason must be 'recall' or 'reconcile'");
        }
        if (await grains.GetGrain<ITenantGrain>(agent.TenantId.ToString()).GetTargetForRecallAsync(targetId) is not { } target)
        {
            return ApiProblems.NotFound($"storage target {targetId} not found");
        }
        await audit.RecordAsync(agent.TenantId, "target.accessed", "storage_target", targetId.ToString(), null, null,
            new Dictionary<string, object?> { ["reason"] = reason }, hostId: agent.HostId);
        return TypedResults.Ok(AgentTargetAccess.From(Grpc.JobMessages.ToStorageTarget(target)));
    }

    /// <summary>
    /// Asked before every recall of a stub: a stub whose markers were copied onto another file, or
    /// that names another host's object, another file's, or one no longer stubbed, is refused —
    /// audited in the host's tenant chain with the agent's address, counted and logged.
    /// </summary>
    public static async Task<Results<Ok<StubCheckAnswer>, ValidationProblem, ProblemHttpResult>> CheckStubAsync(
        HttpContext context, StubRecordReadModel records, GatewayAudit audit, StubCheckMetrics metrics, StubCheckRequest request)
    {
        var agent = AgentCaller.From(context.User);
        var errors = new RequestErrors();
        var path = errors.AbsolutePath("path", request.Path, required: true);
        var locator = errors.Text("locator", request.Locator, 1024, required: true);
        var sha256 = errors.Matches("sha256", request.Sha256, Sha256Hex(), "must be 64 hexadecimal digits (a SHA-256)", required: true);
        var bindingProblem = errors.Text("bindingProblem", request.BindingProblem, 500, required: false);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var legacy = request.Legacy ?? false;
        var judgement = bindingProblem is not null
            ? StubJudgement.Refused(bindingProblem)
            : await records.JudgeAsync(new StubClaim(agent.TenantId, agent.HostId, path!, locator!, sha256!.ToLowerInvariant(), legacy), context.RequestAborted);
        if (judgement.Refusal is { } refusal)
        {
            metrics.Refused(agent.HostId, refusal);
            await audit.RecordAsync(context, GatewayAudit.ActorOf(context.User), "stub.recall_refused", "host", agent.HostId.ToString(), succeeded: false,
                new Dictionary<string, object?> { ["path"] = path, ["locator"] = locator, ["legacy"] = legacy, ["reason"] = refusal },
                tenantId: agent.TenantId, hostId: agent.HostId);
            return ApiProblems.Forbidden(refusal);
        }
        if (!judgement.Known)
        {
            // Not refused, yet no record vouches for it (tiered by hand, or records lost): the admin should know.
            await audit.RecordAsync(context, GatewayAudit.ActorOf(context.User), "stub.recall_unrecorded", "host", agent.HostId.ToString(), succeeded: true,
                new Dictionary<string, object?> { ["path"] = path, ["locator"] = locator }, tenantId: agent.TenantId, hostId: agent.HostId);
        }
        return TypedResults.Ok(new StubCheckAnswer(judgement.Known ? "confirmed" : "unknown", judgement.RecordPath));
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial System.Text.RegularExpressions.Regex Sha256Hex();

    public static async Task<Results<Ok<AgentHostView>, ProblemHttpResult>> GetOwnHostAsync(HttpContext context, IGrainFactory grains)
    {
        var agent = AgentCaller.From(context.User);
        var host = await grains.GetGrain<IHostGrain>(agent.HostId.ToString()).GetAsync();
        return host is null
            ? ApiProblems.NotFound("this host no longer exists")
            : TypedResults.Ok(new AgentHostView(host.Id, host.TenantId, host.Name, host.Volumes));
    }

    public static async Task<Results<Ok<HostEnrollment>, ValidationProblem, ProblemHttpResult>> EnrollAsync(
        EnrollRequest request, IGrainFactory grains, HttpContext http)
    {
        var errors = new RequestErrors();
        var version = errors.Text("agentVersion", request.AgentVersion, 100, required: false) ?? "unknown";
        var machine = errors.Text("machineName", request.MachineName, 255, required: false) ?? "";
        if (string.IsNullOrWhiteSpace(request.Token))
        {
            errors.Add("token", "token is required");
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        // A malformed token and an unknown one get the same answer.
        if (!EnrollmentTokens.TryReadHostId(request.Token!.Trim(), EnrollmentTokens.EnrollmentPrefix, out var hostId))
        {
            http.Items[RefusalAudit.FailureItem] = "a malformed enrollment token";
            return ApiProblems.Unauthorized("the enrollment token is not valid");
        }
        var result = await grains.GetGrain<IHostGrain>(hostId.Value.ToString()).EnrollAsync(new EnrollHost(request.Token.Trim(), version, machine));
        if (result.Error is { } refused)
        {
            // A spent, withdrawn or expired token (a replay, often): the refusal's audit entry says which host it named.
            http.Items[RefusalAudit.FailureItem] = $"enrollment for host {hostId} refused: {refused.Message}";
        }
        return result.Error switch
        {
            null => TypedResults.Ok(result.Value!),
            { Kind: GrainInterfaces.Common.CommandErrorKind.NotFound } error => ApiProblems.Unauthorized(error.Message),
            { } error => ApiProblems.Unauthorized(error.Message),
        };
    }
}
