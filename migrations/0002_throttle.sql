-- Throttle counters (lib/throttle.ts) live in the database so that they hold across Workers
-- isolates and restarts. One row per key: "client:<endpoint>:<address>", "mail:<address>",
-- "login:<address>". Times are milliseconds since the Unix epoch, bound by the application.
CREATE TABLE throttle (
  key        TEXT    PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 320),
  hits       INTEGER NOT NULL CHECK (hits >= 1),
  -- Back-off rows: no counted attempt before this time. Window rows: 0.
  wait_until INTEGER NOT NULL,
  -- The window ends, or the back-off is forgotten, at this time; purge deletes the row after it.
  forget_at  INTEGER NOT NULL CHECK (forget_at >= wait_until)
) STRICT;

CREATE INDEX throttle_by_expiry ON throttle (forget_at);

-- lib/purge.ts deletes consumed registrations some time after their address was activated.
CREATE INDEX registrations_by_consumed ON registrations (consumed_at) WHERE consumed_at IS NOT NULL;
