using Alto.GrainInterfaces.Common;
using Alto.GrainInterfaces.Hosts;
using Alto.GrainInterfaces.Tiers;
using Microsoft.Extensions.Logging;

namespace Alto.Grains.Hosts;

/// <summary>
/// Commands for the agent (scans, recalls): checked against the host's volumes, queued as rows of
/// alto.agent_command (<see cref="CommandRows"/>), delivered
/// to the live session (or its next one), and removed when the agent acknowledges them; one the
/// agent could not carry out is logged and audited with its reason.
/// </summary>
public sealed partial class HostGrain
{
    /// <summary>A host whose agent is away for long does not collect commands without end.</summary>
    public const int MaxPendingCommands = 100;

    // What alto.agent_command holds for this host, kept at hand for the API's view and the limits.
    private int _pendingCommands;
    private bool _scanWaiting;

    public async Task<CommandResult<CommandReceipt>> RequestScanAsync(string[] paths, string format)
    {
        if (!host.State.Exists)
        {
            return CommandResult<CommandReceipt>.NotFound($"host {Id} not found");
        }
        if (_pendingCommands >= MaxPendingCommands)
        {
            return CommandResult<CommandReceipt>.Conflict($"{MaxPendingCommands} commands are already waiting for this host's agent");
        }
        // A command never reaches outside the host's volumes: the agent would act there as root.
        for (var i = 0; i < paths.Length; i++)
        {
            if (InsideVolumes(paths[i]) is not { } inside)
            {
                return CommandResult<CommandReceipt>.Invalid($"paths[{i}]", OutsideVolumes(paths[i]));
            }
            paths[i] = inside;
        }
        var command = new AgentCommand(Guid.NewGuid().ToString("N"), AgentCommandKind.Scan, paths, format, time.GetUtcNow());
        await commandRows.AddAsync(Id, [command], AuditEntryOf("host.scan_requested", ToInfo(),
            new Dictionary<string, object?> { ["commandId"] = command.Id, ["paths"] = paths, ["format"] = format }));
        (_pendingCommands, _scanWaiting) = (_pendingCommands + 1, true);
        var delivered = await TryDeliverAsync(command);
        return CommandResult<CommandReceipt>.Ok(new CommandReceipt(command.Id, delivered, _pendingCommands));
    }

    public Task<CommandResult<CommandReceipt>> RequestReconcileAsync(Guid runId) => RequestRunCommandAsync(AgentCommandKind.Reconcile, runId);

    public Task<CommandResult<CommandReceipt>> RequestRestoreAsync(Guid runId) => RequestRunCommandAsync(AgentCommandKind.Restore, runId);

    private async Task<CommandResult<CommandReceipt>> RequestRunCommandAsync(AgentCommandKind kind, Guid runId)
    {
        if (!host.State.Exists)
        {
            return CommandResult<CommandReceipt>.NotFound($"host {Id} not found");
        }
        if (_pendingCommands >= MaxPendingCommands)
        {
            return CommandResult<CommandReceipt>.Conflict($"{MaxPendingCommands} commands are already waiting for this host's agent");
        }
        var command = new AgentCommand(Guid.NewGuid().ToString("N"), kind, [], "", time.GetUtcNow(), runId);
        await commandRows.AddAsync(Id, [command]);
        _pendingCommands++;
        var delivered = await TryDeliverAsync(command);
        return CommandResult<CommandReceipt>.Ok(new CommandReceipt(command.Id, delivered, _pendingCommands));
    }

    public Task<bool> ReadsEscapedNamesAsync() => Task.FromResult(ReadsEscapedNames);

    public Task<bool> ConnectedWithoutEscapedNamesAsync() => Task.FromResult(_session is not null && !ReadsEscapedNames);

    public Task<bool> AnswersWindowsCensusAsync() => Task.FromResult(_session?.Capabilities.Contains(AgentSession.WindowsCensusCapability) == true);

    private bool ReadsEscapedNames => _session?.Capabilities.Contains(AgentSession.EscapedPathsCapability) == true;

