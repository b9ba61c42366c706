-- A run compares each part of its listing with the records in the part's key range as the part
-- arrives, and keeps only what may be a finding: an object no record names, an object with a
-- problem or the wrong length, a record whose object is not listed, a LOST record. A healthy
-- object (nearly all of them) leaves no row. The whole listing was kept before and compared in
-- one join after the last part: for a million objects that join, the listing's write and its
-- delete were most of a run's time, all of it after the agent had finished.
--
-- What is kept is a few rows per part: the table is logged again (a database crash keeps it with
-- the run's cursor, in the same transactions, so a run resumes instead of failing).
-- tier_object_id: the record the row is about (null: no record named the object); listed: whether
-- the listing held the object (false: a record's object that was not listed; length is then 0).
ALTER TABLE alto.reconcile_object
    ADD COLUMN tier_object_id bigint,
    ADD COLUMN listed boolean NOT NULL DEFAULT true;

-- Runs under way hold whole listings of the old form: they end, and a new run starts afresh.
UPDATE alto.reconcile_run
SET status = 'failed', error = 'the sanitizer was upgraded while the run was under way: start a new run', finished_at = now(), updated_at = now()
WHERE status IN ('listing', 'census');
DELETE FROM alto.reconcile_object;
ALTER TABLE alto.reconcile_object SET LOGGED;
CREATE INDEX reconcile_object_run_ix ON alto.reconcile_object (run_id);

-- A part's key range is an ordinal one (the agent lists in byte order, whatever the database's
-- collation): the records of a range are found by an index in the "C" collation.
DROP INDEX alto.tier_object_target_locator_ix;
CREATE INDEX tier_object_target_locator_ix ON alto.tier_object (target_id, locator COLLATE "C") WHERE locator IS NOT NULL;
