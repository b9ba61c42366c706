-- Safe defaults for new tenants: planned jobs wait for a tenant admin's approval ('manual'), and
-- files smaller than a minimum size are never tiered. Tenants created before keep how they worked
-- ('auto', no minimum): their rows get those values here, and their grains read a missing setting the same way.
ALTER TABLE alto.tenant ADD COLUMN plan_approval text NOT NULL DEFAULT 'auto' CHECK (plan_approval IN ('auto', 'manual'));
ALTER TABLE alto.tenant ADD COLUMN min_tierable_bytes bigint NOT NULL DEFAULT 0 CHECK (min_tierable_bytes >= 0);

-- A job planned under manual approval waits in 'awaiting_approval' until approved (then 'queued').
ALTER TABLE alto.tiering_job DROP CONSTRAINT tiering_job_status_check;
ALTER TABLE alto.tiering_job ADD CONSTRAINT tiering_job_status_check
    CHECK (status IN ('awaiting_approval', 'queued', 'dispatched', 'running', 'completed', 'failed', 'cancelled'));
ALTER TABLE alto.tiering_job ADD COLUMN approved_by text;
ALTER TABLE alto.tiering_job ADD COLUMN approved_at timestamptz;
