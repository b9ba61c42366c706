using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Alto.Scanning;

namespace Alto.Agent.Scanning;

/// <summary>
/// A compressed batch of scan rows, numbered from 0; the last one of a scan is final, and in an
/// incremental scan says how many unchanged folders were named before it.
/// </summary>
public sealed record ScanChunk(Guid ScanId, int Number, bool IsFinal, int Rows, byte[] Body, string Format, ChunkCompressionKind Compression)
{
    public int? UnchangedFolders { get; init; }
}

/// <summary>
/// A part of an incremental scan's unchanged folders (numbered from 0), with the scan they are
/// unchanged since: the gateway keeps their files as that scan left them.
/// </summary>
public sealed record UnchangedFolders(Guid ScanId, Guid BaseScanId, int Part, ReadOnlyMemory<string> Folders)
{
    /// <summary>Folders per part, as many as the gateway takes in one request.</summary>
    public const int MaxPerPart = 10_000;

    /// <summary>The part as the gateway takes it (and as a folder sink writes it).</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(new { baseScanId = BaseScanId, folders = Folders.ToArray() });
}

/// <summary>Where finished chunks go: the gateway, a folder, or nowhere (dry run).</summary>
public interface IChunkSink
{
    Task SendAsync(ScanChunk chunk, CancellationToken cancellationToken);

    /// <summary>Names unchanged folders of an incremental scan; every part is sent before the scan's final chunk.</summary>
    Task SendUnchangedAsync(UnchangedFolders part, CancellationToken cancellationToken);
}

public sealed class NullSink : IChunkSink
{
    public Task SendAsync(ScanChunk chunk, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task SendUnchangedAsync(UnchangedFolders part, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Writes each chunk to a file (chunk-000000.csv.zst …): for inspection and benchmarks.</summary>
public sealed class DirectorySink(string directory) : IChunkSink
{
    public async Task SendAsync(ScanChunk chunk, CancellationToken cancellationToken)
    {
        var suffix = chunk.Compression switch
        {
            ChunkCompressionKind.Zstd => ".zst",
            ChunkCompressionKind.Gzip => ".gz",
            _ => "",
        };
        var name = string.Create(CultureInfo.InvariantCulture, $"chunk-{chunk.Number:D6}.{chunk.Format}{suffix}");
        await WriteAsync(name, chunk.Body, cancellationToken);
    }

    /// <summary>Written as unchanged-000000.json …, the body the gateway takes.</summary>
    public Task SendUnchangedAsync(UnchangedFolders part, CancellationToken cancellationToken) =>
        WriteAsync(string.Create(CultureInfo.InvariantCulture, $"unchanged-{part.Part:D6}.json"), part.ToJson(), cancellationToken);

    private async Task WriteAsync(string name, byte[] body, CancellationToken cancellationToken)
    {
        // The inventory of the host's files (names, owners): its owner's to read only.
        Tiering.PrivateFiles.CreateDirectory(directory);
        await using var file = Tiering.PrivateFiles.Open(Path.Combine(directory, name), FileMode.Create);
        await file.WriteAsync(body, cancellationToken);
    }
}

public sealed class UploadException(string message) : Exception(message);

/// <summary>
/// Uploads chunks to POST /api/v1/scan-results (and an incremental scan's unchanged folders to
/// POST /api/v1/scan-results/unchanged) with the host credential. Network failures, 429
/// and 5xx are retried with exponential backoff (3 attempts); any other refusal stops the scan
/// with the gateway's own explanation. A gateway that says it is busy (429 or 503 with
/// Retry-After) is waited for as long as it asks, without using up an attempt, for at most
/// <see cref="BusyPatience"/> in all.
/// </summary>
public sealed class UploadSink(
    HttpClient http, Uri gateway, string credential, Guid hostId, Guid tenantId, IReadOnlyList<string> roots, TimeSpan? retryBase = null) : IChunkSink
{
    public const int Attempts = 3;
    public static readonly TimeSpan BusyPatience = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan LongestBusyWait = TimeSpan.FromMinutes(1);
    private readonly TimeSpan _retryBase = retryBase ?? TimeSpan.FromSeconds(1);

    public Task SendAsync(ScanChunk chunk, CancellationToken cancellationToken)
    {
        var query = string.Create(CultureInfo.InvariantCulture,
            $"/api/v1/scan-results?scanId={chunk.ScanId}&chunk={chunk.Number}&final={(chunk.IsFinal ? "true" : "false")}&format={chunk.Format}&encoding={ChunkCompression.Name(chunk.Compression)}&hostId={hostId}&tenantId={tenantId}");
        // The final chunk names the scanned roots: files below them that the scan did not see are gone.
        var rootsQuery = chunk.IsFinal ? string.Concat(roots.Select(root => "&root=" + Uri.EscapeDataString(root))) : "";
        if (chunk.UnchangedFolders is { } unchanged)
        {
            rootsQuery += string.Create(CultureInfo.InvariantCulture, $"&unchanged={unchanged}");
        }
        return PostAsync(new Uri(gateway, query + rootsQuery), chunk.Body, chunk.Format == "parquet" ? "application/vnd.apache.parquet" : "text/csv",
            $"chunk {chunk.Number}", cancellationToken);
    }

    public Task SendUnchangedAsync(UnchangedFolders part, CancellationToken cancellationToken) =>
        PostAsync(new Uri(gateway, string.Create(CultureInfo.InvariantCulture,
                $"/api/v1/scan-results/unchanged?scanId={part.ScanId}&part={part.Part}&hostId={hostId}&tenantId={tenantId}")),
            part.ToJson(), "application/json", $"part {part.Part} of the unchanged folders", cancellationToken);

    private async Task PostAsync(Uri uri, byte[] body, string contentType, string what, CancellationToken cancellationToken)
    {
        var busySince = (DateTime?)null;
        for (var attempt = 1; ; attempt++)
        {
            string problem;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
                using var response = await http.SendAsync(request, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
                problem = $"{(int)response.StatusCode}: {Detail(await response.Content.ReadAsStringAsync(cancellationToken))}";
                if (!IsTransient(response.StatusCode))
                {
                    throw new UploadException($"the gateway refused {what}: {problem}");
                }
                if (BusyWait(response) is { } wait)
                {
                    busySince ??= DateTime.UtcNow;
                    if (DateTime.UtcNow - busySince < BusyPatience)
                    {
                        attempt--;
                        await Task.Delay(wait, cancellationToken);
                        continue;
                    }
                }
            }
            catch (HttpRequestException exception)
            {
                problem = exception.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                problem = "timed out";
            }
            if (attempt >= Attempts)
            {
                throw new UploadException($"{what} could not be uploaded after {Attempts} attempts: {problem}");
            }
            await Task.Delay(_retryBase * Math.Pow(2, attempt - 1), cancellationToken);
        }
    }

    /// <summary>How long a busy gateway asks to be left alone (429 or 503 with Retry-After), or null.</summary>
    private static TimeSpan? BusyWait(HttpResponseMessage response)
    {
        if (response.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable) || response.Headers.RetryAfter is not { } after)
        {
            return null;
        }
        var wait = after.Delta ?? (after.Date is { } date ? date - DateTimeOffset.UtcNow : TimeSpan.Zero);
        return wait < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : wait > LongestBusyWait ? LongestBusyWait : wait;
    }

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)status >= 500;

    private static string Detail(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            return body.Length > 300 ? body[..300] : body;
        }
    }
}
