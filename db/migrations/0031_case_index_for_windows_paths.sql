-- Only a Windows host's paths are compared without case (its LucidLink trail's paths are matched
-- to the inventory's spelling). Stored paths are canonical: a POSIX path always begins with '/',
-- a Windows path never does (a drive, C:\, or a share, \\server\share). The case-insensitive
-- index now holds Windows rows only. Measured on a Linux host's first ingest of 1 M files, keeping
-- it for every row cost 2-3 s of the merge's 19-21 s insert, and it is the largest index the
-- inventory has after the path's own (lower(full_path) is a second copy of every path).
DROP INDEX alto.file_current_host_path_ci;
CREATE INDEX file_current_host_path_ci ON alto.file_current (host_id, lower(full_path))
    WHERE deleted_utc IS NULL AND left(full_path, 1) <> '/';
