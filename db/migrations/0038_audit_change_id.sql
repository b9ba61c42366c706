-- A grain keeps the audit entry of a change in the same state write as the change, then appends
-- it here; should that append fail, the entry stays in its state and is appended again later.
-- change_id is the entry's own id, so appending it twice records it once.
ALTER TABLE alto.audit_log ADD COLUMN change_id uuid;
CREATE UNIQUE INDEX audit_log_change_ix ON alto.audit_log (change_id) WHERE change_id IS NOT NULL;
