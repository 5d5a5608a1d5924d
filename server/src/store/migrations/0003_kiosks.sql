-- Kiosks (issue 5): a Raspberry Pi at a venue's place shows rotating codes signed with its own
-- secret. The secret must be readable to check codes, so it is stored as is; the sync token
-- the kiosk authenticates with is stored only as a hash. Pairing codes are single use, expire,
-- and are stored only as hashes.

CREATE TABLE kiosk_pairing_codes (
    code_hash      BLOB    PRIMARY KEY CHECK (length(code_hash) = 32),
    location_id    TEXT    NOT NULL REFERENCES venues (location_id),
    created_at_ms  INTEGER NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    used_at_ms     INTEGER
) STRICT;

CREATE TABLE kiosks (
    kiosk_id         TEXT    PRIMARY KEY,
    location_id      TEXT    NOT NULL REFERENCES venues (location_id),
    secret           BLOB    NOT NULL CHECK (length(secret) = 32),
    sync_token_hash  BLOB    NOT NULL UNIQUE CHECK (length(sync_token_hash) = 32),
    paired_at_ms     INTEGER NOT NULL,
    revoked_at_ms    INTEGER
) STRICT;
CREATE INDEX kiosks_by_location ON kiosks (location_id);
