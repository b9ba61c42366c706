using Microsoft.Extensions.Options;

namespace Alto.Grains.Scans;

/// <summary>The silo's merge slots (<see cref="IngestOptions.MaxConcurrentMerges"/>): a scan's ingest holds one while it merges.</summary>
public sealed class MergeSlots(IOptions<IngestOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentMerges, options.Value.MaxConcurrentMerges);

    /// <summary>Waits for a free slot; disposing the answer gives it back.</summary>
    public async Task<IDisposable> TakeAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        return new Slot(_slots);
    }

    public void Dispose() => _slots.Dispose();

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
