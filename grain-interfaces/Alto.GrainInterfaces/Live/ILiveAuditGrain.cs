namespace Alto.GrainInterfaces.Live;

/// <summary>
/// The one tail of the audit trail (key 0) that turns each new entry of a tenant into a live event
/// for its admins. The gateways wake it and keep waking it, so it runs again wherever the cluster
/// places it after a silo is lost.
/// </summary>
[Alias("Alto.ILiveAuditGrain")]
public interface ILiveAuditGrain : IGrainWithIntegerKey
{
    [Alias("EnsureRunningAsync")]
    Task EnsureRunningAsync();
}
