namespace Alto.Agent.Stubs;

/// <summary>
/// A stub as the cluster is asked about it before a recall writes a byte into the file:
/// <see cref="BindingProblem"/> says why its markers are not this file's (they were copied), or is null when they are.
/// </summary>
public sealed record StubQuestion(string Path, string Locator, string Sha256, bool Legacy, string? BindingProblem);

public enum StubVerdict
{
    /// <summary>The cluster's record of this host has the object as this file's stub.</summary>
    Confirmed,

    /// <summary>No record names the object, and none contradicts the stub (a stub tiered by hand, for one).</summary>
    Unknown,

    /// <summary>The record contradicts the stub: another host's object, another file's, or not a stub any more.</summary>
    Refused,

    /// <summary>The cluster did not answer in time.</summary>
    Unreachable,
}

public sealed record StubAnswer(StubVerdict Verdict, string? Reason = null);

public delegate Task<StubAnswer> StubCheck(StubQuestion question, CancellationToken cancellationToken);

/// <summary>
/// What a recall asks of the cluster: the data key of an encrypted object (the cluster alone holds
/// the tenant key) and its word that the stub is what its record says. A recall without one (an
/// operator's standalone recall) trusts the stub's binding alone and cannot open encrypted objects;
/// one from a recovery kit unwraps keys offline and, with no record to ask (<paramref name="Check"/>
/// null), trusts the binding alone.
/// </summary>
public sealed record RecallCluster(DataKeyUnwrap Unwrap, StubCheck? Check);

/// <summary>A stub whose recall was refused: its markers are not this file's, or the cluster's record contradicts them. Nothing was written.</summary>
public sealed class StubRefusedException(string path, string reason) : IOException($"refused to recall {path}: {reason}")
{
    public string Path { get; } = path;

    public string Reason { get; } = reason;
}
