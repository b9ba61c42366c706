-- An admin may cancel a run that is still going (listing, census or reclaiming): it ends as
-- 'cancelled', saying who cancelled it. Nothing is classified from a listing cut short, and the
-- orphans not yet deleted are kept.
ALTER TABLE alto.reconcile_run DROP CONSTRAINT reconcile_run_status_check;
ALTER TABLE alto.reconcile_run ADD CONSTRAINT reconcile_run_status_check
    CHECK (status IN ('listing', 'census', 'reclaiming', 'completed', 'failed', 'cancelled'));
