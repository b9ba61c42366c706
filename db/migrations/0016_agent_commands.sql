-- Commands waiting for a host's agent (scans, recalls with up to 2,000 paths each) live in rows:
-- queued and acknowledged one at a time, never rewritten as a whole with the host grain's state.
CREATE TABLE alto.agent_command
(
    seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id        text        NOT NULL UNIQUE,
    host_id   uuid        NOT NULL,
    kind      text        NOT NULL CHECK (kind IN ('scan', 'recall')),
    paths     text[]      NOT NULL,
    format    text        NOT NULL,
    issued_at timestamptz NOT NULL
);

CREATE INDEX agent_command_host_ix ON alto.agent_command (host_id, seq);
