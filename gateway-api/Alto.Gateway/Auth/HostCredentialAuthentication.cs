using System.Security.Claims;
using System.Text.Encodings.Web;
using Alto.GrainInterfaces.Hosts;
using Alto.Keys;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Alto.Gateway.Auth;

/// <summary>
/// Agents authenticate with their host credential: <c>Authorization: Bearer alto_host_…</c>.
/// The credential names its host; that host's grain checks the hash. A credential is valid only
/// for its own host and stops working the moment it is replaced or the host is disabled.
/// </summary>
public sealed class HostCredentialAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IGrainFactory grains) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "HostCredential";
    public const string Policy = "agent";
    public const string HostClaim = "alto_host";
    public const string TenantClaim = "alto_tenant";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        if (!header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }
        var credential = header[bearer.Length..].Trim();
        if (!EnrollmentTokens.TryReadHostId(credential, EnrollmentTokens.CredentialPrefix, out var hostId))
        {
            return AuthenticateResult.NoResult();
        }
        var identity = await grains.GetGrain<IHostGrain>(hostId.Value.ToString()).AuthenticateAsync(credential);
        if (identity is null)
        {
            Context.Items[RefusalAudit.FailureItem] = $"the host credential of host {hostId} is not valid (revoked, replaced, the host or its tenant disabled)";
            return AuthenticateResult.Fail("the host credential is not valid (revoked, replaced, or the host is disabled)");
        }
        var claims = new ClaimsIdentity(
            [new Claim(HostClaim, identity.HostId.ToString()), new Claim(TenantClaim, identity.TenantId.ToString())], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(claims), SchemeName));
    }
}

/// <summary>The host an authenticated agent request comes from.</summary>
public sealed record AgentCaller(Guid HostId, Guid TenantId)
{
    public static AgentCaller From(ClaimsPrincipal principal) => new(
        Guid.Parse(principal.FindFirstValue(HostCredentialAuthentication.HostClaim)!),
        Guid.Parse(principal.FindFirstValue(HostCredentialAuthentication.TenantClaim)!));
}
