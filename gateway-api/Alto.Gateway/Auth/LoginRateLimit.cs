namespace Alto.Gateway.Auth;

/// <summary>The rate-limiting policy on sign-in (Alto:Auth:LoginAttemptsPerMinute per client address).</summary>
public static class LoginRateLimit
{
    public const string Policy = "login";
}
