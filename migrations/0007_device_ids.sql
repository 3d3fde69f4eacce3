-- Migration 0007: devices get a public id, so that their owner can list and end them (GET /devices,
-- DELETE /devices/{id}) as they do sessions, and the time a login last presented them.
--
-- SQLite cannot add a NOT NULL UNIQUE column to a table with rows, so the table is rebuilt. Rows
-- that exist get a random id of the same length as a new one (22 characters; hex here, base64url
-- for devices issued later): ids are only names, never secrets, and need only be unique.
DROP INDEX devices_by_account;
DROP INDEX devices_by_expiry;
ALTER TABLE devices RENAME TO devices_before_ids;
CREATE TABLE devices (
  id           TEXT    NOT NULL UNIQUE CHECK (length(id) = 22),
  token_hash   TEXT    PRIMARY KEY CHECK (length(token_hash) = 64),
  account_id   TEXT    NOT NULL REFERENCES accounts (id) CHECK (length(account_id) = 36),
  failures     INTEGER NOT NULL CHECK (failures >= 0),
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  expires_at   INTEGER NOT NULL CHECK (expires_at > created_at)
) STRICT;
INSERT INTO devices (id, token_hash, account_id, failures, created_at, last_used_at, expires_at)
  SELECT substr(lower(hex(randomblob(11))), 1, 22), token_hash, account_id, failures, created_at, NULL, expires_at FROM devices_before_ids;
DROP TABLE devices_before_ids;
CREATE INDEX devices_by_account ON devices (account_id, created_at);
CREATE INDEX devices_by_expiry ON devices (expires_at);
