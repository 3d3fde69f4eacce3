-- Migration 0009: a second factor (issue 26): authenticator codes (TOTP) and recovery codes
-- (lib/storage/mfa.ts, lib/flows/mfa-*.ts, docs/second-factor.md).
--
-- Whether a session was made with a second factor (GET /session shows it as session.mfa).
ALTER TABLE sessions ADD COLUMN mfa INTEGER NOT NULL DEFAULT 0 CHECK (mfa IN (0, 1));

-- One authenticator per account. The secret is sealed with DATA_KEY, bound to the account's id:
-- a copy of the database alone yields no usable secret. enabled_at is NULL while it is only set up.
CREATE TABLE mfa_totp (
  account_id    TEXT    PRIMARY KEY REFERENCES accounts (id) CHECK (length(account_id) = 36),
  secret_sealed TEXT    NOT NULL CHECK (secret_sealed LIKE 'v1.%'),
  created_at    INTEGER NOT NULL,
  enabled_at    INTEGER,
  -- The last time step whose code was accepted: no code of it, or of an earlier step, works again.
  last_step     INTEGER NOT NULL CHECK (last_step >= 0),
  -- The recovery codes that count: only the set named here (a new set replaces it in one write).
  recovery_set  TEXT    CHECK (length(recovery_set) = 22)
) STRICT;

-- Single-use recovery codes, only their SHA-256; a used code's row is deleted.
CREATE TABLE mfa_recovery_codes (
  code_hash  TEXT    PRIMARY KEY CHECK (length(code_hash) = 64),
  account_id TEXT    NOT NULL REFERENCES accounts (id) CHECK (length(account_id) = 36),
  set_id     TEXT    NOT NULL CHECK (length(set_id) = 22),
  created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX mfa_recovery_codes_by_account ON mfa_recovery_codes (account_id);

-- What a right password gives an account with TOTP on: a token `id.secret` (only the secret's
-- SHA-256 kept) that POST /login/mfa trades, with a code, for a session.
CREATE TABLE mfa_challenges (
  id              TEXT    PRIMARY KEY CHECK (length(id) = 22),
  secret_hash     TEXT    NOT NULL CHECK (length(secret_hash) = 64),
  account_id      TEXT    NOT NULL REFERENCES accounts (id) CHECK (length(account_id) = 36),
  -- SHA-256 of the password hash that was verified: a reset or change in between ends the challenge.
  password_digest TEXT    NOT NULL CHECK (length(password_digest) = 64),
  -- The device token presented with the password (its digest), which the login's new token replaces.
  device_hash     TEXT    NOT NULL CHECK (length(device_hash) = 64),
  via_device      INTEGER NOT NULL CHECK (via_device IN (0, 1)),
  client          TEXT    NOT NULL CHECK (length(client) BETWEEN 1 AND 64),
  -- Codes tried, charged before each is checked; at 5 the challenge is dead.
  attempts        INTEGER NOT NULL CHECK (attempts >= 0),
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL CHECK (expires_at > created_at),
  -- A random mark of the request that used it, so that the session's insert knows it won.
  used_by         TEXT
) STRICT;

CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_by_account ON mfa_challenges (account_id);
