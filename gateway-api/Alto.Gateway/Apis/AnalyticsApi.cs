using System.Globalization;
using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Alto.Scanning;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

/// <summary>
/// Capacity analytics (any role that sees the tenant): where the bytes are by age, type, owner,
/// size and directory, and how many are tiered. Every report also comes as CSV (format=csv).
/// </summary>
public static class AnalyticsApi
{
    public const int MaxLimit = 1000;

    public static RouteGroupBuilder MapAnalyticsApi(this RouteGroupBuilder api)
    {
        var analytics = api.MapGroup("/tenants/{tenantId:guid}/analytics").WithTags("Analytics");
        analytics.MapGet("/capacity", CapacityAsync).Allows(Access.TenantRead)
            .WithSummary("Files and bytes, tiered and local, by last-access or modification age, extension, type family, owner or size (filter by host; format=csv)");
        analytics.MapGet("/directories", DirectoriesAsync).Allows(Access.TenantRead)
            .WithSummary("The directories below a path on a host, each with everything under it, by cold bytes (an rbh-du; format=csv)");
        return api;
    }

    public static async Task<Results<Ok<CapacityReport>, FileContentHttpResult, ValidationProblem, ProblemHttpResult>> CapacityAsync(
        [AsParameters] GatewayServices services, CapacityReadModel capacity, HostReadModel hosts, Guid tenantId, string? by, Guid? hostId, int? limit, string? format)
    {
        if (TenantAccess.ToRead(services.Caller, tenantId) is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        by ??= "access-age";
        if (!CapacityReadModel.Dimensions.Contains(by))
        {
            errors.Add("by", $"by must be one of {string.Join(", ", CapacityReadModel.Dimensions)}");
        }
        var top = Limit(errors, limit, 50);
        var csv = Format(errors, format);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        if (hostId is { } host && !await hosts.BelongsAsync(tenantId, host, services.Cancellation))
        {
            return ApiProblems.NotFound($"host {host} not found");
        }
        var report = await capacity.ReportAsync(tenantId, hostId, by, top, services.Cancellation);
        return csv
            ? Csv($"capacity-by-{by}", ["key", "label", "files", "bytes", "tiered_files", "tiered_bytes"],
                report.Buckets.Select(b => new object[] { b.Key, b.Label, b.Files, b.Bytes, b.TieredFiles, b.TieredBytes }))
            : TypedResults.Ok(report);
    }

    public static async Task<Results<Ok<DirectoryReport>, FileContentHttpResult, ValidationProblem, ProblemHttpResult>> DirectoriesAsync(
        [AsParameters] GatewayServices services, CapacityReadModel capacity, HostReadModel hosts, Guid tenantId, Guid? hostId, string? path, int? coldDays, int? limit,
        string? format)
    {
        if (TenantAccess.ToRead(services.Caller, tenantId) is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        if (hostId is null)
        {
            errors.Add("hostId", "hostId is required: directories are a host's");
        }
        var top = Limit(errors, limit, 20);
        var days = coldDays ?? 90;
        if (days is < 1 or > 36_500)
        {
            errors.Add("coldDays", "coldDays is 1 to 36500");
        }
        var csv = Format(errors, format);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        if (!await hosts.BelongsAsync(tenantId, hostId!.Value, services.Cancellation))
        {
            return ApiProblems.NotFound($"host {hostId} not found");
        }
        var flavor = await hosts.PathFlavorAsync(hostId.Value, services.Cancellation);
        var root = errors.HostPath("path", path ?? (flavor == PathFlavor.Windows ? null : "/"), flavor, required: true);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var report = await capacity.DirectoriesAsync(tenantId, hostId.Value, root!, flavor == PathFlavor.Windows ? '\\' : '/', days, top, services.Cancellation);
        return csv
            ? Csv("directories", ["path", "files", "bytes", "tiered_bytes", "cold_bytes"],
                report.Directories.Select(d => new object[] { d.Path, d.Files, d.Bytes, d.TieredBytes, d.ColdBytes }))
            : TypedResults.Ok(report);
    }

    private static int Limit(RequestErrors errors, int? limit, int fallback)
    {
        if (limit is < 1 or > MaxLimit)
        {
            errors.Add("limit", $"limit is 1 to {MaxLimit}");
        }
        return limit ?? fallback;
    }

    private static bool Format(RequestErrors errors, string? format)
    {
        if (format is not null and not "json" and not "csv")
        {
            errors.Add("format", "format is json or csv");
        }
        return format == "csv";
    }

    /// <summary>A report as an RFC 4180 CSV download.</summary>
    private static FileContentHttpResult Csv(string name, string[] header, IEnumerable<object[]> rows)
    {
        var text = new System.Text.StringBuilder();
        text.AppendJoin(',', header).Append("\r\n");
        foreach (var row in rows)
        {
            text.AppendJoin(',', row.Select(value => CsvField(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""))).Append("\r\n");
        }
        return TypedResults.File(System.Text.Encoding.UTF8.GetBytes(text.ToString()), ScanResultsApi.CsvMediaType, $"{name}.csv");
    }

    /// <summary>A field quoted when it must be; a leading formula character is defused for spreadsheets.</summary>
    private static string CsvField(string value)
    {
        var safe = value.Length > 0 && value[0] is '=' or '+' or '-' or '@' && !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? "'" + value : value;
        return safe.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + safe.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : safe;
    }
}
