-- Migration 0006: the purge asks the session policy of the moment, as every read does.
--
-- sessions.expires_at was the sooner of the two expiries under the policy in force at the row's
-- last write; the purge deleted by it, so raising SESSION_IDLE_SECONDS made it delete sessions that
-- a request still accepted. The purge now deletes by last_seen_at and created_at against the
-- current SESSION_IDLE_SECONDS and SESSION_MAX_SECONDS (lib/storage/purge.ts), and nothing reads the
-- column any more. Each term of the purge's ORs has its own index, so it scans no table.
-- Deploying on Workers: apply this migration and deploy the code that no longer writes the column
-- one right after the other: in between, logins (and the hourly "last seen" writes) fail.
DROP INDEX sessions_by_expiry;
ALTER TABLE sessions DROP COLUMN expires_at;
CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);
CREATE INDEX sessions_by_created ON sessions (created_at);
-- The reset links' purge scanned the table: used_at was only the second column of
-- password_resets_by_account.
CREATE INDEX password_resets_by_used ON password_resets (used_at) WHERE used_at IS NOT NULL;
