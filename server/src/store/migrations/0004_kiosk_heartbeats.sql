-- What each kiosk last reported in its heartbeat, for the fleet view.
ALTER TABLE kiosks ADD COLUMN last_seen_at_ms INTEGER;
ALTER TABLE kiosks ADD COLUMN version TEXT;
ALTER TABLE kiosks ADD COLUMN uptime_seconds INTEGER;
ALTER TABLE kiosks ADD COLUMN clock_offset_ms INTEGER;
ALTER TABLE kiosks ADD COLUMN screen TEXT;
ALTER TABLE kiosks ADD COLUMN last_error TEXT;
