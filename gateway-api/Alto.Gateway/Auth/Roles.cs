namespace Alto.Gateway.Auth;

/// <summary>The four roles. Platform admins see every tenant; the others only the tenants they are given.</summary>
public static class Roles
{
    public const string PlatformAdmin = "platform-admin";
    public const string TenantAdmin = "tenant-admin";
    /// <summary>Read everything in its tenants, and recall files.</summary>
    public const string Support = "support";
    public const string Viewer = "viewer";

    public static readonly IReadOnlyList<string> All = [PlatformAdmin, TenantAdmin, Support, Viewer];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);
}

public static class AltoClaims
{
    public const string Subject = "sub";
    public const string Name = "name";
    public const string Role = "role";
    /// <summary>One claim per tenant the caller may see (absent for platform admins, who see all).</summary>
    public const string Tenant = "alto_tenant";
    /// <summary>The user's session version when the token was issued (see <see cref="AppUser.SessionVersion"/>).</summary>
    public const string SessionVersion = "alto_sv";
}
