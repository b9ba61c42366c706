using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.Rules;

namespace Alto.Grains.Hosts;

/// <summary>An admin's change of a host's settings, made in one turn so that no other change lands between its parts.</summary>
public sealed partial class HostGrain
{
    public async Task<CommandResult<HostInfo>> UpdateSettingsAsync(HostSettingsChange change, string[]? ifMatch = null)
    {
        if (!host.State.Exists)
        {
            return CommandResult<HostInfo>.NotFound($"host {Id} not found");
        }
        if (Revision.Stale(HostSettings.Of(ToInfo()), ifMatch, $"host '{host.State.Name}'") is { } stale)
        {
            return CommandResult<HostInfo>.Stale(stale);
        }
        var windows = change.TransferWindows ?? host.State.TransferWindows;
        var timeZone = change.TimeZone ?? host.State.TimeZone;
        // Every part checked before the first is made: a bad one must not leave the others half made.
        if (change.BandwidthLimitBytesPerSecond is < 0)
        {
            return CommandResult<HostInfo>.Invalid("bandwidthLimitBytesPerSecond", "bandwidthLimitBytesPerSecond must be positive, or 0 for no limit");
        }
        if (!TransferWindows.IsTimeZone(timeZone))
        {
            return CommandResult<HostInfo>.Invalid("timeZone", $"'{timeZone}' is not a time zone (IANA names such as Europe/Berlin, or UTC)");
        }
        for (var i = 0; i < windows.Length; i++)
        {
            if (TransferWindows.Problem(windows[i]) is { } problem)
            {
                return CommandResult<HostInfo>.Invalid($"transferWindows[{i}]", problem);
            }
        }

        var result = CommandResult<HostInfo>.Ok(ToInfo());
        if (change.BandwidthLimitBytesPerSecond is { } limit)
        {
            result = await SetBandwidthLimitAsync(limit == 0 ? null : limit);
        }
        if (result.Succeeded && (change.TransferWindows is not null || change.TimeZone is not null))
        {
            result = await SetTransferWindowsAsync(windows, timeZone);
        }
        if (result.Succeeded && change.Volumes is not null)
        {
            result = await SetVolumesAsync(change.Volumes);
        }
        if (result.Succeeded && change.ChangesLucidLink)
        {
            result = await SetLucidLinkAsync(change.LucidLink);
        }
        return result;
    }
}
