-- Passes (issue 7): QR codes a kiosk's camera reads, for visitors who cannot scan with a
-- phone. A resident asks for one in LINE for themself or a family member; the label is theirs
-- alone (never shown to kiosks, venues or staff). The QR code holds only pass_id and the
-- expiry, signed with the server's key; the link to its image and card is derived from that
-- signature and stored only as a hash. Deleting a resident revokes and deletes their passes.
CREATE TABLE passes (
    pass_id        TEXT    PRIMARY KEY CHECK (length(pass_id) = 16),
    resident_id    INTEGER NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    label          TEXT,
    link_hash      BLOB    NOT NULL UNIQUE CHECK (length(link_hash) = 32),
    issued_at_ms   INTEGER NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    revoked_at_ms  INTEGER
) STRICT;
CREATE INDEX passes_by_resident ON passes (resident_id);
CREATE INDEX passes_by_expiry ON passes (expires_at_ms);

-- The revocation list kiosks get in heartbeats. Its version is the AUTOINCREMENT sequence,
-- which never goes back, so a kiosk can ask "has it changed since version N?". Rows leave
-- once their pass has expired (a kiosk refuses an expired pass anyway).
CREATE TABLE pass_revocations (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    pass_id        TEXT    NOT NULL UNIQUE,
    expires_at_ms  INTEGER NOT NULL
) STRICT;

-- A visit made with a pass names the pass, so a history code shares either the resident's
-- own visits or one pass's (a parent's history is not their child's). NULL: a LINE check-in.
ALTER TABLE visits ADD COLUMN pass_id TEXT;
-- The pass whose visits a history code shares; NULL: the resident's own.
ALTER TABLE history_codes ADD COLUMN pass_id TEXT;

-- Scan sync is idempotent by (kiosk, sequence number): the highest sequence number stored
-- per kiosk; a scan at or below it was stored before.
ALTER TABLE kiosks ADD COLUMN scans_synced_through INTEGER NOT NULL DEFAULT 0;
-- How many scans wait in the kiosk's buffer, as its last heartbeat said (fleet view).
ALTER TABLE kiosks ADD COLUMN pending_scans INTEGER;
