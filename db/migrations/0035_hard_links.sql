-- Hard links: one file under several names (backup trees made with rsync --link-dest hold them by
-- the million, one name a night). The inventory has a row per name, and the capacity summaries
-- counted the file's bytes once per name: thirty nightly trees of one unchanged terabyte read as
-- thirty terabytes. A scan now says how many names each file has (the `links` column, 1 when a
-- scanner does not say), and each name counts for its share of the bytes (size / links, whole
-- bytes), so the names of a file found in the scanned trees add up to its size, as `du` counts it.
-- Files are still counted by name, as `find` counts them. Whole bytes: a file's names add up to
-- at most links - 1 bytes less than its size, and a name takes away the same share it added, so
-- the summaries stay exact sums of the rows.

-- A constant default adds the column without rewriting the table; the check is added NOT VALID
-- (every row already holds the default, and new rows are checked), so a large inventory is not
-- scanned under the migration's lock.
ALTER TABLE scan_staging.raw_scans ADD COLUMN links integer NOT NULL DEFAULT 1;
ALTER TABLE alto.file_current ADD COLUMN links integer NOT NULL DEFAULT 1;
ALTER TABLE alto.file_current ADD CONSTRAINT file_current_links_check CHECK (links >= 1) NOT VALID;

-- As in migration 0021, with the rows' link counts: the source (the query given for %s) yields
-- sign, tenant_id, host_id, size_bytes, is_stub, atime_unix, mtime_unix, file_extension, owner,
-- dir_id, links. Sizes are bucketed by the file's size; bytes are summed by each name's share.
CREATE OR REPLACE FUNCTION alto.capacity_sql() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT $sql$
    WITH c AS (%s),
    m AS (
        SELECT sign, tenant_id, host_id, size_bytes / links AS counted_bytes, is_stub, dir_id, aday, mday,
               date_trunc('month', date '1970-01-01' + aday)::date AS amonth,
               lower(file_extension) AS extension, coalesce(owner, '') AS owner, alto.size_bucket(size_bytes) AS size_bucket
        FROM (SELECT c.*, (least(greatest(atime_unix, 0), 253402300799) / 86400)::int AS aday,
                     (least(greatest(mtime_unix, 0), 253402300799) / 86400)::int AS mday FROM c) t)
    INSERT INTO alto.capacity_summary AS s (tenant_id, host_id, dimension, key, files, bytes, stub_files, stub_bytes)
    SELECT tenant_id, host_id,
           CASE WHEN GROUPING(aday) = 0 THEN 'access_day' WHEN GROUPING(mday) = 0 THEN 'modify_day' WHEN GROUPING(extension) = 0 THEN 'extension'
                WHEN GROUPING(owner) = 0 THEN 'owner' WHEN GROUPING(size_bucket) = 0 THEN 'size' ELSE 'dir_month' END,
           CASE WHEN GROUPING(aday) = 0 THEN to_char(date '1970-01-01' + aday, 'YYYY-MM-DD')
                WHEN GROUPING(mday) = 0 THEN to_char(date '1970-01-01' + mday, 'YYYY-MM-DD')
                WHEN GROUPING(extension) = 0 THEN extension
                WHEN GROUPING(owner) = 0 THEN owner
                WHEN GROUPING(size_bucket) = 0 THEN size_bucket::text
                ELSE dir_id || '/' || to_char(amonth, 'YYYY-MM') END,
           sum(sign), sum(sign * counted_bytes), coalesce(sum(sign) FILTER (WHERE is_stub), 0), coalesce(sum(sign * counted_bytes) FILTER (WHERE is_stub), 0)
    FROM m
    GROUP BY GROUPING SETS ((tenant_id, host_id, aday), (tenant_id, host_id, mday), (tenant_id, host_id, extension), (tenant_id, host_id, owner),
                            (tenant_id, host_id, size_bucket), (tenant_id, host_id, dir_id, amonth))
    HAVING sum(sign) <> 0 OR sum(sign * counted_bytes) <> 0 OR coalesce(sum(sign) FILTER (WHERE is_stub), 0) <> 0
    ON CONFLICT (tenant_id, host_id, dimension, key) DO UPDATE
    SET files = s.files + excluded.files, bytes = s.bytes + excluded.bytes,
        stub_files = s.stub_files + excluded.stub_files, stub_bytes = s.stub_bytes + excluded.stub_bytes
