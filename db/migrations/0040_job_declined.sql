-- A tenant admin may decline a job that waits for approval: it ends as 'declined' (its reason and
-- who declined it in last_error), and its files are held back from planning for a while.
ALTER TABLE alto.tiering_job DROP CONSTRAINT tiering_job_status_check;
ALTER TABLE alto.tiering_job ADD CONSTRAINT tiering_job_status_check
    CHECK (status IN ('awaiting_approval', 'queued', 'dispatched', 'running', 'completed', 'failed', 'cancelled', 'declined'));
