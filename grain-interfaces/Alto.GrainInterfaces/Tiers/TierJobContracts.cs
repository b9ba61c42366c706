using Alto.GrainInterfaces.Tenants;

namespace Alto.GrainInterfaces.Tiers;

/// <summary>One file of a job sent to an agent.</summary>
[GenerateSerializer, Immutable, Alias("Alto.TierJobFile")]
public sealed record TierJobFile(
    [property: Id(0)] long TierObjectId,
    [property: Id(1)] string Path,
    [property: Id(2)] bool PathEscaped,
    [property: Id(3)] long SizeBytes,
    [property: Id(4)] long ModifiedUnix)
{
    /// <summary>The data key to encrypt this file's object with, when its tenant encrypts tier 2.</summary>
    [Id(5)] public DataKeyGrant? Key { get; init; }
}

/// <summary>A data key for one object: its bytes (used by the agent, never stored) and the same key wrapped by the tenant key (stored with the object).</summary>
[GenerateSerializer, Immutable, Alias("Alto.DataKeyGrant")]
public sealed record DataKeyGrant(
    [property: Id(0)] byte[] Key,
    [property: Id(1)] string Wrapped)
{
    // The key stays out of logs.
    public override string ToString() => "data key";
}

/// <summary>A target as an agent needs it: settings and secrets. Built for one delivery, never stored.</summary>
[GenerateSerializer, Immutable, Alias("Alto.AgentTarget")]
public sealed record AgentTarget(
    [property: Id(0)] Guid Id,
    [property: Id(1)] StorageTargetKind Kind,
    [property: Id(2)] StorageTargetSettings Settings,
    [property: Id(3)] StorageTargetCredentials? Credentials)
{
    // The secrets stay out of logs.
    public override string ToString() => $"{Kind} target {Id}";
}

/// <summary>A tiering job on its way to the agent.</summary>
[GenerateSerializer, Immutable, Alias("Alto.TierJobPayload")]
public sealed record TierJobPayload(
    [property: Id(0)] Guid JobId,
    [property: Id(1)] Guid TenantId,
    [property: Id(2)] AgentTarget Target,
    [property: Id(3)] TierJobFile[] Files)
{
    /// <summary>Which sending of the job this is (1 for the first), for its message id (<see cref="JobMessageIds"/>).</summary>
    [Id(5)] public int Attempt { get; init; } = 1;

    /// <summary>An admin cancelled the job while it was out: the agent tiers none of its files and reports each as it is.</summary>
    [Id(4)] public bool Cancelled { get; init; }
}

public enum TierFileOutcome
{
    Stubbed = 0,
    Skipped = 1,
    Failed = 2,
    Unavailable = 3,
    /// <summary>The agent did not touch the file: recall on open is not armed for it there.</summary>
    Refused = 4,
    /// <summary>The agent did not start the file: an admin cancelled its job. The original is kept.</summary>
    Cancelled = 5,
}

/// <summary>What the agent reports for one file of a job.</summary>
[GenerateSerializer, Immutable, Alias("Alto.TierFileResult")]
public sealed record TierFileResult(
    [property: Id(0)] long TierObjectId,
    [property: Id(1)] TierFileOutcome Outcome,
    [property: Id(2)] string? Sha256,
    [property: Id(3)] string? Locator,
    [property: Id(4)] string? Reason);

/// <summary>
/// The message id a job travels under to the agent ("job-", the job id and the attempt), which the
/// agent acknowledges. Each sending of a job is an attempt of its own: the agent runs a message id
/// once, so a job sent again after tier 2 was unreachable must not look like a repeat of the last.
/// </summary>
public static class JobMessageIds
{
    public const string Prefix = "job-";

    public static string Of(Guid jobId, int attempt) => $"{Prefix}{jobId:N}-{attempt.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    public static bool TryParse(string messageId, out Guid jobId)
    {
        jobId = Guid.Empty;
        if (!messageId.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        // "job-<id>" from gateways before attempts were numbered, "job-<id>-<attempt>" since.
        var rest = messageId.AsSpan(Prefix.Length);
        var dash = rest.IndexOf('-');
        return (dash < 0 || int.TryParse(rest[(dash + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
            && Guid.TryParseExact(dash < 0 ? rest : rest[..dash], "N", out jobId);
    }
}
