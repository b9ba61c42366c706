-- Tier objects by target and state (what each target holds, what is on its way), and a day's
-- activity per host (files tiered and recalled, scans merged, the stubbed bytes at the day's last
-- change), kept by the writes to alto.tier_object and alto.scan themselves, in their transaction.
-- Days are UTC. A day without activity has no row: its stubbed bytes are the last day's before it.
CREATE TABLE alto.tier_summary
(
    tenant_id uuid   NOT NULL,
    host_id   uuid   NOT NULL,
    -- The zero id for objects not yet bound to a target.
    target_id uuid   NOT NULL,
    state     text   NOT NULL,
    objects   bigint NOT NULL,
    bytes     bigint NOT NULL,
    PRIMARY KEY (tenant_id, host_id, target_id, state)
);

CREATE TABLE alto.daily_activity
(
    tenant_id      uuid   NOT NULL,
    host_id        uuid   NOT NULL,
    day            date   NOT NULL,
    tiered_files   bigint NOT NULL DEFAULT 0,
    tiered_bytes   bigint NOT NULL DEFAULT 0,
    recalled_files bigint NOT NULL DEFAULT 0,
    recalled_bytes bigint NOT NULL DEFAULT 0,
    scans          bigint NOT NULL DEFAULT 0,
    files_scanned  bigint NOT NULL DEFAULT 0,
    -- The host's STUBBED bytes after the day's last change of a tier object (null: none that day).
    stubbed_bytes  bigint,
    PRIMARY KEY (tenant_id, host_id, day)
);

CREATE FUNCTION alto.tier_summary_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes text := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, n.tenant_id, n.host_id, n.target_id, n.state, n.size_bytes, NULL::text AS before FROM new_rows n'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, o.tenant_id, o.host_id, o.target_id, o.state, o.size_bytes, NULL::text AS before FROM old_rows o'
        ELSE 'SELECT v.* FROM new_rows n JOIN old_rows o USING (id)
              CROSS JOIN LATERAL (VALUES (1, n.tenant_id, n.host_id, n.target_id, n.state, n.size_bytes, o.state),
                                         (-1, o.tenant_id, o.host_id, o.target_id, o.state, o.size_bytes, NULL))
                  AS v(sign, tenant_id, host_id, target_id, state, size_bytes, before)
              WHERE (n.state, n.target_id, n.size_bytes) IS DISTINCT FROM (o.state, o.target_id, o.size_bytes)'
    END;
BEGIN
    EXECUTE format($sql$
        WITH c AS (%s),
        summary AS (
            INSERT INTO alto.tier_summary AS s (tenant_id, host_id, target_id, state, objects, bytes)
            SELECT tenant_id, host_id, coalesce(target_id, '00000000-0000-0000-0000-000000000000'), state, sum(sign), sum(sign * size_bytes)
            FROM c GROUP BY 1, 2, 3, 4
            HAVING sum(sign) <> 0 OR sum(sign * size_bytes) <> 0
            ON CONFLICT (tenant_id, host_id, target_id, state) DO UPDATE SET objects = s.objects + excluded.objects, bytes = s.bytes + excluded.bytes
            RETURNING tenant_id, host_id)
        INSERT INTO alto.daily_activity AS d (tenant_id, host_id, day, tiered_files, tiered_bytes, recalled_files, recalled_bytes)
        SELECT tenant_id, host_id, (now() AT TIME ZONE 'UTC')::date,
               count(*) FILTER (WHERE state = 'STUBBED' AND before IS DISTINCT FROM 'STUBBED' AND sign = 1),
               coalesce(sum(size_bytes) FILTER (WHERE state = 'STUBBED' AND before IS DISTINCT FROM 'STUBBED' AND sign = 1), 0),
               count(*) FILTER (WHERE state = 'RECALLED' AND before IS DISTINCT FROM 'RECALLED' AND sign = 1),
               coalesce(sum(size_bytes) FILTER (WHERE state = 'RECALLED' AND before IS DISTINCT FROM 'RECALLED' AND sign = 1), 0)
        FROM c
        -- Only hosts whose summary moved; the stubbed bytes are read after it did (below).
        WHERE (tenant_id, host_id) IN (SELECT tenant_id, host_id FROM summary)
        GROUP BY 1, 2
        ON CONFLICT (tenant_id, host_id, day) DO UPDATE
        SET tiered_files = d.tiered_files + excluded.tiered_files, tiered_bytes = d.tiered_bytes + excluded.tiered_bytes,
            recalled_files = d.recalled_files + excluded.recalled_files, recalled_bytes = d.recalled_bytes + excluded.recalled_bytes
        $sql$, changes);
    -- The day's stubbed bytes of every host this statement touched, now that the summary holds its change.
    EXECUTE format($sql$
        UPDATE alto.daily_activity d
        SET stubbed_bytes = coalesce((SELECT sum(s.bytes) FROM alto.tier_summary s WHERE s.tenant_id = d.tenant_id AND s.host_id = d.host_id AND s.state = 'STUBBED'), 0)
        WHERE d.day = (now() AT TIME ZONE 'UTC')::date AND (d.tenant_id, d.host_id) IN (SELECT DISTINCT tenant_id, host_id FROM (%s) c)
        $sql$, changes);
    RETURN NULL;
END
$$;

CREATE TRIGGER tier_object_summary_insert AFTER INSERT ON alto.tier_object
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION alto.tier_summary_apply();
CREATE TRIGGER tier_object_summary_update AFTER UPDATE ON alto.tier_object
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION alto.tier_summary_apply();
CREATE TRIGGER tier_object_summary_delete AFTER DELETE ON alto.tier_object
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION alto.tier_summary_apply();

-- A scan counts on the day its merge completed; the host's days older than 800 go then (the
-- series is kept for at least 400 days).
CREATE FUNCTION alto.scan_activity_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM alto.daily_activity d
    WHERE d.day < (now() AT TIME ZONE 'UTC')::date - 800
      AND (d.tenant_id, d.host_id) IN (SELECT n.tenant_id, n.host_id FROM new_rows n WHERE n.status = 'completed');
    INSERT INTO alto.daily_activity AS d (tenant_id, host_id, day, scans, files_scanned)
    SELECT n.tenant_id, n.host_id, (n.completed_at AT TIME ZONE 'UTC')::date, count(*), sum(n.file_count)
    FROM new_rows n JOIN old_rows o USING (id)
    WHERE n.status = 'completed' AND o.status <> 'completed' AND n.completed_at IS NOT NULL
    GROUP BY 1, 2, 3
    ON CONFLICT (tenant_id, host_id, day) DO UPDATE SET scans = d.scans + excluded.scans, files_scanned = d.files_scanned + excluded.files_scanned;
    RETURN NULL;
END
$$;

CREATE TRIGGER scan_activity_update AFTER UPDATE ON alto.scan
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION alto.scan_activity_apply();

-- What the records already hold.
INSERT INTO alto.tier_summary (tenant_id, host_id, target_id, state, objects, bytes)
SELECT tenant_id, host_id, coalesce(target_id, '00000000-0000-0000-0000-000000000000'), state, count(*), sum(size_bytes)
FROM alto.tier_object GROUP BY 1, 2, 3, 4;
