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

    /// <summary>The longest daily series served (days are kept at least 400, at most 800).</summary>
    public const int MaxDays = 800;

    public static RouteGroupBuilder MapAnalyticsApi(this RouteGroupBuilder api)
    {
        var analytics = api.MapGroup("/tenants/{tenantId:guid}/analytics").WithTags("Analytics");
        analytics.MapGet("/capacity", CapacityAsync).Allows(Access.TenantRead)
            .WithSummary("Files and bytes, tiered and local, by last-access or modification age, extension, type family, owner or size (filter by host; format=csv)");
        analytics.MapGet("/directories", DirectoriesAsync).Allows(Access.TenantRead)
            .WithSummary("The directories below a path on a host, each with everything under it, by cold bytes (an rbh-du; format=csv)");
        analytics.MapGet("/daily", DailyAsync).Allows(Access.TenantRead)
            .WithSummary("A day-by-day series (UTC) of files tiered and recalled, scans, files scanned and stubbed bytes, up to 800 days (filter by host; format=csv)");
        analytics.MapGet("/targets", TargetsAsync).Allows(Access.TenantRead)
            .WithSummary("What each storage target holds (stubbed objects and bytes) and what is on its way, by tiering state (filter by host; format=csv)");
        return api;
    }

    public static async Task<Results<Ok<DailySeries>, FileContentHttpResult, ValidationProblem, ProblemHttpResult>> DailyAsync(
        [AsParameters] GatewayServices services, ActivityReadModel activity, HostReadModel hosts, Guid tenantId, Guid? hostId, int? days, string? format)
    {
        if (await TenantAccess.ToReadHostAsync(services.Caller, hosts, tenantId, hostId, services.Cancellation) is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        if (days is < 1 or > MaxDays)
        {
            errors.Add("days", $"days is 1 to {MaxDays}");
        }
        var csv = Format(errors, format);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var series = await activity.DailyAsync(tenantId, hostId, days ?? 400, services.Cancellation);
        return csv
            ? CsvDownload.Of("daily", ["day", "tiered_files", "tiered_bytes", "recalled_files", "recalled_bytes", "scans", "files_scanned", "stubbed_bytes"],
                series.Days.Select(d => new object[] { d.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), d.TieredFiles, d.TieredBytes, d.RecalledFiles, d.RecalledBytes,
                    d.Scans, d.FilesScanned, d.StubbedBytes }))
            : TypedResults.Ok(series);
    }

    public static async Task<Results<Ok<TargetUsage[]>, FileContentHttpResult, ValidationProblem, ProblemHttpResult>> TargetsAsync(
        [AsParameters] GatewayServices services, ActivityReadModel activity, HostReadModel hosts, Guid tenantId, Guid? hostId, string? format)
    {
        if (await TenantAccess.ToReadHostAsync(services.Caller, hosts, tenantId, hostId, services.Cancellation) is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var csv = Format(errors, format);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var targets = await activity.TargetsAsync(tenantId, hostId, services.Cancellation);
        return csv
            ? CsvDownload.Of("targets", ["target_id", "name", "kind", "state", "objects", "bytes"],
                targets.SelectMany(t => t.States.Values.Select(state => new object[] { t.TargetId?.ToString() ?? "", t.Name ?? "", t.Kind ?? "", state.State, state.Files, state.Bytes })))
            : TypedResults.Ok(targets);
    }

    public static async Task<Results<Ok<CapacityReport>, FileContentHttpResult, ValidationProblem, ProblemHttpResult>> CapacityAsync(
        [AsParameters] GatewayServices services, CapacityReadModel capacity, HostReadModel hosts, Guid tenantId, string? by, Guid? hostId, int? limit, string? format)
    {
        if (await TenantAccess.ToReadHostAsync(services.Caller, hosts, tenantId, hostId, services.Cancellation) is { } refusal)
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
        var report = await capacity.ReportAsync(tenantId, hostId, by, top, services.Cancellation);
        return csv
            ? CsvDownload.Of($"capacity-by-{by}", ["key", "label", "files", "bytes", "tiered_files", "tiered_bytes"],
                report.Buckets.Select(b => new object[] { b.Key, b.Label, b.Files, b.Bytes, b.TieredFiles, b.TieredBytes }))
            : TypedResults.Ok(report);
    }

    public static async Task<Results<Ok<DirectoryReport>, FileContentHttpResult, ValidationProblem, ProblemHttpResult>> DirectoriesAsync(
        [AsParameters] GatewayServices services, CapacityReadModel capacity, HostReadModel hosts, Guid tenantId, Guid? hostId, string? path, int? coldDays, int? limit,
        string? format)
    {
        if (await TenantAccess.ToReadHostAsync(services.Caller, hosts, tenantId, hostId, services.Cancellation) is { } refusal)
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
        var flavor = await hosts.PathFlavorAsync(hostId!.Value, services.Cancellation);
        var root = errors.HostPath("path", path ?? (flavor == PathFlavor.Windows ? null : "/"), flavor, required: true);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var report = await capacity.DirectoriesAsync(tenantId, hostId.Value, root!, flavor == PathFlavor.Windows ? '\\' : '/', days, top, services.Cancellation);
        return csv
            ? CsvDownload.Of("directories", ["path", "files", "bytes", "tiered_bytes", "cold_bytes"],
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

    private static bool Format(RequestErrors errors, string? format) => CsvDownload.Asked(errors, format);
}
