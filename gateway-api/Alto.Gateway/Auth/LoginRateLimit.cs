namespace Alto.Gateway.Auth;

/// <summary>The rate-limiting policy on sign-in (Alto:Auth:LoginAttemptsPerMinute per client address).</summary>
public static class LoginRateLimit
{
    public const string Policy = "login";
}

/// <summary>The rate-limiting policy on plan runs, dry or real (Alto:Gateway:PlanRunsPerMinute per tenant).</summary>
public static class PlanRateLimit
{
    public const string Policy = "plan";
}
