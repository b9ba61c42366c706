-- A tamper-evident audit log: every entry carries the hash of the previous entry of its tenant
-- (platform-wide entries, with no tenant, form a chain of their own), so an edited, deleted or
-- reordered entry breaks the chain. Entries are numbered per chain (chain_seq) while the chain
-- is locked, and the lock is held until the inserting transaction ends, so a later number is
-- always committed after an earlier one: an export that resumes after a number misses nothing.
-- Where an entry came from (client address) and the host and path it is about get columns of
-- their own, for filtering.

ALTER TABLE alto.audit_log
    ADD COLUMN chain_seq bigint,
    ADD COLUMN host_id   uuid,
    ADD COLUMN path      text,
    ADD COLUMN origin    text;

-- One field of the hashed form: its UTF-8 length, a colon, the value and a semicolon; '-;' for
-- no value. Lengths make the form unambiguous whatever the values contain.
CREATE FUNCTION alto.audit_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT CASE WHEN value IS NULL THEN '-;' ELSE octet_length(value)::text || ':' || value || ';' END
$fn$;

-- SHA-256 of the previous entry's hash followed by this entry's fields. Verifiers outside the
-- database recompute the same bytes (see AuditChain in the grains).
CREATE FUNCTION alto.audit_entry_hash(prev bytea, seq bigint, at timestamptz, tenant uuid, actor text, action text,
                                      object_type text, object_id text, outcome text, host uuid, path text,
                                      origin text, details jsonb) RETURNS bytea
LANGUAGE sql STABLE AS $fn$
    SELECT sha256(coalesce(prev, ''::bytea) || convert_to(
        alto.audit_field(seq::text)
        || alto.audit_field(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || alto.audit_field(tenant::text)
        || alto.audit_field(actor)
        || alto.audit_field(action)
        || alto.audit_field(object_type)
        || alto.audit_field(object_id)
        || alto.audit_field(outcome)
        || alto.audit_field(host::text)
        || alto.audit_field(path)
        || alto.audit_field(origin)
        || alto.audit_field(details::text), 'UTF8'))
$fn$;

-- Existing entries are chained in the order they were written.
ALTER TABLE alto.audit_log DISABLE TRIGGER audit_log_append_only;
DO $backfill$
DECLARE
    entry record;
    last_tenant uuid;
    last_hash bytea;
    seq bigint := 0;
    first boolean := true;
BEGIN
    FOR entry IN SELECT * FROM alto.audit_log ORDER BY tenant_id NULLS FIRST, id LOOP
        IF first OR entry.tenant_id IS DISTINCT FROM last_tenant THEN
            seq := 0;
            last_hash := NULL;
            first := false;
        END IF;
        seq := seq + 1;
        UPDATE alto.audit_log
        SET chain_seq = seq,
            prev_hash = last_hash,
            hash = alto.audit_entry_hash(last_hash, seq, entry.at, entry.tenant_id, entry.actor, entry.action, entry.object_type,
                                         entry.object_id, entry.outcome, NULL, NULL, NULL, entry.details)
        WHERE id = entry.id
        RETURNING hash INTO last_hash;
        last_tenant := entry.tenant_id;
    END LOOP;
END
$backfill$;
ALTER TABLE alto.audit_log ENABLE TRIGGER audit_log_append_only;

ALTER TABLE alto.audit_log
    ALTER COLUMN chain_seq SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL;

DROP INDEX alto.audit_log_tenant_ix;
CREATE UNIQUE INDEX audit_log_chain_ix ON alto.audit_log (tenant_id, chain_seq) NULLS NOT DISTINCT;
CREATE INDEX audit_log_time_ix ON alto.audit_log (tenant_id, at);

CREATE FUNCTION alto.audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    last record;
BEGIN
    -- One chain is extended by one transaction at a time (held until it commits or rolls back).
    PERFORM pg_advisory_xact_lock(1096041583, hashtext(coalesce(NEW.tenant_id::text, 'platform')));
    IF NEW.tenant_id IS NULL THEN
        SELECT chain_seq, hash INTO last FROM alto.audit_log WHERE tenant_id IS NULL ORDER BY chain_seq DESC LIMIT 1;
    ELSE
        SELECT chain_seq, hash INTO last FROM alto.audit_log WHERE tenant_id = NEW.tenant_id ORDER BY chain_seq DESC LIMIT 1;
    END IF;
    NEW.chain_seq := coalesce(last.chain_seq, 0) + 1;
    NEW.prev_hash := last.hash;
    NEW.hash := alto.audit_entry_hash(NEW.prev_hash, NEW.chain_seq, NEW.at, NEW.tenant_id, NEW.actor, NEW.action, NEW.object_type,
                                      NEW.object_id, NEW.outcome, NEW.host_id, NEW.path, NEW.origin, NEW.details);
    RETURN NEW;
END
$fn$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON alto.audit_log
    FOR EACH ROW EXECUTE FUNCTION alto.audit_log_chain();

-- Where each SIEM forwarder got to, per chain: it resumes there after any restart.
CREATE TABLE alto.audit_forward_cursor
(
    forwarder  text        NOT NULL,
    chain      text        NOT NULL,
    chain_seq  bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (forwarder, chain)
);
