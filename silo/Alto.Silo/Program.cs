using Alto.Silo.Extensions;
using Alto.Silo.Startup;

namespace Alto.Silo;

/// <summary>
/// The standalone silo: joins (or forms) the cluster described by Alto:Cluster on the database in
/// Alto:Database, and serves /healthz, /readyz, /metrics and /dashboard/ on Alto:Silo:HttpUrl.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddAltoSiloHost();

        var app = builder.Build();
        app.MapAltoSiloEndpoints();

        return await app.RunAltoAsync();
    }
}
