-- Sessions (lib/storage/sessions.ts): what a successful login gives the app. The token is
-- "id.secret"; the row is found by id and only the SHA-256 of the secret is kept. Both expiries are
-- enforced when a session is read (SESSION_IDLE_SECONDS, SESSION_MAX_SECONDS); expires_at is the
-- sooner of the two as of the last write, for the purge. An ended session keeps its row, marked
-- revoked, until the purge, so that a use of it can be told from a use of a token never issued.
CREATE TABLE sessions (
  id           TEXT    PRIMARY KEY CHECK (length(id) = 22),
  secret_hash  TEXT    NOT NULL CHECK (length(secret_hash) = 64),
  account_id   TEXT    NOT NULL REFERENCES accounts (id) CHECK (length(account_id) = 36),
  -- The client address the login came from (lib/http/client-address.ts).
  client       TEXT    NOT NULL CHECK (length(client) BETWEEN 1 AND 64),
  created_at   INTEGER NOT NULL,
  -- Moved forward at most once an hour, by the first request after the hour.
  last_seen_at INTEGER NOT NULL CHECK (last_seen_at >= created_at),
  expires_at   INTEGER NOT NULL CHECK (expires_at > created_at),
  revoked_at   INTEGER
) STRICT;

CREATE INDEX sessions_by_account ON sessions (account_id, created_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
