-- Cases, exposures and the alert outbox (issue 6). A case names no patient: an internal
-- reference, the places and times a positive person was there, and aggregate counts. The
-- outbox holds who gets the alert, in batches of at most 500 each with its own LINE retry
-- key, written in the same transaction as the approval; it is purged with the visits.
CREATE TABLE cases (
    case_id              INTEGER PRIMARY KEY,
    reference            TEXT NOT NULL UNIQUE,
    status               TEXT NOT NULL CHECK (status IN ('open', 'sending', 'paused', 'sent', 'closed')),
    created_by           INTEGER NOT NULL REFERENCES staff (staff_id),
    created_at_ms        INTEGER NOT NULL,
    tail_minutes         INTEGER,
    dwell_minutes        INTEGER,
    excluded_resident_id INTEGER,
    approved_by          INTEGER REFERENCES staff (staff_id),
    approved_at_ms       INTEGER,
    recipients           INTEGER,
    blocked              INTEGER,
    sent                 INTEGER NOT NULL DEFAULT 0,
    pause_reason         TEXT,
    closed_at_ms         INTEGER
) STRICT;

CREATE TABLE case_exposures (
    exposure_id   INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (case_id) ON DELETE CASCADE,
    location_id   TEXT NOT NULL REFERENCES venues (location_id),
    starts_at_ms  INTEGER NOT NULL,
    ends_at_ms    INTEGER NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('staff', 'history')),
    created_at_ms INTEGER NOT NULL,
    CHECK (ends_at_ms > starts_at_ms)
) STRICT;
CREATE INDEX case_exposures_by_case ON case_exposures (case_id);

CREATE TABLE alert_batches (
    batch_id           INTEGER PRIMARY KEY,
    case_id            INTEGER NOT NULL REFERENCES cases (case_id) ON DELETE CASCADE,
    retry_key          TEXT NOT NULL UNIQUE,
    recipients         TEXT NOT NULL,
    size               INTEGER NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    sent_at_ms         INTEGER,
    last_error         TEXT,
    created_at_ms      INTEGER NOT NULL
) STRICT;
CREATE INDEX alert_batches_due ON alert_batches (status, next_attempt_at_ms);
CREATE INDEX alert_batches_by_case ON alert_batches (case_id, status);

-- Matching reads only the index: which residents scanned at a place in a time range.
CREATE INDEX visits_for_matching ON visits (location_id, scanned_at_ms, resident_id);
DROP INDEX visits_by_location_time;
