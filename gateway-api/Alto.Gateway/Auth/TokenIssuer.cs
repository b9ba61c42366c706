using System.Security.Claims;
using Alto.Gateway.Options;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Alto.Gateway.Auth;

public sealed record IssuedToken(string AccessToken, DateTimeOffset ExpiresAt);

/// <summary>Signs bearer tokens (JWT, HS256) carrying the user, the role and the tenants in scope.</summary>
public sealed class TokenIssuer(SigningKeyStore keys, IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly JsonWebTokenHandler _handler = new();

    public IssuedToken Issue(AppUser user)
    {
        var now = time.GetUtcNow();
        var expires = now + options.Value.TokenLifetime;
        var claims = new List<Claim>
        {
            new(AltoClaims.Subject, user.Id.ToString()),
            new(AltoClaims.Name, user.Username),
            new(AltoClaims.Role, user.Role),
            new(AltoClaims.SessionVersion, user.SessionVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        claims.AddRange(user.TenantIds.Select(tenant => new Claim(AltoClaims.Tenant, tenant.ToString())));

        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = options.Value.Audience,
            Subject = new ClaimsIdentity(claims),
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = new SigningCredentials(keys.Key, SecurityAlgorithms.HmacSha256),
        });
        return new IssuedToken(token, expires);
    }
}