    public async Task<CommandResult<CommandReceipt[]>> RequestCensusAsync(Guid runId, string[] paths, bool pathsEscaped)
    {
        if (!host.State.Exists)
        {
            return CommandResult<CommandReceipt[]>.NotFound($"host {Id} not found");
        }
        // An agent that does not know escaped paths would never answer them: the run would wait for ever.
        if (pathsEscaped && !ReadsEscapedNames)
        {
            return CommandResult<CommandReceipt[]>.Conflict(_session is null
                ? "the host's agent is not connected: whether it reads names that are not UTF-8 is not known"
                : $"the host's agent (version {_session.AgentVersion}) does not read names that are not UTF-8 in a census");
        }
        var now = time.GetUtcNow();
        var commands = paths.Chunk(StubPathsPerCommand)
            .Select(chunk => new AgentCommand(Guid.NewGuid().ToString("N"), AgentCommandKind.Census, chunk, pathsEscaped ? AgentCommand.EscapedPaths : "", now, runId))
            .ToList();
        if (_pendingCommands + commands.Count > MaxPendingCommands)
        {
            return CommandResult<CommandReceipt[]>.Conflict($"{_pendingCommands} commands are already waiting for this host's agent");
        }
        await commandRows.AddAsync(Id, commands);
        _pendingCommands += commands.Count;
        var receipts = new List<CommandReceipt>();
        foreach (var command in commands)
        {
            receipts.Add(new CommandReceipt(command.Id, await TryDeliverAsync(command), _pendingCommands));
        }
        return CommandResult<CommandReceipt[]>.Ok([.. receipts]);
    }

    /// <summary>Most stubs one recall request covers, and paths per command (a command is one message to the agent).</summary>
    public const int MaxRecallFiles = 100_000;
    private const int RecallPathsPerCommand = StubPathsPerCommand;
    private const int StubPathsPerCommand = 2_000;

    public async Task<CommandResult<RecallReceipt>> RequestRecallAsync(RecallSelection selection)
    {
        if (!host.State.Exists)
        {
            return CommandResult<RecallReceipt>.NotFound($"host {Id} not found");
        }
        for (var i = 0; i < (selection.Paths?.Length ?? 0); i++)
        {
            if (InsideVolumes(selection.Paths![i]) is null)
            {
                return CommandResult<RecallReceipt>.Invalid($"paths[{i}]", OutsideVolumes(selection.Paths[i]));
            }
        }
        if (selection.Directory is { } folder && InsideVolumes(folder) is null)
        {
            return CommandResult<RecallReceipt>.Invalid("directory", OutsideVolumes(folder));
        }
        var paths = await tierObjects.StubsToRecallAsync(Id,
            new RecallSelectionQuery(selection.Paths, selection.Directory, selection.RuleId, Rules.HostPathFlavor.Of(host.State.Os)), MaxRecallFiles);
        var now = time.GetUtcNow();
        // Names that are not UTF-8 go in commands of their own, marked as escaped (AgentCommand.EscapedPaths).
        var commands = paths.GroupBy(path => path.Escaped)
            .SelectMany(group => group.Select(path => path.Path).Chunk(RecallPathsPerCommand).Select(chunk =>
                new AgentCommand(Guid.NewGuid().ToString("N"), AgentCommandKind.Recall, chunk, group.Key ? AgentCommand.EscapedPaths : "", now)))
            .ToList();
        if (_pendingCommands + commands.Count > MaxPendingCommands)
        {
            return CommandResult<RecallReceipt>.Conflict($"{_pendingCommands} commands are already waiting for this host's agent");
        }
        var requested = AuditEntryOf("host.recall_requested", ToInfo(), new Dictionary<string, object?>
        {
            ["paths"] = selection.Paths, ["directory"] = selection.Directory, ["ruleId"] = selection.RuleId, ["files"] = paths.Length,
        });
        if (commands.Count > 0)
        {
            await commandRows.AddAsync(Id, commands, requested);
            _pendingCommands += commands.Count;
        }
        else
        {
            await audit.RecordAsync(requested);
        }
        var delivered = true;
        foreach (var command in commands)
        {
            delivered &= await TryDeliverAsync(command);
        }
        return CommandResult<RecallReceipt>.Ok(new RecallReceipt(paths.Length, commands.Count, delivered && commands.Count > 0, [.. commands.Select(c => c.Id)]));
    }

