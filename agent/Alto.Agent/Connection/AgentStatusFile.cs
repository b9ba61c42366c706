using System.Text.Json;

namespace Alto.Agent.Connection;

/// <summary>What the running agent last knew of its session, for <c>alto-agent status</c>; rewritten every few seconds.</summary>
public sealed record AgentStatusSnapshot(
    bool Connected, string? Gateway, string? SessionId, DateTimeOffset? LastHeartbeatSent, int QueueDepth,
    int Sessions, string? LastError, string AgentVersion, DateTimeOffset WrittenAt)
{
    public const string FileName = "status.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The agent process that wrote the file.</summary>
    public int ProcessId { get; init; }

    /// <summary>Each volume's recall: armed, or why not.</summary>
    public IReadOnlyList<Recall.VolumeRecall> RecallVolumes { get; init; } = [];

    public bool RecallSurvivesRestart { get; init; }

    public string? RecallProblem { get; init; }

    /// <summary>Files the journal keeps unsettled, and why (<see cref="Jobs.WaitingOperations"/>); null when none.</summary>
    public string? UnsettledProblem { get; init; }

    /// <summary>Reports (job results, recalls) the gateway has not acknowledged yet.</summary>
    public int PendingReports { get; init; }

    /// <summary>Opens of stubs waiting for their recall to start, when the status was written.</summary>
    public int RecallsWaiting { get; init; }

    public static AgentStatusSnapshot Of(
        ConnectionState state, Recall.IRecallStatus? recall, int pendingReports = 0, IReadOnlyList<Jobs.WaitingOperation>? waiting = null) => new(
        state.Connected, state.Gateway?.ToString(), state.SessionId, state.LastHeartbeatSent, state.QueueDepth, state.Sessions,
        state.LastError, typeof(AgentStatusSnapshot).Assembly.GetName().Version?.ToString() ?? "0.0.0", DateTimeOffset.UtcNow)
    {
        ProcessId = Environment.ProcessId,
        RecallVolumes = recall?.Volumes ?? [],
        RecallSurvivesRestart = recall?.SurvivesRestart ?? false,
        RecallProblem = recall?.Problem,
        RecallsWaiting = recall?.Waiting ?? 0,
        PendingReports = pendingReports,
        UnsettledProblem = Jobs.WaitingOperations.Describe(waiting ?? []),
    };

    public async Task WriteAsync(string stateDirectory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(stateDirectory, FileName);
        await using (var file = Tiering.PrivateFiles.Open(path + ".tmp", FileMode.Create))
        {
            await JsonSerializer.SerializeAsync(file, this, Json, cancellationToken);
        }
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>The status the running agent last wrote, or null when none was written in this state folder.</summary>
    /// <exception cref="InvalidDataException">The file cannot be read or is damaged; the message says which.</exception>
    public static async Task<AgentStatusSnapshot?> ReadAsync(string stateDirectory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(stateDirectory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<AgentStatusSnapshot>(await File.ReadAllTextAsync(path, cancellationToken), Json)
                   ?? throw new JsonException("it holds no status");
        }
        catch (Exception exception) when (exception is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"the status file {path} cannot be read ({exception.Message}); a running agent writes it again within seconds");
        }
    }
}

/// <summary>The agent's state folder (credential, status), as configured with --state-dir.</summary>
public sealed record AgentStateDirectory(string Path);
