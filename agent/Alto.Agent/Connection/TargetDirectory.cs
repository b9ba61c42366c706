using System.Collections.Concurrent;
using System.Diagnostics;
using Alto.Protocol.Agent.V1;
using Alto.Tiering;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Alto.Agent.Connection;

/// <summary>
/// The storage targets this agent may read from and write to, by id, as the cluster sent them
/// (in each job) or handed them out on request (<paramref name="fetch"/>, for a recall of a
/// target no job brought since the agent started). Held in memory only: secrets never reach the
/// disk. Opened stores are kept, so recalls reuse their clients. A folder target's calls are given
/// up after <paramref name="folderStall"/> without progress (the store's default if null).
/// </summary>
public sealed partial class TargetDirectory(
    Func<Guid, string, CancellationToken, Task<TierTarget>>? fetch = null, TimeSpan? folderStall = null, ILogger? logger = null)
{
    /// <summary>Why a target is asked of the cluster, as its audit records it: for a recall of a stub.</summary>
    public const string ForRecall = "recall";

    /// <summary>Why a target is asked of the cluster: for a reconciliation run (its listing, reclaim or restores).</summary>
    public const string ForReconcile = "reconcile";

    /// <summary>
    /// How soon a target is asked of the cluster again after a read failed: each answer hands out
    /// its secrets and is audited, and a store that is down fails every recall until it is back.
    /// </summary>
    public static readonly TimeSpan AskAgainAfter = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<Guid, TierTarget> _targets = new();
    private readonly ConcurrentDictionary<Guid, ITierStore> _stores = new();
    private readonly Lock _askGate = new();
    private readonly Dictionary<Guid, (Task<bool> Answer, long AskedAt)> _asked = [];
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

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
            : fetch is not null ? new FetchedTierStore(key, this, (id, cancellation) => fetch(id, ForRecall, cancellation))
            : throw new TierStoreUnavailableException($"storage target {key} is not known to this agent yet (not connected since it started?)"));

    /// <summary>
    /// The store recalls read a target's objects from: where a read fails, the target is asked of
    /// the cluster again (<see cref="AskAgainAsync"/>) and the read tried once more if it changed.
    /// </summary>
    public ITierStore RecallStore(Guid id) => new RefreshingTierStore(id, this);

    /// <summary>
    /// Asks the cluster for the target again — at most once per <see cref="AskAgainAfter"/>, every
    /// caller meanwhile sharing that answer — and remembers what it says. True when the target is
    /// not what this agent knew: an admin moved it (another folder, bucket or container) or
    /// rotated its credentials since a job brought it, and reads belong where it is now.
    /// </summary>
    public Task<bool> AskAgainAsync(Guid id, CancellationToken cancellationToken)
    {
        if (fetch is null)
        {
            return Task.FromResult(false);
        }
        lock (_askGate)
        {
            if (!_asked.TryGetValue(id, out var last) || (last.Answer.IsCompleted && Stopwatch.GetElapsedTime(last.AskedAt) >= AskAgainAfter))
            {
                last = (AskAsync(id, ForRecall), Stopwatch.GetTimestamp());
                _asked[id] = last;
            }
            return last.Answer.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Asks the cluster for the target now, for work that reads or writes a whole target (a
    /// reconciliation run): it is done where the target is now, with the credentials it has now.
    /// True when it changed; where the cluster cannot answer, the target known stays.
    /// </summary>
    public async Task<bool> RefreshAsync(Guid id, CancellationToken cancellationToken)
    {
        if (fetch is null)
        {
            return false;
        }
        var answer = AskAsync(id, ForReconcile);
        lock (_askGate)
        {
            _asked[id] = (answer, Stopwatch.GetTimestamp());
        }
        return await answer.WaitAsync(cancellationToken);
    }

    private async Task<bool> AskAsync(Guid id, string reason)
    {
        TierTarget target;
        try
        {
            // Not a caller's token: others may be waiting for the same answer (the client has a timeout of its own).
            target = await fetch!(id, reason, CancellationToken.None);
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or InvalidDataException or TaskCanceledException)
        {
            LogNotAskedAgain(_logger, id, exception.Message);
            return false;
        }
        var changed = !_targets.TryGetValue(id, out var known) || known != target;
        Remember(id, target);
        if (changed)
        {
            LogChanged(_logger, id);
        }
        return changed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage target {TargetId} changed in the cluster since this agent learnt it (moved, or its credentials rotated): it is used as it is now")]
    private static partial void LogChanged(ILogger logger, Guid targetId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage target {TargetId} could not be asked of the cluster again (the target this agent knows is used): {Reason}")]
    private static partial void LogNotAskedAgain(ILogger logger, Guid targetId, string reason);

    public static TierTarget ToTierTarget(StorageTarget target) => new(
        target.Kind, Empty(target.Path), Empty(target.Bucket), Empty(target.Region), Empty(target.Endpoint), Empty(target.Prefix),
        Empty(target.Container), Empty(target.AccountUrl), target.ForcePathStyle, Empty(target.AccessKeyId), Empty(target.SecretAccessKey),
        Empty(target.ConnectionString), Empty(target.AccountName), Empty(target.AccountKey), Empty(target.SasToken), Empty(target.Compression),
        target.UseHostIdentity);

    private static string? Empty(string text) => text.Length == 0 ? null : text;
}
