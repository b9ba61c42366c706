using System.Security.Claims;
using Alto.Gateway.Auth;

namespace Alto.Gateway.Apis;

/// <summary>What every resource handler needs, bound with [AsParameters].</summary>
public sealed record GatewayServices(IGrainFactory Grains, ClaimsPrincipal User, CancellationToken Cancellation)
{
    public Caller Caller { get; } = Caller.From(User);
}
