using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Alto.Silo.Health;

/// <summary>Writes a readiness report: the overall status, and for an operator each check's reason.</summary>
public static class HealthResponseWriter
{
    public static Task WriteJsonAsync(HttpContext context, HealthReport report, bool detail)
    {
        context.Response.ContentType = "application/json";
        object body = detail
            ? new
            {
                status = report.Status.ToString(),
                checks = report.Entries.ToDictionary(
                    entry => entry.Key,
                    entry => new { status = entry.Value.Status.ToString(), description = entry.Value.Description }),
            }
            : new { status = report.Status.ToString() };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonSerializerOptions.Web));
    }
}
