-- 004_expiry_indexes.sql - the loop asks every second when the next row
-- falls due (core_maint_next_expiry) and purges at that second; these
-- indexes make each of its minimums one index lookup instead of a scan.
-- They hold nothing new: each orders a column that is already stored.

CREATE INDEX email_tokens_expiry ON email_tokens(purpose, expires);
CREATE INDEX provision_tokens_expiry ON provision_tokens(expires);
CREATE INDEX invites_expiry ON invites(expires);
CREATE INDEX sessions_last_active ON sessions(last_active);
CREATE INDEX users_locked_until ON users(locked_until) WHERE locked_until IS NOT NULL;
