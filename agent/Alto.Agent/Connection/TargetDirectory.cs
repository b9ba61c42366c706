using System.Collections.Concurrent;
using Alto.Protocol.Agent.V1;
using Alto.Tiering;

namespace Alto.Agent.Connection;

/// <summary>
/// The storage targets this agent may read from and write to, by id, as the cluster sent them
/// (in each job) or handed them out on request (<paramref name="fetch"/>, for a recall of a
/// target no job brought since the agent started). Held in memory only: secrets never reach the
/// disk. Opened stores are kept, so recalls reuse their clients. A folder target's calls are given
/// up after <paramref name="folderStall"/> without progress (the store's default if null).
/// </summary>
public sealed class TargetDirectory(Func<Guid, CancellationToken, Task<TierTarget>>? fetch = null, TimeSpan? folderStall = null)
{
    private readonly ConcurrentDictionary<Guid, TierTarget> _targets = new();
    private readonly ConcurrentDictionary<Guid, ITierStore> _stores = new();

    public void Update(IEnumerable<KnownTarget> targets)
    {
        foreach (var known in targets)
        {
            if (Guid.TryParse(known.Id, out var id))
            {
                Remember(id, ToTierTarget(known.Target));
            }
        }
    }

    public void Remember(Guid id, TierTarget target)
    {
        if (!_targets.TryGetValue(id, out var existing) || existing != target)
        {
            _targets[id] = target;
            _stores.TryRemove(id, out _);
        }
    }

    public TierTarget ToTierTargetOf(Guid id) => _targets[id];

    /// <summary>Opens a target as this directory's stores are opened.</summary>
    public ITierStore Open(TierTarget target) => target.Open(folderStall);

    /// <summary>
    /// The store of a target. One this agent was not sent yet is asked of the cluster on first use
    /// (<see cref="TierStoreUnavailableException"/> when there is no one to ask or it cannot be reached).
    /// </summary>
    public ITierStore Store(Guid id) =>
        _stores.GetOrAdd(id, key => _targets.TryGetValue(key, out var target) ? target.Open(folderStall)
            : fetch is not null ? new FetchedTierStore(key, this, fetch)
            : throw new TierStoreUnavailableException($"storage target {key} is not known to this agent yet (not connected since it started?)"));

    public static TierTarget ToTierTarget(StorageTarget target) => new(
        target.Kind, Empty(target.Path), Empty(target.Bucket), Empty(target.Region), Empty(target.Endpoint), Empty(target.Prefix),
        Empty(target.Container), Empty(target.AccountUrl), target.ForcePathStyle, Empty(target.AccessKeyId), Empty(target.SecretAccessKey),
        Empty(target.ConnectionString), Empty(target.AccountName), Empty(target.AccountKey), Empty(target.SasToken), Empty(target.Compression),
        target.UseHostIdentity);

    private static string? Empty(string text) => text.Length == 0 ? null : text;
}
