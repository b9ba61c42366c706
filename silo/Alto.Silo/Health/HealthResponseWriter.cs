using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Alto.Silo.Health;

/// <summary>Writes a readiness report an operator can read: overall status and each check's reason.</summary>
public static class HealthResponseWriter
{
    public static Task WriteJsonAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new { status = entry.Value.Status.ToString(), description = entry.Value.Description }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonSerializerOptions.Web));
    }
}
