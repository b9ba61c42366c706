-- Schema alto v1: the whole design's core tables, and the scan staging area.
-- Grains are the single writers of the rows they own (tenant, host, storage_target, rule,
-- tier_object); screens and reports read these tables directly.

CREATE SCHEMA IF NOT EXISTS alto;
CREATE SCHEMA IF NOT EXISTS scan_staging;

-- Installation-wide secrets that every gateway must share (e.g. the token signing key).
CREATE TABLE alto.secret
(
    name       text PRIMARY KEY,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alto.tenant
(
    id          uuid PRIMARY KEY,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text        NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tenant_name_ux ON alto.tenant (lower(name));

-- People who sign in: platform admins see every tenant; everyone else sees the tenants listed
-- in app_user_tenant.
CREATE TABLE alto.app_user
(
    id            uuid PRIMARY KEY,
    username      text        NOT NULL CHECK (length(username) BETWEEN 1 AND 100),
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('platform-admin', 'tenant-admin', 'support', 'viewer')),
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
CREATE UNIQUE INDEX app_user_username_ux ON alto.app_user (lower(username));

CREATE TABLE alto.app_user_tenant
(
    user_id   uuid NOT NULL REFERENCES alto.app_user (id) ON DELETE CASCADE,
    tenant_id uuid NOT NULL REFERENCES alto.tenant (id),
    PRIMARY KEY (user_id, tenant_id)
);
CREATE INDEX app_user_tenant_tenant_ix ON alto.app_user_tenant (tenant_id);

CREATE TABLE alto.host
(
    id                    uuid PRIMARY KEY,
    tenant_id             uuid        NOT NULL REFERENCES alto.tenant (id),
    name                  text        NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    os                    text        NOT NULL DEFAULT 'linux' CHECK (os IN ('linux', 'windows')),
    volumes               text[]      NOT NULL DEFAULT '{}',
    status                text        NOT NULL DEFAULT 'registered'
                                      CHECK (status IN ('registered', 'enrolled', 'online', 'offline', 'disabled')),
    enrollment_expires_at timestamptz,
    enrolled_at           timestamptz,
    agent_version         text,
    last_heartbeat_at     timestamptz,
    last_scan_at          timestamptz,
    file_count            bigint      NOT NULL DEFAULT 0,
    total_bytes           bigint      NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX host_tenant_name_ux ON alto.host (tenant_id, lower(name));

-- Tier-2 targets. Secrets are never stored here: the tenant grain keeps them (encrypted with the
-- tenant key); this row only says whether there are any.
CREATE TABLE alto.storage_target
(
    id              uuid PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES alto.tenant (id),
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind            text        NOT NULL CHECK (kind IN ('path', 's3', 'azure')),
    settings        jsonb       NOT NULL DEFAULT '{}',
    has_credentials boolean     NOT NULL DEFAULT false,
    enabled         boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX storage_target_tenant_name_ux ON alto.storage_target (tenant_id, lower(name));

CREATE TABLE alto.rule
(
    id                   uuid PRIMARY KEY,
    tenant_id            uuid        NOT NULL REFERENCES alto.tenant (id),
    name                 text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    priority             integer     NOT NULL,
    enabled              boolean     NOT NULL DEFAULT true,
    target_id            uuid        NOT NULL REFERENCES alto.storage_target (id),
    host_id              uuid REFERENCES alto.host (id),
    path_glob            text,
    path_regex           text,
    min_access_age_days  integer CHECK (min_access_age_days >= 0),
    min_modify_age_days  integer CHECK (min_modify_age_days >= 0),
    min_size_bytes       bigint CHECK (min_size_bytes >= 0),
    max_size_bytes       bigint CHECK (max_size_bytes >= 0),
    include_extensions   text[]      NOT NULL DEFAULT '{}',
    exclude_extensions   text[]      NOT NULL DEFAULT '{}',
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rule_priority_ux UNIQUE (tenant_id, priority) DEFERRABLE INITIALLY IMMEDIATE,
    CHECK (max_size_bytes IS NULL OR min_size_bytes IS NULL OR max_size_bytes >= min_size_bytes)
);

CREATE TABLE alto.scan
(
    id          bigserial PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES alto.tenant (id),
    host_id     uuid        NOT NULL REFERENCES alto.host (id),
    scan_uid    uuid        NOT NULL,
    kind        text        NOT NULL DEFAULT 'full' CHECK (kind IN ('full', 'partial')),
    status      text        NOT NULL DEFAULT 'receiving'
                            CHECK (status IN ('receiving', 'queued', 'ingesting', 'completed', 'failed')),
    chunk_count integer     NOT NULL DEFAULT 0,
    -- Known once the chunk flagged final arrives; the scan is complete when chunks 0..final are all staged.
    final_chunk_no integer,
    -- The folders the scan walked (sent with the final chunk): files below them that the scan
    -- did not see are marked deleted; files elsewhere on the host are left alone.
    roots       text[]      NOT NULL DEFAULT '{}',
    files_changed bigint    NOT NULL DEFAULT 0,
    files_deleted bigint    NOT NULL DEFAULT 0,
    file_count  bigint      NOT NULL DEFAULT 0,
    total_bytes bigint      NOT NULL DEFAULT 0,
    error_count bigint      NOT NULL DEFAULT 0,
    last_error  text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    UNIQUE (host_id, scan_uid)
);
CREATE INDEX scan_tenant_ix ON alto.scan (tenant_id, started_at DESC);

CREATE TABLE alto.dir
(
    id         bigserial PRIMARY KEY,
    tenant_id  uuid   NOT NULL REFERENCES alto.tenant (id),
    host_id    uuid   NOT NULL REFERENCES alto.host (id),
    share_name text   NOT NULL DEFAULT '',
    path       text   NOT NULL,
    parent_id  bigint REFERENCES alto.dir (id),
    UNIQUE (host_id, share_name, path)
);
CREATE INDEX dir_parent_ix ON alto.dir (parent_id);

-- One mutable row per file: what the planner evaluates. Columns follow the original design,
-- plus host, ownership and stub facts the scanner reports. Unix times are bigint (past 2038).
-- The inventory tables (file_current, file) carry no foreign keys on purpose: the scan ingest
-- is their only writer and takes every key from rows it has just written, while a foreign-key
-- check costs a lookup per row per key -- more than half of the ingest time at a million rows.
CREATE TABLE alto.file_current
(
    file_current_id      bigserial PRIMARY KEY,
    tenant_id            uuid        NOT NULL,
    host_id              uuid        NOT NULL,
    share_name           text        NOT NULL DEFAULT '',
    dir_id               bigint      NOT NULL,
    name                 text        NOT NULL,
    full_path            text        NOT NULL,
    -- True when full_path spells a non-UTF-8 name with \xHH escapes (see the agent's path encoding).
    path_escaped         boolean     NOT NULL DEFAULT false,
    size_bytes           bigint      NOT NULL CHECK (size_bytes >= 0),
    atime_unix           bigint      NOT NULL,
    mtime_unix           bigint      NOT NULL,
    ctime_unix           bigint      NOT NULL,
    file_hash            text,
    file_extension       text        NOT NULL DEFAULT '',
    permissions          text,
    owner                text,
    frn                  bigint,
    is_stub              boolean     NOT NULL DEFAULT false,
    last_accessed_source text        NOT NULL DEFAULT 'initial_scan'
                                     CHECK (last_accessed_source IN ('initial_scan', 'lucidlink_audit', 'recall')),
    atime_updated_utc    timestamptz,
    first_seen_scan_id   bigint      NOT NULL,
    -- The last scan that found the file new or changed (unchanged rows are never rewritten).
    last_seen_scan_id    bigint      NOT NULL,
    last_scan_utc        timestamptz NOT NULL,
    deleted_utc          timestamptz,
    created_utc          timestamptz NOT NULL DEFAULT now(),
    updated_utc          timestamptz NOT NULL DEFAULT now()
);
-- Lookups by path (scan merge, audit updates, recall by path) always know their host.
CREATE UNIQUE INDEX file_current_path_ux ON alto.file_current (tenant_id, host_id, full_path, path_escaped);
-- The planner walks live files of one host by age and size.
CREATE INDEX file_current_plan_ix ON alto.file_current (tenant_id, host_id, atime_unix)
    INCLUDE (mtime_unix, size_bytes, file_extension, is_stub) WHERE deleted_utc IS NULL;
CREATE INDEX file_current_dir_ix ON alto.file_current (dir_id);

-- Immutable history: a row per file version, written by the scan in which the file appeared or
-- changed; with deleted_utc in file_current it tells what any scan saw.
CREATE TABLE alto.file
(
    scan_id         bigint NOT NULL,
    file_current_id bigint NOT NULL,
    tenant_id       uuid   NOT NULL,
    dir_id          bigint NOT NULL,
    name            text   NOT NULL,
    size_bytes      bigint NOT NULL,
    atime_unix      bigint NOT NULL,
    mtime_unix      bigint NOT NULL,
    ctime_unix      bigint NOT NULL,
    frn             bigint,
    file_hash       text,
    PRIMARY KEY (scan_id, file_current_id)
);
CREATE INDEX file_current_history_ix ON alto.file (file_current_id);

CREATE TABLE alto.tiering_job
(
    id                  uuid PRIMARY KEY,
    tenant_id           uuid        NOT NULL REFERENCES alto.tenant (id),
    host_id             uuid        NOT NULL REFERENCES alto.host (id),
    rule_id             uuid REFERENCES alto.rule (id),
    target_id           uuid        NOT NULL REFERENCES alto.storage_target (id),
    priority            integer     NOT NULL DEFAULT 0,
    status              text        NOT NULL DEFAULT 'queued'
                                    CHECK (status IN ('queued', 'dispatched', 'running', 'completed', 'failed', 'cancelled')),
    file_count          integer     NOT NULL DEFAULT 0 CHECK (file_count BETWEEN 0 AND 1000),
    total_bytes         bigint      NOT NULL DEFAULT 0,
    estimated_seconds   bigint      NOT NULL DEFAULT 0,
    attempts            integer     NOT NULL DEFAULT 0,
    lease_until         timestamptz,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    dispatched_at       timestamptz,
    completed_at        timestamptz
);
CREATE INDEX tiering_job_host_status_ix ON alto.tiering_job (host_id, status, priority DESC, created_at);
CREATE INDEX tiering_job_tenant_ix ON alto.tiering_job (tenant_id, created_at DESC);

-- One tiering state machine per file (TierObjectGrain is its only writer).
CREATE TABLE alto.tier_object
(
    id                bigserial PRIMARY KEY,
    tenant_id         uuid        NOT NULL REFERENCES alto.tenant (id),
    host_id           uuid        NOT NULL REFERENCES alto.host (id),
    file_current_id   bigint      NOT NULL REFERENCES alto.file_current (file_current_id),
    full_path         text        NOT NULL,
    state             text        NOT NULL
                                  CHECK (state IN ('PLANNED', 'DISPATCHED', 'UPLOADING', 'UPLOADED', 'STUBBED',
                                                   'RECALLING', 'RECALLED', 'FAILED', 'ABANDONED', 'SKIPPED')),
    rule_id           uuid REFERENCES alto.rule (id),
    target_id         uuid REFERENCES alto.storage_target (id),
    job_id            uuid REFERENCES alto.tiering_job (id),
    size_bytes        bigint      NOT NULL DEFAULT 0,
    planned_mtime_unix bigint,
    hash              text,
    locator           text,
    attempts          integer     NOT NULL DEFAULT 0,
    last_error        text,
    next_attempt_utc  timestamptz,
    planned_utc       timestamptz,
    acted_utc         timestamptz,
    last_accessed_utc timestamptz,
    access_count      bigint      NOT NULL DEFAULT 0,
    updated_utc       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (file_current_id)
);
CREATE INDEX tier_object_state_ix ON alto.tier_object (tenant_id, host_id, state);
CREATE INDEX tier_object_path_ix ON alto.tier_object (tenant_id, full_path);
CREATE INDEX tier_object_job_ix ON alto.tier_object (job_id) WHERE job_id IS NOT NULL;

-- Append-only audit trail. Hash-chain columns are filled by the audit writer; the trigger makes
-- rows immutable for every role that is not a superuser bypassing triggers.
CREATE TABLE alto.audit_log
(
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    tenant_id   uuid REFERENCES alto.tenant (id),
    actor       text        NOT NULL,
    action      text        NOT NULL,
    object_type text        NOT NULL,
    object_id   text,
    outcome     text        NOT NULL DEFAULT 'success' CHECK (outcome IN ('success', 'failure')),
    details     jsonb       NOT NULL DEFAULT '{}',
    prev_hash   bytea,
    hash        bytea
);
CREATE INDEX audit_log_tenant_ix ON alto.audit_log (tenant_id, id);

CREATE FUNCTION alto.audit_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'alto.audit_log is append-only (% refused)', TG_OP;
END
$fn$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON alto.audit_log
    FOR EACH ROW EXECUTE FUNCTION alto.audit_log_is_append_only();

-----------------------------------------------------------------------------------------------
-- Scan staging: raw rows as the agent sent them, partitioned by tenant, then by scan date,
-- kept 7 days. Partitions are created on demand by scan_staging.ensure_partition.
-----------------------------------------------------------------------------------------------
CREATE TABLE scan_staging.raw_scans
(
    tenant_id      uuid        NOT NULL,
    scan_date      date        NOT NULL,
    host_id        uuid        NOT NULL,
    scan_id        bigint      NOT NULL,
    chunk_no       integer     NOT NULL,
    row_no         integer     NOT NULL,
    file_path      text        NOT NULL,
    path_escaped   boolean     NOT NULL DEFAULT false,
    file_size      bigint      NOT NULL,
    last_modified  timestamptz NOT NULL,
    last_accessed  timestamptz NOT NULL,
    ctime          timestamptz,
    file_extension text,
    permissions    text,
    owner          text,
    hash           text,
    file_id        bigint,
    is_stub        boolean     NOT NULL DEFAULT false,
    staged_at      timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (tenant_id);

-- A chunk is stored once: (scan, chunk) is the idempotency key of an upload.
CREATE TABLE scan_staging.chunk
(
    scan_id   bigint      NOT NULL REFERENCES alto.scan (id),
    chunk_no  integer     NOT NULL,
    row_count integer     NOT NULL,
    is_final  boolean     NOT NULL DEFAULT false,
    staged_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scan_id, chunk_no)
);

CREATE FUNCTION scan_staging.ensure_partition(p_tenant uuid, p_day date) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    tenant_part text := 'raw_scans_' || replace(p_tenant::text, '-', '');
    day_part    text := tenant_part || '_' || to_char(p_day, 'YYYYMMDD');
BEGIN
    -- Concurrent uploads may ask for the same partition: one creates it, the others wait and see it.
    PERFORM pg_advisory_xact_lock(hashtext(day_part));
    IF to_regclass('scan_staging.' || tenant_part) IS NULL THEN
        EXECUTE format('CREATE TABLE IF NOT EXISTS scan_staging.%I PARTITION OF scan_staging.raw_scans
                        FOR VALUES IN (%L) PARTITION BY RANGE (scan_date)', tenant_part, p_tenant);
    END IF;
    IF to_regclass('scan_staging.' || day_part) IS NULL THEN
        EXECUTE format('CREATE TABLE IF NOT EXISTS scan_staging.%I PARTITION OF scan_staging.%I
                        FOR VALUES FROM (%L) TO (%L)', day_part, tenant_part, p_day, p_day + 1);
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON scan_staging.%I (scan_id, chunk_no)',
                       day_part || '_scan_ix', day_part);
    END IF;
END
$fn$;

-- Drops day partitions older than the retention; returns how many were dropped.
CREATE FUNCTION scan_staging.drop_expired_partitions(p_keep_days integer DEFAULT 7) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'scan_staging'
          AND c.relname ~ '^raw_scans_[0-9a-f]{32}_[0-9]{8}$'
          AND to_date(right(c.relname, 8), 'YYYYMMDD') < current_date - p_keep_days
    LOOP
        EXECUTE format('DROP TABLE scan_staging.%I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$fn$;
