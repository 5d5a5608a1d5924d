-- Health-centre and prefecture staff (issue 6): accounts, console sessions, API tokens, and
-- the append-only, hash-chained audit log of everything they do.
CREATE TABLE staff (
    staff_id        INTEGER PRIMARY KEY,
    login           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    roles           TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    disabled_at_ms  INTEGER,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER
) STRICT;

-- A signed-in console session; the cookie holds the secret, the row its SHA-256.
CREATE TABLE staff_sessions (
    session_hash  BLOB PRIMARY KEY,
    staff_id      INTEGER NOT NULL REFERENCES staff (staff_id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);
CREATE INDEX staff_sessions_by_expiry ON staff_sessions (expires_at_ms);

-- A token for the JSON API, scoped to one role; shown once, stored as SHA-256.
CREATE TABLE staff_api_tokens (
    token_id      TEXT PRIMARY KEY,
    token_hash    BLOB NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_by    INTEGER NOT NULL REFERENCES staff (staff_id),
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER,
    revoked_at_ms INTEGER
) STRICT;

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT,
    details   TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL
) STRICT;
CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- The chain's head, written in the same transaction as each entry: removing the newest
-- entries without also rewriting this row is caught by `oshirase-server audit verify`.
CREATE TABLE audit_head (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    entries INTEGER NOT NULL,
    hash    BLOB NOT NULL
) STRICT;
