-- 002_group_log.sql - the group log forgets former members, every stored
-- time of the log and of memberships is a day, and INSERT OR REPLACE can
-- rewrite neither the log nor a group's owner.
--
-- "Entries are stored only for groups you belong to": once someone leaves,
-- is kicked or is banned, every entry of that group's log that named them
-- names nobody (the portal shows "a former member"); the entry stays. core
-- writes entries that way and clears the old ones (core/groups.c); the
-- update trigger below allows exactly that change and no other.
--
-- "We do not track when you are active": group_events.at and
-- memberships.joined are kept to the day (midnight UTC), as
-- sessions.last_active is. Existing rows are rounded here.

DROP TRIGGER group_events_no_update;

UPDATE group_events SET at = at - at % 86400 WHERE at % 86400 <> 0;
UPDATE memberships SET joined = joined - joined % 86400 WHERE joined % 86400 <> 0;

UPDATE group_events SET actor_id = NULL
 WHERE actor_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM memberships m
                    WHERE m.group_id = group_events.group_id AND m.user_id = group_events.actor_id);
UPDATE group_events SET target_id = NULL
 WHERE target_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM memberships m
                    WHERE m.group_id = group_events.group_id AND m.user_id = group_events.target_id);

-- Append-only, except that actor/target become NULL once that person is
-- no longer in the group (left, kicked, banned, or deleted the account:
-- the user row may already be gone while its memberships cascade).
CREATE TRIGGER group_events_no_update BEFORE UPDATE ON group_events
WHEN NOT (NEW.id IS OLD.id AND NEW.group_id IS OLD.group_id
          AND NEW.type IS OLD.type AND NEW.at IS OLD.at
          AND (NEW.actor_id IS OLD.actor_id
               OR (NEW.actor_id IS NULL
                   AND (NOT EXISTS (SELECT 1 FROM users WHERE id = OLD.actor_id)
                        OR NOT EXISTS (SELECT 1 FROM memberships
                                        WHERE group_id = OLD.group_id
                                          AND user_id = OLD.actor_id))))
          AND (NEW.target_id IS OLD.target_id
               OR (NEW.target_id IS NULL
                   AND (NOT EXISTS (SELECT 1 FROM users WHERE id = OLD.target_id)
                        OR NOT EXISTS (SELECT 1 FROM memberships
                                        WHERE group_id = OLD.group_id
                                          AND user_id = OLD.target_id)))))
BEGIN
    SELECT RAISE(ABORT, 'group_events is append-only');
END;

-- INSERT OR REPLACE with an existing id would delete the old entry without
-- its DELETE trigger unless recursive_triggers is on (store/db.c sets it;
-- a hand-opened sqlite3 shell does not), so an insert may never name an
-- existing id. New entries are kept to the day.
CREATE TRIGGER group_events_insert_check BEFORE INSERT ON group_events
BEGIN
    SELECT RAISE(ABORT, 'group_events is append-only')
     WHERE NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM group_events WHERE id = NEW.id);
    SELECT RAISE(ABORT, 'times are kept to the day') WHERE NEW.at % 86400 <> 0;
END;

-- The same for memberships: a REPLACE of an existing membership, or of the
-- owner's row through the one-owner index, would remove the owner without
-- memberships_keep_owner.
CREATE TRIGGER memberships_insert_guard BEFORE INSERT ON memberships
BEGIN
    SELECT RAISE(ABORT, 'already a member')
     WHERE EXISTS (SELECT 1 FROM memberships
                    WHERE group_id = NEW.group_id AND user_id = NEW.user_id);
    SELECT RAISE(ABORT, 'owner must transfer ownership or delete the group')
     WHERE NEW.role = 'owner'
       AND EXISTS (SELECT 1 FROM memberships WHERE group_id = NEW.group_id AND role = 'owner');
    SELECT RAISE(ABORT, 'times are kept to the day') WHERE NEW.joined % 86400 <> 0;
END;

CREATE TRIGGER memberships_joined_day BEFORE UPDATE OF joined ON memberships
WHEN NEW.joined % 86400 <> 0
BEGIN
    SELECT RAISE(ABORT, 'times are kept to the day');
END;
