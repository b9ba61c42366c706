-- The sanitizer: runs that reconcile a storage target's objects with the tier-object records and
-- the stubs on the hosts. An agent of the tenant lists tier 2 in key order (checking metadata or
-- content by the run's depth) and uploads the listing in batches; the run keeps its cursor, so a
-- run cut off by a crash resumes after the last key it took. Then each host's agent says what it
-- finds at the paths of the stubs (the census). The cluster compares the three in SQL and keeps
-- what it found, with what it did about it.

CREATE TABLE alto.reconcile_run
(
    id              uuid PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES alto.tenant (id),
    target_id       uuid        NOT NULL REFERENCES alto.storage_target (id),
    host_id         uuid        REFERENCES alto.host (id),
    depth           text        NOT NULL CHECK (depth IN ('list', 'head', 'deep')),
    sample_percent  integer     NOT NULL CHECK (sample_percent BETWEEN 1 AND 100),
    requests_per_second integer NOT NULL CHECK (requests_per_second BETWEEN 1 AND 100000),
    -- Whether the admin confirmed that a run may mark more than a tenth of the target's stubs LOST.
    allow_mass_loss boolean     NOT NULL DEFAULT false,
    status          text        NOT NULL CHECK (status IN ('listing', 'census', 'completed', 'failed')),
    requested_by    text        NOT NULL,
    cursor_key      text,
    batches         integer     NOT NULL DEFAULT 0,
    objects_listed  bigint      NOT NULL DEFAULT 0,
    objects_checked bigint      NOT NULL DEFAULT 0,
    -- Stubs of the target on hosts that were not online when the census began, or not Linux hosts: not looked at.
    census_unchecked bigint     NOT NULL DEFAULT 0,
    counts          jsonb       NOT NULL DEFAULT '{}',
    error           text,
    started_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    finished_at     timestamptz
);
-- One run at a time per target.
CREATE UNIQUE INDEX reconcile_run_listing_ux ON alto.reconcile_run (target_id) WHERE status IN ('listing', 'census');
CREATE INDEX reconcile_run_tenant_ix ON alto.reconcile_run (tenant_id, started_at DESC);

-- The listing of a run while it lasts (dropped when the run ends; the findings stay).
CREATE TABLE alto.reconcile_object
(
    run_id   uuid   NOT NULL REFERENCES alto.reconcile_run (id) ON DELETE CASCADE,
    key      text   NOT NULL,
    length   bigint NOT NULL CHECK (length >= 0),
    modified timestamptz,
    -- A check of the run's depth that failed: the metadata's or the content's SHA-256 differs from the key's, or the object could not be read.
    problem  text,
    PRIMARY KEY (run_id, key)
);

-- The stubs a run asks the online hosts' agents about (the target's records, and files the last
-- scan saw as stubs that no record knows), and what each agent found at the path: nothing, a real
-- file, or a stub with its markers. Null while the agent has not answered.
CREATE TABLE alto.reconcile_stub
(
    run_id         uuid   NOT NULL REFERENCES alto.reconcile_run (id) ON DELETE CASCADE,
    host_id        uuid   NOT NULL,
    path           text   NOT NULL,
    tier_object_id bigint,
    found          text   CHECK (found IN ('absent', 'file', 'stub', 'unreadable')),
    locator        text,
    sha256         text,
    target_id      uuid,
    detail         text,
    PRIMARY KEY (run_id, host_id, path)
);
CREATE INDEX reconcile_stub_pending_ix ON alto.reconcile_stub (run_id) WHERE found IS NULL;

CREATE TABLE alto.reconcile_finding
(
    id             bigserial PRIMARY KEY,
    run_id         uuid        NOT NULL REFERENCES alto.reconcile_run (id) ON DELETE CASCADE,
    tenant_id      uuid        NOT NULL REFERENCES alto.tenant (id),
    class          text        NOT NULL CHECK (class IN ('missing', 'orphan', 'drift', 'found')),
    kind           text        NOT NULL,
    object_key     text,
    tier_object_id bigint,
    host_id        uuid,
    path           text,
    detail         text        NOT NULL,
    repair         text        NOT NULL,
    found_at       timestamptz NOT NULL
);
-- A resumed or repeated classification finds a thing once per run.
CREATE UNIQUE INDEX reconcile_finding_once_ux ON alto.reconcile_finding (run_id, class, coalesce(tier_object_id, 0), coalesce(object_key, ''));
CREATE INDEX reconcile_finding_run_ix ON alto.reconcile_finding (run_id, class, id);

-- A target reconciled on a schedule: its reminder starts a run every so often with these settings.
CREATE TABLE alto.reconcile_schedule
(
    target_id           uuid PRIMARY KEY REFERENCES alto.storage_target (id),
    tenant_id           uuid        NOT NULL REFERENCES alto.tenant (id),
    every_hours         integer     NOT NULL CHECK (every_hours BETWEEN 1 AND 2160),
    depth               text        NOT NULL CHECK (depth IN ('list', 'head', 'deep')),
    sample_percent      integer     NOT NULL CHECK (sample_percent BETWEEN 1 AND 100),
    requests_per_second integer     NOT NULL CHECK (requests_per_second BETWEEN 1 AND 100000),
    last_run_id         uuid,
    last_tick_at        timestamptz,
    last_outcome        text,
    updated_at          timestamptz NOT NULL
);

-- A stubbed file whose tier-2 object is gone or damaged: its stub cannot be recalled.
ALTER TABLE alto.tier_object DROP CONSTRAINT tier_object_state_check;
ALTER TABLE alto.tier_object ADD CONSTRAINT tier_object_state_check
    CHECK (state IN ('PLANNED', 'DISPATCHED', 'UPLOADING', 'UPLOADED', 'STUBBED',
                     'RECALLING', 'RECALLED', 'FAILED', 'ABANDONED', 'SKIPPED', 'LOST'));
CREATE INDEX tier_object_target_locator_ix ON alto.tier_object (target_id, locator) WHERE locator IS NOT NULL;

-- The agent's part of a run is a command like a scan: queued, delivered, acknowledged when done.
ALTER TABLE alto.agent_command DROP CONSTRAINT agent_command_kind_check;
ALTER TABLE alto.agent_command ADD CONSTRAINT agent_command_kind_check CHECK (kind IN ('scan', 'recall', 'reconcile', 'census'));
ALTER TABLE alto.agent_command ADD COLUMN run_id uuid;
