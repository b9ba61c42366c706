-- Every staged day partition is indexed by (scan_id, chunk_no) when it is made (ensure_partition),
-- and that index already finds a merge's own scan by its first column: 0029's (scan_id) index on
-- the whole table gave each partition a second index with the same use, and every staged row was
-- written into both. The merge is the only reader of staged rows (by tenant, day and scan).
DROP INDEX scan_staging.raw_scans_scan_ix;
