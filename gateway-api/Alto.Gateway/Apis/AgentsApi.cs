using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tenants;
using Alto.Grains.Hosts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

public sealed record EnrollRequest(string? Token, string? AgentVersion, string? MachineName);

public sealed record AgentHostView(Guid HostId, Guid TenantId, string Name, string[] Volumes);

/// <summary>Endpoints agents call (as opposed to people).</summary>
public sealed record UnwrapDataKeyRequest(string? Wrapped);

/// <summary>A data key in base64; sent only to the agent, over its authenticated connection.</summary>
public sealed record UnwrappedDataKey(string Key);

public static class AgentsApi
{
    public static RouteGroupBuilder MapAgentsApi(this RouteGroupBuilder api)
    {
        var agents = api.MapGroup("/agents").WithTags("Agents");
        agents.MapPost("/enroll", EnrollAsync).Allows(Access.Anonymous).AllowAnonymous().RequireRateLimiting(LoginRateLimit.Policy)
            .WithSummary("Exchange a host's one-time enrollment token for its host credential");
        agents.MapPost("/data-keys/unwrap", UnwrapDataKeyAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithSummary("The data key of an encrypted tier-2 object of the agent's own tenant, for a recall (host credential)");
        agents.MapGet("/me", GetOwnHostAsync).Allows(Access.Agent).RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithSummary("The calling agent's own host: name and registered volumes (host credential)");
        return api;
    }

    public static async Task<Results<Ok<UnwrappedDataKey>, ValidationProblem, ProblemHttpResult>> UnwrapDataKeyAsync(
        HttpContext context, IGrainFactory grains, UnwrapDataKeyRequest request)
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
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(new UnwrappedDataKey(Convert.ToBase64String(result.Value!)));
    }

    public static async Task<Results<Ok<AgentHostView>, ProblemHttpResult>> GetOwnHostAsync(HttpContext context, IGrainFactory grains)
    {
        var agent = AgentCaller.From(context.User);
        var host = await grains.GetGrain<IHostGrain>(agent.HostId.ToString()).GetAsync();
        return host is null
            ? ApiProblems.NotFound("this host no longer exists")
            : TypedResults.Ok(new AgentHostView(host.Id, host.TenantId, host.Name, host.Volumes));
    }

    public static async Task<Results<Ok<HostEnrollment>, ValidationProblem, ProblemHttpResult>> EnrollAsync(
        EnrollRequest request, IGrainFactory grains)
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
            return ApiProblems.Unauthorized("the enrollment token is not valid");
        }
        var result = await grains.GetGrain<IHostGrain>(hostId.Value.ToString()).EnrollAsync(new EnrollHost(request.Token.Trim(), version, machine));
        return result.Error switch
        {
            null => TypedResults.Ok(result.Value!),
            { Kind: GrainInterfaces.Common.CommandErrorKind.NotFound } error => ApiProblems.Unauthorized(error.Message),
            { } error => ApiProblems.Unauthorized(error.Message),
        };
    }
}
