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
