using Alto.Gateway.Options;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Alto.Gateway.Auth;

/// <summary>Validates tokens against the installation's signing key, which is loaded at start-up.</summary>
public sealed class JwtBearerConfiguration(SigningKeyStore keys, IOptions<AuthOptions> auth) : IConfigureNamedOptions<JwtBearerOptions>
{
    public void Configure(string? name, JwtBearerOptions options)
    {
        options.MapInboundClaims = false;
        options.Events = new JwtBearerEvents
        {
            // Why a token was refused (expired, forged, from another issuer) goes into the refusal's audit entry.
            OnAuthenticationFailed = context =>
            {
                context.HttpContext.Items[RefusalAudit.FailureItem] = context.Exception switch
                {
                    SecurityTokenExpiredException => "the token expired",
                    SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "the token's signature is not valid (forged or from another installation)",
                    _ => "the token is not valid: " + context.Exception.GetType().Name,
                };
                return Task.CompletedTask;
            },
            // Agents' host credentials are not JWTs; leave them to the host-credential scheme.
            OnMessageReceived = context =>
            {
                if (context.Request.Headers.Authorization.ToString().Contains(" alto_host_", StringComparison.Ordinal))
                {
                    context.NoResult();
                }
                // A browser's WebSocket cannot carry a header: the live hub takes the token from the query.
                else if (context.Request.Path.StartsWithSegments(Live.LiveHub.Path, StringComparison.Ordinal)
                         && context.Request.Query["access_token"].ToString() is { Length: > 0 } token)
                {
                    context.Token = token;
                }
                return Task.CompletedTask;
            },
            // A signed token is not enough: the account must still be enabled and not signed out since
            // the token was issued, and it reaches only the tenants that are its own and enabled now.
            OnTokenValidated = async context =>
            {
                var principal = context.Principal!;
                var tenants = Guid.TryParse(principal.FindFirst(AltoClaims.Subject)?.Value, out var userId)
                    && int.TryParse(principal.FindFirst(AltoClaims.SessionVersion)?.Value, System.Globalization.CultureInfo.InvariantCulture, out var version)
                        ? await context.HttpContext.RequestServices.GetRequiredService<UserStore>().SessionTenantsAsync(userId, version, context.HttpContext.RequestAborted)
                        : null;
                if (tenants is null)
                {
                    context.HttpContext.Items[RefusalAudit.FailureItem] = "the token was revoked: the account is disabled or was signed out";
                    context.Fail("the token was revoked: the account is disabled or was signed out");
                    return;
                }
                if (principal.FindFirst(AltoClaims.Role)?.Value != Roles.PlatformAdmin && tenants.Length == 0)
                {
                    context.HttpContext.Items[RefusalAudit.FailureItem] = "every tenant of the account is disabled";
                    context.Fail("every tenant of the account is disabled");
                    return;
                }
                var identity = (System.Security.Claims.ClaimsIdentity)principal.Identity!;
                foreach (var claim in identity.FindAll(AltoClaims.Tenant).ToList())
                {
                    identity.RemoveClaim(claim);
                }
                identity.AddClaims(tenants.Select(tenant => new System.Security.Claims.Claim(AltoClaims.Tenant, tenant.ToString())));
            },
        };
        options.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = auth.Value.Issuer,
            ValidAudience = auth.Value.Audience,
            IssuerSigningKeyResolver = (_, _, _, _) => [keys.Key],
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            NameClaimType = AltoClaims.Name,
            RoleClaimType = AltoClaims.Role,
            ClockSkew = TimeSpan.FromSeconds(30),
        };
    }

    public void Configure(JwtBearerOptions options) => Configure(Microsoft.Extensions.Options.Options.DefaultName, options);
}