    public async Task AcknowledgeAsync(string commandId, bool succeeded, string? failure)
    {
        var removed = await commandRows.RemoveAsync(Id, commandId);
        var kind = removed?.Kind;
        if (removed is not null)
        {
            (_pendingCommands, _scanWaiting) = await commandRows.CountAsync(Id);
        }
        if (succeeded)
        {
            return;
        }
        // A command the agent could not carry out is recorded, never dropped silently: log, audit, and for a job its last error.
        var reason = failure is { Length: > 0 } ? failure : "the agent gave no reason";
        LogCommandFailed(logger, Id, commandId, reason);
        await AuditAsync("host.command_failed", null, new Dictionary<string, object?>
        {
            ["commandId"] = commandId, ["kind"] = kind?.ToString().ToLowerInvariant() ?? "job", ["error"] = reason,
        });
        if (removed is { Kind: AgentCommandKind.Reconcile or AgentCommandKind.Census or AgentCommandKind.Restore, RunId: { } runId })
        {
            // The agent gave up listing: the run ends as failed with the agent's reason rather than wait for ever.
            await grains.GetGrain<GrainInterfaces.Reconcile.IReconcileRunGrain>(runId).AbandonAsync(Id, "the listing agent gave up: " + reason);
        }
        if (JobMessageIds.TryParse(commandId, out var jobId))
        {
            // The agent ran none of the job: when an admin cancelled it, that is the agent's word on every file of it.
            if ((await jobs.CheckReportAsync(Id, jobId, [])) is (null, { } cancel))
            {
                await SettleCancelledAsync(jobId, cancel, $"agent:{Id}", noneStarted: true);
            }
            if (await jobs.FinishAsync(Id, jobId, UnavailableRetry, "the agent could not run the job: " + reason, ended => JobEndEntry(ended, $"agent:{Id}")) is { } ended)
            {
                ReportJobEnd(ended);
            }
        }
    }

    /// <summary>The path as the host reads it (".." resolved) when that is below one of its volumes; null otherwise.</summary>
    private string? InsideVolumes(string path)
    {
        var flavor = Rules.HostPathFlavor.Of(host.State.Os);
        return Alto.Scanning.PathFlavors.Normalize(flavor, path) is { } normalized && Alto.Scanning.PathFlavors.IsWithinAny(flavor, normalized, host.State.Volumes)
            ? normalized
            : null;
    }

    private string OutsideVolumes(string path) => host.State.Volumes.Length == 0
        ? $"{path} is not below a volume of this host (it has none registered)"
        : $"{path} is not below any of this host's volumes ({string.Join(", ", host.State.Volumes)})";

    /// <summary>
    /// Hands a command to the current session's gateway; false (and still queued) when there is none
    /// or it is gone. A command of escaped names (queued while the host's agent read them) is not
    /// handed to an agent that does not (one downgraded since): it would never answer a census of
    /// them, or recall nothing by them. The census counts them unchecked; a recall fails, saying why.
    /// </summary>
    private async Task<bool> TryDeliverAsync(AgentCommand command)
    {
        if (_observer is null)
        {
            return false;
        }
        if (command.Format == AgentCommand.EscapedPaths && !ReadsEscapedNames)
        {
            await NotDeliverableAsync(command);
            return true;
        }
        try
        {
            await _observer.DeliverAsync(command).WaitAsync(TimeSpan.FromSeconds(10));
            return true;
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            LogDeliveryFailed(logger, exception, command.Id, Id);
            _observer = null;
            return false;
        }
    }

    private async Task NotDeliverableAsync(AgentCommand command)
    {
        var reason = $"the host's agent (version {_session?.AgentVersion}) does not read names that are not UTF-8";
        if (command is { Kind: AgentCommandKind.Census, RunId: { } runId })
        {
            await commandRows.RemoveAsync(Id, command.Id);
            (_pendingCommands, _scanWaiting) = await commandRows.CountAsync(Id);
            await grains.GetGrain<GrainInterfaces.Reconcile.IReconcileRunGrain>(runId).LeaveEscapedUncheckedAsync(Id, reason);
            return;
        }
        await AcknowledgeAsync(command.Id, succeeded: false, reason);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Host {HostId}: the agent could not carry out command {CommandId}: {Reason}")]
    private static partial void LogCommandFailed(ILogger logger, Guid hostId, string commandId, string reason);
}
