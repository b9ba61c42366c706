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
