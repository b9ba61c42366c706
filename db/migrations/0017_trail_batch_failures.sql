-- A staged trail batch the database refuses to apply is set aside with why, so the batches
-- after it are still applied (a pending batch would otherwise block its host's trail for good).
ALTER TABLE alto.audit_update_batch ADD COLUMN failed_at timestamptz, ADD COLUMN error text;

DROP INDEX alto.audit_update_batch_pending_ix;
CREATE INDEX audit_update_batch_pending_ix ON alto.audit_update_batch (host_id) WHERE applied_at IS NULL AND failed_at IS NULL;
