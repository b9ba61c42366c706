using System.Globalization;
using System.Text;
using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Validation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Alto.Gateway.Apis;

/// <summary>Inventory search (an rbh-find; any role that sees the tenant): live files by path glob, size, ages, owner, extension and tier state.</summary>
public static class InventoryApi
{
    public const int MaxLimit = 1000;

    public static RouteGroupBuilder MapInventoryApi(this RouteGroupBuilder api)
    {
        api.MapGet("/tenants/{tenantId:guid}/inventory/search", SearchAsync).Allows(Access.TenantRead).WithTags("Analytics")
            .WithSummary("Live files by path glob (* ** ?), size, last access and modification age, owner, extension and state (local or tiered), "
                         + "in pages after a cursor; format=csv exports every match");
        return api;
    }

    public static async Task<Results<Ok<InventoryPage>, PushStreamHttpResult, ValidationProblem, ProblemHttpResult>> SearchAsync(
        [AsParameters] GatewayServices services, InventoryReadModel inventory, HostReadModel hosts, Guid tenantId, Guid? hostId, string? path,
        long? minSize, long? maxSize, int? accessedOverDays, int? accessedWithinDays, int? modifiedOverDays, string? owner, string? extension, string? state,
        string? after, int? limit, string? format)
    {
        if (await TenantAccess.ToReadHostAsync(services.Caller, hosts, tenantId, hostId, services.Cancellation) is { } refusal)
        {
            return refusal;
        }
        var errors = new RequestErrors();
        var glob = errors.Text("path", path, PathRules.MaxLength, required: false);
        if (minSize is < 0 || maxSize is < 0 || minSize > maxSize)
        {
            errors.Add("minSize", "minSize and maxSize are 0 or more, minSize at most maxSize");
        }
        foreach (var (field, days) in new[] { ("accessedOverDays", accessedOverDays), ("accessedWithinDays", accessedWithinDays), ("modifiedOverDays", modifiedOverDays) })
        {
            if (days is < 0 or > 36_500)
            {
                errors.Add(field, $"{field} is 0 to 36500");
            }
        }
        var tiered = state switch
        {
            null => (bool?)null,
            "tiered" => true,
            "local" => false,
            _ => Invalid(errors, "state", "state is local or tiered"),
        };
        var cursor = 0L;
        if (after is not null && (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out cursor) || cursor < 0))
        {
            errors.Add("after", "after is the cursor a page gave as next");
        }
        if (limit is < 1 or > MaxLimit)
        {
            errors.Add("limit", $"limit is 1 to {MaxLimit}");
        }
        errors.Text("owner", owner, 512, required: false);
        errors.Text("extension", extension, 64, required: false);
        var csv = CsvDownload.Asked(errors, format);
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var filter = new InventoryFilter(hostId, glob is { Length: > 0 } ? glob : null, minSize, maxSize, accessedOverDays, accessedWithinDays, modifiedOverDays,
            owner, extension, tiered);
        if (!csv)
        {
            return TypedResults.Ok(await inventory.SearchAsync(tenantId, filter, cursor, limit ?? 100, services.Cancellation));
        }
        // Every match, written as it is read: an export of millions of files holds one line in memory at a time.
        return TypedResults.Stream(async body =>
        {
            await using var writer = new StreamWriter(body, new UTF8Encoding(false));
            var line = new StringBuilder();
            CsvDownload.AppendLine(line, ["id", "host_id", "path", "size_bytes", "accessed_at", "modified_at", "owner", "extension", "tiered"]);
            await foreach (var file in inventory.ExportAsync(tenantId, filter, services.Cancellation))
            {
                await writer.WriteAsync(line, services.Cancellation);
                line.Clear();
                CsvDownload.AppendLine(line, [file.Id, file.HostId, file.Path, file.SizeBytes, file.AccessedAt.ToString("O", CultureInfo.InvariantCulture),
                    file.ModifiedAt.ToString("O", CultureInfo.InvariantCulture), file.Owner ?? "", file.Extension, file.Tiered ? "true" : "false"]);
            }
            await writer.WriteAsync(line, services.Cancellation);
        }, ScanResultsApi.CsvMediaType, "inventory.csv");
    }

    private static bool? Invalid(RequestErrors errors, string field, string message)
    {
        errors.Add(field, message);
        return null;
    }
}
