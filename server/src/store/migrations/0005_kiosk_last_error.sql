-- A kiosk's last reported error stays until it reports another one (a clean heartbeat after an
-- outage does not erase the outage), with when it was reported.
ALTER TABLE kiosks ADD COLUMN last_error_at_ms INTEGER;
UPDATE kiosks SET last_error_at_ms = last_seen_at_ms WHERE last_error IS NOT NULL;