$sql$ $$;

-- As in migration 0034, with the link count among the counted columns: a file given or losing a
-- name elsewhere changes every name's share, which the general path moves.
CREATE OR REPLACE FUNCTION alto.capacity_apply() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    other_columns boolean;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        WITH moves AS MATERIALIZED (
            SELECT other, tenant_id, host_id, dir_id, old_day, new_day,
                   count(*) AS files, sum(counted_bytes) AS bytes,
                   count(*) FILTER (WHERE is_stub) AS stub_files, coalesce(sum(counted_bytes) FILTER (WHERE is_stub), 0) AS stub_bytes
            -- Rows of the general kind all go to one group (their keys null): only its flag is read.
            FROM (SELECT x.other, n.size_bytes / n.links AS counted_bytes, n.is_stub,
                         CASE WHEN NOT x.other THEN n.tenant_id END AS tenant_id, CASE WHEN NOT x.other THEN n.host_id END AS host_id,
                         CASE WHEN NOT x.other THEN n.dir_id END AS dir_id,
                         CASE WHEN NOT x.other THEN x.old_day END AS old_day, CASE WHEN NOT x.other THEN x.new_day END AS new_day
                  FROM new_rows n JOIN old_rows o USING (file_current_id)
                  CROSS JOIN LATERAL (SELECT
                      (n.mtime_unix, n.file_extension, n.owner, n.size_bytes, n.links, n.dir_id, n.is_stub, n.deleted_utc IS NULL, n.tenant_id, n.host_id)
                          IS DISTINCT FROM (o.mtime_unix, o.file_extension, o.owner, o.size_bytes, o.links, o.dir_id, o.is_stub, o.deleted_utc IS NULL, o.tenant_id, o.host_id) AS other,
                      (least(greatest(o.atime_unix, 0), 253402300799) / 86400)::int AS old_day,
                      (least(greatest(n.atime_unix, 0), 253402300799) / 86400)::int AS new_day) x
                  -- Only live files count, and the same day before and after adds nothing.
                  WHERE x.other OR (n.deleted_utc IS NULL AND x.old_day <> x.new_day)) r
            GROUP BY other, tenant_id, host_id, dir_id, old_day, new_day),
        added AS (
            INSERT INTO alto.capacity_summary AS s (tenant_id, host_id, dimension, key, files, bytes, stub_files, stub_bytes)
            SELECT tenant_id, host_id,
                   CASE WHEN GROUPING(aday) = 0 THEN 'access_day' ELSE 'dir_month' END,
                   CASE WHEN GROUPING(aday) = 0 THEN to_char(date '1970-01-01' + aday, 'YYYY-MM-DD')
                        ELSE dir_id || '/' || to_char(amonth, 'YYYY-MM') END,
                   sum(sign * files), sum(sign * bytes), sum(sign * stub_files), sum(sign * stub_bytes)
            FROM (SELECT v.sign, m.tenant_id, m.host_id, m.dir_id, m.files, m.bytes, m.stub_files, m.stub_bytes, v.aday,
                         date_trunc('month', date '1970-01-01' + v.aday)::date AS amonth
                  FROM moves m CROSS JOIN LATERAL (VALUES (1, m.new_day), (-1, m.old_day)) AS v(sign, aday)
                  WHERE NOT EXISTS (SELECT 1 FROM moves WHERE other)) d
            GROUP BY GROUPING SETS ((tenant_id, host_id, aday), (tenant_id, host_id, dir_id, amonth))
            HAVING sum(sign * files) <> 0 OR sum(sign * bytes) <> 0 OR sum(sign * stub_files) <> 0
            ON CONFLICT (tenant_id, host_id, dimension, key) DO UPDATE
            SET files = s.files + excluded.files, bytes = s.bytes + excluded.bytes,
                stub_files = s.stub_files + excluded.stub_files, stub_bytes = s.stub_bytes + excluded.stub_bytes)
        SELECT EXISTS (SELECT 1 FROM moves WHERE other) INTO other_columns;
        IF NOT other_columns THEN
            RETURN NULL;
        END IF;
    END IF;
    EXECUTE format(alto.capacity_sql(), CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, n.tenant_id, n.host_id, n.size_bytes, n.is_stub, n.atime_unix, n.mtime_unix, n.file_extension, n.owner, n.dir_id, n.links
                            FROM new_rows n WHERE n.deleted_utc IS NULL'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, o.tenant_id, o.host_id, o.size_bytes, o.is_stub, o.atime_unix, o.mtime_unix, o.file_extension, o.owner, o.dir_id, o.links
                            FROM old_rows o WHERE o.deleted_utc IS NULL'
        ELSE 'SELECT v.sign, v.tenant_id, v.host_id, v.size_bytes, v.is_stub, v.atime_unix, v.mtime_unix, v.file_extension, v.owner, v.dir_id, v.links
              FROM new_rows n JOIN old_rows o USING (file_current_id)
              CROSS JOIN LATERAL (VALUES
                  (1, n.tenant_id, n.host_id, n.size_bytes, n.is_stub, n.atime_unix, n.mtime_unix, n.file_extension, n.owner, n.dir_id, n.links, n.deleted_utc IS NULL),
                  (-1, o.tenant_id, o.host_id, o.size_bytes, o.is_stub, o.atime_unix, o.mtime_unix, o.file_extension, o.owner, o.dir_id, o.links, o.deleted_utc IS NULL))
                  AS v(sign, tenant_id, host_id, size_bytes, is_stub, atime_unix, mtime_unix, file_extension, owner, dir_id, links, live)
              WHERE v.live
                AND (n.atime_unix, n.mtime_unix, n.file_extension, n.owner, n.size_bytes, n.links, n.dir_id, n.is_stub, n.deleted_utc IS NULL, n.tenant_id, n.host_id)
                    IS DISTINCT FROM (o.atime_unix, o.mtime_unix, o.file_extension, o.owner, o.size_bytes, o.links, o.dir_id, o.is_stub, o.deleted_utc IS NULL, o.tenant_id, o.host_id)'
    END);
    RETURN NULL;
