-- A positive resident can share their own recent visits with the health centre (issue 6):
-- in LINE they get a one-time history code (short, expiring) which staff enter into a case
-- to import those visits as exposures. Stored as SHA-256; deleted with the resident and when
-- expired.
CREATE TABLE history_codes (
    code_hash     BLOB PRIMARY KEY,
    resident_id   INTEGER NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER,
    used_for_case INTEGER
) STRICT;
CREATE INDEX history_codes_by_expiry ON history_codes (expires_at_ms);
CREATE INDEX history_codes_by_resident ON history_codes (resident_id);
