using System.Security.Claims;
using Alto.Gateway.Auth;
using Alto.Gateway.Live;
using Alto.GrainInterfaces.Live;

namespace Alto.Gateway.Tests;

/// <summary>Which live groups each role joins: its own tenants only, and only the audiences its role may see.</summary>
public sealed class LiveGroupsTests
{
    private static readonly Guid First = Guid.NewGuid();
    private static readonly Guid Second = Guid.NewGuid();

    private static Caller Caller(string role, params Guid[] tenants) => Auth.Caller.From(new ClaimsPrincipal(new ClaimsIdentity(
        [new Claim(AltoClaims.Subject, Guid.NewGuid().ToString()), new Claim(AltoClaims.Role, role), .. tenants.Select(t => new Claim(AltoClaims.Tenant, t.ToString()))], "test")));

    [Theory]
    [InlineData(Roles.Viewer, new[] { LiveAudience.Everyone })]
    [InlineData(Roles.Support, new[] { LiveAudience.Everyone, LiveAudience.Support })]
    [InlineData(Roles.TenantAdmin, new[] { LiveAudience.Everyone, LiveAudience.Support, LiveAudience.Managers })]
    public void ARoleJoinsItsTenantsGroupsUpToWhatItMaySee(string role, LiveAudience[] audiences)
    {
        var groups = LiveGroups.Of(Caller(role, First, Second)).Order(StringComparer.Ordinal).ToList();
        var expected = new[] { First, Second }.SelectMany(tenant => audiences.Select(audience => LiveGroups.For(tenant, audience))).Order(StringComparer.Ordinal);
        Assert.Equal(expected, groups);
        Assert.DoesNotContain(LiveGroups.Platform, groups);
    }

    [Fact]
    public void APlatformAdminJoinsThePlatformGroupAloneAndEachEventGoesToOneGroupPerAudience()
    {
        Assert.Equal([LiveGroups.Platform], LiveGroups.Of(Caller(Roles.PlatformAdmin)));
        var groups = Enum.GetValues<LiveAudience>().Select(audience => LiveGroups.For(First, audience)).ToList();
        Assert.Equal(groups.Count, groups.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain(groups, group => group.Contains(Second.ToString("N"), StringComparison.Ordinal));
    }
}
