using Alto.Rules;
using Npgsql;
using NpgsqlTypes;

namespace Alto.Grains.Planning;

/// <summary>One file of the inventory as the planner reads it, with its current tier object if any.</summary>
public readonly record struct InventoryRow(
    long FileId, string Path, long SizeBytes, long ModifiedUnix, string? TierState, Guid PlannedRuleId, long PlannedModifiedUnix, long PlannedSizeBytes);

/// <summary>
/// Turns each verdict of a real plan into a change row: plan a new file, plan a skipped or
/// recalled one again, move a planned file to its new rule (or refresh it if the file changed),
/// or un-plan it. A planned file that its rule still selects unchanged is left alone.
/// </summary>
public sealed class PlanDecisions(JobPacker packer)
{
    // Kinds of change rows (plan_rows.kind).
    public const short Insert = 1;
    public const short Replan = 2;
    public const short Move = 3;
    public const short Unplan = 4;

    public JobPacker Packer { get; } = packer;

    public NpgsqlBinaryImporter? Import { get; set; }

    public long Inserted { get; private set; }

    public long Replanned { get; private set; }

    public long Moved { get; private set; }

    public long Unplanned { get; private set; }

    /// <summary>Failed files whose next attempt was due, put into a job again.</summary>
    public long Retried { get; private set; }

    public long Unchanged { get; private set; }

    public void Decide(CompiledRule? match, bool alreadyTiered, in InventoryRow row)
    {
        if (alreadyTiered)
        {
            return;
        }
        var planned = row.TierState == "PLANNED";
        if (match is { Plans: true })
        {
            if (planned && row.PlannedRuleId == match.Rule.Id && row.PlannedModifiedUnix == row.ModifiedUnix && row.PlannedSizeBytes == row.SizeBytes)
            {
                Unchanged++;
                return;
            }
            short kind;
            if (planned)
            {
                kind = Move;
                Moved++;
            }
            else if (row.TierState == HostPlanner.RetryDue)
            {
                // Tried again in a new job, its attempts counted on (Move keeps them).
                kind = Move;
                Retried++;
            }
            else if (row.TierState is null)
            {
                kind = Insert;
                Inserted++;
            }
            else
            {
                kind = Replan;
                Replanned++;
            }
            Write(row, kind, match, Packer.Place(match.Index, row.SizeBytes));
        }
        else if (planned)
        {
            Unplanned++;
            Write(row, Unplan, null, null);
        }
    }

    private void Write(in InventoryRow row, short kind, CompiledRule? rule, Guid? jobId)
    {
        var import = Import ?? throw new InvalidOperationException("decisions need an open COPY");
        import.StartRow();
        import.Write(row.FileId, NpgsqlDbType.Bigint);
        import.Write(kind, NpgsqlDbType.Smallint);
        if (rule is null || jobId is null)
        {
            for (var i = 0; i < 6; i++)
            {
                import.WriteNull();
            }
            return;
        }
        import.Write(rule.Rule.Id, NpgsqlDbType.Uuid);
        import.Write(rule.Rule.TargetId!.Value, NpgsqlDbType.Uuid);
        import.Write(jobId.Value, NpgsqlDbType.Uuid);
        import.Write(row.SizeBytes, NpgsqlDbType.Bigint);
        import.Write(row.ModifiedUnix, NpgsqlDbType.Bigint);
        import.Write(row.Path, NpgsqlDbType.Text);
    }
}
