-- Lockout per account and client address: wrong passwords from one address lock the account for
-- that address only, so nobody can lock every admin out from afar; each lockout in a row lasts
-- twice the one before (up to a day). A platform admin (or the server's break-glass command) clears them.
CREATE TABLE alto.sign_in_failure
(
    user_id      uuid        NOT NULL REFERENCES alto.app_user (id) ON DELETE CASCADE,
    address      text        NOT NULL,
    failures     int         NOT NULL DEFAULT 0,
    lockouts     int         NOT NULL DEFAULT 0,
    locked_until timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, address)
);

ALTER TABLE alto.app_user DROP COLUMN failed_sign_ins, DROP COLUMN locked_until;
