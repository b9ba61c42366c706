using Alto.Scanning;
using Npgsql;

namespace Alto.Gateway.Scans;

public enum StageOutcome
{
    /// <summary>Rows stored; more chunks are expected.</summary>
    Stored = 0,
    /// <summary>This (scan, chunk) was stored before: nothing written again.</summary>
    Duplicate = 1,
    /// <summary>Rows stored and every chunk of the scan is in: the ingest can start.</summary>
    Complete = 2,
}

public sealed record StageResult(StageOutcome Outcome, long ScanId, int Rows);

/// <summary>A chunk that contradicts the scan it claims to belong to (numbering, a scan already complete, or other content under a chunk number already stored).</summary>
public sealed class ScanSequenceException(string message) : Exception(message);

/// <summary>
/// Which chunk of which scan an upload is, as the agent's credential and query name it; the final
/// chunk of an incremental scan also says how many unchanged folders the scan named before it.
/// </summary>
public sealed record ChunkIdentity(Guid TenantId, Guid HostId, Guid ScanUid, int ChunkNo, bool IsFinal, IReadOnlyList<string> Roots)
{
    public long? UnchangedFolders { get; init; }
}

/// <summary>A chunk's rows as they are decoded, and the digest of its content once they have all been read.</summary>
public sealed record ChunkContent(IScanRowReader Rows, Func<byte[]> Digest, int MaxRows);

/// <summary>
/// Stages one chunk of scan rows into scan_staging.raw_scans with binary COPY as they are decoded,
/// in one transaction with its bookkeeping: all rows or none (a bad row anywhere cancels the
/// COPY), and the same (scan, chunk) only once. A chunk number sent again with the same content
/// (the same SHA-256 of its decompressed bytes) is a duplicate; with other content, a conflict.
/// </summary>
public sealed class ScanStaging(NpgsqlDataSource db)
{
    public async Task<StageResult> StageAsync(ChunkIdentity chunk, ChunkContent content, CancellationToken cancellationToken)
    {
        var (tenantId, hostId, scanUid, chunkNo, isFinal, roots) = chunk;
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        // The scan row and its day's partition are made before the chunk's transaction, each committed at
        // once: the partition lock is then held for an instant, not for the whole upload, so uploads of
        // one tenant stream in side by side.
        var day = await CreateScanAsync(connection, tenantId, hostId, scanUid, cancellationToken);
        await using (var partition = new NpgsqlCommand("SELECT scan_staging.ensure_partition($1, $2)", connection))
        {
            partition.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
            partition.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = day });
            await partition.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // The rows are copied before the scan's row is locked, so two chunks of one scan (an agent
        // keeps two in flight) are copied side by side; what is checked before the copy is checked
        // again under the lock, which serialises the chunks' bookkeeping only.
        var unlocked = await ReadScanAsync(connection, hostId, scanUid, forUpdate: false, cancellationToken);
        if (await StoredDigestAsync(connection, unlocked.Id, chunkNo, cancellationToken) is { } stored)
        {
            // Read (and check) the whole chunk to learn its digest, staging nothing.
            var rows = await CountRowsAsync(content, cancellationToken);
            await transaction.RollbackAsync(cancellationToken);
            return Duplicate(chunk, stored, content, rows, unlocked.Id);
        }
        CheckSequence(chunk, unlocked);

        var (rowCount, bytes) = await CopyRowsAsync(connection, tenantId, hostId, unlocked, chunkNo, content, cancellationToken);

