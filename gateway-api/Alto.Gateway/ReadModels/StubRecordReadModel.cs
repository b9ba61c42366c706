using Npgsql;
using static Alto.Gateway.ReadModels.SqlValues;

namespace Alto.Gateway.ReadModels;

/// <summary>What an agent says of a stub it is about to recall (DESIGN.md §4).</summary>
public sealed record StubClaim(Guid TenantId, Guid HostId, string Path, string Locator, string Sha256, bool Legacy);

/// <summary>The cluster's word on a stub: <see cref="Refusal"/> is null when it may be recalled, and <see cref="Known"/> says whether a record vouched for it.</summary>
public sealed record StubJudgement(bool Known, string? Refusal, string? RecordPath = null)
{
    public static StubJudgement Refused(string reason) => new(false, reason);
}

/// <summary>
/// Judges a stub against alto.tier_object. A stub is this host's when a STUBBED record of this
/// host names its object with the same hash, at its path — or anywhere for a stub bound to its
/// inode (renamed since; the binding, writable only as root, already proved the file). A stub whose
/// object no record names passes only while its file is being tiered (the job's report is on its
/// way) or, bound, as unknown (tiered by hand). Anything else contradicts the record and is refused.
/// </summary>
public sealed class StubRecordReadModel(NpgsqlDataSource db)
{
    private static readonly string[] BeingTiered = ["DISPATCHED", "UPLOADING", "UPLOADED"];

    public async Task<StubJudgement> JudgeAsync(StubClaim claim, CancellationToken cancellationToken)
    {
        var records = new List<(Guid HostId, string Path, string State, string? Hash)>();
        await using (var command = db.CreateCommand("SELECT host_id, full_path, state, hash FROM alto.tier_object WHERE locator = $1 LIMIT 50"))
        {
            command.Parameters.Add(Text(claim.Locator));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                records.Add((reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.NullableText(3)));
            }
        }
        var own = records.Where(record => record.HostId == claim.HostId).ToList();
        if (records.Count > 0 && own.Count == 0)
        {
            return StubJudgement.Refused("the stub names an object of another host");
        }
        if (own.Count > 0)
        {
            // A LOST record still vouches for its own stub: the recall verifies the bytes' SHA-256, so an
            // object that is really gone fails with an error (never zeros), and one restored since reads back.
            var stubbed = own.Find(record => record.State is "STUBBED" or "LOST");
            if (stubbed.State is null)
            {
                return StubJudgement.Refused($"the cluster's record of this object is {own[0].State}, not a stub");
            }
            if (!string.Equals(stubbed.Hash, claim.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                return StubJudgement.Refused("the stub's SHA-256 differs from the cluster's record of its object");
            }
            if (stubbed.Path != claim.Path && claim.Legacy)
            {
                return StubJudgement.Refused($"a version-1 stub (no binding to its file) away from the path the cluster recorded for its object ({stubbed.Path})");
            }
            return new StubJudgement(true, null, stubbed.Path);
        }
        if (claim.Legacy)
        {
            return StubJudgement.Refused("the cluster has no record of this version-1 stub's object");
        }
        var state = await StateAtPathAsync(claim, cancellationToken);
        return new StubJudgement(state is not null && BeingTiered.Contains(state), null);
    }

    private async Task<string?> StateAtPathAsync(StubClaim claim, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT t.state FROM alto.file_current f JOIN alto.tier_object t ON t.file_current_id = f.file_current_id
            WHERE f.tenant_id = $1 AND f.host_id = $2 AND f.full_path = $3 AND NOT f.path_escaped
            """);
        command.Parameters.Add(Uuid(claim.TenantId));
        command.Parameters.Add(Uuid(claim.HostId));
        command.Parameters.Add(Text(claim.Path));
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }
}
