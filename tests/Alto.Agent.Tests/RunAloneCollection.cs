namespace Alto.Agent.Tests;

/// <summary>
/// Tests that need the machine's cores to themselves: xUnit runs this collection after the others,
/// with nothing beside it. Two hundred agents heartbeating every second against the test gateway's
/// 3-second timeout were once starved beside the other test classes on two cores: two heartbeats
/// arrived late and their sessions reconnected, which is exactly what that test must not see.
/// (A later reconnection, seen even when run alone, was the cluster's own: a session whose opening
/// took longer than the timeout was ended before its first heartbeat was read; see SessionLivenessTests.)
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunAloneCollection
{
    public const string Name = "run-alone";
}
