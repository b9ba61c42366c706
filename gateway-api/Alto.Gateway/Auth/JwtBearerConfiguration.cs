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
            // Agents' host credentials are not JWTs; leave them to the host-credential scheme.
            OnMessageReceived = context =>
            {
                if (context.Request.Headers.Authorization.ToString().Contains(" alto_host_", StringComparison.Ordinal))
                {
                    context.NoResult();
                }
                return Task.CompletedTask;
            },
            // A signed token is not enough: the account must still be enabled and not signed out since the token was issued.
            OnTokenValidated = async context =>
            {
                var principal = context.Principal!;
                var holds = Guid.TryParse(principal.FindFirst(AltoClaims.Subject)?.Value, out var userId)
                    && int.TryParse(principal.FindFirst(AltoClaims.SessionVersion)?.Value, System.Globalization.CultureInfo.InvariantCulture, out var version)
                    && await context.HttpContext.RequestServices.GetRequiredService<UserStore>().TokenHoldsAsync(userId, version, context.HttpContext.RequestAborted);
                if (!holds)
                {
                    context.Fail("the token was revoked: the account is disabled or was signed out");
                }
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
