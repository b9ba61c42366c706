using Alto.GrainInterfaces.Live;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Alto.Grains.Live;

/// <summary>
/// Reads the live stream inside the cluster (an implicit subscription: always reachable, never a
/// consumer that vanished) and tells each subscribed gateway one way. A gateway killed without
/// unsubscribing would, as a stream consumer, hold the stream's delivery — and a silo's shutdown —
/// for a response timeout per event; as an observer it is told nothing after its lease runs out.
/// </summary>
[ImplicitStreamSubscription(LiveStream.Namespace)]
public sealed class LiveFeedGrain(TimeProvider time) : Grain, ILiveFeedGrain, IStreamSubscriptionObserver, IAsyncObserver<LiveEvent>
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(ILiveFeedGrain.SubscriptionLifetimeSeconds);

    private readonly Dictionary<ILiveObserver, DateTimeOffset> _gateways = [];

    public Task SubscribeAsync(ILiveObserver observer)
    {
        _gateways[observer] = time.GetUtcNow() + Lifetime;
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(ILiveObserver observer)
    {
        _gateways.Remove(observer);
        return Task.CompletedTask;
    }

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<LiveEvent>().ResumeAsync(this);

    public Task OnNextAsync(LiveEvent item, StreamSequenceToken? token = null)
    {
        var now = time.GetUtcNow();
        foreach (var (gateway, expires) in _gateways.ToList())
        {
            if (expires < now)
            {
                _gateways.Remove(gateway);
                continue;
            }
            // One way: nothing waits for the answer of a gateway that may be gone.
            _ = gateway.OnLiveEventAsync(item);
        }
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
}
