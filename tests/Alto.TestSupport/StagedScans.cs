namespace Alto.TestSupport;

/// <summary>A complete scan staged straight into the database, as if uploaded: for ingest tests.</summary>
public static class StagedScans
{
    /// <summary>
    /// Creates tenant and host rows, a 'queued' scan of /srv with <paramref name="files"/> files (counted
    /// on the scan as the gateway counts what it stages), and returns its id.
    /// </summary>
    public static async Task<long> StageQueuedScanAsync(this TestDatabase database, Guid tenant, Guid host, int files)
    {
        await database.ExecuteAsync($"""
            INSERT INTO alto.tenant (id, name) VALUES ('{tenant}', 'staged-{tenant:N}');
            INSERT INTO alto.host (id, tenant_id, name, volumes) VALUES ('{host}', '{tenant}', 'fs01', ARRAY['/srv']);
            INSERT INTO alto.scan (tenant_id, host_id, scan_uid, status, chunk_count, final_chunk_no, roots, file_count)
            VALUES ('{tenant}', '{host}', gen_random_uuid(), 'queued', 1, 0, ARRAY['/srv'], {files});
            SELECT scan_staging.ensure_partition('{tenant}', current_date);
            INSERT INTO scan_staging.raw_scans (tenant_id, scan_date, host_id, scan_id, chunk_no, row_no, file_path, file_size,
                                                last_modified, last_accessed, file_extension, permissions, owner, file_id)
            SELECT '{tenant}', current_date, '{host}', (SELECT id FROM alto.scan WHERE host_id = '{host}'), 0, i,
                   '/srv/d' || (i % 100) || '/f' || i || '.dat', i, now() - interval '400 days', now() - interval '200 days',
                   '.dat', 'rw-r--r--', 'root', i
            FROM generate_series(0, {files - 1}) i;
            """);
        return await database.CountAsync($"SELECT id FROM alto.scan WHERE host_id = '{host}'");
    }
}
