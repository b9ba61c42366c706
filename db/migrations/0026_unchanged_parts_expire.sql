-- The unchanged folders of an incremental scan are deleted by its ingest, or when it fails; a scan
-- its agent abandoned half-way (its rows expire with their day partitions) leaves them behind.
-- The hourly sweep of staging drops them too, at the same retention; returns how many parts.
CREATE FUNCTION scan_staging.drop_expired_unchanged_parts(p_keep_days integer DEFAULT 7) RETURNS integer
LANGUAGE sql AS $fn$
    WITH dropped AS (
        DELETE FROM scan_staging.unchanged_part WHERE staged_at < now() - make_interval(days => p_keep_days) RETURNING 1)
    SELECT count(*)::integer FROM dropped
$fn$;
