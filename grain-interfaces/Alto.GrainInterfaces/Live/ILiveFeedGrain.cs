namespace Alto.GrainInterfaces.Live;

/// <summary>A gateway's ear for live events: told one way, so a gateway that is gone holds nobody up.</summary>
[Alias("Alto.ILiveObserver")]
public interface ILiveObserver : IGrainObserver
{
    [Alias("OnLiveEventAsync"), Orleans.Concurrency.OneWay]
    Task OnLiveEventAsync(LiveEvent live);
}

/// <summary>
/// The cluster side of the live stream (key <see cref="LiveStream.Key"/>): it reads every live
/// event off the stream and passes it to the gateways that subscribed within the last
/// <see cref="SubscriptionLifetimeSeconds"/> seconds. Gateways renew well within that; one that
/// died simply stops being told.
/// </summary>
[Alias("Alto.ILiveFeedGrain")]
public interface ILiveFeedGrain : IGrainWithStringKey
{
    public const int SubscriptionLifetimeSeconds = 60;

    [Alias("SubscribeAsync")]
    Task SubscribeAsync(ILiveObserver observer);

    [Alias("UnsubscribeAsync")]
    Task UnsubscribeAsync(ILiveObserver observer);
}
