//! The SQLite backend: one file in WAL mode, one writer connection and a small pool of
//! reader connections. Every query runs in `spawn_blocking`, so a slow disk never stalls
//! the async runtime. Venue registrations are here; residents, scans and visits are in
//! `residents.rs`.

mod cases;
mod kiosks;
mod passes;
mod residents;
pub mod staff;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use oshirase_common::{Address, BusinessType, DailyVisitors, Email, LineUserId, LocationId, NewVenue, PhoneNumber, PostalCode, VenueCode, VenueName};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use time::OffsetDateTime;

use super::migrations::migrate;
use super::{
    CheckInOutcome, CheckInRequest, EventKey, FollowState, Heartbeat, HistoryCodeIssue, HistoryOf, KioskRecord, NewKiosk, NewRegistration, Pairing, Processed, PurgeBefore, Purged, RecordedVisit,
    RegistrationRecord, Store, StoreError, VenueRecord, Withdrawal,
};
use oshirase_common::kiosk_token::KioskId;
use crate::secrets::TokenHash;

/// Most idle reader connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: writer::Writer,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its folder, and migrates it.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Folder { path: parent.to_owned(), source })?;
        }
        let mut writer = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        migrate(&mut writer)?;
        let writer = writer::Writer::start(writer)?;
        Ok(SqliteStore { inner: Arc::new(Inner { path: path.to_owned(), writer, readers: Mutex::new(Vec::new()) }) })
    }

    /// Runs `f` in the writer's next group transaction; returns once it is committed.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.inner.writer.write(f).await
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || {
            let idle = inner.readers.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let conn = match idle {
                Some(conn) => conn,
                None => open_connection(&inner.path, OpenFlags::SQLITE_OPEN_READ_ONLY)?,
            };
            let result = f(&conn);
            let mut readers = inner.readers.lock().unwrap_or_else(PoisonError::into_inner);
            if readers.len() < MAX_IDLE_READERS {
                readers.push(conn);
            }
            result
        })
        .await
    }
}

async fn run_blocking<T, F>(f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Task(e.to_string()))?
}

fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // FULL: a registration the server confirmed survives a power cut, not only a crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

pub(super) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(super) fn from_millis(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(|e| StoreError::Corrupt(format!("timestamp {ms}: {e}")))
}

pub(super) fn unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

const VENUE_COLUMNS: &str = "location_id, code, registration_id, business_type, daily_visitors, name, postal_code, address, phone, email, created_at_ms, withdrawn_at_ms";

/// The raw columns of a `venues` row, read before parsing.
struct VenueRow {
    location_id: String,
    code: String,
    registration_id: i64,
    business_type: String,
    daily_visitors: u32,
    name: String,
    postal_code: String,
    address: String,
    phone: String,
    email: String,
    created_at_ms: i64,
    withdrawn_at_ms: Option<i64>,
}

impl VenueRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<VenueRow> {
        Ok(VenueRow {
            location_id: row.get(0)?,
            code: row.get(1)?,
            registration_id: row.get(2)?,
            business_type: row.get(3)?,
            daily_visitors: row.get(4)?,
            name: row.get(5)?,
            postal_code: row.get(6)?,
            address: row.get(7)?,
            phone: row.get(8)?,
            email: row.get(9)?,
            created_at_ms: row.get(10)?,
            withdrawn_at_ms: row.get(11)?,
        })
    }

    fn parse(self) -> Result<VenueRecord, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("venue {}: bad {what}", self.location_id));
        let venue = NewVenue {
            business_type: BusinessType::parse(&self.business_type).ok_or_else(|| corrupt("business_type"))?,
            daily_visitors: DailyVisitors::from_stored(self.daily_visitors).map_err(|_| corrupt("daily_visitors"))?,
            name: VenueName::parse(&self.name).map_err(|_| corrupt("name"))?,
            postal_code: PostalCode::parse(&self.postal_code).map_err(|_| corrupt("postal_code"))?,
            address: Address::parse(&self.address).map_err(|_| corrupt("address"))?,
            phone: PhoneNumber::parse(&self.phone).map_err(|_| corrupt("phone"))?,
            email: Email::parse(&self.email).map_err(|_| corrupt("email"))?,
        };
        Ok(VenueRecord {
            location_id: LocationId::parse(&self.location_id).map_err(|_| corrupt("location_id"))?,
            code: VenueCode::parse(&self.code).map_err(|_| corrupt("code"))?,
            registration_id: self.registration_id,
            venue,
            created_at: from_millis(self.created_at_ms)?,
            withdrawn_at: self.withdrawn_at_ms.map(from_millis).transpose()?,
        })
    }
}

