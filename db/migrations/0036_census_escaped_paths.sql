-- A reconciliation's census asks about stubs whose names are not valid UTF-8 too, by their escaped
-- text (\xHH per byte, as a scan reports them) with the flag that says so: before, they were counted
-- as unchecked, and one such stub held back every reclaim of its target's orphans. A path and its
-- flag name a file together (a UTF-8 name may read as another's escaped text), so both are the key.
-- The table holds the rows of runs in progress only; existing rows are plain paths.
ALTER TABLE alto.reconcile_stub ADD COLUMN path_escaped boolean NOT NULL DEFAULT false;
ALTER TABLE alto.reconcile_stub DROP CONSTRAINT reconcile_stub_pkey;
ALTER TABLE alto.reconcile_stub ADD PRIMARY KEY (run_id, host_id, path, path_escaped);
