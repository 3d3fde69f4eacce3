-- Migration 0001: the initial schema (same text as schema.sql at the time).

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
