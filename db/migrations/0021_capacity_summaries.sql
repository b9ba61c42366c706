-- Capacity summaries for analytics: where a tenant's bytes are (by last-access and
-- last-modification day, extension, owner, size bucket, directory and month of last access),
-- how many of them are stubs, kept current by the inventory's own writes: every statement that
-- inserts, updates or deletes alto.file_current rows (a scan's merge, audit-log access updates,
-- recalls, stubbing) adds its net change here in the same transaction. A request reads a few
-- thousand summary rows, never the inventory. Ages are not stored (they move every day): a day
-- or month is, and the reader buckets it against today.
CREATE TABLE alto.capacity_summary
(
    tenant_id  uuid   NOT NULL,
    host_id    uuid   NOT NULL,
    -- access_day, modify_day: 'YYYY-MM-DD' (UTC); extension: lower case, '' for none; owner: as
    -- scanned, '' unknown; size: the bucket's lower bound in bytes; dir_month: '<dir id>/YYYY-MM'
    -- of last access (a directory's own files, not its subdirectories').
    dimension  text   NOT NULL CHECK (dimension IN ('access_day', 'modify_day', 'extension', 'owner', 'size', 'dir_month')),
    key        text   NOT NULL,
    files      bigint NOT NULL,
    bytes      bigint NOT NULL,
    stub_files bigint NOT NULL,
    stub_bytes bigint NOT NULL,
    PRIMARY KEY (tenant_id, host_id, dimension, key)
);

-- The size bucket a file falls in: its lower bound in bytes (0, 1, 4 KiB, 64 KiB, 1 MiB, 16 MiB,
-- 256 MiB, 1 GiB, 16 GiB, 256 GiB).
CREATE FUNCTION alto.size_bucket(size bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN size <= 0 THEN 0 WHEN size < 4096 THEN 1 WHEN size < 65536 THEN 4096 WHEN size < 1048576 THEN 65536
        WHEN size < 16777216 THEN 1048576 WHEN size < 268435456 THEN 16777216 WHEN size < 1073741824 THEN 268435456
        WHEN size < 17179869184 THEN 1073741824 WHEN size < 274877906944 THEN 17179869184 ELSE 274877906944 END
$$;

-- The statement that adds a set of signed file versions (the query given for %s: sign, tenant_id,
-- host_id, size_bytes, is_stub, atime_unix, mtime_unix, file_extension, owner, dir_id) to the
-- summary. The rows are grouped once by every dimension at a time (grouping sets over day numbers
-- and bucket bounds) and only the few thousand groups are spelled as keys: a million-row merge
-- pays about two seconds for this, not a function call per row and dimension. Times are held to
-- 1970..9999 (a bogus time from a scan must not stop its merge).
CREATE FUNCTION alto.capacity_sql() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT $sql$
    WITH c AS (%s),
    m AS (
        SELECT sign, tenant_id, host_id, size_bytes, is_stub, dir_id, aday, mday,
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
           sum(sign), sum(sign * size_bytes), coalesce(sum(sign) FILTER (WHERE is_stub), 0), coalesce(sum(sign * size_bytes) FILTER (WHERE is_stub), 0)
    FROM m
    GROUP BY GROUPING SETS ((tenant_id, host_id, aday), (tenant_id, host_id, mday), (tenant_id, host_id, extension), (tenant_id, host_id, owner),
                            (tenant_id, host_id, size_bucket), (tenant_id, host_id, dir_id, amonth))
    HAVING sum(sign) <> 0 OR sum(sign * size_bytes) <> 0 OR coalesce(sum(sign) FILTER (WHERE is_stub), 0) <> 0
    ON CONFLICT (tenant_id, host_id, dimension, key) DO UPDATE
    SET files = s.files + excluded.files, bytes = s.bytes + excluded.bytes,
        stub_files = s.stub_files + excluded.stub_files, stub_bytes = s.stub_bytes + excluded.stub_bytes
$sql$ $$;

-- Adds one statement's net change. Only live rows (deleted_utc null) count; an update counts as
-- its new version added and its old one taken away, and rows whose counted columns did not change
-- are passed over (a rescan rewrites changed files only, but an access update touches many).
CREATE FUNCTION alto.capacity_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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

CREATE TRIGGER file_current_capacity_insert AFTER INSERT ON alto.file_current
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION alto.capacity_apply();
CREATE TRIGGER file_current_capacity_update AFTER UPDATE ON alto.file_current
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION alto.capacity_apply();
CREATE TRIGGER file_current_capacity_delete AFTER DELETE ON alto.file_current
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION alto.capacity_apply();

-- What the inventory already holds, summarised once.
DO $$
BEGIN
    EXECUTE format(alto.capacity_sql(), 'SELECT 1 AS sign, f.tenant_id, f.host_id, f.size_bytes, f.is_stub, f.atime_unix, f.mtime_unix, f.file_extension, f.owner, f.dir_id
                                         FROM alto.file_current f WHERE f.deleted_utc IS NULL');
END
$$;
