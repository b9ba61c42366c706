namespace Alto.Audit;

/// <summary>
/// The audit entry of a change a grain has made but not yet appended to the audit log: made when
/// the change is (who asked, from where, the views before and after, as JSON) and kept in the
/// same state write as the change, so the change is never stored without it. Appended as often
/// as it takes; its <see cref="ChangeId"/> records it once.
/// </summary>
[GenerateSerializer, Immutable, Alias("Alto.UnrecordedAudit")]
public sealed record UnrecordedAudit(
    [property: Id(0)] Guid ChangeId,
    [property: Id(1)] Guid? TenantId,
    [property: Id(2)] string Actor,
    [property: Id(3)] string? Origin,
    [property: Id(4)] string Action,
    [property: Id(5)] string ObjectType,
    [property: Id(6)] string? ObjectId,
    [property: Id(7)] string Details,
    [property: Id(8)] Guid? HostId,
    [property: Id(9)] DateTimeOffset MadeAt);
