-- Orphans reclaimed: a tier-2 object no record (and no stub a host still has) references is
-- deleted once it is older than the tenant's grace period, if the tenant's policy says so. The
-- run that found it goes on to a reclaiming phase: its listing agent deletes each such object
-- only if the store still shows it unmodified since the run's cut-off (a new upload of the same
-- content refreshes it), and reports what it did, each deletion audited.

ALTER TABLE alto.tenant ADD COLUMN orphan_grace_days integer NOT NULL DEFAULT 30 CHECK (orphan_grace_days BETWEEN 1 AND 3650);
ALTER TABLE alto.tenant ADD COLUMN reclaim_orphans boolean NOT NULL DEFAULT false;

ALTER TABLE alto.reconcile_run DROP CONSTRAINT reconcile_run_status_check;
ALTER TABLE alto.reconcile_run ADD CONSTRAINT reconcile_run_status_check CHECK (status IN ('listing', 'census', 'reclaiming', 'completed', 'failed'));
-- The tenant's policy when the run began (or the run's own choice).
ALTER TABLE alto.reconcile_run ADD COLUMN orphan_grace_days integer NOT NULL DEFAULT 30 CHECK (orphan_grace_days BETWEEN 1 AND 3650);
ALTER TABLE alto.reconcile_run ADD COLUMN reclaim_orphans boolean NOT NULL DEFAULT false;
-- Objects last modified before this may be deleted by the run's reclaiming phase; null: the run deletes nothing.
ALTER TABLE alto.reconcile_run ADD COLUMN reclaim_before timestamptz;
DROP INDEX alto.reconcile_run_listing_ux;
CREATE UNIQUE INDEX reconcile_run_listing_ux ON alto.reconcile_run (target_id) WHERE status IN ('listing', 'census', 'reclaiming');

-- An orphan the reclaiming phase is to delete: pending until the agent says what it did.
ALTER TABLE alto.reconcile_finding ADD COLUMN reclaim text CHECK (reclaim IN ('pending', 'deleted', 'kept'));
CREATE INDEX reconcile_finding_reclaim_ix ON alto.reconcile_finding (run_id, object_key) WHERE reclaim = 'pending';

-- A stub found LOST whose content still exists whole elsewhere in the tenant (a record of the
-- same SHA-256 and size whose file is real: recalled, or uploaded and not yet stubbed) is
-- re-tiered from that copy: the copy's host's agent hashes the file, uploads it to the lost
-- object's key if it still matches, and says so; the LOST record is then STUBBED again.
CREATE TABLE alto.reconcile_restore
(
    run_id         uuid   NOT NULL REFERENCES alto.reconcile_run (id) ON DELETE CASCADE,
    tier_object_id bigint NOT NULL,
    lost_host_id   uuid   NOT NULL,
    lost_path      text   NOT NULL,
    copy_host_id   uuid   NOT NULL,
    copy_path      text   NOT NULL,
    sha256         text   NOT NULL,
    size_bytes     bigint NOT NULL,
    target_id      uuid   NOT NULL,
    locator        text   NOT NULL,
    outcome        text   CHECK (outcome IN ('restored', 'mismatch', 'failed')),
    detail         text,
    PRIMARY KEY (run_id, tier_object_id)
);
CREATE INDEX reconcile_restore_pending_ix ON alto.reconcile_restore (copy_host_id) WHERE outcome IS NULL;

ALTER TABLE alto.agent_command DROP CONSTRAINT agent_command_kind_check;
ALTER TABLE alto.agent_command ADD CONSTRAINT agent_command_kind_check CHECK (kind IN ('scan', 'recall', 'reconcile', 'census', 'restore'));

-- A run's listing is working data, a row per object (a million for a large target), dropped when
-- the run ends: unlogged (no WAL for it) and without a key (a part is taken only if it follows
-- the run's cursor in key order, so a key cannot come twice; the classification joins by hash).
-- A database crash empties an unlogged table: the run compares what it holds with the count it
-- took, durable in alto.reconcile_run, and fails rather than judge from half a listing.
ALTER TABLE alto.reconcile_object DROP CONSTRAINT reconcile_object_pkey;
ALTER TABLE alto.reconcile_object SET UNLOGGED;
