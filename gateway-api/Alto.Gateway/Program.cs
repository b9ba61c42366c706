using Alto.Gateway.Extensions;
using Alto.Silo.Startup;

// The gateway: REST for admins, gRPC for agents, and (by default) the silo in the same process.
var builder = WebApplication.CreateBuilder(args);
builder.AddAltoGateway();

var app = builder.Build();
app.MapAltoGateway();

return await app.RunAltoAsync();
