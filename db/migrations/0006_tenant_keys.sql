-- Per-tenant keys of the local keyring: every version of a tenant's AES-256 key, wrapped
-- (AES-GCM) by the installation's master key, which is never stored here. Old versions stay so
-- that what was encrypted before a rotation still decrypts.
CREATE TABLE alto.tenant_key
(
    tenant_id   uuid        NOT NULL REFERENCES alto.tenant (id),
    version     int         NOT NULL CHECK (version >= 1),
    wrapped_key bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, version)
);
