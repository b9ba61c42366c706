-- Access times change all the time (audit trails, recalls): they must not be in an index, so
-- updating them is a HOT update (no index entries written), and pages keep room for the new
-- row versions. The planner reads a host's live files through this narrower index; the columns
-- it needs come from the table, as the path always did.
DROP INDEX alto.file_current_plan_ix;
CREATE INDEX file_current_live_ix ON alto.file_current (tenant_id, host_id) WHERE deleted_utc IS NULL;
ALTER TABLE alto.file_current SET (fillfactor = 85);
