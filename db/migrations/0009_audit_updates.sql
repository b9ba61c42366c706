-- Access and change events from LucidLink audit trails, as agents upload them: a batch per
-- upload (its id makes a repeated upload harmless), its updates staged until the host grain
-- applies them to the inventory in one transaction.
CREATE TABLE alto.audit_update_batch
(
    id           uuid PRIMARY KEY,
    tenant_id    uuid        NOT NULL REFERENCES alto.tenant (id),
    host_id      uuid        NOT NULL,
    source       text        NOT NULL CHECK (source IN ('lucidlink_audit')),
    collected_at timestamptz,
    received_at  timestamptz NOT NULL DEFAULT now(),
    update_count int         NOT NULL CHECK (update_count BETWEEN 1 AND 10000),
    applied_at   timestamptz,
    applied      int,
    unknown      int,
    stale        int
);
CREATE INDEX audit_update_batch_pending_ix ON alto.audit_update_batch (host_id) WHERE applied_at IS NULL;

CREATE TABLE alto.audit_update_staging
(
    batch_id    uuid   NOT NULL REFERENCES alto.audit_update_batch (id),
    seq         int    NOT NULL,
    full_path   text   NOT NULL,
    kind        text   NOT NULL CHECK (kind IN ('read', 'write', 'delete', 'move')),
    at_unix     bigint NOT NULL,
    target_path text,
    PRIMARY KEY (batch_id, seq)
);

-- A stub read again and again through the audit trail (on other LucidLink nodes, where no
-- recall on open happens) is flagged for recall once it reaches the tenant's threshold.
ALTER TABLE alto.tier_object ADD COLUMN recall_flagged_utc timestamptz;
ALTER TABLE alto.tenant ADD COLUMN recall_after_reads int CHECK (recall_after_reads BETWEEN 1 AND 1000000);
