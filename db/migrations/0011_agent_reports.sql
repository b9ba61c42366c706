-- Agents send job results and recall reports until the gateway acknowledges them, and again after
-- a reconnect: each tier object remembers the last report it applied (report ids are the agent's
-- message ids, scoped by the host the object belongs to), so a report sent twice is applied once.
ALTER TABLE alto.tier_object ADD COLUMN last_report_id text;
