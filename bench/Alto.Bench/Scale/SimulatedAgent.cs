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
/// which jobs brought which files.
/// </summary>
internal sealed class SimulatedAgent(AgentCredentials credentials, string root, HttpClient http) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<AgentMessage> _outbox = Channel.CreateUnbounded<AgentMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, long> _awaitingAck = new();
    private readonly HashSet<string> _jobsAnswered = [];
    private readonly TaskCompletionSource _welcomed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _session;
    private string? _endedWith;

    public Guid HostId => credentials.HostId;

    public Guid TenantId => credentials.TenantId;

    public string Root => root;

    /// <summary>
    /// Why this host's session ended before the bench stopped it (the gateway's status, or the
    /// stream's end), else null: this agent does not reconnect, so whatever it was sent after
    /// that is never answered and the stage waiting for it could never finish.
    /// </summary>
    public string? SessionEnded => _endedWith is { } reason ? $"host {HostId}: {reason}" : null;

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

    /// <summary>Opens the session and waits for the gateway's welcome; jobs are answered from then on.</summary>
    public async Task ConnectAsync(Latencies reportLatencies, TimeSpan patience)
    {
        _session = RunSessionAsync(reportLatencies);
        var welcomed = await Task.WhenAny(_welcomed.Task, _session, Task.Delay(patience));
        if (welcomed != _welcomed.Task)
        {
            throw new InvalidOperationException($"host {HostId} got no welcome: " + (_session.IsFaulted ? _session.Exception!.InnerException!.Message : "timed out"));
        }
    }

    private async Task RunSessionAsync(Latencies reportLatencies)
    {
        using var channel = GrpcChannel.ForAddress(credentials.Grpc);
        var client = new AgentService.AgentServiceClient(channel);
        using var call = client.Connect(new Metadata { { "authorization", "Bearer " + credentials.Credential } }, cancellationToken: _stop.Token);
        var writer = WriteAllAsync(call.RequestStream);
        Send(new AgentMessage
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
                        heartbeats ??= HeartbeatAsync(TimeSpan.FromSeconds(Math.Max(1, message.Welcome.HeartbeatSeconds)));
                        _welcomed.TrySetResult();
                        break;
                    case GatewayMessage.BodyOneofCase.Ack:
                        if (_awaitingAck.TryRemove(message.Ack.MessageId, out var sent))
                        {
                            reportLatencies.Add(Stopwatch.GetElapsedTime(sent));
                        }
                        if (!message.Ack.Ok)
                        {
                            Refusals.Add(message.Ack.Error);
                        }
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
        catch (RpcException) when (_stop.IsCancellationRequested)
        {
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception exception) when (!_stop.IsCancellationRequested)
        {
            // Said here, not by the task: it ends only with the heartbeats, at the bench's stop.
            _endedWith = exception.Message;
            throw;
        }
        finally
        {
            if (!_stop.IsCancellationRequested)
            {
                _endedWith ??= "the gateway ended the session";
            }
            _outbox.Writer.TryComplete();
            await writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (heartbeats is not null)
            {
                await heartbeats.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
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
            var id = NewId();
            _awaitingAck[id] = Stopwatch.GetTimestamp();
            Send(new AgentMessage { Id = id, JobResult = result });
        }
    }

    private async Task HeartbeatAsync(TimeSpan period)
    {
        using var timer = new PeriodicTimer(period);
        do
        {
            Send(new AgentMessage
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
        while (await timer.WaitForNextTickAsync(_stop.Token));
    }

    private void Acknowledge(string messageId) => Send(new AgentMessage { Id = NewId(), Ack = new Ack { MessageId = messageId, Ok = true } });

    private void Send(AgentMessage message) => _outbox.Writer.TryWrite(message);

    private async Task WriteAllAsync(IClientStreamWriter<AgentMessage> requests)
    {
        try
        {
            await foreach (var message in _outbox.Reader.ReadAllAsync(_stop.Token))
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
        _outbox.Writer.TryComplete();
        await _stop.CancelAsync();
        if (_session is not null)
        {
            await _session.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        _stop.Dispose();
    }
}
