namespace Alto.Grains;

/// <summary>
/// A silo's slots for one kind of heavy database work: whoever holds a slot runs, the rest wait.
/// Grains are many and placed anywhere, so without a bound a tenant of a hundred hosts starts a
/// hundred plans (two connections each) on whichever silos hold them.
/// </summary>
public abstract class WorkSlots(int count) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(count, count);

    /// <summary>Waits for a free slot; disposing the answer gives it back (once, however often it is disposed).</summary>
    public async Task<IDisposable> TakeAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        return new Slot(_slots);
    }

    public void Dispose()
    {
        _slots.Dispose();
        GC.SuppressFinalize(this);
    }

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
