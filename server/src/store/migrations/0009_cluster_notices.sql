-- Cluster notices (R18): when the prefecture judges a cluster risk, an admin publishes a
-- place, a period and a message on a public page, and can withdraw it. Nothing else about a
-- case is ever public; a notice is not linked to a case.
CREATE TABLE cluster_notices (
    notice_id        INTEGER PRIMARY KEY,
    location_id      TEXT NOT NULL REFERENCES venues (location_id),
    period_from_ms   INTEGER NOT NULL,
    period_to_ms     INTEGER NOT NULL,
    message          TEXT NOT NULL,
    published_by     INTEGER NOT NULL REFERENCES staff (staff_id),
    published_at_ms  INTEGER NOT NULL,
    withdrawn_at_ms  INTEGER,
    CHECK (period_to_ms > period_from_ms)
) STRICT;
