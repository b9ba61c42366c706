using System.Text.RegularExpressions;
using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.Options;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.Rules;
using Alto.Scanning;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Alto.Gateway.Apis;

public sealed record RegisterHostRequest(string? Name, string? Os, string[]? Volumes);

/// <summary>A partial update. A bandwidth limit of 0 removes the limit; an empty list of transfer windows means always.</summary>
public sealed record UpdateHostRequest(
    string[]? Volumes, long? BandwidthLimitBytesPerSecond, TransferWindow[]? TransferWindows, string? TimeZone, LucidLinkRequest? LucidLink,
    string? Name = null);

/// <summary>The LucidLink filespace the agent tails (its root), and how often; an empty root turns tailing off.</summary>
public sealed record LucidLinkRequest(string? FilespaceRoot, int? PollSeconds, int? FullScanDays);

/// <summary>Exactly one of: some paths, everything below a folder, everything a rule tiered.</summary>
public sealed record RecallHostRequest(string[]? Paths, string? Directory, Guid? RuleId);

/// <summary>Optional: which folders (default: the registered volumes) and which chunk format.</summary>
public sealed record ScanNowRequest(string[]? Paths, string? Format);

public static partial class HostsApi
{
    public const int MaxVolumes = 64;
    public const int MaxTransferWindows = 14;

    public static RouteGroupBuilder MapHostsApi(this RouteGroupBuilder api)
    {
        var hosts = api.MapGroup("/tenants/{tenantId:guid}/hosts").WithTags("Hosts");
        hosts.MapGet("/", ListHostsAsync).Allows(Access.TenantRead).WithSummary("List a tenant's hosts");
        hosts.MapPost("/", RegisterHostAsync).Allows(Access.TenantManage)
            .WithSummary("Register a host; the answer carries its one-time enrollment token, shown only once");
        hosts.MapGet("/{hostId:guid}", GetHostAsync).Allows(Access.TenantRead).TagsRevision<HostInfo>(HostSettings.Of)
            .WithSummary("Get one host (the revision of its settings as the ETag)");
        hosts.MapPatch("/{hostId:guid}", UpdateHostAsync).Allows(Access.TenantManage).TagsRevision<HostInfo>(HostSettings.Of)
            .WithSummary("Change a host's name (unique in its tenant), volumes (pushed to its agent if connected), bandwidth limit (0 for none), " +
                "transfer windows or LucidLink filespace, all or none; with If-Match: only if its settings are still at the revision read");
        hosts.MapPost("/{hostId:guid}/scan", RequestScanAsync).Allows(Access.TenantManage)
            .WithSummary("Ask the host's agent to scan now (queued until the agent is connected)");
        hosts.MapPost("/{hostId:guid}/recall", RecallAsync).Allows(Access.TenantSupport)
            .WithSummary("Recall stubs of a host by paths, folder or rule (queued until the agent is connected)");
        hosts.MapPost("/{hostId:guid}/enrollment-token", RenewEnrollmentTokenAsync).Allows(Access.TenantManage)
            .WithSummary("Issue a new one-time enrollment token for a host (the old one stops working)");
        hosts.MapDelete("/{hostId:guid}/enrollment-token", RevokeEnrollmentTokenAsync).Allows(Access.TenantManage)
            .WithSummary("Withdraw the host's unused enrollment token");
        hosts.MapPost("/{hostId:guid}/credential/revoke", RevokeCredentialAsync).Allows(Access.TenantManage)
            .WithSummary("Withdraw the host credential now (the agent is disconnected and must enroll again with a new token)");
        hosts.MapDelete("/{hostId:guid}", DeleteHostAsync).Allows(Access.TenantManage)
            .WithSummary("Delete a host registered by mistake: not enrolled (revoke its credential first) and never scanned (409 saying what names it; with If-Match: only at the revision read)");
        return api;
    }

    public static Task<Results<Ok<Page<HostInfo>>, ValidationProblem, ProblemHttpResult>> ListHostsAsync(
        [AsParameters] GatewayServices services, HostReadModel hosts, Guid tenantId, int? page, int? pageSize) =>
        TenantAccess.ListAsync(services.Caller, tenantId, page, pageSize, request => hosts.ListAsync(tenantId, request, services.Cancellation));

