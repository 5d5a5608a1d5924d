-- Venue registrations (R10-R12). A registration is one submission by a venue: one place, or
-- several places of one operator at once. Each place is a row of `venues` with its own
-- stable location id and printed code. Rows are never edited; withdrawal only sets
-- `withdrawn_at_ms`, once.

CREATE TABLE registrations (
    id                 INTEGER PRIMARY KEY,
    manage_token_hash  BLOB    NOT NULL UNIQUE CHECK (length(manage_token_hash) = 32),
    created_at_ms      INTEGER NOT NULL
) STRICT;

CREATE TABLE venues (
    location_id      TEXT    PRIMARY KEY,
    code             TEXT    NOT NULL UNIQUE,
    registration_id  INTEGER NOT NULL REFERENCES registrations (id),
    position         INTEGER NOT NULL,
    business_type    TEXT    NOT NULL,
    daily_visitors   INTEGER NOT NULL CHECK (daily_visitors > 0),
    name             TEXT    NOT NULL,
    postal_code      TEXT    NOT NULL CHECK (length(postal_code) = 7),
    address          TEXT    NOT NULL,
    phone            TEXT    NOT NULL,
    email            TEXT    NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    withdrawn_at_ms  INTEGER,
    UNIQUE (registration_id, position)
) STRICT;

-- Refuse edits of everything but the one-time withdrawal (R11), even from a future bug.
CREATE TRIGGER venues_are_never_edited
BEFORE UPDATE ON venues
WHEN NEW.location_id IS NOT OLD.location_id OR NEW.code IS NOT OLD.code
  OR NEW.registration_id IS NOT OLD.registration_id OR NEW.position IS NOT OLD.position
  OR NEW.business_type IS NOT OLD.business_type OR NEW.daily_visitors IS NOT OLD.daily_visitors
  OR NEW.name IS NOT OLD.name OR NEW.postal_code IS NOT OLD.postal_code
  OR NEW.address IS NOT OLD.address OR NEW.phone IS NOT OLD.phone OR NEW.email IS NOT OLD.email
  OR NEW.created_at_ms IS NOT OLD.created_at_ms OR OLD.withdrawn_at_ms IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'venue registrations are never edited');
END;
