-- A merge's first statement reads one scan's staged rows from its day partition, sorted by path;
-- the planner sizes it from the partition's statistics. Those are taken as the partition fills
-- (autovacuum analyzes it while chunks still arrive) or before the scan came at all, so they may
-- know nothing of it: a million staged rows are then planned as a handful, read through the
-- (scan_id, chunk_no) index by one process and sorted alone, where a parallel scan and sort fit
-- (1 M rows on two cores: 6.1 s planned as one row, 2.5 s planned right).
--
-- Returns whether it refreshed them: only for a scan of at least p_min_rows staged rows (a small
-- one is read by the index whatever the estimate) whose estimate is under a tenth of what the
-- gateway staged for it (alto.scan.file_count). The merge calls it before its own transaction,
-- so the partition's lock is held for the ANALYZE alone, not for the whole merge.
CREATE FUNCTION scan_staging.refresh_statistics(p_scan bigint, p_min_rows bigint) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
    staged   record;
    day_part text;
    plan     json;
    estimate double precision;
BEGIN
    SELECT tenant_id, (started_at AT TIME ZONE 'UTC')::date AS day, file_count
    INTO staged
    FROM alto.scan WHERE id = p_scan AND status IN ('queued', 'ingesting');
    IF NOT FOUND OR staged.file_count < p_min_rows THEN
        RETURN false;
    END IF;
    -- Named as ensure_partition names it.
    day_part := 'raw_scans_' || replace(staged.tenant_id::text, '-', '') || '_' || to_char(staged.day, 'YYYYMMDD');
    IF to_regclass('scan_staging.' || day_part) IS NULL THEN
        RETURN false;
    END IF;
    -- Asked as the merge asks (through the parent, by tenant, day and scan): a partition never
    -- analyzed is estimated from default selectivities for each of the three conditions.
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM scan_staging.raw_scans WHERE tenant_id = %L AND scan_date = %L AND scan_id = %s',
                   staged.tenant_id, staged.day, p_scan) INTO plan;
    estimate := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::double precision;
    IF estimate * 10 >= staged.file_count THEN
        RETURN false;
    END IF;
    EXECUTE format('ANALYZE scan_staging.%I', day_part);
    RETURN true;
END
$fn$;
