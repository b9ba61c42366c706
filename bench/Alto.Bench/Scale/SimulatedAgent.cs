using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Alto.Agent.Connection;
using Alto.Agent.Enrollment;
using Alto.Agent.Scanning;
using Alto.Protocol.Agent.V1;
using Alto.Scanning;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace Alto.Bench.Scale;

/// <summary>
/// One host of the scale bench, speaking the agent's real protocol with the agent's own clients
/// where they can be reused: scan chunks through <see cref="UploadSink"/>, LucidLink batches
/// through <see cref="GatewayClient"/>, and the session stream (hello, heartbeats with its volume's
/// recall armed, acknowledgements) written here, because the real agent would run the jobs it gets;
/// this one reports every file of a job stubbed, 500 to a report as the agent does, and counts
/// which jobs brought which files. As the agent does, it keeps every report until the gateway
/// takes it: a report answered "send it again" goes again after a pause, and a lost session is
/// opened again and every report not yet taken sent again in order.
/// </summary>
internal sealed class SimulatedAgent(AgentCredentials credentials, string root, HttpClient http) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, long> _awaitingAck = new();
    private readonly ConcurrentDictionary<string, (long Order, AgentMessage Report)> _unacknowledged = new();
    private readonly HashSet<string> _jobsAnswered = [];
    private readonly TaskCompletionSource _welcomed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Channel<AgentMessage>? _outbox;
    private Task? _sessions;
    private long _reportOrder;
    private long _disconnectedSince;
    private string _lastLoss = "";
    private int _sessionsLost;
    private int _reportsDeferred;

    public Guid HostId => credentials.HostId;

    public Guid TenantId => credentials.TenantId;

    public string Root => root;

    /// <summary>Sessions that ended before the bench stopped them (each opened again).</summary>
    public int SessionsLost => Volatile.Read(ref _sessionsLost);

    /// <summary>Reports the gateway answered "send it again" (each sent again).</summary>
    public int ReportsDeferred => Volatile.Read(ref _reportsDeferred);

    /// <summary>Why this host has had no session for longer than <paramref name="patience"/>, else null.</summary>
    public string? Stranded(TimeSpan patience)
    {
        var since = Interlocked.Read(ref _disconnectedSince);
        return since != 0 && Stopwatch.GetElapsedTime(since) > patience
            ? $"host {HostId} has had no session for {Stopwatch.GetElapsedTime(since).TotalSeconds:0} s; the last ended with: {_lastLoss}"
            : null;
    }

    /// <summary>For each tier object this host was sent, the jobs that brought it.</summary>
    public ConcurrentDictionary<long, int> JobsPerFile { get; } = new();

    /// <summary>Reports the gateway refused (acknowledged with ok = false), with its reasons.</summary>
    public ConcurrentBag<string> Refusals { get; } = [];

    /// <summary>Uploads one whole scan as the agent does (<see cref="UploadWindow"/>, the final chunk last), each chunk's request timed.</summary>
    public async Task UploadScanAsync(byte[][] chunks, Latencies latencies)
    {
        var scanId = Guid.NewGuid();
        var sink = new UploadSink(http, credentials.Gateway, credentials.Credential, HostId, TenantId, [root]);
        using var uploads = new UploadWindow();
        for (var i = 0; i < chunks.Length - 1; i++)
        {
            var chunk = new ScanChunk(scanId, i, false, 0, chunks[i], "csv", ChunkCompressionKind.Zstd);
            await uploads.StartAsync(() => latencies.TimeAsync(() => sink.SendAsync(chunk, CancellationToken.None)));
        }
        await uploads.DrainAsync();
        var final = new ScanChunk(scanId, chunks.Length - 1, true, 0, chunks[^1], "csv", ChunkCompressionKind.Zstd);
        await latencies.TimeAsync(() => sink.SendAsync(final, CancellationToken.None));
    }

    /// <summary>Batches the gateway could not take at the first attempt (busy, failing), and sent again.</summary>
    public int BatchesRetried { get; private set; }

    /// <summary>
    /// Sends reads of <paramref name="files"/> (as LucidLink saw them just now) in one batch; why it
    /// was refused, if it was. A gateway that cannot take it now (5xx, busy) gets the same batch
    /// again after a pause, as the agent's uploader sends it again at its next poll; the latency is
    /// until the batch was taken.
    /// </summary>
    public Task<string?> SendReadsAsync(IEnumerable<string> files, Latencies latencies)
    {
        var readAt = DateTimeOffset.UtcNow;
        var batch = new TrailUpdateBatch(Guid.NewGuid(), TenantId, HostId, TrailUpdateBatch.LucidLinkSource, DateTimeOffset.UtcNow,
            [.. files.Select(file => new TrailUpdate(file, "read", readAt, null))]);
        return latencies.TimeAsync(async () =>
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await new GatewayClient(http, credentials).SendTrailUpdatesAsync(batch, CancellationToken.None);
                }
                catch (HttpRequestException) when (attempt < 10)
                {
                    BatchesRetried++;
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, 1 << attempt)));
                }
            }
        });
    }

    /// <summary>Opens the session and waits for the gateway's welcome; jobs are answered from then on, across sessions.</summary>
    public async Task ConnectAsync(Latencies reportLatencies, TimeSpan patience)
    {
        _sessions = RunSessionsAsync(reportLatencies);
        var welcomed = await Task.WhenAny(_welcomed.Task, Task.Delay(patience));
        if (welcomed != _welcomed.Task)
        {
            throw new InvalidOperationException($"host {HostId} got no welcome: " + (_lastLoss.Length > 0 ? _lastLoss : "timed out"));
        }
    }

    /// <summary>Sessions one after another until the bench stops: a lost one is opened again after 1–3 s, as the agent does.</summary>
    private async Task RunSessionsAsync(Latencies reportLatencies)
    {
        while (!_stop.IsCancellationRequested)
        {
            var reason = "the gateway ended the session";
            try
            {
                await RunSessionAsync(reportLatencies);
            }
            catch (Exception exception) when (!_stop.IsCancellationRequested)
            {
                reason = exception.Message;
            }
            catch (Exception exception) when (exception is RpcException or OperationCanceledException)
            {
                return;
            }
            if (_stop.IsCancellationRequested)
            {
                return;
            }
            _lastLoss = reason;
            Interlocked.Increment(ref _sessionsLost);
            Interlocked.CompareExchange(ref _disconnectedSince, Stopwatch.GetTimestamp(), 0);
            await Task.Delay(TimeSpan.FromSeconds(1 + 2 * Random.Shared.NextDouble()), _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task RunSessionAsync(Latencies reportLatencies)
    {
        var outbox = Channel.CreateUnbounded<AgentMessage>(new UnboundedChannelOptions { SingleReader = true });
        _outbox = outbox;
        using var sessionEnd = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        using var channel = GrpcChannel.ForAddress(credentials.Grpc);
        var client = new AgentService.AgentServiceClient(channel);
        using var call = client.Connect(new Metadata { { "authorization", "Bearer " + credentials.Credential } }, cancellationToken: _stop.Token);
        var writer = WriteAllAsync(call.RequestStream, outbox.Reader);
        outbox.Writer.TryWrite(new AgentMessage
        {
            Id = NewId(),
            Hello = new Hello { HostId = HostId.ToString(), AgentVersion = "scale-bench", Os = "linux", Capabilities = { "scan:csv" } },
        });
        Task? heartbeats = null;
        try
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(_stop.Token))
            {
                switch (message.BodyCase)
                {
                    case GatewayMessage.BodyOneofCase.Welcome:
                        Interlocked.Exchange(ref _disconnectedSince, 0);
                        heartbeats ??= HeartbeatAsync(outbox.Writer, TimeSpan.FromSeconds(Math.Max(1, message.Welcome.HeartbeatSeconds)), sessionEnd.Token);
                        // Whatever an earlier session did not get taken goes again, in order, under the same ids.
                        foreach (var (_, report) in _unacknowledged.Values.OrderBy(pending => pending.Order))
                        {
                            outbox.Writer.TryWrite(report);
                        }
                        _welcomed.TrySetResult();
                        break;
                    case GatewayMessage.BodyOneofCase.Ack:
                        TakeAcknowledgement(message.Ack, reportLatencies);
                        break;
                    case GatewayMessage.BodyOneofCase.Ping:
                        break;
                    case GatewayMessage.BodyOneofCase.TieringJob:
                        Acknowledge(message.Id);
                        Answer(message.TieringJob);
                        break;
                    default:
                        Acknowledge(message.Id);
                        break;
                }
            }
        }
        finally
        {
            outbox.Writer.TryComplete();
            await sessionEnd.CancelAsync();
            await writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (heartbeats is not null)
            {
                await heartbeats.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>A report taken (or refused for good) is dropped; one to send again goes again after 2–4 s; other acknowledgements are not this agent's business.</summary>
    private void TakeAcknowledgement(Ack ack, Latencies reportLatencies)
    {
        if (!_unacknowledged.TryGetValue(ack.MessageId, out var pending))
        {
            return;
        }
        if (ack is { Ok: false, Retry: true })
        {
            Interlocked.Increment(ref _reportsDeferred);
            _ = SendAgainAsync(ack.MessageId, pending.Report);
            return;
        }
        _unacknowledged.TryRemove(ack.MessageId, out _);
        if (_awaitingAck.TryRemove(ack.MessageId, out var sent))
        {
            reportLatencies.Add(Stopwatch.GetElapsedTime(sent));
        }
        if (!ack.Ok)
        {
            Refusals.Add(ack.Error);
        }
    }

    private async Task SendAgainAsync(string id, AgentMessage report)
    {
        await Task.Delay(TimeSpan.FromSeconds(2 + 2 * Random.Shared.NextDouble()), _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!_stop.IsCancellationRequested && _unacknowledged.ContainsKey(id))
        {
            Send(report);
        }
    }

    /// <summary>Every file stubbed, in reports of the agent's size; a job sent again (same id) is answered once.</summary>
    private void Answer(TieringJob job)
    {
        if (!_jobsAnswered.Add(job.JobId))
        {
            return;
        }
        foreach (var file in job.Files)
        {
            JobsPerFile.AddOrUpdate(file.TierObjectId, 1, (_, jobs) => jobs + 1);
        }
        var reports = job.Files.Chunk(Agent.Jobs.AgentJobRunner.ResultsPerMessage).ToArray();
        for (var i = 0; i < reports.Length; i++)
        {
            var result = new JobResult { JobId = job.JobId, JobFinished = i == reports.Length - 1 };
            result.Files.AddRange(reports[i].Select(file => new FileResult
            {
                TierObjectId = file.TierObjectId,
                Outcome = FileOutcome.Stubbed,
                Sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(file.TierObjectId))),
                Locator = $"{job.TenantId}/{file.TierObjectId}",
            }));
            var report = new AgentMessage { Id = NewId(), JobResult = result };
            _awaitingAck[report.Id] = Stopwatch.GetTimestamp();
            _unacknowledged[report.Id] = (Interlocked.Increment(ref _reportOrder), report);
            Send(report);
        }
    }

    private async Task HeartbeatAsync(ChannelWriter<AgentMessage> outbox, TimeSpan period, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(period);
        do
        {
            outbox.TryWrite(new AgentMessage
            {
                Id = NewId(),
                Heartbeat = new Heartbeat
                {
                    SentAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                    Volumes = { new VolumeSpace { Path = root, FreeBytes = 1L << 40, TotalBytes = 2L << 40, RecallArmed = true } },
                    RecallSurvivesRestart = true,
                },
            });
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }

    private void Acknowledge(string messageId) => Send(new AgentMessage { Id = NewId(), Ack = new Ack { MessageId = messageId, Ok = true } });

    /// <summary>On the current session; with none, the report goes with the next session's welcome.</summary>
    private void Send(AgentMessage message) => _outbox?.Writer.TryWrite(message);

    private async Task WriteAllAsync(IClientStreamWriter<AgentMessage> requests, ChannelReader<AgentMessage> outbox)
    {
        try
        {
            await foreach (var message in outbox.ReadAllAsync(_stop.Token))
            {
                await requests.WriteAsync(message, _stop.Token);
            }
        }
        finally
        {
            await requests.CompleteAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static string NewId() => Guid.NewGuid().ToString("N");

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_sessions is not null)
        {
            await _sessions.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        _stop.Dispose();
    }
}
