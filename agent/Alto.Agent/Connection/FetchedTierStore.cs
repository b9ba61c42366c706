using System.Runtime.CompilerServices;
using Alto.Tiering;

namespace Alto.Agent.Connection;

/// <summary>
/// A store whose target the agent asks of the cluster on first use (once; concurrent recalls wait
/// for the same answer), then remembers in its <see cref="TargetDirectory"/>.
/// </summary>
internal sealed class FetchedTierStore(Guid targetId, TargetDirectory directory, Func<Guid, CancellationToken, Task<TierTarget>> fetch) : ITierStore
{
    private readonly Lock _lock = new();
    private Task<ITierStore>? _resolving;
    private ITierStore? _inner;

    public string Kind => _inner?.Kind ?? "unresolved";

    public async Task<StoredObject> PutAsync(Guid tenantId, Stream content, CancellationToken cancellationToken) =>
        await (await InnerAsync(cancellationToken)).PutAsync(tenantId, content, cancellationToken);

    public async Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken) =>
        await (await InnerAsync(cancellationToken)).OpenReadAsync(key, offset, length, cancellationToken);

    public async Task<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken) =>
        await (await InnerAsync(cancellationToken)).GetInfoAsync(key, cancellationToken);

    public async IAsyncEnumerable<StoredObject> ListAsync(Guid tenantId, string? startAfter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var stored in (await InnerAsync(cancellationToken)).ListAsync(tenantId, startAfter, cancellationToken))
        {
            yield return stored;
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        await (await InnerAsync(cancellationToken)).DeleteAsync(key, cancellationToken);

    public async Task<ReclaimOutcome> DeleteUnlessModifiedSinceAsync(string key, DateTimeOffset before, CancellationToken cancellationToken) =>
        await (await InnerAsync(cancellationToken)).DeleteUnlessModifiedSinceAsync(key, before, cancellationToken);

    /// <summary>One fetch for everyone waiting; a failed one is tried again by the next caller.</summary>
    private Task<ITierStore> InnerAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_resolving is null || _resolving.IsFaulted || _resolving.IsCanceled)
            {
                _resolving = ResolveAsync();
            }
            return _resolving.WaitAsync(cancellationToken);
        }
    }

    private async Task<ITierStore> ResolveAsync()
    {
        TierTarget target;
        try
        {
            // Not the caller's token: others may be waiting for the same answer (the client has a timeout of its own).
            target = await fetch(targetId, CancellationToken.None);
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or InvalidDataException or TaskCanceledException)
        {
            throw new TierStoreUnavailableException($"storage target {targetId} could not be had from the cluster: {exception.Message}", exception);
        }
        directory.Remember(targetId, target);
        return _inner = directory.Open(target);
    }
}
