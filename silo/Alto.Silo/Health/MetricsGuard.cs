using System.Security.Cryptography;
using System.Text;
using Alto.Silo.Options;
using Microsoft.Extensions.Options;

namespace Alto.Silo.Health;

/// <summary>
/// Lets a request reach <c>/metrics</c> only on the metrics listener, with the scrape token, or
/// (on the gateway) from a signed-in operator; everyone else gets 401. On the metrics listener
/// nothing but /metrics answers.
/// </summary>
public static class MetricsGuard
{
    public const string Path = "/metrics";

    /// <summary>Guards /metrics; <paramref name="operatorSignedIn"/> says whether the caller is a signed-in operator who may read it (the gateway's platform admins).</summary>
    public static IApplicationBuilder UseMetricsGuard(this IApplicationBuilder app, Func<HttpContext, bool>? operatorSignedIn = null) =>
        app.Use(async (http, next) =>
        {
            var options = http.RequestServices.GetRequiredService<IOptions<MetricsOptions>>().Value;
            var onMetricsPort = options.Port > 0 && http.Connection.LocalPort == options.Port;
            var forMetrics = http.Request.Path.StartsWithSegments(Path, StringComparison.OrdinalIgnoreCase);
            if (onMetricsPort && !forMetrics)
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            if (forMetrics && !onMetricsPort && !HoldsScrapeToken(http, options) && operatorSignedIn?.Invoke(http) != true)
            {
                http.Response.StatusCode = StatusCodes.Status401Unauthorized;
                http.Response.Headers.WWWAuthenticate = "Bearer realm=\"alto-metrics\"";
                return;
            }
            await next(http);
        });

    private static bool HoldsScrapeToken(HttpContext http, MetricsOptions options)
    {
        const string bearer = "Bearer ";
        var header = http.Request.Headers.Authorization.ToString();
        if (options.TokenSha256 is not { } expected || !header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(header[bearer.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, Convert.FromHexString(expected));
    }
}
