-- An admin may cancel a run that is still going (listing, census or reclaiming): it ends as
-- 'cancelled', with who cancelled it, keeping what was found so far of nothing (a run classifies
-- only once its listing and census are whole) and the orphans not yet deleted.
ALTER TABLE alto.reconcile_run DROP CONSTRAINT reconcile_run_status_check;
ALTER TABLE alto.reconcile_run ADD CONSTRAINT reconcile_run_status_check
    CHECK (status IN ('listing', 'census', 'reclaiming', 'completed', 'failed', 'cancelled'));
