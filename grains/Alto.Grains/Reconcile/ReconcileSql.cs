using Alto.GrainInterfaces.Reconcile;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Grains.Reconcile;

/// <summary>Parameters the reconciliation stores share.</summary>
internal static class ReconcileSql
{
    public static void AddRunScope(NpgsqlCommand command, ReconcileRunInfo run) => AddRunScope(command.Parameters, run, 3);

    /// <summary>$1 the run, $2 its tenant, $3 its target: the first <paramref name="count"/> of them.</summary>
    public static void AddRunScope(NpgsqlParameterCollection parameters, ReconcileRunInfo run, int count)
    {
        foreach (var value in new[] { run.RunId, run.TenantId, run.TargetId }.Take(count))
        {
            parameters.Add(new NpgsqlParameter<Guid> { TypedValue = value });
        }
    }
    public static NpgsqlParameter<string?[]> Texts(IEnumerable<string?> values) =>
        new() { TypedValue = [.. values], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}
