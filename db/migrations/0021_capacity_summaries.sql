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

-- A file time as a UTC timestamp, held to 1970..9999 (a bogus time from a scan must not stop its merge).
CREATE FUNCTION alto.capacity_time(unix bigint) RETURNS timestamp LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_timestamp(least(greatest(unix, 0), 253402300799)) AT TIME ZONE 'UTC'
$$;

-- The summary keys of one live file version, a row per dimension.
CREATE FUNCTION alto.capacity_keys(atime_unix bigint, mtime_unix bigint, extension text, owner text, size bigint, dir_id bigint)
    RETURNS TABLE (dimension text, key text) LANGUAGE sql STABLE PARALLEL SAFE AS $$
    VALUES ('access_day', to_char(alto.capacity_time(atime_unix), 'YYYY-MM-DD')),
           ('modify_day', to_char(alto.capacity_time(mtime_unix), 'YYYY-MM-DD')),
           ('extension', lower(extension)),
           ('owner', coalesce(owner, '')),
           ('size', alto.size_bucket(size)::text),
           ('dir_month', dir_id || '/' || to_char(alto.capacity_time(atime_unix), 'YYYY-MM'))
$$;

-- Adds one statement's net change. Only live rows (deleted_utc null) count; an update counts as
-- its new version added and its old one taken away, and rows whose counted columns did not change
-- are passed over (a rescan rewrites changed files only, but an access update touches many).
CREATE FUNCTION alto.capacity_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO alto.capacity_summary AS s (tenant_id, host_id, dimension, key, files, bytes, stub_files, stub_bytes)
        SELECT n.tenant_id, n.host_id, k.dimension, k.key, count(*), sum(n.size_bytes),
               count(*) FILTER (WHERE n.is_stub), coalesce(sum(n.size_bytes) FILTER (WHERE n.is_stub), 0)
        FROM new_rows n CROSS JOIN LATERAL alto.capacity_keys(n.atime_unix, n.mtime_unix, n.file_extension, n.owner, n.size_bytes, n.dir_id) k
        WHERE n.deleted_utc IS NULL
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, host_id, dimension, key) DO UPDATE
        SET files = s.files + excluded.files, bytes = s.bytes + excluded.bytes,
            stub_files = s.stub_files + excluded.stub_files, stub_bytes = s.stub_bytes + excluded.stub_bytes;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO alto.capacity_summary AS s (tenant_id, host_id, dimension, key, files, bytes, stub_files, stub_bytes)
        SELECT c.tenant_id, c.host_id, k.dimension, k.key, sum(c.sign), sum(c.sign * c.size_bytes),
               coalesce(sum(c.sign) FILTER (WHERE c.is_stub), 0), coalesce(sum(c.sign * c.size_bytes) FILTER (WHERE c.is_stub), 0)
        FROM (
            SELECT v.*
            FROM new_rows n JOIN old_rows o USING (file_current_id)
            CROSS JOIN LATERAL (VALUES
                (1, n.tenant_id, n.host_id, n.atime_unix, n.mtime_unix, n.file_extension, n.owner, n.size_bytes, n.dir_id, n.is_stub, n.deleted_utc IS NULL),
                (-1, o.tenant_id, o.host_id, o.atime_unix, o.mtime_unix, o.file_extension, o.owner, o.size_bytes, o.dir_id, o.is_stub, o.deleted_utc IS NULL))
                AS v(sign, tenant_id, host_id, atime_unix, mtime_unix, file_extension, owner, size_bytes, dir_id, is_stub, live)
            WHERE (n.atime_unix, n.mtime_unix, n.file_extension, n.owner, n.size_bytes, n.dir_id, n.is_stub, n.deleted_utc IS NULL, n.tenant_id, n.host_id)
                  IS DISTINCT FROM (o.atime_unix, o.mtime_unix, o.file_extension, o.owner, o.size_bytes, o.dir_id, o.is_stub, o.deleted_utc IS NULL, o.tenant_id, o.host_id)
        ) c
        CROSS JOIN LATERAL alto.capacity_keys(c.atime_unix, c.mtime_unix, c.file_extension, c.owner, c.size_bytes, c.dir_id) k
        WHERE c.live
        GROUP BY 1, 2, 3, 4
        HAVING sum(c.sign) <> 0 OR sum(c.sign * c.size_bytes) <> 0
            OR coalesce(sum(c.sign) FILTER (WHERE c.is_stub), 0) <> 0 OR coalesce(sum(c.sign * c.size_bytes) FILTER (WHERE c.is_stub), 0) <> 0
        ON CONFLICT (tenant_id, host_id, dimension, key) DO UPDATE
        SET files = s.files + excluded.files, bytes = s.bytes + excluded.bytes,
            stub_files = s.stub_files + excluded.stub_files, stub_bytes = s.stub_bytes + excluded.stub_bytes;
    ELSE
        INSERT INTO alto.capacity_summary AS s (tenant_id, host_id, dimension, key, files, bytes, stub_files, stub_bytes)
        SELECT o.tenant_id, o.host_id, k.dimension, k.key, -count(*), -sum(o.size_bytes),
               -count(*) FILTER (WHERE o.is_stub), -coalesce(sum(o.size_bytes) FILTER (WHERE o.is_stub), 0)
        FROM old_rows o CROSS JOIN LATERAL alto.capacity_keys(o.atime_unix, o.mtime_unix, o.file_extension, o.owner, o.size_bytes, o.dir_id) k
        WHERE o.deleted_utc IS NULL
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, host_id, dimension, key) DO UPDATE
        SET files = s.files + excluded.files, bytes = s.bytes + excluded.bytes,
            stub_files = s.stub_files + excluded.stub_files, stub_bytes = s.stub_bytes + excluded.stub_bytes;
    END IF;
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
INSERT INTO alto.capacity_summary (tenant_id, host_id, dimension, key, files, bytes, stub_files, stub_bytes)
SELECT f.tenant_id, f.host_id, k.dimension, k.key, count(*), sum(f.size_bytes),
       count(*) FILTER (WHERE f.is_stub), coalesce(sum(f.size_bytes) FILTER (WHERE f.is_stub), 0)
FROM alto.file_current f CROSS JOIN LATERAL alto.capacity_keys(f.atime_unix, f.mtime_unix, f.file_extension, f.owner, f.size_bytes, f.dir_id) k
WHERE f.deleted_utc IS NULL
GROUP BY 1, 2, 3, 4;
