using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Alto.GrainInterfaces.Tenants;
using Alto.Audit;
using Alto.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Grains.Tests.Audit;

/// <summary>The SIEM forwarder against a real HTTP collector on 127.0.0.1 that is down for a while, and against a TCP syslog listener.</summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class AuditForwarderTests(PostgresClusterFixture fixture)
{
    private async Task<Guid> TenantWithEntriesAsync(int entries)
    {
        var tenantId = Guid.NewGuid();
        Assert.True((await fixture.Client.GetGrain<ITenantGrain>(tenantId.ToString()).CreateAsync(new CreateTenant($"fwd-{tenantId:N}", ""))).Succeeded);
        await AppendAsync(tenantId, entries);
        return tenantId;
    }

    private async Task AppendAsync(Guid tenantId, int entries)
    {
        for (var i = 0; i < entries; i++)
        {
            await AuditLog.AppendAsync(fixture.Database.DataSource,
                new AuditEntry(tenantId, "user:fwd", "rule.updated", "rule", $"r{i}", true, new Dictionary<string, object?> { ["i"] = i }), CancellationToken.None);
        }
    }

    private Task<long> LastSeqAsync(Guid tenantId) =>
        fixture.Database.ScalarAsync<long>($"SELECT max(chain_seq) FROM alto.audit_log WHERE tenant_id = '{tenantId}'");

    [Fact]
    public async Task WhileTheCollectorIsDownNothingIsLostAndOnceItIsBackEverythingArrivesOnceInOrder()
    {
        var tenant = await TenantWithEntriesAsync(40);
        var port = FreePorts.Next();
        var options = new AuditForwardOptions
        {
            Kind = "http", Name = "test-" + Guid.NewGuid().ToString("N"), Url = $"http://127.0.0.1:{port}/ingest", BatchSize = 7,
            Interval = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(400),
        };
        using var http = new HttpClient();
        var sink = new CountingSink(new HttpAuditSink(http, new Uri(options.Url), "Bearer collector-token"));
        using var metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var pending = new PendingGauge(options.Name);
        var forwarder = new AuditForwarder(fixture.Database.DataSource, sink, options, NullLogger.Instance,
            new AuditForwardGauge(metrics.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        using var stop = new CancellationTokenSource();
        var running = forwarder.RunAsync(stop.Token);

        // Down: entries keep coming, the forwarder keeps trying, the cursor stays where it was.
        await AppendAsync(tenant, 10);
        var tried = DateTime.UtcNow.AddSeconds(30);
        while (sink.Failures < 3)
        {
            Assert.True(DateTime.UtcNow < tried, $"the forwarder tried {sink.Failures} time(s) while the collector was down");
            await Task.Delay(50);
        }
        Assert.Equal(0, await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_forward_cursor WHERE forwarder = '{options.Name}'"));
        // The gauge the AltoAuditForwarderBehind alert reads counts at least this tenant's fifty entries (other tests' chains add theirs).
        Assert.True(pending.Read() >= 50, $"alto_audit_forward_pending read {pending.Read()} while the collector was down");

        await using var collector = await Collector.StartAsync(port);
        var last = await LastSeqAsync(tenant);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        // The cursor moves only after a batch is delivered: both are waited for before the forwarder stops.
        // Other tests' chains go out too: the pass that reaches the end of every chain sets the gauge to 0.
        while (collector.Seqs(tenant).LastOrDefault() < last || pending.Read() != 0
               || await fixture.Database.CountAsync($"SELECT count(*) FROM alto.audit_forward_cursor WHERE forwarder = '{options.Name}' AND chain_seq = {last}") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{collector.Seqs(tenant).Count} of {last} entries arrived");
            await Task.Delay(100);
        }
        await stop.CancelAsync();
        await running;

        Assert.Equal(Enumerable.Range(1, (int)last).Select(n => (long)n), collector.Seqs(tenant));
        Assert.Equal(0, pending.Read());
        Assert.All(collector.Authorizations, header => Assert.Equal("Bearer collector-token", header));
        Assert.Equal(last, await fixture.Database.ScalarAsync<long>(
            $"SELECT chain_seq FROM alto.audit_forward_cursor WHERE forwarder = '{options.Name}' AND chain = '{tenant}'"));
    }

    [Fact]
    public async Task SyslogGetsOneOctetCountedRfc5424MessagePerEntry()
    {
        var tenant = await TenantWithEntriesAsync(3);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var received = ReadFramesAsync(listener);
        var sink = new SyslogAuditSink("127.0.0.1", port);
        var batch = await ChainAsync(tenant);

        await sink.DeliverAsync(batch, CancellationToken.None);

        var frames = await received.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4, frames.Count);
        Assert.StartsWith("<109>1 ", frames[0], StringComparison.Ordinal);
        Assert.Contains(" alto - tenant.created - {", frames[0], StringComparison.Ordinal);
        Assert.Equal(4, JsonDocument.Parse(frames[3][frames[3].IndexOf('{', StringComparison.Ordinal)..]).RootElement.GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task RelpToARealRsyslogLosesNothingWhenTheReceiverIsKilledAndCutsNoLongEntry()
    {
        var tenant = await TenantWithEntriesAsync(1);
        // Longer than rsyslog's default 8 KiB message: it arrives whole, not cut with its tail as a message of its own.
        var longText = string.Concat(Enumerable.Repeat("0123456789abcdef", 1250));
        await AuditLog.AppendAsync(fixture.Database.DataSource,
            new AuditEntry(tenant, "user:fwd", "rule.updated", "rule", "long", true, new Dictionary<string, object?> { ["text"] = longText }), CancellationToken.None);
        await AppendAsync(tenant, 400);
        var last = await LastSeqAsync(tenant);
        await using var receiver = await RsyslogReceiver.StartAsync();
        var options = new AuditForwardOptions
        {
            Kind = "relp", Name = "relp-" + Guid.NewGuid().ToString("N"), Address = $"127.0.0.1:{receiver.Port}", BatchSize = 20,
            Interval = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(400),
        };
        using var metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var forwarder = new AuditForwarder(fixture.Database.DataSource, new RelpAuditSink("127.0.0.1", receiver.Port), options, NullLogger.Instance,
            new AuditForwardGauge(metrics.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        using var stop = new CancellationTokenSource();
        var running = forwarder.RunAsync(stop.Token);

        // Killed in the middle of the tenant's chain, then back a moment later on the same port.
        await Eventually.WaitAsync(async () => Seqs(await receiver.LinesAsync(), tenant).Count >= 100, "a hundred entries before the kill", TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(100));
        await receiver.KillAsync();
        await Task.Delay(500);
        await receiver.RestartAsync();
        await Eventually.WaitAsync(async () => await fixture.Database.CountAsync(
            $"SELECT count(*) FROM alto.audit_forward_cursor WHERE forwarder = '{options.Name}' AND chain = '{tenant}' AND chain_seq = {last}") == 1,
            "the cursor at the chain's end", TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(100));
        await stop.CancelAsync();
        await running;

        var lines = await receiver.LinesAsync();
        // At least once: every entry the cursor passed is in the receiver's file (a batch the kill interrupted may be there twice).
        Assert.Equal(Enumerable.Range(1, (int)last).Select(n => (long)n), Seqs(lines, tenant).Distinct().Order());
        var longLine = Assert.Single(lines.Where(line => line.Contains("\"objectId\":\"long\"", StringComparison.Ordinal)).Distinct());
        Assert.Equal(longText, JsonDocument.Parse(longLine[longLine.IndexOf('{', StringComparison.Ordinal)..]).RootElement.GetProperty("details").GetProperty("text").GetString());
        Assert.DoesNotContain(lines, line => line.StartsWith("0123456789abcdef", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OverTlsRelpAndSyslogReachAReceiverTheCaVouchesForAndNoOther()
    {
        var tenant = await TenantWithEntriesAsync(2);
        var certificates = Directory.CreateTempSubdirectory("alto-tls-").FullName;
        try
        {
            var (tls, otherCa) = TestCertificates.Write(certificates);
            await using var receiver = await RsyslogReceiver.StartAsync(tls);
            var batch = await ChainAsync(tenant);

            await new RelpAuditSink("127.0.0.1", receiver.Port, new AuditTls(tls.CaFile, null)).DeliverAsync(batch, CancellationToken.None);
            await new SyslogAuditSink("127.0.0.1", receiver.SyslogPort, new AuditTls(tls.CaFile, null)).DeliverAsync(batch, CancellationToken.None);
            await Eventually.WaitAsync(async () => Seqs(await receiver.LinesAsync(), tenant).Count == 6, "each entry once by each transport", TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(100));
            Assert.Equal([1L, 1, 2, 2, 3, 3], Seqs(await receiver.LinesAsync(), tenant).Order());

            // A receiver the configured CA did not sign, or one under another name, is refused before anything is sent.
            await AssertRefusedForItsCertificateAsync(() =>
                new RelpAuditSink("127.0.0.1", receiver.Port, new AuditTls(otherCa, null)).DeliverAsync(batch, CancellationToken.None));
            await AssertRefusedForItsCertificateAsync(() =>
                new SyslogAuditSink("127.0.0.1", receiver.SyslogPort, new AuditTls(otherCa, null)).DeliverAsync(batch, CancellationToken.None));
            await AssertRefusedForItsCertificateAsync(() =>
                new RelpAuditSink("127.0.0.1", receiver.Port, new AuditTls(tls.CaFile, "siem.example.com")).DeliverAsync(batch, CancellationToken.None));
            await Task.Delay(500);
            Assert.Equal(6, Seqs(await receiver.LinesAsync(), tenant).Count);
        }
        finally
        {
            Directory.Delete(certificates, recursive: true);
        }
    }

    /// <summary>
    /// Asserts that the sink refuses the receiver's certificate (an AuthenticationException). The receiver
    /// now and then closes a connection before its first handshake answer, just after refusing the one
    /// before it (seen once in CI as "unexpected EOF"); that is the transport failing, not the check this
    /// is about, so such a try is made again — a sink that delivered would still fail here.
    /// </summary>
    private static async Task AssertRefusedForItsCertificateAsync(Func<Task> deliver)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await deliver();
            }
            catch (System.Security.Authentication.AuthenticationException)
            {
                return;
            }
            catch (IOException) when (attempt < 5)
            {
                await Task.Delay(200);
                continue;
            }
            Assert.Fail("delivered to a receiver whose certificate the configured CA or name does not vouch for");
        }
    }

    private async Task<List<AuditRecord>> ChainAsync(Guid tenant)
    {
        var batch = new List<AuditRecord>();
        await foreach (var entry in AuditRecords.ReadChainAsync(fixture.Database.DataSource, tenant, 0, 100, CancellationToken.None))
        {
            batch.Add(entry);
        }
        return batch;
    }

    /// <summary>The chain numbers of the tenant's entries among the receiver's lines (each line's message is the entry's JSON).</summary>
    private static List<long> Seqs(IEnumerable<string> lines, Guid tenant) =>
        [.. lines.Where(line => line.Contains(tenant.ToString(), StringComparison.Ordinal))
            .Select(line => JsonDocument.Parse(line[line.IndexOf('{', StringComparison.Ordinal)..]).RootElement)
            .Where(entry => entry.GetProperty("tenantId").GetString() == tenant.ToString())
            .Select(entry => entry.GetProperty("seq").GetInt64())];

    private static async Task<List<string>> ReadFramesAsync(TcpListener listener)
    {
        using var client = await listener.AcceptTcpClientAsync();
        await using var stream = client.GetStream();
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        var bytes = buffer.ToArray();
        var frames = new List<string>();
        for (var at = 0; at < bytes.Length;)
        {
            var space = Array.IndexOf(bytes, (byte)' ', at);
            var length = int.Parse(Encoding.ASCII.GetString(bytes, at, space - at), System.Globalization.CultureInfo.InvariantCulture);
            frames.Add(Encoding.UTF8.GetString(bytes, space + 1, length));
            at = space + 1 + length;
        }
        return frames;
    }

    /// <summary>A JSON Lines collector on 127.0.0.1 (what a SIEM's HTTP input does): it keeps every entry it was sent.</summary>
    private sealed class Collector : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<(string Chain, long Seq)> _entries = new();

        private Collector(WebApplication app) => _app = app;

        public ConcurrentQueue<string> Authorizations { get; } = new();

        public static async Task<Collector> StartAsync(int port)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, port));
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var collector = new Collector(app);
            app.MapPost("/ingest", async (HttpRequest request) =>
            {
                collector.Authorizations.Enqueue(request.Headers.Authorization.ToString());
                using var reader = new StreamReader(request.Body);
                while (await reader.ReadLineAsync() is { Length: > 0 } line)
                {
                    var entry = JsonDocument.Parse(line).RootElement;
                    var chain = entry.TryGetProperty("tenantId", out var tenant) && tenant.ValueKind == JsonValueKind.String ? tenant.GetString()! : "platform";
                    collector._entries.Enqueue((chain, entry.GetProperty("seq").GetInt64()));
                }
                return Results.NoContent();
            });
            await app.StartAsync();
            return collector;
        }

        public List<long> Seqs(Guid tenantId) => [.. _entries.Where(e => e.Chain == tenantId.ToString()).Select(e => e.Seq)];

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>The real sink, counting the deliveries that failed, so a test waits for tries instead of for time.</summary>
    private sealed class CountingSink(IAuditSink inner) : IAuditSink
    {
        private int _failures;

        public int Failures => Volatile.Read(ref _failures);

        public async Task DeliverAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken)
        {
            try
            {
                await inner.DeliverAsync(batch, cancellationToken);
            }
            catch
            {
                Interlocked.Increment(ref _failures);
                throw;
            }
        }
    }
}

/// <summary>Reads alto.audit.forward_pending for one forwarder as a scrape would, through a listener on the Alto meter.</summary>
internal sealed class PendingGauge : IDisposable
{
    private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
    private long _value = -1;

    public PendingGauge(string forwarder)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == AuditForwardGauge.MeterName && instrument.Name == "alto.audit.forward_pending")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "forwarder" && Equals(tag.Value, forwarder))
                {
                    _value = value;
                }
            }
        });
        _listener.Start();
    }

    public long Read()
    {
        _listener.RecordObservableInstruments();
        return _value;
    }

    public void Dispose() => _listener.Dispose();
}
