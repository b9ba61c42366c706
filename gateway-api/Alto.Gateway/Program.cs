using Alto.Gateway.Extensions;
using Alto.Silo.Startup;

// The gateway: REST for admins, gRPC for agents, and (by default) the silo in the same process.
// On a server of the installation, "break-glass --user NAME" unlocks an account instead (see README).
if (Alto.Gateway.Auth.BreakGlass.IsRequested(args))
{
    return await Alto.Gateway.Auth.BreakGlass.RunAsync(args);
}

// The web console is built (web/, npm run build) into wwwroot, which is copied beside the program.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot") });
if (builder.BuildOrReport(gateway => gateway.AddAltoGateway()) is not { } app)
{
    return AltoStartup.ExitBadConfiguration;
}
app.MapAltoGateway();

return await app.RunAltoAsync();
