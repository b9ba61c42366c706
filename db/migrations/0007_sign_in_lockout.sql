-- Sign-in lockout: consecutive failed sign-ins of an account, and until when it is locked.
ALTER TABLE alto.app_user
    ADD COLUMN failed_sign_ins int NOT NULL DEFAULT 0,
    ADD COLUMN locked_until    timestamptz;

-- Signing a user out everywhere: tokens carry the version they were issued under, and raising
-- it makes every earlier token invalid.
ALTER TABLE alto.app_user ADD COLUMN session_version int NOT NULL DEFAULT 0;
