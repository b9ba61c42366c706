-- An access-time batch (the LucidLink trail's reads) paid the capacity trigger twice over its rows:
-- once joining the old and new rows to learn that nothing but access times changed, and again
-- joining them to move each file from its old access day to its new one, 20,000 signed rows
-- through two grouping sets for 10,000 reads. Measured in a warm session on 1 M files, batches of
-- 10,000 reads (median of 24 each): 141 ms with the trigger as it was, 90 ms with the trigger
-- disabled, 110 ms with this one.
--
-- Now one join does both: each updated row is grouped by (host, directory, old day, new day), and
-- every row that changed a counted column other than its access time falls into one group of its
-- own, flagged, so a merge's general update pays one join and one group as it paid the count
-- before. Without a flagged group, the few day-to-day moves are spelled as access-day and
-- directory-month keys; with one, the general path runs as before.
--
-- Without JIT: the transition tables have no statistics, the planner guessed half a million
-- joined rows for the batch's 10,000 and compiled the statement (858 ms of an 867 ms statement).
-- A million-row merge measured no different with JIT off (RESULTS, 2026-12-04).
CREATE OR REPLACE FUNCTION alto.capacity_apply() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    other_columns boolean;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        WITH moves AS MATERIALIZED (
            SELECT other, tenant_id, host_id, dir_id, old_day, new_day,
                   count(*) AS files, sum(size_bytes) AS bytes,
                   count(*) FILTER (WHERE is_stub) AS stub_files, coalesce(sum(size_bytes) FILTER (WHERE is_stub), 0) AS stub_bytes
            -- Rows of the general kind all go to one group (their keys null): only its flag is read.
            FROM (SELECT x.other, n.size_bytes, n.is_stub,
                         CASE WHEN NOT x.other THEN n.tenant_id END AS tenant_id, CASE WHEN NOT x.other THEN n.host_id END AS host_id,
                         CASE WHEN NOT x.other THEN n.dir_id END AS dir_id,
                         CASE WHEN NOT x.other THEN x.old_day END AS old_day, CASE WHEN NOT x.other THEN x.new_day END AS new_day
                  FROM new_rows n JOIN old_rows o USING (file_current_id)
                  CROSS JOIN LATERAL (SELECT
                      (n.mtime_unix, n.file_extension, n.owner, n.size_bytes, n.dir_id, n.is_stub, n.deleted_utc IS NULL, n.tenant_id, n.host_id)
                          IS DISTINCT FROM (o.mtime_unix, o.file_extension, o.owner, o.size_bytes, o.dir_id, o.is_stub, o.deleted_utc IS NULL, o.tenant_id, o.host_id) AS other,
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
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, n.tenant_id, n.host_id, n.size_bytes, n.is_stub, n.atime_unix, n.mtime_unix, n.file_extension, n.owner, n.dir_id
                            FROM new_rows n WHERE n.deleted_utc IS NULL'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, o.tenant_id, o.host_id, o.size_bytes, o.is_stub, o.atime_unix, o.mtime_unix, o.file_extension, o.owner, o.dir_id
                            FROM old_rows o WHERE o.deleted_utc IS NULL'
        ELSE 'SELECT v.sign, v.tenant_id, v.host_id, v.size_bytes, v.is_stub, v.atime_unix, v.mtime_unix, v.file_extension, v.owner, v.dir_id
              FROM new_rows n JOIN old_rows o USING (file_current_id)
              CROSS JOIN LATERAL (VALUES
                  (1, n.tenant_id, n.host_id, n.size_bytes, n.is_stub, n.atime_unix, n.mtime_unix, n.file_extension, n.owner, n.dir_id, n.deleted_utc IS NULL),
                  (-1, o.tenant_id, o.host_id, o.size_bytes, o.is_stub, o.atime_unix, o.mtime_unix, o.file_extension, o.owner, o.dir_id, o.deleted_utc IS NULL))
                  AS v(sign, tenant_id, host_id, size_bytes, is_stub, atime_unix, mtime_unix, file_extension, owner, dir_id, live)
              WHERE v.live
                AND (n.atime_unix, n.mtime_unix, n.file_extension, n.owner, n.size_bytes, n.dir_id, n.is_stub, n.deleted_utc IS NULL, n.tenant_id, n.host_id)
                    IS DISTINCT FROM (o.atime_unix, o.mtime_unix, o.file_extension, o.owner, o.size_bytes, o.dir_id, o.is_stub, o.deleted_utc IS NULL, o.tenant_id, o.host_id)'
    END);
    RETURN NULL;
END
$$;
