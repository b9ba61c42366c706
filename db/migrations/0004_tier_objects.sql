-- What the tier-object grain needs beyond the first schema: which half of the life cycle a
-- failure interrupted (a retry resumes there), and the job lease the host grain dispatches with.

ALTER TABLE alto.tier_object
    ADD COLUMN failed_during text CHECK (failed_during IN ('tiering', 'recall'));

-- A job the agent took but did not finish within its lease is sent again.
CREATE INDEX tiering_job_lease_ix ON alto.tiering_job (host_id, lease_until) WHERE status = 'dispatched';
