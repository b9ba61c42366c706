using Alto.Gateway.Auth;
using Microsoft.AspNetCore.SignalR;

namespace Alto.Gateway.Live;

/// <summary>
/// The console's live feed (WebSockets at /hubs/live, signed in with the same bearer token as the
/// API, in the access_token query parameter where a browser cannot set a header). A connection
/// only listens: it joins its tenants' groups by its role and receives "event" messages.
/// </summary>
public sealed class LiveHub : Hub
{
    public const string Path = "/hubs/live";

    /// <summary>The client method every live event arrives on.</summary>
    public const string EventMethod = "event";

    public override async Task OnConnectedAsync()
    {
        foreach (var group in LiveGroups.Of(Caller.From(Context.User!)))
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, group, Context.ConnectionAborted);
        }
        await base.OnConnectedAsync();
    }
}
