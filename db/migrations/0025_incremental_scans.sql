-- Incremental scans. The agent keeps a digest per folder of the files it last sent; a rescan
-- sends only the folders whose digest changed and names the unchanged ones, with the scan they
-- are unchanged since (its base). The ingest carries the files of unchanged folders over
-- without touching their rows, and takes the base only if it is the host's last ingested scan:
-- otherwise the inventory may not be what the agent's digests describe, and the scan fails
-- with the reason (the agent's next scan is then a full one).
ALTER TABLE alto.scan DROP CONSTRAINT scan_kind_check;
ALTER TABLE alto.scan ADD CONSTRAINT scan_kind_check CHECK (kind IN ('full', 'partial', 'incremental'));
ALTER TABLE alto.scan
    ADD COLUMN base_scan_uid uuid,
    ADD COLUMN folders_unchanged bigint NOT NULL DEFAULT 0;

-- The host's last ingested scan, asked for by its agent before each scan and by each incremental ingest.
CREATE INDEX scan_host_completed_ix ON alto.scan (host_id, completed_at DESC, id DESC) WHERE status = 'completed';

-- The unchanged folders of a scan still being received, a part (of up to 10,000) per row; the
-- ingest reads them and deletes them in its transaction, and so does a failed ingest.
CREATE TABLE scan_staging.unchanged_part
(
    scan_id   bigint      NOT NULL REFERENCES alto.scan (id),
    part_no   integer     NOT NULL,
    folders   text[]      NOT NULL,
    -- SHA-256 of the part as sent: the same part sent again is a duplicate, other content under its number a conflict.
    digest    bytea       NOT NULL,
    staged_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scan_id, part_no)
);
