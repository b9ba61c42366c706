-- A day's tiering per host and storage target: files tiered and recalled, and the target's
-- STUBBED bytes from the host after the day's last change. Savings are priced per target (each
-- has its own price), so the series that prices them has to keep the target. Kept by the same
-- statement trigger as alto.tier_summary and alto.daily_activity, in the writer's transaction.
-- History starts with this migration: today's row of every host and target holds what is stubbed now.
CREATE TABLE alto.daily_tiering
(
    tenant_id      uuid   NOT NULL,
    host_id        uuid   NOT NULL,
    target_id      uuid   NOT NULL,
    day            date   NOT NULL,
    tiered_files   bigint NOT NULL DEFAULT 0,
    tiered_bytes   bigint NOT NULL DEFAULT 0,
    recalled_files bigint NOT NULL DEFAULT 0,
    recalled_bytes bigint NOT NULL DEFAULT 0,
    -- The target's STUBBED bytes from the host after the day's last change (null: none that day).
    stubbed_bytes  bigint,
    PRIMARY KEY (tenant_id, day, host_id, target_id)
);

CREATE OR REPLACE FUNCTION alto.tier_summary_apply() RETURNS trigger LANGUAGE plpgsql AS $$
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
            RETURNING tenant_id, host_id),
        by_target AS (
            -- Only targets whose stubs changed: a plan's thousands of PLANNED rows add nothing here.
            INSERT INTO alto.daily_tiering AS d (tenant_id, host_id, target_id, day, tiered_files, tiered_bytes, recalled_files, recalled_bytes)
            SELECT tenant_id, host_id, target_id, (now() AT TIME ZONE 'UTC')::date,
                   count(*) FILTER (WHERE state = 'STUBBED' AND before IS DISTINCT FROM 'STUBBED' AND sign = 1),
                   coalesce(sum(size_bytes) FILTER (WHERE state = 'STUBBED' AND before IS DISTINCT FROM 'STUBBED' AND sign = 1), 0),
                   count(*) FILTER (WHERE state = 'RECALLED' AND before IS DISTINCT FROM 'RECALLED' AND sign = 1),
                   coalesce(sum(size_bytes) FILTER (WHERE state = 'RECALLED' AND before IS DISTINCT FROM 'RECALLED' AND sign = 1), 0)
            FROM c
            WHERE target_id IS NOT NULL
            GROUP BY 1, 2, 3
            HAVING bool_or(state IN ('STUBBED', 'RECALLED'))
            ON CONFLICT (tenant_id, day, host_id, target_id) DO UPDATE
            SET tiered_files = d.tiered_files + excluded.tiered_files, tiered_bytes = d.tiered_bytes + excluded.tiered_bytes,
                recalled_files = d.recalled_files + excluded.recalled_files, recalled_bytes = d.recalled_bytes + excluded.recalled_bytes)
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
    -- The day's stubbed bytes of every host (and target) this statement touched, now that the summary holds its change.
    EXECUTE format($sql$
        WITH c AS (SELECT DISTINCT tenant_id, host_id, target_id FROM (%s) changed),
        by_host AS (
            UPDATE alto.daily_activity d
            SET stubbed_bytes = coalesce((SELECT sum(s.bytes) FROM alto.tier_summary s WHERE s.tenant_id = d.tenant_id AND s.host_id = d.host_id AND s.state = 'STUBBED'), 0)
            WHERE d.day = (now() AT TIME ZONE 'UTC')::date AND (d.tenant_id, d.host_id) IN (SELECT tenant_id, host_id FROM c))
        UPDATE alto.daily_tiering d
        SET stubbed_bytes = coalesce((SELECT s.bytes FROM alto.tier_summary s
                                      WHERE s.tenant_id = d.tenant_id AND s.host_id = d.host_id AND s.target_id = d.target_id AND s.state = 'STUBBED'), 0)
        WHERE d.day = (now() AT TIME ZONE 'UTC')::date AND (d.tenant_id, d.host_id, d.target_id) IN (SELECT tenant_id, host_id, target_id FROM c)
        $sql$, changes);
    RETURN NULL;
END
$$;

-- A host's days older than 800 go when one of its scans completes, in both series.
CREATE OR REPLACE FUNCTION alto.scan_activity_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM alto.daily_activity d
    WHERE d.day < (now() AT TIME ZONE 'UTC')::date - 800
      AND (d.tenant_id, d.host_id) IN (SELECT n.tenant_id, n.host_id FROM new_rows n WHERE n.status = 'completed');
    DELETE FROM alto.daily_tiering d
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

-- What is stubbed now.
INSERT INTO alto.daily_tiering (tenant_id, host_id, target_id, day, stubbed_bytes)
SELECT tenant_id, host_id, target_id, (now() AT TIME ZONE 'UTC')::date, bytes
FROM alto.tier_summary
WHERE state = 'STUBBED' AND target_id <> '00000000-0000-0000-0000-000000000000';
