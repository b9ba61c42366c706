namespace Alto.Tiering;

/// <summary>
/// How long one request to a tier-2 service may go unanswered: <see cref="Limit"/>, plus the time
/// its body takes at <see cref="SlowestBytesPerSecond"/>. An endpoint that takes the connection
/// and then answers nothing (a firewall dropping the flow, a hung gateway) would otherwise hold
/// the caller for the client's own timeouts times its retries — minutes, or for ever.
/// </summary>
public readonly record struct AnswerLimit(TimeSpan Limit)
{
    public static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(60);

    /// <summary>The slowest transfer a request's body is given time for (64 KiB/s: a 16 MiB part gets 256 s more).</summary>
    public const long SlowestBytesPerSecond = 64 << 10;

    public static AnswerLimit Of(TimeSpan? limit) => new(limit ?? DefaultLimit);

    /// <summary>The time a request with a body of <paramref name="bodyBytes"/> bytes is given.</summary>
    public TimeSpan For(long bodyBytes) => Limit + TimeSpan.FromSeconds((double)bodyBytes / SlowestBytesPerSecond);

    /// <summary>
    /// Runs one request with a token that ends when its time is up; a request that ran out of time
    /// (not one the caller cancelled) is <see cref="TierStoreUnavailableException"/>, naming <paramref name="store"/>.
    /// </summary>
    public async Task<T> RunAsync<T>(string store, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken, long bodyBytes = 0)
    {
        var allowed = For(bodyBytes);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(allowed);
        try
        {
            return await call(limit.Token);
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TierStoreUnavailableException($"the {store} did not answer within {allowed.TotalSeconds:0} s", exception);
        }
    }
}
