using Alto.Gateway.Auth;
using Alto.Gateway.Errors;
using Alto.Gateway.ReadModels;
using Alto.Gateway.Scans;
using Alto.Gateway.Validation;
using Alto.GrainInterfaces.Scans;
using Alto.Scanning;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Alto.Gateway.Apis;

public sealed record ScanChunkReceipt(Guid ScanId, int Chunk, int Rows, string Outcome, bool IngestQueued);

/// <summary>A part of an incremental scan's unchanged folders, and the scan they are unchanged since.</summary>
public sealed record UnchangedFoldersRequest(Guid? BaseScanId, string?[]? Folders);

public sealed record UnchangedFoldersReceipt(Guid ScanId, int Part, int Folders, string Outcome);

/// <summary>The host's last ingested scan, by the id its agent gave it (null: none yet).</summary>
public sealed record LastScanView(Guid? ScanId);

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
            .WithMetadata(new UnreadBodies.ReadByHandler())
            .WithTags("Agents")
            .WithSummary("Upload one chunk of a scan (host credential)");
        api.MapPost("/scan-results/unchanged", ReceiveUnchangedAsync).Allows(Access.Agent)
            .RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithTags("Agents")
            .WithSummary($"Name folders of an incremental scan that did not change since its base scan, at most {MaxUnchangedPerPart} a part, before its final chunk (host credential)");
        api.MapGet("/scan-results/last", GetLastAsync).Allows(Access.Agent)
            .RequireAuthorization(HostCredentialAuthentication.Policy)
            .WithTags("Agents")
            .WithSummary("The calling host's last ingested scan, which an incremental scan continues (host credential)");
        return api;
    }

    /// <summary>Unchanged folders per request: as many as the agent sends in one part.</summary>
    public const int MaxUnchangedPerPart = 10_000;

    public static async Task<Results<Ok<LastScanView>, ProblemHttpResult>> GetLastAsync(HttpContext context, ScanStaging staging, Guid? hostId, Guid? tenantId)
    {
        var agent = AgentCaller.From(context.User);
        if (NotTheCallers(agent, hostId, tenantId) is { } refused)
        {
            return refused;
        }
        return TypedResults.Ok(new LastScanView(await staging.LastIngestedAsync(agent.HostId, context.RequestAborted)));
    }

    /// <summary>
    /// A part of an incremental scan's unchanged folders: each a canonical absolute path of the
    /// host's flavour, stored as given (the ingest finds the folders by it). Anything wrong is
    /// answered with problem details and nothing is stored.
    /// </summary>
    public static async Task<Results<Ok<UnchangedFoldersReceipt>, ValidationProblem, ProblemHttpResult>> ReceiveUnchangedAsync(
        HttpContext context, ScanStaging staging, HostReadModel hosts, Guid? scanId, int? part, Guid? hostId, Guid? tenantId,
        UnchangedFoldersRequest request)
    {
        var agent = AgentCaller.From(context.User);
        if (NotTheCallers(agent, hostId, tenantId) is { } refused)
        {
            return refused;
        }
        var errors = new RequestErrors();
        if (scanId is null || scanId == Guid.Empty)
        {
            errors.Add("scanId", "scanId is required (the UUID of the scan the folders belong to)");
        }
        if (part is null or < 0 or > 100_000)
        {
            errors.Add("part", "part is required: the part number, from 0");
        }
        if (request.BaseScanId is null || request.BaseScanId == Guid.Empty)
        {
            errors.Add("baseScanId", "baseScanId is required: the scan the folders are unchanged since");
        }
        var given = request.Folders ?? [];
        if (given.Length is 0 or > MaxUnchangedPerPart)
        {
            errors.Add("folders", $"folders holds 1 to {MaxUnchangedPerPart} paths (got {given.Length})");
        }
        var flavor = await hosts.PathFlavorAsync(agent.HostId, context.RequestAborted);
        var folders = new List<string>(given.Length);
        for (var i = 0; i < given.Length && i < MaxUnchangedPerPart && errors.Count < 20; i++)
        {
            // Only a folder spelled as the ingest spells a scanned file's folder can be found: a path in another form is refused, not guessed at.
            if (given[i] is not { Length: > 0 and <= ScanColumns.MaxPathLength } folder || flavor.Canonical(folder) != folder)
            {
                errors.Add($"folders[{i}]", $"'{Shorten(given[i])}' is not a canonical absolute path on this {(flavor == PathFlavor.Windows ? "Windows" : "POSIX")} host");
                continue;
            }
            folders.Add(folder);
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        StageOutcome outcome;
        try
        {
            outcome = await staging.StageUnchangedAsync(agent.TenantId, agent.HostId, scanId!.Value, part!.Value, request.BaseScanId!.Value, [.. folders],
                context.RequestAborted);
        }
        catch (ScanSequenceException exception)
        {
            return ApiProblems.Conflict(exception.Message);
        }
        return TypedResults.Ok(new UnchangedFoldersReceipt(scanId.Value, part.Value, folders.Count, outcome == StageOutcome.Duplicate ? "duplicate" : "stored"));
    }

    /// <summary>Ids in the query that are not the credential's own host and tenant: refused (the credential decides who is calling).</summary>
    private static ProblemHttpResult? NotTheCallers(AgentCaller agent, Guid? hostId, Guid? tenantId) =>
        (hostId is { } host && host != agent.HostId) || (tenantId is { } tenant && tenant != agent.TenantId)
            ? ApiProblems.Unauthorized("this host credential belongs to another host or tenant")
            : null;

    /// <summary>The request's media type without its parameters (text/csv of "text/csv; charset=utf-8").</summary>
    private static string? MediaTypeOf(HttpRequest request) => request.ContentType?.Split(';')[0].Trim();

    private static string Shorten(string? text) => text is null ? "(null)" : text.Length > 200 ? text[..200] + "…" : text;

    public static async Task<Results<Ok<ScanChunkReceipt>, ValidationProblem, ProblemHttpResult>> ReceiveChunkAsync(
        HttpContext context, ScanStaging staging, UploadGate gate, HostReadModel hosts, IGrainFactory grains, IOptions<ScanUploadOptions> options,
        Grains.Live.LivePublisher live,
        Guid? scanId, int? chunk, bool? final, string? format, string? encoding, Guid? hostId, Guid? tenantId,
        [FromQuery(Name = "root")] string[]? roots, long? unchanged)
    {
        var agent = AgentCaller.From(context.User);
        var limits = options.Value;
        // A scan chunk may be larger than other requests: its own limit is enforced while reading.
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limits.MaxBodyBytes;
        }
        var cancellationToken = context.RequestAborted;

        // The credential decides who is uploading; ids in the request must agree with it.
        if (NotTheCallers(agent, hostId, tenantId) is { } refused)
        {
            return refused;
        }
        var flavor = await hosts.PathFlavorAsync(agent.HostId, cancellationToken);
        var errors = new RequestErrors();
        if (scanId is null || scanId == Guid.Empty)
        {
            errors.Add("scanId", "scanId is required (a UUID chosen by the agent for the whole scan)");
        }
        if (chunk is null or < 0 or > 10_000_000)
        {
            errors.Add("chunk", "chunk is required: the chunk number, from 0");
        }
        // Left out, the format is the body's media type (as Content-Encoding alone says how it is compressed).
        format ??= MediaTypeOf(context.Request) switch
        {
            var type when string.Equals(type, CsvMediaType, StringComparison.OrdinalIgnoreCase) => "csv",
            var type when string.Equals(type, ParquetMediaType, StringComparison.OrdinalIgnoreCase) => "parquet",
            _ => null,
        };
        if (format is not ("csv" or "parquet"))
        {
            errors.Add("format", $"format must be csv or parquet (or left out, with Content-Type: {CsvMediaType} or {ParquetMediaType})");
        }
        var compression = ChunkEncoding(context.Request, encoding, errors);
        roots ??= [];
        if (roots.Length > 256)
        {
            errors.Add("root", "at most 256 roots");
        }
        var canonicalRoots = new List<string>(roots.Length);
        for (var i = 0; i < roots.Length && i < 256; i++)
        {
            if (errors.HostPath($"root[{i}]", roots[i], flavor, required: true) is { } root)
            {
                canonicalRoots.Add(root);
            }
        }
        if (roots.Length > 0 && final != true)
        {
            errors.Add("root", "the scanned roots are sent with the final chunk");
        }
        if (unchanged is not null && (final != true || unchanged < 0))
        {
            errors.Add("unchanged", "unchanged (how many unchanged folders an incremental scan named) is a count sent with the final chunk");
        }
        if (errors.Any)
        {
            return ApiProblems.Invalid(errors);
        }
        var expectedType = format == "csv" ? CsvMediaType : ParquetMediaType;
        if (!string.Equals(MediaTypeOf(context.Request), expectedType, StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem($"a {format} chunk must be sent as Content-Type: {expectedType}",
                statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type");
        }
        if (context.Request.ContentLength is { } length && length > limits.MaxBodyBytes)
        {
            return TooLarge($"the body is {length} bytes; the limit is {limits.MaxBodyBytes}");
        }

        var admission = gate.TryEnter(agent.HostId);
        if (admission.Lease is null)
        {
            return Busy(context, admission.Refusal, limits.RetryAfterSeconds);
        }
        using var lease = admission.Lease;
        StageResult staged;
        try
        {
            // Decompressed as it arrives, parsed as it is decompressed, copied as it is parsed: no whole chunk is ever held.
            await using var decoded = new ChunkDecodeStream(context.Request.Body, compression, limits.MaxDecompressedBytes);
            var identity = new ChunkIdentity(agent.TenantId, agent.HostId, scanId!.Value, chunk!.Value, final ?? false, canonicalRoots)
            {
                UnchangedFolders = unchanged,
            };
            if (format == "csv")
            {
                var rows = await CsvScanReader.OpenAsync(decoded, flavor, cancellationToken);
                staged = await staging.StageAsync(identity, new ChunkContent(rows, () => decoded.Digest, limits.MaxRowsPerChunk), cancellationToken);
            }
            else
            {
                // Parquet is read by seeking: its decompressed bytes wait in a temporary file, not in memory.
                await using var spool = await SpoolAsync(decoded, cancellationToken);
                await using var rows = await ParquetScanReader.OpenAsync(spool, flavor, limits.MaxRowsPerChunk, cancellationToken);
                staged = await staging.StageAsync(identity, new ChunkContent(rows, () => decoded.Digest, limits.MaxRowsPerChunk), cancellationToken);
            }
        }
        catch (ChunkTooLargeException exception)
        {
            return TooLarge(exception.Message);
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge($"the body is larger than {limits.MaxBodyBytes} bytes");
        }
        catch (ChunkCorruptException exception)
        {
            return BadChunk(exception.Message, null, null);
        }
        catch (ScanFormatException exception)
        {
            return BadChunk(exception.Message, exception.Row, exception.Column);
        }
        catch (ScanSequenceException exception)
        {
            return ApiProblems.Conflict(exception.Message);
        }
        if (staged.Outcome != StageOutcome.Duplicate)
        {
            await live.PublishAsync(agent.TenantId, GrainInterfaces.Live.LiveEventKinds.ScanProgress, GrainInterfaces.Live.LiveAudience.Everyone, new
            {
                hostId = agent.HostId, scanId, chunk, rows = staged.Rows, final = final ?? false, ingesting = staged.Outcome == StageOutcome.Complete,
            }, agent.HostId);
        }
        if (staged.Outcome == StageOutcome.Complete)
        {
            await grains.GetGrain<IScanIngestGrain>(staged.ScanId).StartAsync();
        }
        return TypedResults.Ok(new ScanChunkReceipt(scanId.Value, chunk.Value, staged.Rows,
            staged.Outcome == StageOutcome.Duplicate ? "duplicate" : "stored", staged.Outcome == StageOutcome.Complete));
    }

    /// <summary>
    /// The chunk's compression, from the encoding query parameter or the Content-Encoding header
    /// (either may be left out; when both are given they must agree).
    /// </summary>
    private static ChunkCompressionKind ChunkEncoding(HttpRequest request, string? encoding, RequestErrors errors)
    {
        var header = request.Headers.ContentEncoding.ToString();
        ChunkCompressionKind? fromQuery = null, fromHeader = null;
        if (encoding is not null)
        {
            if (ChunkCompression.TryParse(encoding, out var kind))
            {
                fromQuery = kind;
            }
            else
            {
                errors.Add("encoding", "encoding must be zstd, gzip or none");
            }
        }
        if (header.Length > 0)
        {
            if (ChunkCompression.TryParse(header.Trim().ToLowerInvariant() is "identity" ? "none" : header.Trim().ToLowerInvariant(), out var kind))
            {
                fromHeader = kind;
            }
            else
            {
                errors.Add("Content-Encoding", $"Content-Encoding '{header}' is not supported: zstd, gzip or identity");
            }
        }
        if (fromQuery is { } query && fromHeader is { } named && query != named)
        {
            errors.Add("encoding", $"encoding={ChunkCompression.Name(query)} contradicts Content-Encoding: {header}");
        }
        return fromQuery ?? fromHeader ?? ChunkCompressionKind.None;
    }

    private static async Task<FileStream> SpoolAsync(Stream decoded, CancellationToken cancellationToken)
    {
        var spool = new FileStream(Path.Combine(Path.GetTempPath(), $"alto-chunk-{Guid.NewGuid():N}.parquet"), FileMode.CreateNew, FileAccess.ReadWrite,
            FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            await decoded.CopyToAsync(spool, cancellationToken);
            spool.Position = 0;
            return spool;
        }
        catch
        {
            await spool.DisposeAsync();
            throw;
        }
    }

    private static ProblemHttpResult Busy(HttpContext context, UploadRefusal refusal, int retryAfterSeconds)
    {
        context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return refusal == UploadRefusal.HostBusy
            ? TypedResults.Problem("this host already has as many chunk uploads in progress as it may; retry after the time in Retry-After",
                statusCode: StatusCodes.Status429TooManyRequests, title: "Too many uploads from this host")
            : TypedResults.Problem("the gateway is taking in as many chunk uploads as it may; retry after the time in Retry-After",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Gateway busy");
    }

    private static ProblemHttpResult TooLarge(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Chunk too large");

    private static ProblemHttpResult BadChunk(string detail, long? row, string? column) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "The chunk is not valid",
            extensions: new Dictionary<string, object?> { ["row"] = row, ["column"] = column });
}
