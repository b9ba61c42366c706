using System.Text.Json;
using Alto.GrainInterfaces.Live;
using Microsoft.AspNetCore.SignalR;

namespace Alto.Gateway.Live;

/// <summary>
/// Subscribes this gateway to the cluster's live feed (renewing the lease well within its
/// lifetime) and hands each event to the SignalR connections allowed to see it, so a console
/// connected to any gateway sees its tenant's events wherever they happened. It also keeps the
/// audit tail awake, wherever the cluster placed it.
/// </summary>
public sealed partial class LiveEventRelay(IClusterClient cluster, IHubContext<LiveHub> hub, ILogger<LiveEventRelay> logger)
    : BackgroundService, ILiveObserver
{
    private static readonly TimeSpan Retry = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Renew = TimeSpan.FromSeconds(ILiveFeedGrain.SubscriptionLifetimeSeconds / 4.0);

    private ILiveObserver? _reference;

    private ILiveFeedGrain Feed => cluster.GetGrain<ILiveFeedGrain>(LiveStream.Key);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = Renew;
            try
            {
                _reference ??= cluster.CreateObjectReference<ILiveObserver>(this);
                await Feed.SubscribeAsync(_reference);
                await cluster.GetGrain<ILiveAuditGrain>(0).EnsureRunningAsync();
            }
            catch (Exception exception) when (exception is not (OutOfMemoryException or OperationCanceledException))
            {
                // The cluster is starting or a silo was lost: try again shortly.
                LogNotSubscribed(logger, exception);
                wait = Retry;
            }
            try
            {
                await Task.Delay(wait, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_reference is { } reference)
        {
            try
            {
                await Feed.UnsubscribeAsync(reference).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // The lease runs out by itself.
                LogNotUnsubscribed(logger, exception);
            }
        }
        await base.StopAsync(cancellationToken);
    }

    public Task OnLiveEventAsync(LiveEvent live)
    {
        using var data = JsonDocument.Parse(live.Data);
        var message = new LiveMessage(live.Kind, live.TenantId, live.HostId, live.At, data.RootElement.Clone());
        return hub.Clients.Groups([LiveGroups.For(live.TenantId, live.Audience), LiveGroups.Platform]).SendAsync(LiveHub.EventMethod, message);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Live events: not subscribed to the cluster's feed yet; trying again")]
    private static partial void LogNotSubscribed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Live events: the subscription could not be ended cleanly; its lease runs out")]
    private static partial void LogNotUnsubscribed(ILogger logger, Exception exception);
}

/// <summary>What a console receives on the "event" method.</summary>
public sealed record LiveMessage(string Kind, Guid TenantId, Guid? HostId, DateTimeOffset At, JsonElement Data);
