namespace Alto.Gateway.Auth;

/// <summary>
/// Who may call an endpoint, declared on every endpoint of the API (<see cref="AccessConventions.Allows{TBuilder}"/>).
/// The handlers enforce it; the RBAC matrix test reads these declarations from the app's own
/// endpoint list and checks every endpoint against every kind of caller. Inside a tenant, a
/// caller who does not see the tenant always gets 404, never 403.
/// </summary>
public enum Access
{
    /// <summary>No token needed (sign-in, enrollment).</summary>
    Anonymous = 0,

    /// <summary>Any signed-in user.</summary>
    SignedIn = 1,

    /// <summary>Platform admins only.</summary>
    PlatformAdmin = 2,

    /// <summary>Platform and tenant admins (user management, each within its tenants).</summary>
    UserAdmin = 3,

    /// <summary>Every role that sees the tenant.</summary>
    TenantRead = 4,

    /// <summary>Every role that sees the tenant except viewers (recall, the audit trail).</summary>
    TenantSupport = 5,

    /// <summary>Platform admins and the tenant's admins.</summary>
    TenantManage = 6,

    /// <summary>An agent with its host credential, for its own host only.</summary>
    Agent = 7,
}

/// <summary>The declaration, as endpoint metadata.</summary>
public sealed record AccessPolicy(Access Access);

public static class AccessConventions
{
    public static TBuilder Allows<TBuilder>(this TBuilder builder, Access access) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AccessPolicy(access));
}
