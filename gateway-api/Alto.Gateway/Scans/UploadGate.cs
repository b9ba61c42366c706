using Microsoft.Extensions.Options;

namespace Alto.Gateway.Scans;

/// <summary>
/// How many scan chunks the gateway takes in at once, in all and per host. An upload that finds
/// no room is refused at once (not queued), so a burst of uploads or bombs cannot pile up work or
/// memory: per host with 429 (that host slows down), in all with 503 (the gateway is busy), both
/// with Retry-After, which the agent honours.
/// </summary>
public sealed class UploadGate(IOptions<ScanUploadOptions> options)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, int> _perHost = [];
    private int _total;

    /// <summary>A place for one upload of this host, or why there is none.</summary>
    public UploadAdmission TryEnter(Guid hostId)
    {
        var limits = options.Value;
        lock (_lock)
        {
            var mine = _perHost.GetValueOrDefault(hostId);
            if (mine >= limits.MaxConcurrentUploadsPerHost)
            {
                return new UploadAdmission(null, UploadRefusal.HostBusy);
            }
            if (_total >= limits.MaxConcurrentUploads)
            {
                return new UploadAdmission(null, UploadRefusal.GatewayBusy);
            }
            _perHost[hostId] = mine + 1;
            _total++;
            return new UploadAdmission(new Lease(this, hostId), UploadRefusal.None);
        }
    }

    private void Leave(Guid hostId)
    {
        lock (_lock)
        {
            _total--;
            if (--_perHost[hostId] == 0)
            {
                _perHost.Remove(hostId);
            }
        }
    }

    private sealed class Lease(UploadGate gate, Guid hostId) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                gate.Leave(hostId);
            }
        }
    }
}

public enum UploadRefusal
{
    None = 0,
    HostBusy = 1,
    GatewayBusy = 2,
}

/// <summary>The place an upload holds until it is disposed, or the reason it got none.</summary>
public sealed record UploadAdmission(IDisposable? Lease, UploadRefusal Refusal);
