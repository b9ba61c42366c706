-- Hard links: one file under several names (backup trees made with rsync --link-dest hold them by
-- the million, one name a night). The inventory has a row per name, and the capacity summaries
-- counted the file's bytes once per name: thirty nightly trees of one unchanged terabyte read as
-- thirty terabytes. A scan now says how many names each file has (the `links` column, 1 when a
-- scanner does not say), and each name counts for its share of the bytes (size / links, whole
-- bytes), so the names of a file found in the scanned trees add up to its size, as `du` counts it.
-- Files are still counted by name, as `find` counts them. Whole bytes: a file's names add up to
-- at most links - 1 bytes less than its size, and a name takes away the same share it added, so
-- the summaries stay exact sums of the rows.

ALTER TABLE scan_staging.raw_scans ADD COLUMN links integer NOT NULL DEFAULT 1;
ALTER TABLE alto.file_current ADD COLUMN links integer NOT NULL DEFAULT 1 CHECK (links >= 1);

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
