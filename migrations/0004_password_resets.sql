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