    public static async Task<Results<Created<HostRegistration>, ValidationProblem, ProblemHttpResult>> RegisterHostAsync(
        [AsParameters] GatewayServices services, IOptions<HostRegistrationOptions> options, Guid tenantId, RegisterHostRequest request)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "hosts") is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var name = ReadName(errors, request.Name, required: true);
        var os = request.Os switch
        {
            null or "linux" => HostOs.Linux,
            "windows" => HostOs.Windows,
            _ => (HostOs?)null,
        };
        if (os is null)
        {
            errors.Add("os", "os must be 'linux' or 'windows'");
        }
        var volumes = ReadVolumes(errors, request.Volumes, HostPathFlavor.Of(os ?? HostOs.Linux));
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }

        var id = Guid.NewGuid();
        var result = await services.Grains.GetGrain<IHostGrain>(id.ToString()).RegisterAsync(
            new RegisterHost(tenantId, name!, os!.Value, volumes, options.Value.EnrollmentTokenLifetime));
        return result.Error is { } error
            ? ApiProblems.From(error)
            : TypedResults.Created($"/api/v1/tenants/{tenantId}/hosts/{id}", result.Value);
    }

    public static async Task<Results<Ok<HostInfo>, ProblemHttpResult>> GetHostAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid hostId)
    {
        if (TenantAccess.ToRead(services.Caller, tenantId) is { } refusal)
        {
            return refusal;
        }
        var host = await services.Grains.GetGrain<IHostGrain>(hostId.ToString()).GetAsync();
        // A host of another tenant is as absent as one that never existed.
        return host is null || host.TenantId != tenantId
            ? ApiProblems.NotFound($"host {hostId} not found")
            : TypedResults.Ok(host);
    }

    public static async Task<Results<Ok<HostInfo>, ValidationProblem, ProblemHttpResult>> UpdateHostAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid hostId, UpdateHostRequest request,
        [FromHeader(Name = Preconditions.IfMatchHeader)] string? ifMatch)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "hosts") is { } refusal)
        {
            return refusal;
        }
        var grain = services.Grains.GetGrain<IHostGrain>(hostId.ToString());
        var host = await grain.GetAsync();
        // Paths are read as the host spells them; a host that is not this tenant's is answered 404 after the request is checked.
        var flavor = HostPathFlavor.Of(host?.Os ?? HostOs.Linux);
        var errors = new RequestErrors();
        var expected = Preconditions.IfMatch(errors, ifMatch);
        if (request is { Volumes: null, BandwidthLimitBytesPerSecond: null, TransferWindows: null, TimeZone: null, LucidLink: null, Name: null })
        {
            errors.Add("volumes", "give at least one of name, volumes, bandwidthLimitBytesPerSecond, transferWindows, timeZone, lucidLink");
        }
        var name = ReadName(errors, request.Name, required: false);
        var lucidLink = ReadLucidLink(errors, request.LucidLink, flavor);
        if (request.TransferWindows is { Length: > MaxTransferWindows })
        {
            errors.Add("transferWindows", $"at most {MaxTransferWindows} transfer windows");
        }
        // The grain checks them too and makes no part of a change with a bad one; here every bad field is named in one answer.
        var windows = request.TransferWindows ?? [];
        for (var i = 0; i < windows.Length; i++)
        {
            if ((windows[i] is null ? "a window is required" : Alto.Rules.TransferWindows.Problem(windows[i])) is { } problem)
            {
                errors.Add($"transferWindows[{i}]", problem);
            }
        }
        if (request.TimeZone is { } zone && !Alto.Rules.TransferWindows.IsTimeZone(zone))
        {
            errors.Add("timeZone", $"'{zone}' is not a time zone (IANA names such as Europe/Berlin, or UTC)");
        }
        if (request.BandwidthLimitBytesPerSecond is < 0)
        {
            errors.Add("bandwidthLimitBytesPerSecond", "bandwidthLimitBytesPerSecond must be positive, or 0 for no limit");
        }
        var volumes = ReadVolumes(errors, request.Volumes, flavor);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        if (host is null || host.TenantId != tenantId)
        {
            return ApiProblems.NotFound($"host {hostId} not found");
        }
        var result = await grain.UpdateSettingsAsync(new HostSettingsChange(
            request.Volumes is null ? null : volumes, request.BandwidthLimitBytesPerSecond, request.TransferWindows, request.TimeZone,
            ChangesLucidLink: request.LucidLink is not null, lucidLink, name), expected);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    public static async Task<Results<Accepted<CommandReceipt>, ValidationProblem, ProblemHttpResult>> RequestScanAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid hostId, ScanNowRequest? request)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "hosts") is { } refusal)
        {
            return refusal;
        }
        var grain = services.Grains.GetGrain<IHostGrain>(hostId.ToString());
        var host = await grain.GetAsync();
        var flavor = HostPathFlavor.Of(host?.Os ?? HostOs.Linux);
        var errors = new RequestErrors();
        var paths = new List<string>();
        var given = request?.Paths ?? [];
        if (given.Length > MaxVolumes)
        {
            errors.Add("paths", $"at most {MaxVolumes} paths");
        }
        for (var i = 0; i < given.Length && i < MaxVolumes; i++)
        {
            if (errors.HostPath($"paths[{i}]", given[i], flavor, required: true) is { } path)
            {
                paths.Add(path);
            }
        }
        var format = request?.Format ?? "csv";
        if (format is not ("csv" or "parquet"))
        {
            errors.Add("format", "format must be csv or parquet");
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        if (host is null || host.TenantId != tenantId)
        {
            return ApiProblems.NotFound($"host {hostId} not found");
        }
        var result = await grain.RequestScanAsync([.. paths], format);
        return result.Error is { } error
            ? ApiProblems.From(error)
            : TypedResults.Accepted($"/api/v1/tenants/{tenantId}/hosts/{hostId}", result.Value);
    }

    public const int MaxRecallPaths = 10_000;

    public static async Task<Results<Accepted<RecallReceipt>, ValidationProblem, ProblemHttpResult>> RecallAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid hostId, RecallHostRequest request)
    {
        if (TenantAccess.ToSupport(services.Caller, tenantId, "recall files") is { } refusal)
        {
            return refusal;
        }
        var grain = services.Grains.GetGrain<IHostGrain>(hostId.ToString());
        var host = await grain.GetAsync();
        var flavor = HostPathFlavor.Of(host?.Os ?? HostOs.Linux);
        var errors = new RequestErrors();
        if ((request.Paths is not null ? 1 : 0) + (request.Directory is not null ? 1 : 0) + (request.RuleId is not null ? 1 : 0) != 1)
        {
            errors.Add("paths", "give exactly one of paths, directory or ruleId");
        }
        var paths = new List<string>();
        if (request.Paths is { Length: > MaxRecallPaths })
        {
            errors.Add("paths", $"at most {MaxRecallPaths} paths per request; recall a directory for more");
        }
        else if (request.Paths is { } given)
        {
            if (given.Length == 0)
            {
                errors.Add("paths", "paths must not be empty");
            }
            for (var i = 0; i < given.Length; i++)
            {
                if (errors.HostPath($"paths[{i}]", given[i], flavor, required: true) is { } path)
                {
                    paths.Add(path);
                }
            }
        }
        var directory = request.Directory is null ? null : errors.HostPath("directory", request.Directory, flavor, required: true);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        if (host?.TenantId != tenantId)
        {
            return ApiProblems.NotFound($"host {hostId} not found");
        }
        if (request.RuleId is { } ruleId && await services.Grains.GetGrain<GrainInterfaces.Tenants.ITenantGrain>(tenantId.ToString()).GetRuleAsync(ruleId) is null)
        {
            return ApiProblems.Invalid("ruleId", $"rule {ruleId} is not a rule of this tenant");
        }
        var result = await grain.RequestRecallAsync(new RecallSelection(request.Paths is null ? null : [.. paths], directory, request.RuleId));
        return result.Error is { } error
            ? ApiProblems.From(error)
            : TypedResults.Accepted($"/api/v1/tenants/{tenantId}/hosts/{hostId}", result.Value);
    }

    public static Task<Results<Ok<HostRegistration>, ProblemHttpResult>> RenewEnrollmentTokenAsync(
        [AsParameters] GatewayServices services, IOptions<HostRegistrationOptions> options, Guid tenantId, Guid hostId) =>
        ChangeOwnHostAsync(services, tenantId, hostId, host => host.RenewEnrollmentTokenAsync(options.Value.EnrollmentTokenLifetime));

    public static Task<Results<Ok<HostInfo>, ProblemHttpResult>> RevokeEnrollmentTokenAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid hostId) =>
        ChangeOwnHostAsync(services, tenantId, hostId, host => host.RevokeEnrollmentTokenAsync());

    public static Task<Results<Ok<HostInfo>, ProblemHttpResult>> RevokeCredentialAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid hostId) =>
        ChangeOwnHostAsync(services, tenantId, hostId, host => host.RevokeCredentialAsync());

    public static Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DeleteHostAsync(
        [AsParameters] GatewayServices services, Guid tenantId, Guid hostId, [FromHeader(Name = Preconditions.IfMatchHeader)] string? ifMatch) =>
        TenantAccess.DeleteAsync(services.Caller, tenantId, "hosts", ifMatch, async expected =>
        {
            var host = services.Grains.GetGrain<IHostGrain>(hostId.ToString());
            return (await host.GetAsync())?.TenantId == tenantId ? await host.DeleteAsync(expected) : CommandResult<HostInfo>.NotFound($"host {hostId} not found");
        });

    /// <summary>A change to a host of the tenant by a caller who may manage it; a host of another tenant is not found.</summary>
    private static async Task<Results<Ok<T>, ProblemHttpResult>> ChangeOwnHostAsync<T>(
        GatewayServices services, Guid tenantId, Guid hostId, Func<IHostGrain, Task<CommandResult<T>>> change)
    {
        if (TenantAccess.ToManage(services.Caller, tenantId, "hosts") is { } refusal)
        {
            return refusal;
        }
        var grain = services.Grains.GetGrain<IHostGrain>(hostId.ToString());
        if ((await grain.GetAsync())?.TenantId != tenantId)
        {
            return ApiProblems.NotFound($"host {hostId} not found");
        }
        var result = await change(grain);
        return result.Error is { } error ? ApiProblems.From(error) : TypedResults.Ok(result.Value!);
    }

    private static LucidLinkVolume? ReadLucidLink(RequestErrors errors, LucidLinkRequest? request, PathFlavor flavor)
    {
        if (request is null || string.IsNullOrEmpty(request.FilespaceRoot))
        {
            return null;
        }
        var root = errors.HostPath("lucidLink.filespaceRoot", request.FilespaceRoot, flavor, required: true);
        if (request.PollSeconds is < 1 or > 86_400)
        {
            errors.Add("lucidLink.pollSeconds", "pollSeconds must be between 1 and 86400");
        }
        if (request.FullScanDays is < 1 or > 366)
        {
            errors.Add("lucidLink.fullScanDays", "fullScanDays must be between 1 and 366");
        }
        return root is null ? null : new LucidLinkVolume(root, request.PollSeconds ?? LucidLinkVolume.DefaultPollSeconds)
        {
            FullScanDays = request.FullScanDays ?? LucidLinkVolume.DefaultFullScanDays,
        };
    }

    private static string[] ReadVolumes(RequestErrors errors, string[]? volumes, PathFlavor flavor)
    {
        if (volumes is null)
        {
            return [];
        }
        if (volumes.Length > MaxVolumes)
        {
            errors.Add("volumes", $"at most {MaxVolumes} volumes");
            return [];
        }
        var cleaned = new List<string>();
        for (var i = 0; i < volumes.Length; i++)
        {
            if (errors.HostPath($"volumes[{i}]", volumes[i], flavor, required: true) is { } path)
            {
                cleaned.Add(path);
            }
        }
        if (cleaned.Distinct(flavor == PathFlavor.Windows ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal).Count() != cleaned.Count)
        {
            errors.Add("volumes", "volumes must not repeat");
        }
        return [.. cleaned];
    }

    /// <summary>A host's name: what its admins call it (the server's name, as a rule), unique within the tenant; one given is never empty.</summary>
    private static string? ReadName(RequestErrors errors, string? name, bool required) =>
        errors.Matches("name", name, HostName(), "must be 1-255 letters, digits, '.', '_' or '-' (a host name)", required || name is not null);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")]
    private static partial Regex HostName();
}
