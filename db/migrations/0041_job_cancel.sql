-- A tenant admin may cancel a job that has not ended. One the agent has is asked to stop; until the
-- agent reports the files it did not start, the job stays dispatched with who asked, why, and how
-- long its files not tiered are held back from planning.
ALTER TABLE alto.tiering_job
    ADD COLUMN cancel_requested_at timestamptz,
    ADD COLUMN cancel_reason text,
    ADD COLUMN cancel_hold interval,
    ADD CONSTRAINT tiering_job_cancel_check
        CHECK ((cancel_requested_at IS NULL) = (cancel_reason IS NULL) AND (cancel_requested_at IS NULL) = (cancel_hold IS NULL)
               AND (cancel_hold IS NULL OR cancel_hold > interval '0'));
