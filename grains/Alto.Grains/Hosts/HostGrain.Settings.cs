using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.Rules;

namespace Alto.Grains.Hosts;

/// <summary>
/// An admin's change of a host's settings: checked whole, then written in one state write with an
/// audit entry per part, so a refused part or a failed write leaves every part as it was.
/// </summary>
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

        var before = ToInfo();
        var parts = new List<string>(4);
        await ChangeAsync(state =>
        {
            if (change.BandwidthLimitBytesPerSecond is { } limit)
            {
                state.BandwidthLimitBytesPerSecond = limit == 0 ? null : limit;
                parts.Add("host.bandwidth_changed");
            }
            if (change.TransferWindows is not null || change.TimeZone is not null)
            {
                state.TransferWindows = windows;
                state.TimeZone = timeZone;
                parts.Add("host.transfer_windows_changed");
            }
            if (change.Volumes is { } volumes)
            {
                state.Volumes = volumes;
                parts.Add("host.volumes_changed");
            }
            if (change.ChangesLucidLink)
            {
                state.LucidLink = change.LucidLink;
                parts.Add("host.lucidlink_changed");
            }
            state.UpdatedAt = time.GetUtcNow();
            foreach (var part in parts)
            {
                HoldAudit(state, part, before);
            }
        });
        await PushConfigurationAsync();
        if (change is { ChangesLucidLink: true, LucidLink: not null })
        {
            // The periodic tick that also runs the hybrid mode's full scans.
            await EnsurePlanScheduleAsync();
        }
        return CommandResult<HostInfo>.Ok(ToInfo());
    }

    public Task<CommandResult<HostInfo>> SetLucidLinkAsync(LucidLinkVolume? lucidLink) =>
        UpdateSettingsAsync(new HostSettingsChange(null, null, null, null, ChangesLucidLink: true, lucidLink));

    public Task<CommandResult<HostInfo>> SetVolumesAsync(string[] volumes) =>
        UpdateSettingsAsync(new HostSettingsChange(volumes, null, null, null, ChangesLucidLink: false, null));

    public Task<CommandResult<HostInfo>> SetTransferWindowsAsync(TransferWindow[] windows, string timeZone) =>
        UpdateSettingsAsync(new HostSettingsChange(null, null, windows, timeZone, ChangesLucidLink: false, null));

    public Task<CommandResult<HostInfo>> SetBandwidthLimitAsync(long? bytesPerSecond) =>
        bytesPerSecond is <= 0
            ? Task.FromResult(CommandResult<HostInfo>.Invalid("bandwidthLimitBytesPerSecond", "bandwidthLimitBytesPerSecond must be positive, or null for no limit"))
            : UpdateSettingsAsync(new HostSettingsChange(null, bytesPerSecond ?? 0, null, null, ChangesLucidLink: false, null));
}
