using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Alto.Tiering;

namespace Alto.Agent.Connection;

/// <summary>
/// A target's store as recalls read it (<see cref="TargetDirectory.RecallStore"/>). The agent keeps
/// the target a job brought for as long as it runs; an admin who since moved the target's objects
/// (another folder, bucket or container) or rotated its credentials would otherwise see every
/// recall fail until the agent restarted. A read that fails asks the cluster for the target again
/// and, when it changed, is tried once more where the target is now. Writes are not made here:
/// jobs bring their target with them.
/// </summary>
internal sealed class RefreshingTierStore(Guid targetId, TargetDirectory directory) : ITierStore
{
    public string Kind => directory.Store(targetId).Kind;

    public Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken) =>
        ReadAsync(store => store.OpenReadAsync(key, offset, length, cancellationToken), cancellationToken);

    public Task<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken) =>
        ReadAsync(store => store.GetInfoAsync(key, cancellationToken), cancellationToken);

    public async IAsyncEnumerable<StoredObject> ListAsync(Guid tenantId, string? startAfter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var stored in directory.Store(targetId).ListAsync(tenantId, startAfter, cancellationToken))
        {
            yield return stored;
        }
    }

    public Task<StoredObject> PutAsync(Guid tenantId, Stream content, CancellationToken cancellationToken) =>
        directory.Store(targetId).PutAsync(tenantId, content, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) => directory.Store(targetId).DeleteAsync(key, cancellationToken);

    public Task<ReclaimOutcome> DeleteUnlessModifiedSinceAsync(string key, DateTimeOffset before, CancellationToken cancellationToken) =>
        directory.Store(targetId).DeleteUnlessModifiedSinceAsync(key, before, cancellationToken);

    private async Task<T> ReadAsync<T>(Func<ITierStore, Task<T>> read, CancellationToken cancellationToken)
    {
        ExceptionDispatchInfo failed;
        try
        {
            return await read(directory.Store(targetId));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            failed = ExceptionDispatchInfo.Capture(exception);
        }
        if (!await directory.AskAgainAsync(targetId, cancellationToken))
        {
            failed.Throw();
        }
        return await read(directory.Store(targetId));
    }
}
