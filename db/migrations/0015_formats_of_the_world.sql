-- A re-sent chunk is compared with the one stored: the SHA-256 of its decompressed bytes.
-- Chunks staged before this column existed have none and are taken as the same.
ALTER TABLE scan_staging.chunk ADD COLUMN digest bytea;

-- Extensions have one stored form, lower case without the dot ("pdf"), which rules compare with.
UPDATE alto.file_current SET file_extension = lower(ltrim(file_extension, '.'))
WHERE file_extension <> lower(ltrim(file_extension, '.'));

-- Windows hosts' paths compare without case: audit updates find their files by the lower-case path.
CREATE INDEX file_current_host_path_ci ON alto.file_current (host_id, lower(full_path)) WHERE deleted_utc IS NULL;
