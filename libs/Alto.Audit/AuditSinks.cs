using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Alto.Audit;

/// <summary>Where the forwarder ships entries. A batch either is delivered as a whole or throws; the forwarder then tries it again.</summary>
public interface IAuditSink
{
    Task DeliverAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken);
}

/// <summary>POSTs a batch as JSON Lines; any status other than 2xx is a failure, so the collector acknowledges what it took.</summary>
public sealed class HttpAuditSink(HttpClient http, Uri url, string? authorization) : IAuditSink
{
    public async Task DeliverAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new ByteArrayContent(AuditJson.Lines(batch)) { Headers = { ContentType = new MediaTypeHeaderValue("application/x-ndjson") } },
        };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new IOException($"the collector at {url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }
}

/// <summary>
/// RFC 5424 messages over TCP with octet-counting framing (RFC 6587), or over TLS (RFC 5425), facility "log audit" (13);
/// failures at warning, the rest at notice. The message is the entry's JSON.
/// </summary>
public sealed class SyslogAuditSink(string host, int port, AuditTls? tls = null) : IAuditSink
{
    private const int LogAuditFacility = 13;

    public async Task DeliverAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken)
    {
        await using var stream = await AuditTls.ConnectAsync(host, port, tls, cancellationToken);
        foreach (var entry in batch)
        {
            var message = Message(entry);
            await stream.WriteAsync((byte[])[.. Encoding.ASCII.GetBytes(message.Length.ToString(CultureInfo.InvariantCulture) + " "), .. message], cancellationToken);
        }
        await stream.FlushAsync(cancellationToken);
    }

    /// <summary>The entry as an RFC 5424 message: failures at warning, the rest at notice, the entry's JSON as the text.</summary>
    public static byte[] Message(AuditRecord entry)
    {
        var severity = entry.Outcome == "failure" ? 4 : 5;
        return Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"<{LogAuditFacility * 8 + severity}>1 {entry.At.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'} {Environment.MachineName} alto - {entry.Action} - ")
            + JsonSerializer.Serialize(entry, AuditJson.Options));
    }
}

/// <summary>Entries as JSON the way the API writes them (camelCase).</summary>
public static class AuditJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerOptions.Web);

    public static byte[] Lines(IEnumerable<AuditRecord> entries)
    {
        using var buffer = new MemoryStream();
        foreach (var entry in entries)
        {
            JsonSerializer.Serialize(buffer, entry, Options);
            buffer.WriteByte((byte)'\n');
        }
        return buffer.ToArray();
    }
}
