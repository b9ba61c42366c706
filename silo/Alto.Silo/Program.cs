using Alto.Silo.Extensions;
using Alto.Silo.Startup;

namespace Alto.Silo;

/// <summary>
/// The standalone silo: joins (or forms) the cluster described by Alto:Cluster on the database in
/// Alto:Database, and serves /healthz, /readyz, /metrics and /dashboard/ on Alto:Silo:HttpUrl.
/// <c>Alto.Silo migrate</c> only migrates the database and exits.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["migrate", .. var settings])
        {
            return await AltoStartup.MigrateAsync(settings);
        }
        if (WebApplication.CreateBuilder(args).BuildOrReport(builder => builder.AddAltoSiloHost()) is not { } app)
        {
            return AltoStartup.ExitBadConfiguration;
        }
        app.MapAltoSiloEndpoints();

        return await app.RunAltoAsync();
    }
}
