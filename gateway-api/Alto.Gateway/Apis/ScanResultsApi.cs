using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.Scans;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Scans;
using Alto.Scanning;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Alto.Gateway.Apis;

public sealed record ScanChunkReceipt(Guid ScanId, int Chunk, int Rows, string Outcome, bool IngestQueued);

/// <summary>
/// POST /api/v1/scan-results: an agent's scan chunk, authenticated by its host credential. The
/// query names the scan, the chunk and how the body is written; the body is the compressed
/// CSV or Parquet chunk. Every problem is answered with problem details and nothing staged.
/// </summary>
public static class ScanResultsApi
{
    public const string CsvMediaType = "text/csv";
    public const string ParquetMediaType = "application/vnd.apache.parquet";

    public static RouteGroupBuilder MapScanResultsApi(this RouteGroupBuilder api)
    {
        api.MapPost("/scan-results", ReceiveChunkAsync).Allows(Access.Agent)
            .RequireAuthorization(HostCredentialAuthentication.Policy)
            .DisableAntiforgery()
            .WithTags("Agents")
            .WithSummary("Upload one chunk of a scan (host credential)");
        return api;
    }

    public static async Task<Results<Ok<ScanChunkReceipt>, ValidationProblem, ProblemHttpResult>> ReceiveChunkAsync(
        HttpContext context, ScanStaging staging, IGrainFactory grains, IOptions<ScanUploadOptions> options,
        Guid? scanId, int? chunk, bool? final, string? format, string? encoding, Guid? hostId, Guid? tenantId,
        [FromQuery(Name = "root")] string[]? roots)
    {
        var agent = AgentCaller.From(context.User);
        var limits = options.Value;
        // A scan chunk may be larger than other requests: its own limit is enforced while reading.
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limits.MaxBodyBytes;
        }
        var cancellationToken = context.RequestAborted;

        var errors = new RequestErrors();
        if (scanId is null || scanId == Guid.Empty)
        {
            errors.Add("scanId", "scanId is required (a UUID chosen by the agent for the whole scan)");
        }
        if (chunk is null or < 0 or > 10_000_000)
        {
            errors.Add("chunk", "chunk is required: the chunk number, from 0");
        }
        if (format is not ("csv" or "parquet"))
        {
            errors.Add("format", "format must be csv or parquet");
        }
        if (!ChunkCompression.TryParse(encoding, out var compression))
        {
            errors.Add("encoding", "encoding must be zstd, gzip or none");
        }
        roots ??= [];
        if (roots.Length > 256)
        {
            errors.Add("root", "at most 256 roots");
        }
        for (var i = 0; i < roots.Length && i < 256; i++)
        {
            errors.AbsolutePath($"root[{i}]", roots[i], required: true);
        }
        if (roots.Length > 0 && final != true)
        {
            errors.Add("root", "the scanned roots are sent with the final chunk");
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        // The credential decides who is uploading; ids in the request must agree with it.
        if ((hostId is { } host && host != agent.HostId) || (tenantId is { } tenant && tenant != agent.TenantId))
        {
            return ApiProblems.Unauthorized("this host credential belongs to another host or tenant");
        }
        var expectedType = format == "csv" ? CsvMediaType : ParquetMediaType;
        if (!string.Equals(context.Request.ContentType?.Split(';')[0].Trim(), expectedType, StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem($"a {format} chunk must be sent as Content-Type: {expectedType}",
                statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type");
        }
        if (context.Request.ContentLength is { } length && length > limits.MaxBodyBytes)
        {
            return TooLarge($"the body is {length} bytes; the limit is {limits.MaxBodyBytes}");
        }

        List<ScanRecord> rows;
        try
        {
            using var body = await ReadBodyAsync(context.Request, limits.MaxBodyBytes, cancellationToken);
            using var plain = await ChunkCompression.DecompressAsync(body, compression, limits.MaxDecompressedBytes, cancellationToken);
            rows = format == "csv"
                ? CsvScanReader.Read(plain.GetBuffer().AsSpan(0, (int)plain.Length))
                : await ParquetScanFormat.ReadAsync(plain, cancellationToken);
        }
        catch (ChunkTooLargeException exception)
        {
            return TooLarge(exception.Message);
        }
        catch (ChunkCorruptException exception)
        {
            return BadChunk(exception.Message, null, null);
        }
        catch (ScanFormatException exception)
        {
            return BadChunk(exception.Message, exception.Row, exception.Column);
        }
        if (rows.Count > limits.MaxRowsPerChunk)
        {
            return TooLarge($"the chunk has {rows.Count} rows; the limit is {limits.MaxRowsPerChunk}");
        }

        StageResult staged;
        try
        {
            staged = await staging.StageAsync(agent.TenantId, agent.HostId, scanId!.Value, chunk!.Value, final ?? false, roots, rows, cancellationToken);
        }
        catch (ScanSequenceException exception)
        {
            return ApiProblems.Conflict(exception.Message);
        }
        if (staged.Outcome == StageOutcome.Complete)
        {
            await grains.GetGrain<IScanIngestGrain>(staged.ScanId).StartAsync();
        }
        return TypedResults.Ok(new ScanChunkReceipt(scanId.Value, chunk.Value, staged.Rows,
            staged.Outcome == StageOutcome.Duplicate ? "duplicate" : "stored", staged.Outcome == StageOutcome.Complete));
    }

    /// <summary>Reads the body into memory, stopping at the limit (Content-Length can be absent or wrong).</summary>
    private static async Task<MemoryStream> ReadBodyAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        var body = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (body.Length + read > limit)
            {
                throw new ChunkTooLargeException(limit);
            }
            await body.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
        body.Position = 0;
        return body;
    }

    private static ProblemHttpResult TooLarge(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Chunk too large");

    private static ProblemHttpResult BadChunk(string detail, long? row, string? column) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "The chunk is not valid",
            extensions: new Dictionary<string, object?> { ["row"] = row, ["column"] = column });
}
