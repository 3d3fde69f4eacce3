-- Migration 0008: the mail outbox (lib/storage/outbox.ts, lib/mail/courier.ts).
--
-- A mail is written here in the same batch as the rows that cause it, so an acknowledged request's
-- mail is as durable as its rows; the courier sends it after the answer, retries it, and deletes
-- the row once a transport has accepted it. The body is sealed with DATA_KEY (lib/crypto/seal.ts):
-- a copy of the database holds no usable link.
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
