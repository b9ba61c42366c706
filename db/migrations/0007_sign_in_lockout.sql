-- Sign-in lockout: consecutive failed sign-ins of an account, and until when it is locked.
ALTER TABLE alto.app_user
    ADD COLUMN failed_sign_ins int NOT NULL DEFAULT 0,
    ADD COLUMN locked_until    timestamptz;
