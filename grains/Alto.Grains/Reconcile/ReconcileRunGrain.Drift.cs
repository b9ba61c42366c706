using Alto.GrainInterfaces.Reconcile;
using Alto.Grains.Tiers;

namespace Alto.Grains.Reconcile;

/// <summary>The census's side of a run: what each host's agent found at its stubs' paths, set against the records.</summary>
public sealed partial class ReconcileRunGrain
{
    /// <summary>
    /// What the census found against the records: a stub deleted on its host closes the record
    /// (its object falls to the orphan rules); a real file where the stub was is RECALLED (the
    /// data is back; the rules decide anew); a stub not its record's, unreadable, or unknown to
    /// any record is reported. Returns the records settled here, which are not judged as missing,
    /// and those closed (their objects may now be orphans).
    /// </summary>
    private async Task<(HashSet<long> Settled, List<TierObjectInfo> Closed)> RepairDriftAsync(ReconcileRunInfo run, string actor, List<ReconcileFinding> findings)
    {
        var drift = await census.DriftAsync(run);
        var settled = new HashSet<long>();
        var closedRecords = new List<TierObjectInfo>();
        foreach (var byHost in drift.GroupBy(item => item.HostId))
        {
            var deleted = byHost.Where(item => item.Record is not null && item.Found == StubFact.Absent).ToList();
            var closedHere = await ledger.CloseAsync(byHost.Key, [.. deleted.Select(item => item.Record!.Value)], actor,
                $"the stub is gone from the host (reconcile run {Id})", CancellationToken.None);
            closedRecords.AddRange(closedHere);
            var closed = closedHere.Select(info => info.Id).ToHashSet();
            findings.AddRange(deleted.Select(item => Drift(item, "stub_deleted", "no file at the path on the host",
                closed.Contains(item.Record!.Value) ? "record closed; its object falls to the orphan rules" : "none: the record changed meanwhile")));

            var replaced = byHost.Where(item => item.Record is not null && item.Found == StubFact.File).ToList();
            var recalled = (await ledger.ApplyAsync(byHost.Key,
                    [.. replaced.Select(item => new TierChange(item.Record!.Value, new TierEvent(TierEventKind.Recalled, actor, Reason: "a real file is where the stub was")))],
                    CancellationToken.None))
                .Where(outcome => outcome.Applied).Select(outcome => outcome.TierObjectId).ToHashSet();
            findings.AddRange(replaced.Select(item => Drift(item, "stub_replaced", "a real file is where the stub was",
                recalled.Contains(item.Record!.Value) ? "RECALLED: the data is on the host; the rules decide anew" : "none: the record changed meanwhile")));
            settled.UnionWith(closed);
            settled.UnionWith(recalled);

            foreach (var item in byHost.Where(item => item.Found is StubFact.Stub or StubFact.Unreadable))
            {
                findings.Add(item switch
                {
                    { Record: null } => Drift(item, "stub_without_record", $"a stub of this target no record knows (object {item.Locator})",
                        "none: its object is kept; recall or re-tier the file to bring it back under a record"),
                    { Found: StubFact.Unreadable } => Drift(item, "stub_unreadable", item.Detail ?? "the stub's markers could not be read", "none: reported"),
                    _ => Drift(item, "binding_mismatch", item.Detail
                        ?? $"the stub names object {item.Locator} (SHA-256 {item.Sha256}); the record names {item.RecordLocator} (SHA-256 {item.RecordHash})", "none: reported"),
                });
            }
        }
        return (settled, closedRecords);
    }

    private static ReconcileFinding Drift(DriftItem item, string kind, string detail, string repair) =>
        new("drift", kind, item.Locator ?? item.RecordLocator, item.Record, item.HostId, item.Path, detail, repair);
}
