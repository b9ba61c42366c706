-- Rules as the tenant grain holds them, and the shape planning needs.

-- Tier objects and jobs remember the rule that planned them even after the rule is deleted:
-- rule_id is history there, not a live reference.
ALTER TABLE alto.tier_object DROP CONSTRAINT tier_object_rule_id_fkey;
ALTER TABLE alto.tiering_job DROP CONSTRAINT tiering_job_rule_id_fkey;

-- The planner writes tier objects by the hundred thousand, with keys taken from rows it has just
-- read in the same transaction (the same reasoning as for the inventory tables): a foreign-key
-- check per row per key would cost more than the insert itself.
ALTER TABLE alto.tier_object DROP CONSTRAINT tier_object_file_current_id_fkey;
ALTER TABLE alto.tier_object DROP CONSTRAINT tier_object_job_id_fkey;
ALTER TABLE alto.tier_object DROP CONSTRAINT tier_object_target_id_fkey;
ALTER TABLE alto.tier_object DROP CONSTRAINT tier_object_tenant_id_fkey;
ALTER TABLE alto.tier_object DROP CONSTRAINT tier_object_host_id_fkey;

DROP TABLE alto.rule;

-- Mirror of TenantGrain's rules for reporting; the grain rewrites a tenant's rows on each change.
CREATE TABLE alto.rule
(
    id         uuid PRIMARY KEY,
    tenant_id  uuid        NOT NULL REFERENCES alto.tenant (id),
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Evaluated in ascending order; the first rule that matches a file decides.
    priority   integer     NOT NULL,
    enabled    boolean     NOT NULL DEFAULT true,
    action     text        NOT NULL CHECK (action IN ('tier', 'exclude')),
    target_id  uuid REFERENCES alto.storage_target (id),
    host_id    uuid REFERENCES alto.host (id),
    -- pathGlobs, excludePathGlobs, pathRegex, excludePathRegex, minSizeBytes, maxSizeBytes,
    -- accessedOlderThanDays, modifiedOlderThanDays, extensions, excludeExtensions
    criteria   jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rule_priority_ux UNIQUE (tenant_id, priority) DEFERRABLE INITIALLY IMMEDIATE,
    CHECK ((action = 'tier') = (target_id IS NOT NULL))
);

-- Jobs are dispatched in rule order (lower priority value first), oldest first.
DROP INDEX alto.tiering_job_host_status_ix;
CREATE INDEX tiering_job_host_status_ix ON alto.tiering_job (host_id, status, priority, created_at);


-- Paths are looked up in file_current (whose path index every lookup already uses) and reach
-- the tier object through its unique file_current_id; a second path index here only cost the
-- planner a text-index insert per planned file.
DROP INDEX alto.tier_object_path_ix;
