using System.Security.Claims;

namespace Alto.Gateway.Auth;

/// <summary>
/// Who is calling, read from the validated token: role and the tenants in scope. A tenant out of
/// scope is reported as not found, never as forbidden, so ids of other tenants leak nothing.
/// </summary>
public sealed class Caller
{
    private readonly HashSet<Guid> _tenants;

    private Caller(Guid userId, string name, string role, HashSet<Guid> tenants)
    {
        UserId = userId;
        Name = name;
        Role = role;
        _tenants = tenants;
    }

    public Guid UserId { get; }

    public string Name { get; }

    public string Role { get; }

    public bool IsPlatformAdmin => Role == Roles.PlatformAdmin;

    public IReadOnlyCollection<Guid> Tenants => _tenants;

    public static Caller From(ClaimsPrincipal principal)
    {
        var id = Guid.TryParse(principal.FindFirstValue(AltoClaims.Subject), out var parsed) ? parsed : Guid.Empty;
        var tenants = principal.FindAll(AltoClaims.Tenant)
            .Select(claim => Guid.TryParse(claim.Value, out var tenant) ? tenant : Guid.Empty)
            .Where(tenant => tenant != Guid.Empty)
            .ToHashSet();
        return new Caller(id, principal.FindFirstValue(AltoClaims.Name) ?? "", principal.FindFirstValue(AltoClaims.Role) ?? "", tenants);
    }

    public bool CanSee(Guid tenantId) => IsPlatformAdmin || _tenants.Contains(tenantId);

    /// <summary>Change tenant settings, hosts and targets.</summary>
    public bool CanManage(Guid tenantId) => CanSee(tenantId) && (IsPlatformAdmin || Role == Roles.TenantAdmin);

    /// <summary>Support work: recall files and read the audit trail; everyone who sees the tenant except viewers.</summary>
    public bool CanSupport(Guid tenantId) => CanSee(tenantId) && Role != Roles.Viewer;

    public override string ToString() => $"{Name} ({Role})";
}
