//! Schema migrations: numbered SQL files applied in order, each in its own transaction,
//! the applied version kept in SQLite's `user_version`. A file is never edited once
//! released; a change is a new file.

use rusqlite::Connection;

use super::StoreError;

/// Every migration, in order. Version N is the N-th entry.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_venues", include_str!("migrations/0001_venues.sql")),
    ("0002_residents", include_str!("migrations/0002_residents.sql")),
    ("0003_kiosks", include_str!("migrations/0003_kiosks.sql")),
    ("0004_kiosk_heartbeats", include_str!("migrations/0004_kiosk_heartbeats.sql")),
    ("0005_kiosk_last_error", include_str!("migrations/0005_kiosk_last_error.sql")),
    ("0006_staff", include_str!("migrations/0006_staff.sql")),
    ("0007_cases", include_str!("migrations/0007_cases.sql")),
    ("0008_history_codes", include_str!("migrations/0008_history_codes.sql")),
    ("0009_cluster_notices", include_str!("migrations/0009_cluster_notices.sql")),
    ("0010_alert_template", include_str!("migrations/0010_alert_template.sql")),
    ("0011_passes", include_str!("migrations/0011_passes.sql")),
];

/// Applies the migrations the database does not have yet. Returns the resulting version.
pub fn migrate(conn: &mut Connection) -> Result<i64, StoreError> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > known {
        return Err(StoreError::SchemaTooNew { found: current, known });
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(usize::try_from(current).unwrap_or(0)) {
        let version = index + 1;
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i64::try_from(version).unwrap_or(i64::MAX))?;
        tx.commit()?;
        tracing::info!(migration = name, version, "applied database migration");
    }
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().expect("open");
        let latest = i64::try_from(MIGRATIONS.len()).expect("few migrations");
        assert_eq!(migrate(&mut conn).expect("first"), latest);
        assert_eq!(migrate(&mut conn).expect("second"), latest);
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('registrations', 'venues')", [], |r| r.get(0))
            .expect("query");
        assert_eq!(tables, 2);
    }

    #[test]
    fn a_database_from_a_newer_version_is_refused() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "user_version", 99).expect("set");
        assert!(matches!(migrate(&mut conn), Err(StoreError::SchemaTooNew { found: 99, .. })));
    }
}