        var scan = await ReadScanAsync(connection, hostId, scanUid, forUpdate: true, cancellationToken);
        if (await StoredDigestAsync(connection, scan.Id, chunkNo, cancellationToken) is { } storedMeanwhile)
        {
            // The same chunk number, sent again while this copy ran, was stored first: these rows go.
            await transaction.RollbackAsync(cancellationToken);
            return Duplicate(chunk, storedMeanwhile, content, rowCount, scan.Id);
        }
        CheckSequence(chunk, scan);
        await using (var insertChunk = new NpgsqlCommand(
            "INSERT INTO scan_staging.chunk (scan_id, chunk_no, row_count, is_final, digest) VALUES ($1, $2, $3, $4, $5)",
            connection, transaction))
        {
            insertChunk.Parameters.Add(new NpgsqlParameter<long> { TypedValue = scan.Id });
            insertChunk.Parameters.Add(new NpgsqlParameter<int> { TypedValue = chunkNo });
            insertChunk.Parameters.Add(new NpgsqlParameter<int> { TypedValue = rowCount });
            insertChunk.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = isFinal });
            insertChunk.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = content.Digest() });
            await insertChunk.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var update = new NpgsqlCommand("""
            UPDATE alto.scan
            SET chunk_count = chunk_count + 1,
                file_count = file_count + $2,
                total_bytes = total_bytes + $3,
                final_chunk_no = CASE WHEN $4 THEN $5 ELSE final_chunk_no END,
                roots = CASE WHEN $4 THEN $6 ELSE roots END,
                status = CASE WHEN coalesce(CASE WHEN $4 THEN $5 ELSE final_chunk_no END, -2) = chunk_count
                              THEN 'queued' ELSE status END
            WHERE id = $1
            RETURNING status
            """, connection, transaction);
        update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = scan.Id });
        update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = rowCount });
        update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = bytes });
        update.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = isFinal });
        update.Parameters.Add(new NpgsqlParameter<int> { TypedValue = chunkNo });
        update.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. roots] });
        var status = (string)(await update.ExecuteScalarAsync(cancellationToken))!;
        await transaction.CommitAsync(cancellationToken);
        return new StageResult(status == "queued" ? StageOutcome.Complete : StageOutcome.Stored, scan.Id, rowCount);
    }

    /// <summary>
    /// Stores a part of an incremental scan's unchanged folders (canonical paths of the host's
    /// flavour) and marks the scan incremental since <paramref name="baseScanUid"/>, in one
    /// transaction. The same part sent again is a duplicate; other content under its number, another
    /// base, or a scan already complete is a conflict.
    /// </summary>
    public async Task<StageOutcome> StageUnchangedAsync(
        Guid tenantId, Guid hostId, Guid scanUid, int partNo, Guid baseScanUid, string[] folders, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await CreateScanAsync(connection, tenantId, hostId, scanUid, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var scan = await ReadScanAsync(connection, hostId, scanUid, forUpdate: true, cancellationToken);
        var digest = UnchangedDigest(baseScanUid, folders);
        await using (var stored = new NpgsqlCommand("SELECT digest FROM scan_staging.unchanged_part WHERE scan_id = $1 AND part_no = $2", connection, transaction))
        {
            stored.Parameters.Add(new NpgsqlParameter<long> { TypedValue = scan.Id });
            stored.Parameters.Add(new NpgsqlParameter<int> { TypedValue = partNo });
            if (await stored.ExecuteScalarAsync(cancellationToken) is byte[] before)
            {
                return before.AsSpan().SequenceEqual(digest)
                    ? StageOutcome.Duplicate
                    : throw new ScanSequenceException($"part {partNo} of the unchanged folders of scan {scanUid} was stored before with other content");
            }
        }
        if (scan.Status != "receiving")
        {
            throw new ScanSequenceException($"scan {scanUid} is already complete ({scan.Status}); its unchanged folders are sent before its final chunk");
        }
        await using (var mark = new NpgsqlCommand("""
            UPDATE alto.scan SET kind = 'incremental', base_scan_uid = $2, folders_unchanged = folders_unchanged + $3
            WHERE id = $1 AND (base_scan_uid IS NULL OR base_scan_uid = $2)
            """, connection, transaction))
        {
            mark.Parameters.Add(new NpgsqlParameter<long> { TypedValue = scan.Id });
            mark.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = baseScanUid });
            mark.Parameters.Add(new NpgsqlParameter<long> { TypedValue = folders.Length });
            if (await mark.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                throw new ScanSequenceException($"scan {scanUid} continues another scan than {baseScanUid}: every part names the same base scan");
            }
        }
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO scan_staging.unchanged_part (scan_id, part_no, folders, digest) VALUES ($1, $2, $3, $4)", connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = scan.Id });
            insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = partNo });
            insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = folders });
            insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = digest });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return StageOutcome.Stored;
    }

    /// <summary>The id the agent gave the host's last ingested scan, or null: an incremental scan continues only that one.</summary>
    public async Task<Guid?> LastIngestedAsync(Guid hostId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(
            "SELECT scan_uid FROM alto.scan WHERE host_id = $1 AND status = 'completed' ORDER BY completed_at DESC, id DESC LIMIT 1");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        return await command.ExecuteScalarAsync(cancellationToken) as Guid?;
    }

    private static byte[] UnchangedDigest(Guid baseScanUid, string[] folders)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        hash.AppendData(baseScanUid.ToByteArray());
        foreach (var folder in folders)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(folder));
            hash.AppendData([0]);
        }
        return hash.GetHashAndReset();
    }

    private sealed record StoredChunk(int Rows, byte[]? Digest);

    /// <summary>A chunk number stored before: a duplicate with the same content, a conflict with other content.</summary>
    private static StageResult Duplicate(ChunkIdentity chunk, StoredChunk stored, ChunkContent content, int rows, long scanId) =>
        stored.Digest is { } digest && !digest.AsSpan().SequenceEqual(content.Digest())
            ? throw new ScanSequenceException(
                $"chunk {chunk.ChunkNo} of scan {chunk.ScanUid} was stored before with other content ({stored.Rows} rows; this one has {rows}); a chunk number is sent again only with the same content")
            : new StageResult(StageOutcome.Duplicate, scanId, 0);

    /// <summary>Whether the chunk may join the scan as it stands: still receiving, within its numbering, its unchanged folders all in.</summary>
    private static void CheckSequence(ChunkIdentity chunk, ScanRow scan)
    {
        var (chunkNo, isFinal) = (chunk.ChunkNo, chunk.IsFinal);
        if (scan.Status != "receiving")
        {
            throw new ScanSequenceException($"scan {chunk.ScanUid} is already complete ({scan.Status}); start a new scan");
        }
        if (scan.FinalChunkNo is { } final && chunkNo > final)
        {
            throw new ScanSequenceException($"chunk {chunkNo} comes after chunk {final}, which was marked final");
        }
        if (isFinal && scan.MaxChunkNo is { } highest && highest > chunkNo)
        {
            throw new ScanSequenceException($"chunk {chunkNo} cannot be final: chunk {highest} was already received");
        }
        if (isFinal && (chunk.UnchangedFolders ?? 0) != scan.FoldersUnchanged)
        {
            // A part of the unchanged folders that never arrived would read as folders gone: their files would be marked deleted.
            throw new ScanSequenceException(chunk.UnchangedFolders is { } declared
                ? $"the final chunk says {declared} unchanged folder(s) were named, but {scan.FoldersUnchanged} arrived: send the missing parts first"
                : $"scan {chunk.ScanUid} named {scan.FoldersUnchanged} unchanged folder(s): its final chunk says how many (unchanged=)");
        }
    }

    private static async Task<StoredChunk?> StoredDigestAsync(NpgsqlConnection connection, long scanId, int chunkNo, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT row_count, digest FROM scan_staging.chunk WHERE scan_id = $1 AND chunk_no = $2", connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = scanId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = chunkNo });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new StoredChunk(reader.GetInt32(0), await reader.IsDBNullAsync(1, cancellationToken) ? null : await reader.GetFieldValueAsync<byte[]>(1, cancellationToken));
    }

    private static async Task<int> CountRowsAsync(ChunkContent content, CancellationToken cancellationToken)
    {
        var rows = 0;
        while (await content.Rows.ReadAsync(cancellationToken) is not null)
        {
            CheckRowLimit(++rows, content.MaxRows);
        }
        return rows;
    }

    private static void CheckRowLimit(int rows, int limit)
    {
        if (rows > limit)
        {
            throw new ChunkTooLargeException($"the chunk has more than {limit} rows");
        }
    }

    private sealed record ScanRow(long Id, string Status, DateOnly Day, int? FinalChunkNo, int? MaxChunkNo, long FoldersUnchanged);

    /// <summary>The scan's row (made on its first chunk) and the day its rows are staged under.</summary>
    private static async Task<DateOnly> CreateScanAsync(
        NpgsqlConnection connection, Guid tenantId, Guid hostId, Guid scanUid, CancellationToken cancellationToken)
    {
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO alto.scan (tenant_id, host_id, scan_uid) VALUES ($1, $2, $3) ON CONFLICT (host_id, scan_uid) DO NOTHING", connection))
        {
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenantId });
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = scanUid });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var select = new NpgsqlCommand(
            "SELECT (started_at AT TIME ZONE 'UTC')::date FROM alto.scan WHERE host_id = $1 AND scan_uid = $2", connection);
        select.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        select.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = scanUid });
        return (DateOnly)(await select.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The scan's row as it stands; locked (<paramref name="forUpdate"/>) it serialises the bookkeeping of the scan's chunks.</summary>
    private static async Task<ScanRow> ReadScanAsync(NpgsqlConnection connection, Guid hostId, Guid scanUid, bool forUpdate, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand($"""
            SELECT s.id, s.status, (s.started_at AT TIME ZONE 'UTC')::date, s.final_chunk_no,
                   (SELECT max(chunk_no) FROM scan_staging.chunk c WHERE c.scan_id = s.id), s.folders_unchanged
            FROM alto.scan s
            WHERE s.host_id = $1 AND s.scan_uid = $2
            {(forUpdate ? "FOR UPDATE OF s" : "")}
            """, connection);
        select.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = hostId });
        select.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = scanUid });
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return ReadScan(reader);
    }

    private static ScanRow ReadScan(NpgsqlDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.GetFieldValue<DateOnly>(2),
        reader.IsDBNull(3) ? null : reader.GetInt32(3),
        reader.IsDBNull(4) ? null : reader.GetInt32(4),
        reader.GetInt64(5));

    private static async Task<(int Rows, long Bytes)> CopyRowsAsync(
        NpgsqlConnection connection, Guid tenantId, Guid hostId, ScanRow scan, int chunkNo, ChunkContent content,
        CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginRawBinaryCopyAsync("""
            COPY scan_staging.raw_scans (tenant_id, scan_date, host_id, scan_id, chunk_no, row_no, file_path, path_escaped,
                                         file_size, last_modified, last_accessed, ctime, file_extension, permissions, owner,
                                         hash, file_id, is_stub, links)
            FROM STDIN (FORMAT BINARY)
            """, cancellationToken);
        using var rows = new BinaryCopyRows(copy);
        var count = 0;
        long bytes = 0;
        try
        {
            rows.Header();
            while (await content.Rows.ReadAsync(cancellationToken) is { } row)
            {
                CheckRowLimit(count + 1, content.MaxRows);
                bytes += row.FileSize;
                WriteRow(rows, tenantId, hostId, scan, chunkNo, count++, row);
                await rows.FlushAsync(cancellationToken);
            }
            rows.Trailer();
            await rows.FlushAsync(cancellationToken, all: true);
        }
        catch
        {
            // A bad row, a bomb, a dropped connection: the COPY is abandoned, so nothing of it stays
            // (disposed otherwise, the stream would end the COPY and keep the rows sent so far).
            try
            {
                await copy.CancelAsync();
            }
            catch (Exception cancelFailure) when (cancelFailure is NpgsqlException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                // The connection went with the COPY (and the transaction with it); the first failure is the one to report.
            }
            throw;
        }
        return (count, bytes);
    }

    private static void WriteRow(BinaryCopyRows copy, Guid tenantId, Guid hostId, ScanRow scan, int chunkNo, int rowNo, ScanRecord row)
    {
        copy.StartRow(19);
        copy.Uuid(tenantId);
        copy.Date(scan.Day);
        copy.Uuid(hostId);
        copy.Bigint(scan.Id);
        copy.Int4(chunkNo);
        copy.Int4(rowNo);
        copy.Text(row.FilePath);
        copy.Boolean(row.PathEncoding == PathEncodingKind.Escaped);
        copy.Bigint(row.FileSize);
        copy.TimestampTz(row.LastModified);
        copy.TimestampTz(row.LastAccessed);
        copy.TimestampTz(row.Ctime);
        copy.Text(row.FileExtension);
        copy.Text(row.Permissions);
        copy.Text(row.Owner);
        copy.Text(row.Hash);
        copy.Bigint(row.FileId);
        copy.Boolean(row.IsStub);
        copy.Int4(row.Links);
    }
}
