-- Latchkey's full current schema. migrations/ builds exactly this (tests/schema.test.ts checks).
-- Times are milliseconds since the Unix epoch, bound by the application (never SQL's clock), so
-- that a replayed write produces the same row.

-- An account exists only once its owner has activated it.
CREATE TABLE accounts (
  id            TEXT    PRIMARY KEY CHECK (length(id) = 36),
  email         TEXT    NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  email_key     TEXT    NOT NULL UNIQUE CHECK (length(email_key) BETWEEN 3 AND 254),
  password_hash TEXT    NOT NULL CHECK (password_hash LIKE '$scrypt$%'),
  created_at    INTEGER NOT NULL,
  activated_at  INTEGER NOT NULL CHECK (activated_at >= created_at)
) STRICT;

-- Each registration request is its own row with its own password and link, so the link that a
-- person clicks activates the password that person typed. Only the SHA-256 of the token is kept.
CREATE TABLE registrations (
  token_hash    TEXT    PRIMARY KEY CHECK (length(token_hash) = 64),
  email         TEXT    NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  email_key     TEXT    NOT NULL CHECK (length(email_key) BETWEEN 3 AND 254),
  password_hash TEXT    NOT NULL CHECK (password_hash LIKE '$scrypt$%'),
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL CHECK (expires_at > created_at),
  -- Set once the address has an account: by this link, or by another one that won.
  consumed_at   INTEGER
) STRICT;

CREATE INDEX registrations_by_email ON registrations (email_key, created_at);
CREATE INDEX registrations_by_expiry ON registrations (expires_at);

-- Throttle counters (lib/storage/throttle.ts) live in the database so that they hold across Workers
-- isolates and restarts. One row per key: "client:<endpoint>:<address>", "mail:<address>",
-- "mail:<address>:from:<client>", "login:<address>".
CREATE TABLE throttle (
  key        TEXT    PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 320),
  hits       INTEGER NOT NULL CHECK (hits >= 1),
  -- Back-off rows: no counted attempt before this time. Window rows: 0.
  wait_until INTEGER NOT NULL,
  -- The window ends, or the back-off is forgotten, at this time; purge deletes the row after it.
  forget_at  INTEGER NOT NULL CHECK (forget_at >= wait_until)
) STRICT;

CREATE INDEX throttle_by_expiry ON throttle (forget_at);

-- lib/storage/purge.ts deletes consumed registrations some time after their address was activated.
CREATE INDEX registrations_by_consumed ON registrations (consumed_at) WHERE consumed_at IS NOT NULL;

-- Devices where an account's owner logged in before (lib/storage/devices.ts). A successful login hands
-- out a device token; a later login that presents it is charged to the device's own failure count
-- instead of the address's back-off, so an attacker who knows only the address cannot keep the
-- owner out. Only the SHA-256 of the token is kept.
-- Each device has a public id (not its token) by which its owner lists and ends it; a success
-- replaces the token and keeps the id. A reset or a password change deletes the account's devices.
CREATE TABLE devices (
  id           TEXT    NOT NULL UNIQUE CHECK (length(id) = 22),
  token_hash   TEXT    PRIMARY KEY CHECK (length(token_hash) = 64),
  account_id   TEXT    NOT NULL REFERENCES accounts (id) CHECK (length(account_id) = 36),
  -- Failed attempts with this token since its last success; when the account's tokens together
  -- reach DEVICE_MAX_FAILURES, none of them is trusted.
  failures     INTEGER NOT NULL CHECK (failures >= 0),
  created_at   INTEGER NOT NULL,
  -- When a login last presented the token (NULL: not since it was issued).
  last_used_at INTEGER,
  expires_at   INTEGER NOT NULL CHECK (expires_at > created_at)
) STRICT;

CREATE INDEX devices_by_account ON devices (account_id, created_at);
CREATE INDEX devices_by_expiry ON devices (expires_at);

-- Password reset links (lib/storage/resets.ts), issued by POST /forgot-password for an active
-- account. Only the SHA-256 of the token is kept. A link works once and until expires_at; the
-- reset that uses one retires every other outstanding link of the account with it.
CREATE TABLE password_resets (
  token_hash TEXT    PRIMARY KEY CHECK (length(token_hash) = 64),
  account_id TEXT    NOT NULL REFERENCES accounts (id) CHECK (length(account_id) = 36),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL CHECK (expires_at > created_at),
  -- Set when a reset of the account used this link or another one of its links.
  used_at    INTEGER
) STRICT;

