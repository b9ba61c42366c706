using Alto.GrainInterfaces.Live;
using Microsoft.Extensions.Hosting;

namespace Alto.Grains.Live;

/// <summary>
/// Tier-object moves of this silo, counted per host and new state and sent as one live event per
/// host each second: a job of a hundred thousand files is a few events a second, not a hundred
/// thousand. Moves are noted after their transaction committed.
/// </summary>
public sealed class LiveTierTally(LivePublisher live) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private Dictionary<(Guid TenantId, Guid HostId), Dictionary<string, StateCount>> _pending = [];

    /// <summary>Files and bytes that moved into one state.</summary>
    public sealed record StateCount(long Files, long Bytes);

    public void Note(Guid tenantId, Guid hostId, string state, long bytes)
    {
        lock (_lock)
        {
            if (!_pending.TryGetValue((tenantId, hostId), out var states))
            {
                _pending[(tenantId, hostId)] = states = new Dictionary<string, StateCount>(StringComparer.Ordinal);
            }
            var before = states.GetValueOrDefault(state) ?? new StateCount(0, 0);
            states[state] = new StateCount(before.Files + 1, before.Bytes + bytes);
        }
    }

    /// <summary>Publishes what was noted since the last flush, a host at a time.</summary>
    public async Task FlushAsync()
    {
        Dictionary<(Guid TenantId, Guid HostId), Dictionary<string, StateCount>> taken;
        lock (_lock)
        {
            if (_pending.Count == 0)
            {
                return;
            }
            taken = _pending;
            _pending = [];
        }
        foreach (var ((tenantId, hostId), states) in taken)
        {
            await live.PublishAsync(tenantId, LiveEventKinds.TierStates, LiveAudience.Everyone, new { hostId, seconds = Period.TotalSeconds, states }, hostId);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: what is still pending goes out once more below.
        }
        await FlushAsync();
    }
}
