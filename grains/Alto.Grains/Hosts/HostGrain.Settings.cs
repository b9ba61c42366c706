using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.Grains.Persistence;
using Alto.Rules;
using Npgsql;

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

        var renamed = change.Name is { } name && name != host.State.Name;
        if (renamed && await ClaimNameAsync(change.Name!) is { } taken)
        {
            return taken;
        }

        var before = ToInfo();
        var parts = new List<string>(5);
        var beforeState = host.State;
        try
        {
            await ChangeAsync(state => Apply(state, change, windows, timeZone, renamed, parts, before));
        }
        catch when (renamed && ReferenceEquals(host.State, beforeState))
        {
            // The state write failed (it put the state back): so goes the row's new name.
            await rows.UpsertAsync(Id, beforeState);
            throw;
        }
        await PushConfigurationAsync();
        if (change is { ChangesLucidLink: true, LucidLink: not null })
        {
            // The periodic tick that also runs the hybrid mode's full scans.
            await EnsurePlanScheduleAsync();
        }
        return CommandResult<HostInfo>.Ok(ToInfo());
    }

    /// <summary>
    /// Writes the host's row under its new name first, so the row's unique index decides that no
    /// other host of the tenant has it (a state write that fails afterwards puts the row back).
    /// </summary>
    private async Task<CommandResult<HostInfo>?> ClaimNameAsync(string name)
    {
        var renamed = Copy(host.State);
        renamed.Name = name;
        // The row is written only when its time moves (a repeated write of one state is no change).
        renamed.UpdatedAt = time.GetUtcNow();
        try
        {
            await rows.UpsertAsync(Id, renamed);
            return null;
        }
        catch (PostgresException exception) when (exception.IsUniqueViolation())
        {
            return CommandResult<HostInfo>.Conflict($"a host named '{name}' already exists in this tenant");
        }
    }

    /// <summary>The change, each part with its audit entry, on the state about to be written.</summary>
    private void Apply(HostState state, HostSettingsChange change, TransferWindow[] windows, string timeZone, bool renamed, List<string> parts, HostInfo before)
    {
        if (renamed)
        {
            state.Name = change.Name!;
            parts.Add("host.renamed");
        }
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
