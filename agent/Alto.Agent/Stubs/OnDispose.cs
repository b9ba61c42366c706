namespace Alto.Agent.Stubs;

/// <summary>
/// A handle that runs its action once, on the first <see cref="Dispose"/> (later ones do nothing):
/// what a hold on a file gives back, so letting go twice never lets another holder go too.
/// </summary>
public sealed class OnDispose(Action action) : IDisposable
{
    /// <summary>A handle with nothing to let go of.</summary>
    public static OnDispose Nothing { get; } = new(() => { });

    private int _disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            action();
        }
    }
}
