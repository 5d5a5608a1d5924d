-- Residents and their visits (R1-R6). A resident is a LINE user who added the official
-- account. Nothing is a visit before consent (R3): scans made before it wait in
-- pending_scans, which expire. Deleting a resident deletes everything of theirs.

CREATE TABLE residents (
    id               INTEGER PRIMARY KEY,
    line_user_id     TEXT    NOT NULL UNIQUE,
    created_at_ms    INTEGER NOT NULL,
    consent_terms    TEXT,
    consented_at_ms  INTEGER,
    blocked_at_ms    INTEGER,
    CHECK ((consent_terms IS NULL) = (consented_at_ms IS NULL))
) STRICT;

CREATE TABLE pending_scans (
    id             INTEGER PRIMARY KEY,
    resident_id    INTEGER NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    location_id    TEXT    NOT NULL REFERENCES venues (location_id),
    scanned_at_ms  INTEGER NOT NULL,
    expires_at_ms  INTEGER NOT NULL
) STRICT;
CREATE INDEX pending_scans_by_resident ON pending_scans (resident_id, scanned_at_ms);

CREATE TABLE visits (
    id             INTEGER PRIMARY KEY,
    resident_id    INTEGER NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    location_id    TEXT    NOT NULL REFERENCES venues (location_id),
    scanned_at_ms  INTEGER NOT NULL,
    recorded_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX visits_by_location_time ON visits (location_id, scanned_at_ms);
CREATE INDEX visits_by_resident_time ON visits (resident_id, scanned_at_ms);

-- Webhook events already processed, so a redelivered or duplicated event changes nothing.
-- Holds no personal data; rows older than a few days are purged.
CREATE TABLE webhook_events (
    webhook_event_id  TEXT    PRIMARY KEY,
    received_at_ms    INTEGER NOT NULL
) STRICT;
