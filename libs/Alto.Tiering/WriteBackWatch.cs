using Alto.Tiering.Native;
using Microsoft.Win32.SafeHandles;

namespace Alto.Tiering;

/// <summary>
/// Gives a flush that blocks in one system call (<c>syncfs</c>, <c>fsync</c>) a progress to be
/// watched by: the objects' pages written back (<see cref="PageCacheState"/>). Without it, a flush
/// of a batch of large objects was allowed the time all its bytes take at the slowest rate a
/// share may have — hours for a few gigabytes — and a share whose server died during it was
/// noticed that late. While pages wait to be written, the call is allowed the watch's limit
/// between two pages written; once none waits and the call still runs (a network file system
/// committing what it wrote), or where the kernel cannot tell, it is allowed the bytes' time at
/// the slowest rate, as before.
/// </summary>
internal sealed class WriteBackWatch : IDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    private readonly Lock _gate = new();
    private readonly List<SafeFileHandle> _files;
    private readonly long _bytes;
    private readonly CallProgress _progress;
    private readonly Timer? _timer;
    private long _pending;
    private bool _disposed;

    private WriteBackWatch(List<SafeFileHandle> files, long bytes, CallProgress progress)
    {
        (_files, _bytes, _progress) = (files, bytes, progress);
        if (Pending() is { } pending)
        {
            _pending = pending;
            Allow(pending);
            _timer = new Timer(_ => Look(), null, Poll, Poll);
        }
        else
        {
            progress.Calling(bytes);
        }
    }

    /// <summary>Watches the objects at <paramref name="paths"/> (<paramref name="bytes"/> in all) until disposed; opening them is watched as any call.</summary>
    public static WriteBackWatch Start(IEnumerable<string> paths, long bytes, CallProgress progress)
    {
        progress.Calling(0);
        var files = new List<SafeFileHandle>();
        try
        {
            foreach (var path in paths)
            {
                try
                {
                    files.Add(File.OpenHandle(path, FileMode.Open, FileAccess.Read));
                }
                catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
                {
                    // Gone since its put: the flush's caller finds that out and says so.
                }
            }
            return new WriteBackWatch(files, bytes, progress);
        }
        catch
        {
            files.ForEach(file => file.Dispose());
            throw;
        }
    }

    private void Look()
    {
        lock (_gate)
        {
            if (_disposed || Pending() is not { } pending)
            {
                return;
            }
            if (pending < _pending)
            {
                _progress.Add((_pending - pending) * Environment.SystemPageSize);
            }
            _pending = pending;
            Allow(pending);
        }
    }

    /// <summary>The limit alone while pages remain to be written (each page written is progress); the bytes' time once none remains.</summary>
    private void Allow(long pending) => _progress.Calling(pending > 0 ? 0 : _bytes);

    private long? Pending()
    {
        long sum = 0;
        foreach (var file in _files)
        {
            if (PageCacheState.PendingPages(file) is not { } pages)
            {
                return null;
            }
            sum += pages;
        }
        return sum;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }
        _timer?.Dispose();
        _files.ForEach(file => file.Dispose());
    }
}
