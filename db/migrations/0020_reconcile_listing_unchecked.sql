-- A run's listing is written a part of 5,000 rows at a time, in the transaction that holds the
-- run's row locked. The foreign key to alto.reconcile_run checked every row against that row (a
-- key-share lock per object): four fifths of the time a part took. The run's grain is the only
-- writer, inserts only under its own run's id, and deletes the listing when the run ends; runs
-- themselves are never deleted. The key adds nothing the writer does not already guarantee.
ALTER TABLE alto.reconcile_object DROP CONSTRAINT reconcile_object_run_id_fkey;
