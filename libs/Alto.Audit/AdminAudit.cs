using System.Text.Json;
using Npgsql;

namespace Alto.Audit;

/// <summary>
/// Who asked for a change and from where: the gateway puts the signed-in user (or the agent) and
/// the client address into the Orleans request context of every call it makes, and it flows
/// with the call into the grain that makes the change.
/// </summary>
public static class AuditContext
{
    public const string ActorKey = "alto.actor";
    public const string OriginKey = "alto.origin";

    /// <summary>The caller, or "system" for changes Alto makes on its own (planner, timers).</summary>
    public static string Actor => RequestContext.Get(ActorKey) as string ?? "system";

    public static string? Origin => RequestContext.Get(OriginKey) as string;

    /// <summary>Sets both for the calls made from here on in this asynchronous flow.</summary>
    public static void Set(string actor, string? origin)
    {
        RequestContext.Set(ActorKey, actor);
        if (origin is not null)
        {
            RequestContext.Set(OriginKey, origin);
        }
    }
}

/// <summary>
/// Audits what grains record on their own: admin changes (the action, the object, its view before
/// and after — views never hold secrets —, the actor and the origin) and events they saw. A
/// grain's state write is not a SQL transaction an entry could join, so an admin change's entry
/// is made with the change (<see cref="Prepare"/>), kept in the same state write, and appended
/// after it (<see cref="AppendAsync(IReadOnlyList{UnrecordedAudit})"/>) as often as it takes.
/// </summary>
public sealed class AdminAudit(NpgsqlDataSource db)
{
    public Task RecordAsync(Guid? tenantId, string action, string objectType, string objectId, object? before, object? after,
        IReadOnlyDictionary<string, object?>? extra = null, Guid? hostId = null) =>
        AuditLog.AppendAsync(db, Entry(tenantId, action, objectType, objectId, before, after, extra, hostId), CancellationToken.None);

    /// <summary>The entry of an admin change made now by this call's caller, for a transaction that stores the change with it.</summary>
    public static AuditEntry Entry(Guid? tenantId, string action, string objectType, string objectId, object? before, object? after,
        IReadOnlyDictionary<string, object?>? extra = null, Guid? hostId = null) =>
        new(tenantId, AuditContext.Actor, action, objectType, objectId, Succeeded: true, Details(before, after, extra))
        {
            Origin = AuditContext.Origin, HostId = hostId,
        };

    /// <summary>An entry of its own, for what a grain saw happen (a refused report, a failed job) rather than an admin's change.</summary>
    public Task RecordAsync(AuditEntry entry) => AuditLog.AppendAsync(db, entry, CancellationToken.None);

    /// <summary>The entry of an admin change being made now, by the caller of this grain call, to be kept with the change.</summary>
    public static UnrecordedAudit Prepare(Guid? tenantId, string action, string objectType, string objectId, object? before, object? after,
        DateTimeOffset madeAt, IReadOnlyDictionary<string, object?>? extra = null, Guid? hostId = null) =>
        new(Guid.NewGuid(), tenantId, AuditContext.Actor, AuditContext.Origin, action, objectType, objectId,
            AuditLog.SerializeDetails(Details(before, after, extra)), hostId, madeAt);

    /// <summary>
    /// Appends the entries in order, each in a transaction of its own; one appended before is not
    /// appended again. An entry the database refuses for what it holds (a data error, which no
    /// retry mends) is recorded as unrecordable instead, with the reason, so it cannot hold back
    /// those after it. Throws when the database cannot be reached: the entries stay the caller's.
    /// </summary>
    public async Task AppendAsync(IReadOnlyList<UnrecordedAudit> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }
        await using var connection = await db.OpenConnectionAsync();
        foreach (var entry in entries)
        {
            try
            {
                await AppendAsync(connection, ToEntry(entry, JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(entry.Details)!
                    .ToDictionary(pair => pair.Key, pair => (object?)pair.Value)));
            }
            catch (PostgresException exception) when (exception.SqlState.StartsWith("22", StringComparison.Ordinal))
            {
                await AppendAsync(connection, ToEntry(entry, new Dictionary<string, object?> { ["unrecordable"] = exception.MessageText }));
            }
        }
    }

    private static async Task AppendAsync(NpgsqlConnection connection, AuditEntry entry)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        await AuditLog.AppendAsync(connection, transaction, entry, CancellationToken.None);
        await transaction.CommitAsync();
    }

    private static AuditEntry ToEntry(UnrecordedAudit entry, IReadOnlyDictionary<string, object?> details) =>
        new(entry.TenantId, entry.Actor, entry.Action, entry.ObjectType, entry.ObjectId, Succeeded: true, details)
        {
            Origin = entry.Origin, HostId = entry.HostId, ChangeId = entry.ChangeId, At = entry.MadeAt,
        };

    private static Dictionary<string, object?> Details(object? before, object? after, IReadOnlyDictionary<string, object?>? extra)
    {
        var details = new Dictionary<string, object?> { ["before"] = before, ["after"] = after };
        foreach (var (key, value) in extra ?? new Dictionary<string, object?>())
        {
            details[key] = value;
        }
        return details;
    }
}
