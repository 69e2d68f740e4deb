-- 001_accounts.sql - users, SIP credentials, groups, invites, one-time tokens,
-- portal sessions.
--
-- The contract with users is "What we store" (shared/seeds/004_...txt): every
-- column here is listed, with its purpose and retention, in sql/privacy.tsv, and a
-- unit test fails when the two differ. Nothing here records calls, IP addresses,
-- user agents, devices, presence or location.
--
-- Rules live in SQL wherever SQL can hold them (CHECKs, foreign keys, unique
-- indexes, triggers), so that a bug in core/ or a hand-edited database cannot
-- break them. core/ checks the same rules first to give each refusal its own
-- reason; the triggers are the last line.
--
-- All tables are STRICT. Timestamps are unix seconds (INTEGER). Secrets handed
-- to users (session ids, invite/email/provisioning tokens) are stored only as
-- their SHA-256 (32-byte BLOB).
--
-- Applied by store/ inside a transaction; no BEGIN/COMMIT or user_version here.

-- ------------------------------------------------------------------ users
-- email: normalised by core (trimmed, domain lower-cased); compared without
--   regard to ASCII case (COLLATE NOCASE), so Marina@x and marina@x are one account.
-- nickname: 6-12 letters, stored lower-case; dial_code is computed from it on
--   every read (VIRTUAL: never written to disk, never indexed).
-- locked_until: end of a temporary login lockout, NULL when not locked.
-- Whether the email is verified is not a column: an account is unverified
-- while it has a 'verify' row in email_tokens.
CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL COLLATE NOCASE
                    CHECK (length(email) BETWEEN 3 AND 254
                           AND instr(email, '@') > 1
                           AND email NOT GLOB ('*[' || char(9, 10, 13, 32) || ']*')),
    password_hash   TEXT    NOT NULL
                    CHECK (length(password_hash) = 60
                           AND substr(password_hash, 1, 4) IN ('$2a$', '$2b$', '$2y$')),
    nickname        TEXT    NOT NULL
                    CHECK (length(nickname) BETWEEN 6 AND 12
                           AND nickname NOT GLOB '*[^a-z]*'),
    dial_code       TEXT    GENERATED ALWAYS AS (
        replace(replace(replace(replace(replace(replace(replace(replace(replace(
        replace(replace(replace(replace(replace(replace(replace(replace(replace(
        replace(replace(replace(replace(replace(replace(replace(replace(nickname,
        'a', '2'), 'b', '2'), 'c', '2'), 'd', '3'), 'e', '3'), 'f', '3'),
        'g', '4'), 'h', '4'), 'i', '4'), 'j', '5'), 'k', '5'), 'l', '5'),
        'm', '6'), 'n', '6'), 'o', '6'), 'p', '7'), 'q', '7'), 'r', '7'), 's', '7'),
        't', '8'), 'u', '8'), 'v', '8'), 'w', '9'), 'x', '9'), 'y', '9'), 'z', '9')
    ) VIRTUAL,
    created         INTEGER NOT NULL CHECK (created >= 0),
    failed_logins   INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins BETWEEN 0 AND 1000),
    locked_until    INTEGER CHECK (locked_until IS NULL OR locked_until >= 0),
    active_group_id INTEGER REFERENCES groups(id) ON DELETE SET NULL
) STRICT;

CREATE UNIQUE INDEX users_email ON users(email);
CREATE INDEX users_active_group ON users(active_group_id) WHERE active_group_id IS NOT NULL;

-- ---------------------------------------------------------- SIP credentials
-- One per user. username is random; password_enc is the AES-256-GCM secret box
-- (crypto/secretbox) of the random SIP password under the server key, which is
-- not in the database; ha1 = MD5(username:realm:password), raw 16 bytes.
CREATE TABLE sip_credentials (
    user_id         INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    username        TEXT    NOT NULL UNIQUE
                    CHECK (length(username) BETWEEN 8 AND 64
                           AND username NOT GLOB '*[^a-z0-9]*'),
    password_enc    BLOB    NOT NULL CHECK (length(password_enc) BETWEEN 30 AND 256),
    ha1             BLOB    NOT NULL CHECK (length(ha1) = 16)
) STRICT;

-- ----------------------------------------------------------------- groups
-- The slug is derived from the name at creation and never changes (URLs stay
-- valid across renames).
CREATE TABLE groups (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL
                    CHECK (length(name) BETWEEN 1 AND 64
                           AND name NOT GLOB ('*[' || char(1, 9, 10, 13, 127) || ']*')),
    slug            TEXT    NOT NULL UNIQUE
                    CHECK (length(slug) BETWEEN 1 AND 40
                           AND slug NOT GLOB '*[^a-z0-9-]*'
                           AND slug NOT GLOB '-*' AND slug NOT GLOB '*-'),
    member_cap      INTEGER NOT NULL CHECK (member_cap BETWEEN 1 AND 1000)
) STRICT;