fn load_registration(conn: &Connection, id: i64, created_at_ms: i64) -> Result<RegistrationRecord, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {VENUE_COLUMNS} FROM venues WHERE registration_id = ?1 ORDER BY position"))?;
    let rows = stmt.query_map([id], VenueRow::read)?.collect::<Result<Vec<_>, _>>()?;
    let venues = rows.into_iter().map(VenueRow::parse).collect::<Result<Vec<_>, _>>()?;
    Ok(RegistrationRecord { id, created_at: from_millis(created_at_ms)?, venues })
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).map(|_| ())?)).await
    }

    async fn create_registration(&self, registration: NewRegistration) -> Result<RegistrationRecord, StoreError> {
        self.write(move |tx| {
            let created = millis(registration.created_at);
            tx.execute(
                "INSERT INTO registrations (manage_token_hash, created_at_ms) VALUES (?1, ?2)",
                params![registration.token_hash.0.as_slice(), created],
            )
            .map_err(|e| if unique_violation(&e) { StoreError::Conflict("manage token".into()) } else { e.into() })?;
            let id = tx.last_insert_rowid();
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO venues (location_id, code, registration_id, position, business_type, daily_visitors, name, postal_code, address, phone, email, created_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )?;
                for (position, place) in registration.venues.iter().enumerate() {
                    let v = &place.venue;
                    insert
                        .execute(params![
                            place.location_id.as_str(),
                            place.code.as_str(),
                            id,
                            i64::try_from(position).unwrap_or(i64::MAX),
                            v.business_type.key(),
                            v.daily_visitors.get(),
                            v.name.as_str(),
                            v.postal_code.digits(),
                            v.address.as_str(),
                            v.phone.digits(),
                            v.email.as_str(),
                            created,
                        ])
                        .map_err(|e| if unique_violation(&e) { StoreError::Conflict("location id or code".into()) } else { e.into() })?;
                }
            }
            load_registration(tx, id, created)
        })
        .await
    }

    async fn registration_by_token(&self, hash: TokenHash) -> Result<Option<RegistrationRecord>, StoreError> {
        self.read(move |conn| {
            let found: Option<(i64, i64)> = conn
                .query_row("SELECT id, created_at_ms FROM registrations WHERE manage_token_hash = ?1", [hash.0.as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            found.map(|(id, created)| load_registration(conn, id, created)).transpose()
        })
        .await
    }

    async fn venue_by_code(&self, code: VenueCode) -> Result<Option<VenueRecord>, StoreError> {
        self.read(move |conn| {
            let row = conn
                .query_row(&format!("SELECT {VENUE_COLUMNS} FROM venues WHERE code = ?1"), [code.as_str()], VenueRow::read)
                .optional()?;
            row.map(VenueRow::parse).transpose()
        })
        .await
    }

    async fn withdraw_venue(&self, registration_id: i64, location_id: LocationId, at: OffsetDateTime) -> Result<Withdrawal, StoreError> {
        self.write(move |tx| {
            let state: Option<Option<i64>> = tx
                .query_row(
                    "SELECT withdrawn_at_ms FROM venues WHERE registration_id = ?1 AND location_id = ?2",
                    params![registration_id, location_id.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            let outcome = match state {
                None => Withdrawal::NotFound,
                Some(Some(_)) => Withdrawal::AlreadyWithdrawn,
                Some(None) => {
                    tx.execute(
                        "UPDATE venues SET withdrawn_at_ms = ?1 WHERE location_id = ?2 AND withdrawn_at_ms IS NULL",
                        params![millis(at), location_id.as_str()],
                    )?;
                    Withdrawal::Withdrawn
                }
            };
            Ok(outcome)
        })
        .await
    }

    async fn mark_event(&self, event: EventKey) -> Result<Processed<()>, StoreError> {
        self.write(move |conn| residents::once(conn, &event, |_| Ok(()))).await
    }

    async fn follow(&self, event: EventKey, user: LineUserId, terms_version: String) -> Result<Processed<FollowState>, StoreError> {
        self.write(move |conn| residents::once(conn, &event, |tx| residents::follow(tx, &user, &terms_version, event.received_at))).await
    }

    async fn unfollow(&self, event: EventKey, user: LineUserId) -> Result<Processed<()>, StoreError> {
        self.write(move |conn| residents::once(conn, &event, |tx| residents::unfollow(tx, &user, event.received_at))).await
    }

    async fn check_in(&self, event: EventKey, request: CheckInRequest) -> Result<Processed<CheckInOutcome>, StoreError> {
        self.write(move |conn| residents::once(conn, &event, |tx| residents::check_in(tx, &request, event.received_at))).await
    }

    async fn consent(&self, event: EventKey, user: LineUserId, terms_version: String) -> Result<Processed<Vec<RecordedVisit>>, StoreError> {
        self.write(move |conn| residents::once(conn, &event, |tx| residents::consent(tx, &user, &terms_version, event.received_at))).await
    }

    async fn decline_consent(&self, event: EventKey, user: LineUserId) -> Result<Processed<usize>, StoreError> {
        self.write(move |conn| residents::once(conn, &event, |tx| residents::decline_consent(tx, &user))).await
    }

    async fn create_history_code(&self, event: EventKey, user: LineUserId, code_hash: TokenHash, expires: OffsetDateTime, of: HistoryOf) -> Result<Processed<HistoryCodeIssue>, StoreError> {
        self.write(move |tx| residents::once(tx, &event, |tx| residents::create_history_code(tx, &user, code_hash, event.received_at, expires, &of))).await
    }

    async fn delete_resident(&self, event: EventKey, user: LineUserId) -> Result<Processed<bool>, StoreError> {
        self.write(move |conn| residents::once(conn, &event, |tx| residents::delete_resident(tx, &user, event.received_at))).await
    }

    async fn purge(&self, before: PurgeBefore) -> Result<Purged, StoreError> {
        self.write(move |conn| residents::purge(conn, before)).await
    }

    async fn create_pairing_code(&self, registration_id: i64, location_id: LocationId, code_hash: TokenHash, now: OffsetDateTime, expires: OffsetDateTime) -> Result<bool, StoreError> {
        self.write(move |tx| kiosks::create_pairing_code(tx, registration_id, &location_id, code_hash, now, expires)).await
    }

    async fn pair_kiosk(&self, code_hash: TokenHash, kiosk: NewKiosk, now: OffsetDateTime) -> Result<Pairing, StoreError> {
        self.write(move |tx| kiosks::pair(tx, code_hash, &kiosk, now)).await
    }

    async fn kiosk(&self, kiosk_id: KioskId) -> Result<Option<KioskRecord>, StoreError> {
        self.read(move |conn| kiosks::kiosk(conn, &kiosk_id)).await
    }

    async fn kiosks_of(&self, registration_id: i64) -> Result<Vec<KioskRecord>, StoreError> {
        self.read(move |conn| kiosks::kiosks_of(conn, registration_id)).await
    }

    async fn all_kiosks(&self) -> Result<Vec<KioskRecord>, StoreError> {
        self.read(kiosks::all).await
    }

    async fn kiosk_by_sync_token(&self, hash: TokenHash) -> Result<Option<KioskRecord>, StoreError> {
        self.read(move |conn| kiosks::kiosk_by_sync_token(conn, hash)).await
    }

    async fn record_heartbeat(&self, kiosk_id: KioskId, heartbeat: Heartbeat) -> Result<(), StoreError> {
        self.write(move |tx| kiosks::record_heartbeat(tx, &kiosk_id, &heartbeat)).await
    }

    async fn revoke_kiosk(&self, registration_id: i64, kiosk_id: KioskId, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.write(move |tx| kiosks::revoke(tx, registration_id, &kiosk_id, now)).await
    }
}

#[cfg(test)]
mod tests {
    use oshirase_common::VenueForm;

    use super::*;
    use crate::secrets::{ManageToken, new_location_id, new_venue_code};
    use crate::store::NewPlace;

    fn venue(name: &str) -> NewVenue {
        NewVenue::parse(&VenueForm {
            business_type: "museum".into(),
            daily_visitors: "300".into(),
            name: name.into(),
            postal_code: "3309301".into(),
            address: "埼玉県さいたま市浦和区高砂3-15-1".into(),
            phone: "048-824-2111".into(),
            email: "museum@example.jp".into(),
        })
        .expect("valid")
    }

    fn place(name: &str) -> NewPlace {
        NewPlace { location_id: new_location_id(), code: new_venue_code(), venue: venue(name) }
    }

    fn open_temp() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("nested/db.sqlite")).expect("open");
        (dir, store)
    }

    #[tokio::test]
    async fn a_registration_is_stored_and_found_by_its_token_and_codes() {
        let (_dir, store) = open_temp();
        let token = ManageToken::generate();
        let places = vec![place("第1展示室"), place("第2展示室")];
        let codes: Vec<VenueCode> = places.iter().map(|p| p.code.clone()).collect();
        let stored = store
            .create_registration(NewRegistration { token_hash: token.hash(), created_at: OffsetDateTime::now_utc(), venues: places })
            .await
            .expect("stored");
        assert_eq!(stored.venues.len(), 2);
        let found = store.registration_by_token(token.hash()).await.expect("query").expect("found");
        assert_eq!(found.id, stored.id);
        assert_eq!(found.venues.iter().map(|v| v.venue.name.as_str()).collect::<Vec<_>>(), ["第1展示室", "第2展示室"]);
        let by_code = store.venue_by_code(codes[1].clone()).await.expect("query").expect("found");
        assert_eq!(by_code.venue.name.as_str(), "第2展示室");
        assert!(store.registration_by_token(ManageToken::generate().hash()).await.expect("query").is_none());
    }

    #[tokio::test]
    async fn a_duplicate_code_stores_nothing_of_the_registration() {
        let (_dir, store) = open_temp();
        let first = place("A");
        let mut clash = place("B");
        clash.code = first.code.clone();
        let token = ManageToken::generate();
        let err = store
            .create_registration(NewRegistration { token_hash: token.hash(), created_at: OffsetDateTime::now_utc(), venues: vec![first, clash] })
            .await
            .expect_err("conflict");
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        assert!(store.registration_by_token(token.hash()).await.expect("query").is_none());
    }

    #[tokio::test]
    async fn withdrawal_happens_once_and_only_within_the_registration() {
        let (_dir, store) = open_temp();
        let a = store
            .create_registration(NewRegistration { token_hash: ManageToken::generate().hash(), created_at: OffsetDateTime::now_utc(), venues: vec![place("A")] })
            .await
            .expect("a");
        let b = store
            .create_registration(NewRegistration { token_hash: ManageToken::generate().hash(), created_at: OffsetDateTime::now_utc(), venues: vec![place("B")] })
            .await
            .expect("b");
        let a_loc = a.venues[0].location_id.clone();
        let now = OffsetDateTime::now_utc();
        assert_eq!(store.withdraw_venue(b.id, a_loc.clone(), now).await.expect("w"), Withdrawal::NotFound);
        assert_eq!(store.withdraw_venue(a.id, a_loc.clone(), now).await.expect("w"), Withdrawal::Withdrawn);
        assert_eq!(store.withdraw_venue(a.id, a_loc, now).await.expect("w"), Withdrawal::AlreadyWithdrawn);
        let code = a.venues[0].code.clone();
        assert!(!store.venue_by_code(code).await.expect("q").expect("found").is_active());
    }

    #[tokio::test]
    async fn the_database_refuses_edits_of_a_registration() {
        let (dir, store) = open_temp();
        let stored = store
            .create_registration(NewRegistration { token_hash: ManageToken::generate().hash(), created_at: OffsetDateTime::now_utc(), venues: vec![place("A")] })
            .await
            .expect("a");
        let conn = Connection::open(dir.path().join("nested/db.sqlite")).expect("open");
        let err = conn
            .execute("UPDATE venues SET name = 'B' WHERE location_id = ?1", [stored.venues[0].location_id.as_str()])
            .expect_err("trigger");
        assert!(err.to_string().contains("never edited"), "{err}");
    }

    #[tokio::test]
    async fn the_database_is_in_wal_mode_and_reopens_with_its_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite");
        let token = ManageToken::generate();
        {
            let store = SqliteStore::open(&path).expect("open");
            store
                .create_registration(NewRegistration { token_hash: token.hash(), created_at: OffsetDateTime::now_utc(), venues: vec![place("A")] })
                .await
                .expect("a");
        }
        let store = SqliteStore::open(&path).expect("reopen");
        assert!(store.registration_by_token(token.hash()).await.expect("q").is_some());
        let mode: String = Connection::open(&path).expect("open").query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("mode");
        assert_eq!(mode, "wal");
    }

    mod residents {
        use oshirase_common::LineUserId;
        use time::Duration;

        use super::*;
        use crate::store::{CheckInOutcome, CheckInRequest, EventKey, Processed};

        const TERMS: &str = "2026-11";

        struct World {
            _dir: tempfile::TempDir,
            store: SqliteStore,
            path: std::path::PathBuf,
            code: VenueCode,
            next_event: std::cell::Cell<u32>,
        }

        impl World {
            async fn new() -> World {
                let dir = tempfile::tempdir().expect("tempdir");
                let path = dir.path().join("db.sqlite");
                let store = SqliteStore::open(&path).expect("open");
                let reg = store
                    .create_registration(NewRegistration { token_hash: ManageToken::generate().hash(), created_at: OffsetDateTime::now_utc(), venues: vec![place("映画館 スクリーン1")] })
                    .await
                    .expect("venue");
                let code = reg.venues[0].code.clone();
                World { _dir: dir, store, path, code, next_event: std::cell::Cell::new(0) }
            }

            fn event(&self) -> EventKey {
                self.next_event.set(self.next_event.get() + 1);
                EventKey { id: format!("01EVENT{:019}", self.next_event.get()), received_at: OffsetDateTime::now_utc() }
            }

            fn scan(&self, user: &LineUserId, at: OffsetDateTime) -> CheckInRequest {
                CheckInRequest {
                    user: user.clone(),
                    place: crate::store::Place::Code(self.code.clone()),
                    scanned_at: at,
                    terms_version: TERMS.into(),
                    pending_until: OffsetDateTime::now_utc() + Duration::minutes(30),
                    repeat_window: Duration::minutes(2),
                    max_per_hour: 5,
                }
            }

            fn count(&self, table: &str) -> i64 {
                Connection::open(&self.path).expect("open").query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).expect("count")
            }

            async fn check_in(&self, request: CheckInRequest) -> CheckInOutcome {
                match self.store.check_in(self.event(), request).await.expect("check in") {
                    Processed::New(outcome) => outcome,
                    Processed::Duplicate => panic!("fresh event ids are never duplicates"),
                }
            }
        }

        fn user(n: u8) -> LineUserId {
            LineUserId::parse(&format!("U{:032x}", n)).expect("valid")
        }

        #[tokio::test]
        async fn a_scan_before_consent_waits_and_becomes_a_visit_with_its_own_time() {
            let w = World::new().await;
            let scanned = OffsetDateTime::now_utc() - Duration::minutes(3);
            assert!(matches!(w.check_in(w.scan(&user(1), scanned)).await, CheckInOutcome::AwaitingConsent { .. }));
            assert_eq!((w.count("visits"), w.count("pending_scans")), (0, 1));
            let Processed::New(recorded) = w.store.consent(w.event(), user(1), TERMS.into()).await.expect("consent") else { panic!("new") };
            assert_eq!(recorded.len(), 1);
            assert_eq!(recorded[0].scanned_at.unix_timestamp(), scanned.unix_timestamp());
            assert_eq!((w.count("visits"), w.count("pending_scans")), (1, 0));
        }

        #[tokio::test]
        async fn declining_consent_stores_no_visit() {
            let w = World::new().await;
            w.check_in(w.scan(&user(1), OffsetDateTime::now_utc())).await;
            assert_eq!(w.store.decline_consent(w.event(), user(1)).await.expect("decline"), Processed::New(1));
            assert_eq!((w.count("visits"), w.count("pending_scans")), (0, 0));
        }

        #[tokio::test]
        async fn expired_waiting_scans_do_not_become_visits() {
            let w = World::new().await;
            let mut request = w.scan(&user(1), OffsetDateTime::now_utc() - Duration::hours(2));
            request.pending_until = OffsetDateTime::now_utc() - Duration::hours(1);
            w.check_in(request).await;
            let Processed::New(recorded) = w.store.consent(w.event(), user(1), TERMS.into()).await.expect("consent") else { panic!("new") };
            assert!(recorded.is_empty());
            assert_eq!(w.count("visits"), 0);
        }

        #[tokio::test]
        async fn every_scan_is_its_own_visit_but_a_quick_repeat_is_the_same_one() {
            let w = World::new().await;
            let _ = w.store.consent(w.event(), user(1), TERMS.into()).await.expect("consent");
            let t = OffsetDateTime::now_utc() - Duration::hours(3);
            assert!(matches!(w.check_in(w.scan(&user(1), t)).await, CheckInOutcome::Recorded(_)));
            assert!(matches!(w.check_in(w.scan(&user(1), t + Duration::seconds(30))).await, CheckInOutcome::Repeat(_)));
            assert!(matches!(w.check_in(w.scan(&user(1), t + Duration::hours(2))).await, CheckInOutcome::Recorded(_)));
            assert_eq!(w.count("visits"), 2);
        }

        #[tokio::test]
        async fn the_same_event_delivered_twice_counts_once() {
            let w = World::new().await;
            let _ = w.store.consent(w.event(), user(1), TERMS.into()).await.expect("consent");
            let event = w.event();
            let first = w.store.check_in(event.clone(), w.scan(&user(1), OffsetDateTime::now_utc())).await.expect("first");
            let again = w.store.check_in(event, w.scan(&user(1), OffsetDateTime::now_utc() + Duration::hours(1))).await.expect("again");
            assert!(matches!(first, Processed::New(CheckInOutcome::Recorded(_))));
            assert_eq!(again, Processed::Duplicate);
            assert_eq!(w.count("visits"), 1);
        }

        #[tokio::test]
        async fn too_many_check_ins_in_an_hour_are_refused() {
            let w = World::new().await;
            let _ = w.store.consent(w.event(), user(1), TERMS.into()).await.expect("consent");
            let t = OffsetDateTime::now_utc() - Duration::minutes(50);
            for i in 0..5 {
                assert!(matches!(w.check_in(w.scan(&user(1), t + Duration::minutes(i * 5))).await, CheckInOutcome::Recorded(_)));
            }
            assert_eq!(w.check_in(w.scan(&user(1), t + Duration::minutes(30))).await, CheckInOutcome::RateLimited);
            assert_eq!(w.count("visits"), 5);
        }

        #[tokio::test]
        async fn unknown_and_withdrawn_codes_store_nothing() {
            let w = World::new().await;
            let mut unknown = w.scan(&user(1), OffsetDateTime::now_utc());
            unknown.place = crate::store::Place::Code(VenueCode::parse("0000000000").expect("valid"));
            assert_eq!(w.check_in(unknown).await, CheckInOutcome::UnknownCode);
            let venue = w.store.venue_by_code(w.code.clone()).await.expect("q").expect("found");
            w.store.withdraw_venue(venue.registration_id, venue.location_id, OffsetDateTime::now_utc()).await.expect("withdraw");
            assert_eq!(w.check_in(w.scan(&user(1), OffsetDateTime::now_utc())).await, CheckInOutcome::Withdrawn);
            assert_eq!((w.count("visits"), w.count("pending_scans"), w.count("residents")), (0, 0, 0));
        }

        #[tokio::test]
        async fn consent_to_old_terms_does_not_count() {
            let w = World::new().await;
            let _ = w.store.consent(w.event(), user(1), "2020-01".into()).await.expect("consent");
            assert!(matches!(w.check_in(w.scan(&user(1), OffsetDateTime::now_utc())).await, CheckInOutcome::AwaitingConsent { .. }));
            assert_eq!(w.store.follow(w.event(), user(1), TERMS.into()).await.expect("follow"), Processed::New(crate::store::FollowState { consented: false }));
        }

        #[tokio::test]
        async fn deleting_a_resident_leaves_nothing_of_theirs() {
            let w = World::new().await;
            let _ = w.store.consent(w.event(), user(1), TERMS.into()).await.expect("consent");
            let _ = w.store.consent(w.event(), user(2), TERMS.into()).await.expect("consent");
            w.check_in(w.scan(&user(1), OffsetDateTime::now_utc())).await;
            w.check_in(w.scan(&user(2), OffsetDateTime::now_utc())).await;
            assert_eq!(w.store.delete_resident(w.event(), user(1)).await.expect("delete"), Processed::New(true));
            assert_eq!((w.count("residents"), w.count("visits")), (1, 1));
            let left: i64 = Connection::open(&w.path)
                .expect("open")
                .query_row("SELECT count(*) FROM residents WHERE line_user_id = ?1", [user(1).as_str()], |r| r.get(0))
                .expect("q");
            assert_eq!(left, 0);
            assert_eq!(w.store.delete_resident(w.event(), user(1)).await.expect("again"), Processed::New(false));
        }

        #[tokio::test]
        async fn the_purge_deletes_only_what_outlived_its_retention() {
            let w = World::new().await;
            let _ = w.store.consent(w.event(), user(1), TERMS.into()).await.expect("consent");
            let now = OffsetDateTime::now_utc();
            w.check_in(w.scan(&user(1), now - Duration::days(40))).await;
            w.check_in(w.scan(&user(1), now - Duration::days(2))).await;
            let mut waiting = w.scan(&user(2), now - Duration::hours(1));
            waiting.pending_until = now - Duration::minutes(1);
            w.check_in(waiting).await;
            let before = crate::store::PurgeBefore { visits: now - Duration::days(31), pending_scans: now, webhook_events: now + Duration::seconds(1) };
            let purged = w.store.purge(before).await.expect("purge");
            assert_eq!((purged.visits, purged.pending_scans), (1, 1));
            assert!(purged.webhook_events >= 4);
            assert_eq!((w.count("visits"), w.count("pending_scans"), w.count("webhook_events")), (1, 0, 0));
        }

        #[tokio::test]
        async fn blocking_and_unblocking_are_remembered() {
            let w = World::new().await;
            let _ = w.store.follow(w.event(), user(1), TERMS.into()).await.expect("follow");
            let _ = w.store.unfollow(w.event(), user(1)).await.expect("unfollow");
            let blocked: Option<i64> = Connection::open(&w.path).expect("open").query_row("SELECT blocked_at_ms FROM residents", [], |r| r.get(0)).expect("q");
            assert!(blocked.is_some());
            let _ = w.store.follow(w.event(), user(1), TERMS.into()).await.expect("follow");
            let blocked: Option<i64> = Connection::open(&w.path).expect("open").query_row("SELECT blocked_at_ms FROM residents", [], |r| r.get(0)).expect("q");
            assert!(blocked.is_none());
            let _ = w.store.unfollow(w.event(), user(9)).await.expect("unfollow of a stranger");
            assert_eq!(w.count("residents"), 1);
        }
    }
}
