-- A scan's staged rows live in the partition of its start day and are dropped with it after the
-- retention. A scan still receiving, queued or ingesting by then (an agent that stopped mid-upload
-- and came back a week later, a cluster down for as long, a merge cut off) must not go on: its chunk records would say rows
-- were stored that are gone, and a merge of what is left would mark the missing files deleted.
-- Such scans are failed first, with the reason (the sweep audits each and counts them); the agent's
-- next chunk is refused ("start a new scan"). Returns the scans failed.
CREATE FUNCTION scan_staging.expire_unfinished_scans(p_keep_days integer DEFAULT 7)
    RETURNS TABLE (scan_id bigint, tenant_id uuid, host_id uuid, scan_uid uuid, was text)
LANGUAGE sql AS $fn$
    WITH expired AS (
        SELECT s.id, s.status FROM alto.scan s
        WHERE s.status IN ('receiving', 'queued', 'ingesting') AND (s.started_at AT TIME ZONE 'UTC')::date < current_date - p_keep_days
        FOR UPDATE)
    UPDATE alto.scan s
    SET status = 'failed', completed_at = now(), error_count = s.error_count + 1,
        last_error = format('the scan was still %s when its staged rows expired (kept %s days): the agent''s next scan starts afresh', e.status, p_keep_days)
    FROM expired e
    WHERE s.id = e.id
    RETURNING s.id, s.tenant_id, s.host_id, s.scan_uid, e.status
$fn$;

-- The chunk records of finished scans past the retention: their rows are gone, and a chunk sent
-- again for such a scan is refused by the scan's status. Kept until then, so a retried upload of a
-- recent scan's chunk is recognised as a duplicate. Returns how many were deleted.
CREATE FUNCTION scan_staging.drop_expired_chunks(p_keep_days integer DEFAULT 7) RETURNS integer
LANGUAGE sql AS $fn$
    WITH dropped AS (
        DELETE FROM scan_staging.chunk c USING alto.scan s
        WHERE c.scan_id = s.id AND s.status IN ('completed', 'failed')
          AND (s.started_at AT TIME ZONE 'UTC')::date < current_date - p_keep_days
        RETURNING 1)
    SELECT count(*)::integer FROM dropped
$fn$;
