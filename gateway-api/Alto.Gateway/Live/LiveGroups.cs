using Alto.Gateway.Auth;
using Alto.GrainInterfaces.Live;

namespace Alto.Gateway.Live;

/// <summary>
/// The SignalR groups live events go to: one per tenant and audience, plus one for platform
/// admins, who see every tenant. An event goes to exactly its tenant's group for its audience
/// (and the platform group), and a connection joins the groups of every audience its role may
/// see, so nobody gets an event twice or one above their role.
/// </summary>
public static class LiveGroups
{
    public const string Platform = "platform";

    public static string For(Guid tenantId, LiveAudience audience) => $"tenant:{tenantId:N}:{audience.ToString().ToLowerInvariant()}";

    /// <summary>Every group the caller belongs in.</summary>
    public static IEnumerable<string> Of(Caller caller)
    {
        if (caller.IsPlatformAdmin)
        {
            yield return Platform;
            yield break;
        }
        foreach (var tenant in caller.Tenants)
        {
            yield return For(tenant, LiveAudience.Everyone);
            if (caller.CanSupport(tenant))
            {
                yield return For(tenant, LiveAudience.Support);
            }
            if (caller.CanManage(tenant))
            {
                yield return For(tenant, LiveAudience.Managers);
            }
        }
    }
}
