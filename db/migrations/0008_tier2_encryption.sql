-- Tenants that encrypt their tier-2 objects (opt-in): each object under a data key of its own,
-- wrapped by the tenant key.
ALTER TABLE alto.tenant ADD COLUMN encrypt_tier2 boolean NOT NULL DEFAULT false;
