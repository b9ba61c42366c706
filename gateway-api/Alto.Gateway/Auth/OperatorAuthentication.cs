using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Alto.Gateway.Auth;

/// <summary>
/// Sign-in for the pages a browser opens directly (the Orleans dashboard, the API reference and
/// its OpenAPI document), which cannot carry a bearer token: HTTP Basic with an Alto user's name
/// and password, checked like every sign-in (<see cref="PasswordSignIn"/>: lockout, audit of
/// refusals). A bearer token works there too. The dashboard polls every second, so a checked
/// password is remembered for <see cref="OperatorSignIns.Remembered"/> instead of hashed again —
/// but, as a token's, its session is checked against the database at every use: an account
/// disabled, signed out, given a new password or a new role on another gateway stops here too.
/// </summary>
public sealed class OperatorAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    PasswordSignIn signIn,
    OperatorSignIns recent,
    UserStore users) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Operator";

    /// <summary>Only platform admins may open the dashboard (it shows every tenant's grains and the gateway's log).</summary>
    public const string DashboardPolicy = "dashboard";

    /// <summary>Any signed-in user may read the API reference.</summary>
    public const string DocumentationPolicy = "documentation";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization.ToString(), out var header)
            || !string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
        {
            return AuthenticateResult.NoResult();
        }
        string pair;
        try
        {
            pair = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
        }
        catch (FormatException)
        {
            return AuthenticateResult.Fail("the Basic credential is not base64");
        }
        var colon = pair.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || pair.Length - colon - 1 > Alto.Gateway.Options.PasswordRules.MaximumLength)
        {
            return AuthenticateResult.Fail("the Basic credential is not user:password");
        }
        var user = await StillHoldsAsync(recent.Find(pair)) ?? await signIn.TryAsync(Context, pair[..colon], pair[(colon + 1)..], Context.RequestAborted);
        if (user is null)
        {
            Context.Items[RefusalAudit.FailureItem] = "a Basic sign-in was refused";
            return AuthenticateResult.Fail("wrong user name or password, or the account is disabled or locked");
        }
        recent.Remember(pair, user);
        var claims = new List<Claim> { new(AltoClaims.Subject, user.Id.ToString()), new(AltoClaims.Name, user.Username), new(AltoClaims.Role, user.Role) };
        claims.AddRange(user.TenantIds.Select(tenant => new Claim(AltoClaims.Tenant, tenant.ToString())));
        var identity = new ClaimsIdentity(claims, SchemeName, AltoClaims.Name, AltoClaims.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    /// <summary>
    /// The remembered user with the tenants it reaches now, while its session holds (its session
    /// version unchanged, the account enabled, a tenant of it enabled unless it is a platform admin);
    /// null otherwise, and the password is checked again.
    /// </summary>
    private async Task<AppUser?> StillHoldsAsync(AppUser? remembered) =>
        remembered is not null
        && await users.SessionTenantsAsync(remembered.Id, remembered.SessionVersion, Context.RequestAborted) is { } tenants
        && (remembered.Role == Roles.PlatformAdmin || tenants.Length > 0)
            ? remembered with { TenantIds = tenants }
            : null;

    /// <summary>A browser asks for the name and password.</summary>
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.Append("WWW-Authenticate", "Basic realm=\"Alto\", charset=\"UTF-8\"");
        return Task.CompletedTask;
    }
}

/// <summary>
/// Basic credentials checked in the last <see cref="Remembered"/>, by their SHA-256 (never the
/// password itself). Nothing here is forgotten on a change of the account: every use checks the
/// account's session in the database, which every gateway's change moves.
/// </summary>
public sealed class OperatorSignIns(TimeProvider time)
{
    public static readonly TimeSpan Remembered = TimeSpan.FromSeconds(30);

    private const int MaxRemembered = 1000;

    private readonly ConcurrentDictionary<string, (AppUser User, DateTimeOffset Until)> _recent = new(StringComparer.Ordinal);

    public AppUser? Find(string pair) =>
        _recent.TryGetValue(Key(pair), out var found) && found.Until > time.GetUtcNow() ? found.User : null;

    public void Remember(string pair, AppUser user)
    {
        if (_recent.Count >= MaxRemembered)
        {
            _recent.Clear();
        }
        _recent[Key(pair)] = (user, time.GetUtcNow() + Remembered);
    }

    private static string Key(string pair) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(pair)));
}