CREATE TABLE memberships (
    group_id        INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            TEXT    NOT NULL CHECK (role IN ('owner', 'member')),
    joined          INTEGER NOT NULL CHECK (joined >= 0),
    PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX memberships_user ON memberships(user_id);
-- At most one owner per group (core keeps it at exactly one).
CREATE UNIQUE INDEX memberships_one_owner ON memberships(group_id) WHERE role = 'owner';

CREATE TABLE bans (
    group_id        INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX bans_user ON bans(user_id);

-- Append-only: see the triggers below. actor/target become NULL when that user
-- deletes their account; the whole log goes with its group.
CREATE TABLE group_events (
    id              INTEGER PRIMARY KEY,
    group_id        INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    type            TEXT    NOT NULL CHECK (type IN (
                        'join', 'leave', 'kick', 'ban', 'unban',
                        'invite_create', 'invite_redeem', 'invite_revoke', 'invite_resend',
                        'nickname_change', 'ownership_transfer', 'member_cap_change')),
    at              INTEGER NOT NULL CHECK (at >= 0),
    actor_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    target_id       INTEGER REFERENCES users(id) ON DELETE SET NULL
) STRICT;

CREATE INDEX group_events_group ON group_events(group_id, id);
CREATE INDEX group_events_actor ON group_events(actor_id);
CREATE INDEX group_events_target ON group_events(target_id);

-- ---------------------------------------------------------------- invites
-- token_hash = SHA-256 of the token in the invite URL. An invite addressed to
-- one email is single-use.
CREATE TABLE invites (
    id              INTEGER PRIMARY KEY,
    group_id        INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    token_hash      BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    email           TEXT    COLLATE NOCASE
                    CHECK (email IS NULL OR (length(email) BETWEEN 3 AND 254
                                             AND instr(email, '@') > 1)),
    uses            INTEGER NOT NULL DEFAULT 0,
    max_uses        INTEGER NOT NULL CHECK (max_uses BETWEEN 1 AND 1000),
    expires         INTEGER NOT NULL CHECK (expires >= 0),
    revoked         INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
    CHECK (uses BETWEEN 0 AND max_uses),
    CHECK (email IS NULL OR max_uses = 1)
) STRICT;

CREATE INDEX invites_group ON invites(group_id);

-- ------------------------------------------------------- one-time tokens
-- Email tokens: 'verify' (24 h) and 'reset' (1 h), at most one of each per
-- user; deleted when used. A 'verify' row stays (even expired) until the
-- address is verified, because it is what marks the account unverified.
CREATE TABLE email_tokens (
    token_hash      BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose         TEXT    NOT NULL CHECK (purpose IN ('verify', 'reset')),
    expires         INTEGER NOT NULL CHECK (expires >= 0),
    UNIQUE (user_id, purpose)
) STRICT, WITHOUT ROWID;

-- Phone provisioning: one use, short expiry.
CREATE TABLE provision_tokens (
    token_hash      BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires         INTEGER NOT NULL CHECK (expires >= 0)
) STRICT, WITHOUT ROWID;

CREATE INDEX provision_tokens_user ON provision_tokens(user_id);

-- --------------------------------------------------------------- sessions
-- id_hash = SHA-256 of the opaque cookie value. last_active is kept to the
-- day (core rounds it down to midnight UTC) so that it cannot serve as a
-- presence record; 30 days without activity end the session.
CREATE TABLE sessions (
    id_hash         BLOB    PRIMARY KEY CHECK (length(id_hash) = 32),
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf            TEXT    NOT NULL CHECK (length(csrf) BETWEEN 32 AND 64),
    last_active     INTEGER NOT NULL CHECK (last_active >= 0 AND last_active % 86400 = 0)
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_user ON sessions(user_id);

-- --------------------------------------------------------------- triggers

-- The active group must be one of the user's groups, and is cleared when the
-- user leaves it.
CREATE TRIGGER users_active_group_insert BEFORE INSERT ON users
WHEN NEW.active_group_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'active group: not a member');
END;

CREATE TRIGGER users_active_group_update BEFORE UPDATE OF active_group_id ON users
WHEN NEW.active_group_id IS NOT NULL
 AND NOT EXISTS (SELECT 1 FROM memberships
                 WHERE group_id = NEW.active_group_id AND user_id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'active group: not a member');
END;

CREATE TRIGGER memberships_clear_active AFTER DELETE ON memberships
BEGIN
    UPDATE users SET active_group_id = NULL
     WHERE id = OLD.user_id AND active_group_id = OLD.group_id;
END;

-- A user who owns a group cannot be deleted: core deletes the owned groups
-- first, so a group is never left without an owner.
CREATE TRIGGER users_delete_owner BEFORE DELETE ON users
WHEN EXISTS (SELECT 1 FROM memberships WHERE user_id = OLD.id AND role = 'owner')
BEGIN
    SELECT RAISE(ABORT, 'user owns a group');
END;

-- Dial codes are unique inside a group, so a new nickname may not collide
-- with anyone in any of the user's groups. AFTER: the row holds the new code.
CREATE TRIGGER users_nickname_collision AFTER UPDATE OF nickname ON users
WHEN EXISTS (SELECT 1 FROM memberships a
               JOIN memberships b ON b.group_id = a.group_id AND b.user_id <> a.user_id
               JOIN users o ON o.id = b.user_id
              WHERE a.user_id = NEW.id AND o.dial_code = NEW.dial_code)
BEGIN
    SELECT RAISE(ABORT, 'dial code collision');
END;

-- Joining: not when banned, not beyond the cap, not with a dial code that is
-- already taken in the group.
CREATE TRIGGER memberships_insert_check BEFORE INSERT ON memberships
BEGIN
    SELECT RAISE(ABORT, 'banned')
     WHERE EXISTS (SELECT 1 FROM bans
                    WHERE group_id = NEW.group_id AND user_id = NEW.user_id);
    SELECT RAISE(ABORT, 'group full')
     WHERE (SELECT count(*) FROM memberships WHERE group_id = NEW.group_id)
           >= (SELECT member_cap FROM groups WHERE id = NEW.group_id);
    SELECT RAISE(ABORT, 'dial code collision')
     WHERE EXISTS (SELECT 1 FROM memberships m JOIN users o ON o.id = m.user_id
                    WHERE m.group_id = NEW.group_id AND m.user_id <> NEW.user_id
                      AND o.dial_code = (SELECT dial_code FROM users WHERE id = NEW.user_id));
END;

CREATE TRIGGER memberships_move BEFORE UPDATE OF group_id, user_id ON memberships
BEGIN
    SELECT RAISE(ABORT, 'memberships: leave and join instead');
END;

-- The owner leaves only by transferring ownership or deleting the group (or
-- the cascade of their own account deletion, after core deleted their groups).
CREATE TRIGGER memberships_keep_owner BEFORE DELETE ON memberships
WHEN OLD.role = 'owner'
 AND EXISTS (SELECT 1 FROM groups WHERE id = OLD.group_id)
 AND EXISTS (SELECT 1 FROM users WHERE id = OLD.user_id)
BEGIN
    SELECT RAISE(ABORT, 'owner must transfer ownership or delete the group');
END;

CREATE TRIGGER bans_insert_check BEFORE INSERT ON bans
BEGIN
    SELECT RAISE(ABORT, 'cannot ban the owner')
     WHERE EXISTS (SELECT 1 FROM memberships
                    WHERE group_id = NEW.group_id AND user_id = NEW.user_id
                      AND role = 'owner');
END;

-- A banned user is never a member.
CREATE TRIGGER bans_remove_member AFTER INSERT ON bans
BEGIN
    DELETE FROM memberships WHERE group_id = NEW.group_id AND user_id = NEW.user_id;
END;

CREATE TRIGGER groups_cap_check BEFORE UPDATE OF member_cap ON groups
WHEN NEW.member_cap < (SELECT count(*) FROM memberships WHERE group_id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'member cap below member count');
END;

CREATE TRIGGER groups_slug_fixed BEFORE UPDATE OF slug ON groups
WHEN NEW.slug IS NOT OLD.slug
BEGIN
    SELECT RAISE(ABORT, 'slug cannot change');
END;

CREATE TRIGGER invites_revoke_final BEFORE UPDATE OF revoked ON invites
WHEN OLD.revoked = 1 AND NEW.revoked = 0
BEGIN
    SELECT RAISE(ABORT, 'a revoked invite stays revoked');
END;

-- The event log is append-only. The only changes allowed are the ones the
-- foreign keys make: actor/target set to NULL once that user row is gone
-- (account deletion), and every entry deleted once its group row is gone
-- (group deletion; SQLite runs the cascade after removing the parent row).
CREATE TRIGGER group_events_no_update BEFORE UPDATE ON group_events
WHEN NOT (NEW.id IS OLD.id AND NEW.group_id IS OLD.group_id
          AND NEW.type IS OLD.type AND NEW.at IS OLD.at
          AND (NEW.actor_id IS OLD.actor_id
               OR (NEW.actor_id IS NULL
                   AND NOT EXISTS (SELECT 1 FROM users WHERE id = OLD.actor_id)))
          AND (NEW.target_id IS OLD.target_id
               OR (NEW.target_id IS NULL
                   AND NOT EXISTS (SELECT 1 FROM users WHERE id = OLD.target_id))))
BEGIN
    SELECT RAISE(ABORT, 'group_events is append-only');
END;

CREATE TRIGGER group_events_no_delete BEFORE DELETE ON group_events
WHEN EXISTS (SELECT 1 FROM groups WHERE id = OLD.group_id)
BEGIN
    SELECT RAISE(ABORT, 'group_events is append-only');
END;