END
$$;

-- The same for tier-2 objects: every name of a hard-linked file has its tier object, all of them
-- naming the one object its first name uploaded, and the targets' figures (what each holds, the
-- day's tiered and recalled bytes, savings) counted it once per name. A tier object now carries its
-- file's link count, taken from the inventory at each change of its state and when a scan finds
-- the count changed, and counts for its share of the bytes. The summaries' objects stay counted
-- by name.
ALTER TABLE alto.tier_object ADD COLUMN links integer NOT NULL DEFAULT 1;
ALTER TABLE alto.tier_object ADD CONSTRAINT tier_object_links_check CHECK (links >= 1) NOT VALID;

-- As in migration 0023, with each row's bytes its share (size / links) and the link count among the changes that move them.
CREATE OR REPLACE FUNCTION alto.tier_summary_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes text := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, n.tenant_id, n.host_id, n.target_id, n.state, n.size_bytes / n.links AS size_bytes, NULL::text AS before FROM new_rows n'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, o.tenant_id, o.host_id, o.target_id, o.state, o.size_bytes / o.links AS size_bytes, NULL::text AS before FROM old_rows o'
        ELSE 'SELECT v.* FROM new_rows n JOIN old_rows o USING (id)
              CROSS JOIN LATERAL (VALUES (1, n.tenant_id, n.host_id, n.target_id, n.state, n.size_bytes / n.links, o.state),
                                         (-1, o.tenant_id, o.host_id, o.target_id, o.state, o.size_bytes / o.links, NULL))
                  AS v(sign, tenant_id, host_id, target_id, state, size_bytes, before)
              WHERE (n.state, n.target_id, n.size_bytes, n.links) IS DISTINCT FROM (o.state, o.target_id, o.size_bytes, o.links)'
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