CREATE INDEX password_resets_by_account ON password_resets (account_id, used_at);
CREATE INDEX password_resets_by_expiry ON password_resets (expires_at);
-- lib/storage/purge.ts deletes used links some time after their use.
CREATE INDEX password_resets_by_used ON password_resets (used_at) WHERE used_at IS NOT NULL;
-- Sessions (lib/storage/sessions.ts): what a successful login gives the app. The token is
-- "id.secret"; the row is found by id and only the SHA-256 of the secret is kept. Both expiries are
-- enforced from the settings of the moment (SESSION_IDLE_SECONDS, SESSION_MAX_SECONDS), when a
-- session is read and when the purge deletes it, so no expiry is stored. An ended session keeps its
-- row, marked revoked, for PURGE_GRACE_SECONDS, so that a use of it can be told from a use of a
-- token never issued.
CREATE TABLE sessions (
  id           TEXT    PRIMARY KEY CHECK (length(id) = 22),
  secret_hash  TEXT    NOT NULL CHECK (length(secret_hash) = 64),
  account_id   TEXT    NOT NULL REFERENCES accounts (id) CHECK (length(account_id) = 36),
  -- The client address the login came from (lib/http/client-address.ts).
  client       TEXT    NOT NULL CHECK (length(client) BETWEEN 1 AND 64),
  created_at   INTEGER NOT NULL,
  -- Moved forward at most once an hour, by the first request after the hour.
  last_seen_at INTEGER NOT NULL CHECK (last_seen_at >= created_at),
  revoked_at   INTEGER
  -- Whether the login gave a second factor (added by migration 0009, so it comes last).
, mfa INTEGER NOT NULL DEFAULT 0 CHECK (mfa IN (0, 1))) STRICT;

CREATE INDEX sessions_by_account ON sessions (account_id, created_at);
-- lib/storage/purge.ts: one index per term of its OR (idle, absolute, revoked), so it scans nothing.
CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);
CREATE INDEX sessions_by_created ON sessions (created_at);
CREATE INDEX sessions_by_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- The mail outbox (lib/storage/outbox.ts): each mail is written in the same batch as the rows that
-- cause it, sent after the answer, retried, and deleted once a transport has accepted it. The body
-- is sealed with DATA_KEY (lib/crypto/seal.ts), so a copy of the database holds no usable link.
CREATE TABLE mail_outbox (
  id              TEXT    PRIMARY KEY CHECK (length(id) = 36),
  template        TEXT    NOT NULL CHECK (length(template) BETWEEN 1 AND 40),
  -- The recipient's domain only: what the events name instead of the address.
  domain          TEXT    NOT NULL CHECK (length(domain) BETWEEN 1 AND 255),
  sealed          TEXT    NOT NULL CHECK (sealed LIKE 'v1.%'),
  created_at      INTEGER NOT NULL,
  -- Sends tried so far, including one under way.
  attempts        INTEGER NOT NULL CHECK (attempts >= 0),
  -- Due at this time; a courier that claims the row moves it past its send's time limit.
  next_attempt_at INTEGER NOT NULL,
  -- After this the mail is no use (its link has expired): given up instead of retried.
  give_up_at      INTEGER NOT NULL CHECK (give_up_at > created_at)
) STRICT;

CREATE INDEX mail_outbox_by_due ON mail_outbox (next_attempt_at);
-- Changes of address (lib/storage/email-changes.ts, lib/flows/change-email.ts). A row is one
-- request: the link mailed to the new address (only the SHA-256 of its token), then, once that
-- link is used, the undo link mailed to the old address (again only its SHA-256). While an undo
-- link works, the old address stays reserved: no registration, and no other account, may take it.
CREATE TABLE email_changes (
  token_hash      TEXT    PRIMARY KEY CHECK (length(token_hash) = 64),
  account_id      TEXT    NOT NULL REFERENCES accounts (id) CHECK (length(account_id) = 36),
  -- The session that asked: it is the one the confirmation leaves live.
  session_id      TEXT    NOT NULL CHECK (length(session_id) = 22),
  old_email       TEXT    NOT NULL CHECK (length(old_email) BETWEEN 3 AND 320),
  old_email_key   TEXT    NOT NULL CHECK (length(old_email_key) BETWEEN 3 AND 254),
  new_email       TEXT    NOT NULL CHECK (length(new_email) BETWEEN 3 AND 320),
  new_email_key   TEXT    NOT NULL CHECK (length(new_email_key) BETWEEN 3 AND 254),
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL CHECK (expires_at > created_at),
  -- Set when this link confirmed the change, or when another change, an undo, a reset or a new
  -- password retired it.
  used_at         INTEGER,
  -- Set by the confirmation: the undo link's digest and its end.
  undo_hash       TEXT    UNIQUE CHECK (length(undo_hash) = 64),
  undo_expires_at INTEGER,
  -- Set when the undo link was used, or retired by an undo of another change of the account.
  undone_at       INTEGER,
  -- A random mark of the one undo that used this row, so that the rest of its batch can tell it won.
  undone_by       TEXT    CHECK (length(undone_by) = 64)
) STRICT;

CREATE INDEX email_changes_by_account ON email_changes (account_id, used_at);
-- lib/storage/purge.ts deletes a row once its link, and its undo window if it has one, are over.
CREATE INDEX email_changes_by_expiry ON email_changes (expires_at);
-- The reservation of an old address during its undo window.
CREATE INDEX email_changes_by_old_address ON email_changes (old_email_key, undo_expires_at) WHERE undo_hash IS NOT NULL AND undone_at IS NULL;

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
