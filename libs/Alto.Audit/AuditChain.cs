using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Alto.Audit;

/// <summary>The verdict on one chain: how many entries were checked, and the first break if any.</summary>
public sealed record AuditChainVerdict(bool Intact, long Entries, long? BrokenAtSeq, string? Problem, string? LastHash);

/// <summary>
/// Verifies a tenant's audit chain outside the database: walks it in chain order, recomputes each
/// entry's hash from its fields and the previous entry's hash (the same bytes as the insert
/// trigger's alto.audit_entry_hash), and checks the numbering has no gaps. An edited entry fails
/// its hash; a deleted one leaves a gap and a broken link; reordered entries break their links.
/// </summary>
public static class AuditChain
{
    public static Task<AuditChainVerdict> VerifyAsync(NpgsqlDataSource db, Guid? tenantId, CancellationToken cancellationToken) =>
        VerifyAsync(db, tenantId, after: null, cancellationToken);

    /// <summary>
    /// Verifies the chain from its start, or only the entries after <paramref name="after"/> (an
    /// earlier intact verdict's end: its count and last hash), linked to it. The verdict counts
    /// every entry up to where it stopped.
    /// </summary>
    public static async Task<AuditChainVerdict> VerifyAsync(NpgsqlDataSource db, Guid? tenantId, AuditChainVerdict? after, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            SELECT chain_seq, at, tenant_id::text, actor, action, object_type, object_id, outcome, host_id::text, path, origin,
                   details::text, prev_hash, hash
            FROM alto.audit_log WHERE {(tenantId is null ? "tenant_id IS NULL" : "tenant_id = $2")} AND chain_seq > $1
            ORDER BY chain_seq
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after?.Entries ?? 0 });
        if (tenantId is { } tenant)
        {
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenant });
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        byte[]? previous = after?.LastHash is { } lastHash ? Convert.FromHexString(lastHash) : null;
        long expected = (after?.Entries ?? 0) + 1;
        while (await reader.ReadAsync(cancellationToken))
        {
            var (seq, prevHash, hash, fields) = ReadRow(reader);
            if (seq != expected)
            {
                return Broken(expected - 1, seq, $"entry {expected} is missing (the next one is {seq})", previous);
            }
            if (!Same(prevHash, previous))
            {
                return Broken(expected - 1, seq, $"entry {seq} does not follow entry {seq - 1}: it was deleted, replaced or moved", previous);
            }
            if (!hash.AsSpan().SequenceEqual(Hash(previous, fields)))
            {
                return Broken(expected - 1, seq, $"entry {seq} was changed after it was written", previous);
            }
            previous = hash;
            expected++;
        }
        return new AuditChainVerdict(true, expected - 1, null, null, previous is null ? null : Convert.ToHexStringLower(previous));
    }

    /// <summary>Every chain there is: the platform's (null) and each tenant's.</summary>
    public static async Task<List<Guid?>> ChainsAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var chains = new List<Guid?> { null };
        await using var command = db.CreateCommand("SELECT id FROM alto.tenant ORDER BY id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            chains.Add(reader.GetGuid(0));
        }
        return chains;
    }

    /// <summary>A row's number, links and hashed fields (the reader is on a buffered row, so this does not block).</summary>
    private static (long Seq, byte[]? PrevHash, byte[] Hash, string?[] Fields) ReadRow(NpgsqlDataReader reader)
    {
        var seq = reader.GetInt64(0);
        var fields = new string?[12];
        fields[0] = seq.ToString(CultureInfo.InvariantCulture);
        fields[1] = reader.GetDateTime(1).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        for (var i = 2; i <= 11; i++)
        {
            fields[i] = reader.IsDBNull(i) ? null : reader.GetString(i);
        }
        return (seq, reader.IsDBNull(12) ? null : (byte[])reader.GetValue(12), (byte[])reader.GetValue(13), fields);
    }

    /// <summary>SHA-256 of the previous hash and the length-prefixed UTF-8 fields, as the database computes it.</summary>
    public static byte[] Hash(byte[]? previous, IEnumerable<string?> fields)
    {
        var form = new StringBuilder();
        foreach (var field in fields)
        {
            form.Append(field is null ? "-;" : $"{Encoding.UTF8.GetByteCount(field)}:{field};");
        }
        return SHA256.HashData([.. previous ?? [], .. Encoding.UTF8.GetBytes(form.ToString())]);
    }

    private static bool Same(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    private static AuditChainVerdict Broken(long checkedEntries, long seq, string problem, byte[]? lastGood) =>
        new(false, checkedEntries, seq, problem, lastGood is null ? null : Convert.ToHexStringLower(lastGood));
}
