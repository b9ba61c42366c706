using System.Threading.Channels;
using Alto.Scanning;

namespace Alto.Agent.Scanning;

/// <summary>
/// The rows of the one folder a walker is reading, on their way out: in batches as they come, or,
/// in an incremental scan, held until the folder is read and then sent only if its digest differs
/// from the last scan's (an unchanged folder is named instead). A folder with more rows than
/// <see cref="FolderDigests.MostRowsHeld"/> is sent as it is read, held or not.
/// </summary>
internal sealed class FolderRows(ChannelWriter<ScanRecord[]> output, FolderDigests? digests)
{
    /// <summary>Rows per write to the channel: a write per row, from every worker, cost more than the rows' encoding.</summary>
    public const int RowsPerWrite = 256;

    private readonly List<ScanRecord> _rows = new(RowsPerWrite);
    private UInt128 _digest;
    private string? _folder;
    private bool _sending = digests is null;

    public async ValueTask AddAsync(ScanRecord row, CancellationToken cancellationToken)
    {
        if (digests is not null)
        {
            _digest += FolderDigests.OfRow(row);
            _folder ??= digests.Flavor.Split(row.FilePath).Folder;
        }
        _rows.Add(row);
        if (_sending ? _rows.Count >= RowsPerWrite : _rows.Count > FolderDigests.MostRowsHeld)
        {
            _sending = true;
            await FlushAsync(cancellationToken);
        }
    }

    /// <summary>The folder is read: what is held goes out, unless the folder is unchanged.</summary>
    public async ValueTask EndAsync(CancellationToken cancellationToken)
    {
        if (digests is not null && _folder is not null)
        {
            var unchanged = !_sending && digests.IsUnchanged(_folder, _digest);
            digests.Record(_folder, _digest, unchanged);
            if (unchanged)
            {
                _rows.Clear();
                return;
            }
        }
        await FlushAsync(cancellationToken);
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        for (var start = 0; start < _rows.Count; start += RowsPerWrite)
        {
            await output.WriteAsync(_rows.GetRange(start, Math.Min(RowsPerWrite, _rows.Count - start)).ToArray(), cancellationToken);
        }
        _rows.Clear();
    }
}
