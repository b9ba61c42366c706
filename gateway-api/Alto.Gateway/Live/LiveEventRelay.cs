using System.Text.Json;
using Alto.GrainInterfaces.Live;
using Alto.GrainInterfaces.Scans;
using Microsoft.AspNetCore.SignalR;
using Orleans.Streams;

namespace Alto.Gateway.Live;

/// <summary>
/// Subscribes this gateway to the cluster's live-event stream and hands each event to the SignalR
/// connections allowed to see it, so a console connected to any gateway sees its tenant's events
/// wherever they happened. It also keeps the audit tail awake, wherever the cluster placed it.
/// </summary>
public sealed partial class LiveEventRelay(IClusterClient cluster, IHubContext<LiveHub> hub, ILogger<LiveEventRelay> logger)
    : BackgroundService, IAsyncObserver<LiveEvent>
{
    private static readonly TimeSpan Retry = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan KeepAwake = TimeSpan.FromSeconds(30);

    private StreamSubscriptionHandle<LiveEvent>? _subscription;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                _subscription ??= await cluster.GetStreamProvider(StreamNames.Provider)
                    .GetStream<LiveEvent>(StreamId.Create(LiveStream.Namespace, LiveStream.Key))
                    .SubscribeAsync(this);
                await cluster.GetGrain<ILiveAuditGrain>(0).EnsureRunningAsync();
                await Task.Delay(KeepAwake, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // The cluster is starting or a silo was lost: try again shortly.
                LogNotSubscribed(logger, exception);
                await Task.Delay(Retry, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_subscription is { } subscription)
        {
            try
            {
                await subscription.UnsubscribeAsync();
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                LogNotUnsubscribed(logger, exception);
            }
        }
        await base.StopAsync(cancellationToken);
    }

    public Task OnNextAsync(LiveEvent item, StreamSequenceToken? token = null)
    {
        using var data = JsonDocument.Parse(item.Data);
        var message = new LiveMessage(item.Kind, item.TenantId, item.HostId, item.At, data.RootElement.Clone());
        return hub.Clients.Groups([LiveGroups.For(item.TenantId, item.Audience), LiveGroups.Platform]).SendAsync(LiveHub.EventMethod, message);
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex)
    {
        LogStreamError(logger, ex);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Live events: not subscribed to the cluster's stream yet; trying again")]
    private static partial void LogNotSubscribed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Live events: the subscription could not be ended cleanly")]
    private static partial void LogNotUnsubscribed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Live events: the stream reported an error")]
    private static partial void LogStreamError(ILogger logger, Exception exception);
}

/// <summary>What a console receives on the "event" method.</summary>
public sealed record LiveMessage(string Kind, Guid TenantId, Guid? HostId, DateTimeOffset At, JsonElement Data);
