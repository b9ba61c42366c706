using Alto.Gateway.Extensions;
using Alto.Silo.Startup;

// The gateway: REST for admins, gRPC for agents, and (by default) the silo in the same process.
// On a server of the installation, "break-glass --user NAME" unlocks an account instead (see README).
if (Alto.Gateway.Auth.BreakGlass.IsRequested(args))
{
    return await Alto.Gateway.Auth.BreakGlass.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddAltoGateway();

var app = builder.Build();
app.MapAltoGateway();

return await app.RunAltoAsync();
