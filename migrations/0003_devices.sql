-- Devices where an account's owner logged in before (lib/devices.ts). A successful login hands
-- out a device token; a later login that presents it is charged to the device's own failure count
-- instead of the address's back-off, so an attacker who knows only the address cannot keep the
-- owner out. Only the SHA-256 of the token is kept.
CREATE TABLE devices (
  token_hash TEXT    PRIMARY KEY CHECK (length(token_hash) = 64),
  account_id TEXT    NOT NULL REFERENCES accounts (id) CHECK (length(account_id) = 36),
  -- Attempts made with this token since its last success; at DEVICE_MAX_FAILURES it is no longer trusted.
  failures   INTEGER NOT NULL CHECK (failures >= 0),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL CHECK (expires_at > created_at)
) STRICT;

CREATE INDEX devices_by_account ON devices (account_id, created_at);
CREATE INDEX devices_by_expiry ON devices (expires_at);
