-- A lost stub may be re-tiered from a copy whose name is not valid UTF-8: the copy's path is kept
-- as the inventory holds it (escaped, \xHH per byte) with the flag that says so, and handed to its
-- agent with it, which opens the file by its own bytes. Existing rows are plain paths.
ALTER TABLE alto.reconcile_restore ADD COLUMN copy_path_escaped boolean NOT NULL DEFAULT false;
