//! The matching benchmark's database: built once, kept under the target folder, and rebuilt
//! with `--rebuild`, when the server's schema version changes, or when this generator or its
//! parameters change (all recorded in a JSON file next to it).
//!
//! How it is built, so its migrations and indexes are exactly the server's:
//!
//! 1. [`SqliteStore::open`] creates and migrates the file; the places are registered through
//!    the store's own `create_registration` (one to five places per registration, each a
//!    validated [`NewVenue`]), and two staff accounts (an investigator and an approver)
//!    through `create_staff`.
//! 2. The store is closed and residents and visits are bulk-inserted with rusqlite in large
//!    transactions (journal off, `synchronous=OFF`, a 2 GB page cache: the file is written
//!    under a temporary name and renamed only when complete, so a crash leaves nothing
//!    half-built behind). Visits are inserted in time order, as they arrive in real life, with
//!    the real indexes in place (not rebuilt afterwards), so the index pages are filled the way
//!    a live server fills them.
//! 3. The file is switched back to WAL, as the server runs it.
//!
//! What the data looks like (deterministic for a seed):
//!
//! - **Places**: popularity follows a Zipf law (weight `1/rank^0.8`): the busiest of 2,000
//!   places gets about 5% of all visits (about 17,000 a day at 10 million visits a month),
//!   the median one about 80 a day, the quietest about 40. The busiest are shopping centres,
//!   halls, cinemas and sports grounds; the rest are mostly restaurants and shops.
//! - **Hours**: each business type has its own profile in Japan time (restaurants at lunch
//!   and in the evening, shops through the day with a 17–19 h peak, cinemas, halls, events and
//!   sports in the evening); weekends are 35% busier.
//! - **Residents**: all consented; half of the visits come from a fifth of the residents
//!   (regulars); 3% have since blocked the account (they match but are never messaged).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use oshirase_common::{LocationId, NewVenue, VenueCode, VenueForm};
use oshirase_server::audit::{Actor, AuditEvent};
use oshirase_server::secrets::ManageToken;
use oshirase_server::staff::{Role, Roles, StaffLogin, StaffName, password};
use oshirase_server::store::migrations::MIGRATIONS;
use oshirase_server::store::staff::{NewStaff, StaffStore as _};
use oshirase_server::store::{NewPlace, NewRegistration, SqliteStore, Store as _};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::timing::{grouped, sidecar};

/// Bumped whenever the generator changes what it writes, so cached files are rebuilt.
pub const GENERATOR_VERSION: u32 = 1;
/// The terms version residents consented to (the server's default).
pub const TERMS_VERSION: &str = "2026-11";
/// The investigator's login.
pub const INVESTIGATOR: &str = "bench-investigator";
/// The approver's login.
pub const APPROVER: &str = "bench-approver";
/// Zipf exponent of place popularity.
const ZIPF: f64 = 0.8;
/// Share of visits made by the regulars.
const REGULAR_SHARE: f64 = 0.5;
/// Fraction of residents who are regulars.
const REGULAR_FRACTION: f64 = 0.2;
/// Fraction of residents who blocked the account since.
const BLOCKED_FRACTION: f64 = 0.03;
/// Rows per transaction.
const ROWS_PER_TRANSACTION: u64 = 1_000_000;
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataParams {
    /// Places.
    pub venues: u32,
    /// Residents.
    pub residents: u32,
    /// Visits.
    pub visits: u64,
    /// Days the visits span.
    pub days: u32,
    /// The generator's seed.
    pub seed: u64,
}

/// One place, as the benchmark picks exposures from them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Place {
    /// Its location id.
    pub location_id: String,
    /// Its business type key.
    pub business_type: String,
    /// Visits generated per day on average.
    pub visits_per_day: f64,
}

/// Seconds each phase of the build took.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct BuildPhases {
    /// Migrations, places and staff through the store.
    pub store_s: f64,
    /// Residents.
    pub residents_s: f64,
    /// Generating and sorting the visits in memory.
    pub generate_s: f64,
    /// Inserting the visits.
    pub visits_s: f64,
    /// Back to WAL, checkpoint, rename.
    pub finish_s: f64,
}

/// What the JSON file next to the database records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DataMeta {
    /// [`GENERATOR_VERSION`] when built.
    pub generator: u32,
    /// The server's schema version (number of migrations) when built.
    pub schema_version: usize,
    /// What was generated.
    pub params: DataParams,
    /// The first day of the visits, midnight Japan time, as Unix ms.
    pub start_ms: i64,
    /// When it was built (RFC 3339).
    pub built_at: String,
    /// How long it took, s.
    pub build_s: f64,
    /// By phase.
    pub phases: BuildPhases,
    /// The investigator's staff id.
    pub investigator_id: i64,
    /// The approver's staff id.
    pub approver_id: i64,
    /// Residents who blocked the account.
    pub blocked_residents: u64,
    /// Every place, busiest first.
    pub places: Vec<Place>,
}

/// A tiny deterministic generator (SplitMix64): fast, and enough for synthetic data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss, reason = "53 bits are exact in an f64")]
        let x = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        x
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        let wide = u128::from(self.next_u64()) * u128::from(n);
        u64::try_from(wide >> 64).unwrap_or(0)
    }

    /// An index drawn with the weights whose running sums are `cumulative`.
    pub fn weighted(&mut self, cumulative: &[f64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0.0);
        let x = self.unit() * total;
        cumulative.partition_point(|&c| c <= x).min(cumulative.len().saturating_sub(1))
    }
}

/// Running sums of `weights`.
pub fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut sum = 0.0;
    weights
        .into_iter()
        .map(|w| {
            sum += w;
            sum
        })
        .collect()
}

/// Visits per local (Japan) hour of the day, by kind of place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Lunch and dinner.
    Meals,
    /// Through the day, busiest 17–19 h.
    Shopping,
    /// Afternoon and a strong evening.
    Evening,
    /// Office hours.
    Daytime,
}

impl Profile {
    /// The profile of a business type.
    pub fn of(business_type: &str) -> Profile {
        match business_type {
            "restaurant" => Profile::Meals,
            "retail" | "shopping_centre" => Profile::Shopping,
            "cinema_theatre" | "hall" | "sports" | "indoor_event" | "outdoor_event" => Profile::Evening,
            _ => Profile::Daytime,
        }
    }

    /// Relative visits in each hour 0–23, Japan time.
    pub fn hours(self) -> [u8; 24] {
        match self {
            Profile::Meals => [1, 0, 0, 0, 0, 0, 1, 3, 5, 4, 4, 10, 18, 14, 6, 4, 5, 9, 16, 18, 14, 8, 4, 2],
            Profile::Shopping => [0, 0, 0, 0, 0, 0, 0, 1, 3, 6, 9, 10, 11, 11, 10, 10, 11, 13, 14, 12, 8, 4, 1, 0],
            Profile::Evening => [0, 0, 0, 0, 0, 0, 2, 4, 4, 5, 6, 6, 7, 8, 8, 8, 9, 12, 17, 19, 15, 8, 3, 1],
            Profile::Daytime => [0, 0, 0, 0, 0, 0, 0, 1, 4, 8, 10, 10, 10, 10, 10, 10, 9, 7, 5, 3, 2, 1, 0, 0],
        }
    }
}

/// The cached database and its JSON description.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The SQLite file.
    pub path: PathBuf,
    /// What was generated.
    pub meta: DataMeta,
    /// True when it was built by this run.
    pub built_now: bool,
}

/// The JSON file describing `db`.
pub fn meta_path(db: &Path) -> PathBuf {
    db.with_extension("json")
}

/// The database at `db`, built if missing, stale or `rebuild`.
pub async fn ensure(db: &Path, params: DataParams, rebuild: bool) -> anyhow::Result<Dataset> {
    if !rebuild {
        match read_meta(db) {
            Ok(meta) if meta.generator == GENERATOR_VERSION && meta.schema_version == MIGRATIONS.len() && meta.params == params => {
                eprintln!("using the cached database {} (built {} in {:.0} s)", db.display(), meta.built_at, meta.build_s);
                return Ok(Dataset { path: db.to_owned(), meta, built_now: false });
            }
            Ok(meta) => eprintln!(
                "the cached database {} is stale (generator {} schema {} {:?}; now generator {GENERATOR_VERSION} schema {} {params:?}): rebuilding",
                db.display(),
                meta.generator,
                meta.schema_version,
                meta.params,
                MIGRATIONS.len()
            ),
            Err(e) => eprintln!("no usable cached database at {} ({e:#}): building it", db.display()),
        }
    }
    let meta = build(db, params).await?;
    std::fs::write(meta_path(db), serde_json::to_vec_pretty(&meta)?).with_context(|| format!("writing {}", meta_path(db).display()))?;
    Ok(Dataset { path: db.to_owned(), meta, built_now: true })
}

fn read_meta(db: &Path) -> anyhow::Result<DataMeta> {
    ensure!(db.is_file(), "no database file");
    let text = std::fs::read(meta_path(db)).context("no description file")?;
    let meta: DataMeta = serde_json::from_slice(&text).context("unreadable description file")?;
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    ensure!(usize::try_from(version).ok() == Some(meta.schema_version), "the file's schema version {version} differs from its description");
    Ok(meta)
}

fn remove_database(path: &Path) -> anyhow::Result<()> {
    for p in [path.to_owned(), sidecar(path, "-wal"), sidecar(path, "-shm"), sidecar(path, "-journal")] {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", p.display())),
        }
    }
    Ok(())
}

async fn build(db: &Path, params: DataParams) -> anyhow::Result<DataMeta> {
    ensure!(params.venues >= 1 && params.residents >= 1 && params.days >= 1, "venues, residents and days must be at least 1");
    let started = Instant::now();
    let mut phases = BuildPhases::default();
    let building = sidecar(db, ".building");
    remove_database(&building)?;
    if let Some(parent) = db.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut rng = Rng::new(params.seed);
    let now = OffsetDateTime::now_utc();
    let start_ms = first_day_ms(now, params.days)?;

    // 1. Through the store: migrations, places, staff.
    let phase = Instant::now();
    let places = plan_places(&mut rng, params)?;
    let (investigator_id, approver_id) = {
        let store = SqliteStore::open(&building).context("creating the database through SqliteStore::open")?;
        register_places(&store, &places, &mut rng, start_ms).await?;
        let investigator = add_staff(&store, INVESTIGATOR, Role::Investigator).await?;
        let approver = add_staff(&store, APPROVER, Role::Approver).await?;
        (investigator, approver)
    };
    phases.store_s = phase.elapsed().as_secs_f64();
    eprintln!("build: {} places and 2 staff accounts through the store in {:.1} s", places.len(), phases.store_s);

    // 2. Bulk inserts.
    let conn = bulk_connection(&building)?;
    let phase = Instant::now();
    let blocked = insert_residents(&conn, &mut rng, params, start_ms)?;
    phases.residents_s = phase.elapsed().as_secs_f64();
    eprintln!("build: {} residents in {:.1} s", grouped(u64::from(params.residents)), phases.residents_s);

    let phase = Instant::now();
    let visits = generate_visits(&mut rng, params, &places, start_ms)?;
    phases.generate_s = phase.elapsed().as_secs_f64();
    eprintln!("build: {} visits generated and sorted in {:.1} s", grouped(params.visits), phases.generate_s);
    let phase = Instant::now();
    insert_visits(&conn, &visits, &places, start_ms)?;
    drop(visits);
    phases.visits_s = phase.elapsed().as_secs_f64();

    // 3. As the server runs it.
    let phase = Instant::now();
    conn.pragma_update(None, "locking_mode", "NORMAL")?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    ensure!(mode == "wal", "the database did not switch back to WAL ({mode})");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    conn.close().map_err(|(_, e)| e)?;
    remove_database(db)?;
    std::fs::rename(&building, db).with_context(|| format!("renaming {} to {}", building.display(), db.display()))?;
    remove_database(&building)?;
    phases.finish_s = phase.elapsed().as_secs_f64();

    let meta = DataMeta {
        generator: GENERATOR_VERSION,
        schema_version: MIGRATIONS.len(),
        params,
        start_ms,
        built_at: now.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).unwrap_or_default(),
        build_s: started.elapsed().as_secs_f64(),
        phases,
        investigator_id,
        approver_id,
        blocked_residents: blocked,
        places: places.into_iter().map(|p| Place { location_id: p.location_id.as_str().to_owned(), business_type: p.business_type.to_owned(), visits_per_day: p.visits_per_day }).collect(),
    };
    eprintln!("build: done in {:.0} s", meta.build_s);
    Ok(meta)
}

/// Midnight Japan time `days` days before today's.
fn first_day_ms(now: OffsetDateTime, days: u32) -> anyhow::Result<i64> {
    let jst = time::UtcOffset::from_hms(9, 0, 0)?;
    let today = now.to_offset(jst).date();
    let midnight = today.midnight().assume_offset(jst) - time::Duration::days(i64::from(days));
    Ok(i64::try_from(midnight.unix_timestamp_nanos() / 1_000_000)?)
}

/// A place before it is stored.
#[derive(Debug, Clone)]
struct PlannedPlace {
    location_id: LocationId,
    code: VenueCode,
    business_type: &'static str,
    weight: f64,
    visits_per_day: f64,
}

const BUSY_TYPES: [&str; 7] = ["shopping_centre", "shopping_centre", "hall", "cinema_theatre", "sports", "outdoor_event", "indoor_event"];
const TYPE_MIX: [(&str, f64); 10] = [
    ("restaurant", 45.0),
    ("retail", 25.0),
    ("other", 10.0),
    ("sports", 6.0),
    ("hall", 3.0),
    ("museum", 2.0),
    ("shopping_centre", 3.0),
    ("cinema_theatre", 2.0),
    ("indoor_event", 2.0),
    ("outdoor_event", 2.0),
];

fn plan_places(rng: &mut Rng, params: DataParams) -> anyhow::Result<Vec<PlannedPlace>> {
    let mix = cumulative(TYPE_MIX.iter().map(|(_, w)| *w));
    let weights: Vec<f64> = (1..=params.venues).map(|rank| 1.0 / f64::from(rank).powf(ZIPF)).collect();
    let total: f64 = weights.iter().sum();
    #[allow(clippy::cast_precision_loss, reason = "visit counts far below 2^52")]
    let per_day_all = params.visits as f64 / f64::from(params.days);
    let mut places = Vec::with_capacity(weights.len());
    for (rank, weight) in weights.into_iter().enumerate() {
        let business_type = if rank < 30 { BUSY_TYPES[rank % BUSY_TYPES.len()] } else { TYPE_MIX[rng.weighted(&mix)].0 };
        let mut id = [0u8; 16];
        let mut code = [0u8; 7];
        for b in id.iter_mut().chain(code.iter_mut()) {
            *b = u8::try_from(rng.below(256)).unwrap_or(0);
        }
        places.push(PlannedPlace {
            location_id: LocationId::from_random(id),
            code: VenueCode::from_random(code),
            business_type,
            weight,
            visits_per_day: per_day_all * weight / total,
        });
    }
    Ok(places)
}

async fn register_places(store: &SqliteStore, places: &[PlannedPlace], rng: &mut Rng, start_ms: i64) -> anyhow::Result<()> {
    let created_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(start_ms - 90 * DAY_MS) * 1_000_000)?;
    let mut next = 0usize;
    let mut registration = 0u32;
    while next < places.len() {
        // Chains register several places at once.
        let size = (1 + usize::try_from(rng.below(5)).unwrap_or(0)).min(places.len() - next);
        registration += 1;
        let mut venues = Vec::with_capacity(size);
        for (position, place) in places[next..next + size].iter().enumerate() {
            let rank = next + position + 1;
            // People check in less often than they come: declare about three times the visits.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a few hundred thousand at most")]
            let declared = ((place.visits_per_day * 3.0).round() as u32).clamp(1, 500_000);
            let form = VenueForm {
                business_type: place.business_type.to_owned(),
                daily_visitors: declared.to_string(),
                name: format!("ベンチ{registration}番 {}号店", position + 1),
                postal_code: format!("330-{:04}", rank % 10_000),
                address: format!("埼玉県さいたま市浦和区高砂{}-{}-{}", 1 + rank % 9, 1 + rank % 30, 1 + rank % 50),
                phone: format!("048-{:03}-{:04}", 100 + rank % 900, rank % 10_000),
                email: format!("place{rank}@example.jp"),
            };
            let venue = NewVenue::parse(&form).map_err(|e| anyhow::anyhow!("generated place {rank} does not validate: {e:?}"))?;
            venues.push(NewPlace { location_id: place.location_id.clone(), code: place.code.clone(), venue });
        }
        store.create_registration(NewRegistration { token_hash: ManageToken::generate().hash(), created_at, venues }).await.context("registering places")?;
        next += size;
    }
    Ok(())
}

async fn add_staff(store: &SqliteStore, login: &str, role: Role) -> anyhow::Result<i64> {
    let secret = secrecy::SecretString::from(ManageToken::generate().expose().to_owned());
    let password_hash = password::hash(&secret).map_err(|e| anyhow::anyhow!("{e}"))?;
    let staff = NewStaff {
        login: StaffLogin::parse(login).map_err(|e| anyhow::anyhow!("{e}"))?,
        name: StaffName::parse("ベンチ 太郎").map_err(|e| anyhow::anyhow!("{e}"))?,
        roles: Roles::new(&[role]).context("one role")?,
        password_hash,
    };
    Ok(store.create_staff(staff, OffsetDateTime::now_utc(), AuditEvent::new(Actor::Cli, "account.created").about(format!("account:{login}"))).await?.id)
}

/// A connection for bulk loading: no journal, no fsync, a 2 GB page cache, exclusive. Waits
/// for the store's own connections (closed on their threads) to let go of the file.
fn bulk_connection(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mode: rusqlite::Result<String> = conn.query_row("PRAGMA journal_mode = OFF", [], |r| r.get(0));
        match mode {
            Ok(m) if m == "off" => break,
            Ok(_) | Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Ok(m) => bail!("the database stayed in journal mode {m}"),
            Err(e) => return Err(e).context("leaving WAL mode"),
        }
    }
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    conn.pragma_update(None, "cache_size", -2_000_000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

fn insert_residents(conn: &Connection, rng: &mut Rng, params: DataParams, start_ms: i64) -> anyhow::Result<u64> {
    let end_ms = start_ms + i64::from(params.days) * DAY_MS;
    let mut blocked = 0u64;
    let mut id = 1u32;
    while id <= params.residents {
        let tx = conn.unchecked_transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO residents (id, line_user_id, created_at_ms, consent_terms, consented_at_ms, blocked_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let last = u32::try_from((u64::from(id) + ROWS_PER_TRANSACTION - 1).min(u64::from(params.residents))).unwrap_or(params.residents);
            for resident in id..=last {
                let user = format!("U{:016x}{:016x}", rng.next_u64(), rng.next_u64());
                let created = start_ms - i64::try_from(rng.below(365 * 86_400_000)).unwrap_or(0) - DAY_MS;
                let consented = created + i64::try_from(rng.below(60_000)).unwrap_or(0);
                let blocked_at = if rng.unit() < BLOCKED_FRACTION {
                    blocked += 1;
                    Some(end_ms - i64::try_from(rng.below(2 * 86_400_000)).unwrap_or(0))
                } else {
                    None
                };
                insert.execute(params![resident, user, created, TERMS_VERSION, consented, blocked_at])?;
            }
            id = last + 1;
        }
        tx.commit()?;
    }
    Ok(blocked)
}

/// One generated visit: 12 bytes, so ten million fit in 120 MB.
#[derive(Debug, Clone, Copy)]
struct Visit {
    /// Ms since the first day's midnight.
    at: u32,
    resident: u32,
    place: u16,
}

fn generate_visits(rng: &mut Rng, params: DataParams, places: &[PlannedPlace], start_ms: i64) -> anyhow::Result<Vec<Visit>> {
    ensure!(places.len() <= usize::from(u16::MAX), "at most 65,535 places");
    ensure!(i64::from(params.days) * DAY_MS < i64::from(u32::MAX), "at most 49 days");
    let popularity = cumulative(places.iter().map(|p| p.weight));
    let jst = time::UtcOffset::from_hms(9, 0, 0)?;
    let first = OffsetDateTime::from_unix_timestamp_nanos(i128::from(start_ms) * 1_000_000)?.to_offset(jst);
    let days = cumulative((0..params.days).map(|d| {
        let weekday = (first + time::Duration::days(i64::from(d))).weekday();
        if matches!(weekday, time::Weekday::Saturday | time::Weekday::Sunday) { 1.35 } else { 1.0 }
    }));
    let hours: Vec<Vec<f64>> = [Profile::Meals, Profile::Shopping, Profile::Evening, Profile::Daytime].iter().map(|p| cumulative(p.hours().iter().map(|&h| f64::from(h)))).collect();
    let profile_index = |p: Profile| match p {
        Profile::Meals => 0,
        Profile::Shopping => 1,
        Profile::Evening => 2,
        Profile::Daytime => 3,
    };
    let place_hours: Vec<usize> = places.iter().map(|p| profile_index(Profile::of(p.business_type))).collect();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a fraction of at most 2^32 residents")]
    let regulars = ((f64::from(params.residents) * REGULAR_FRACTION) as u64).max(1);
    let mut visits = Vec::with_capacity(usize::try_from(params.visits)?);
    for _ in 0..params.visits {
        let place = rng.weighted(&popularity);
        let day = i64::try_from(rng.weighted(&days))?;
        let hour = i64::try_from(rng.weighted(&hours[place_hours[place]]))?;
        let ms = day * DAY_MS + hour * HOUR_MS + i64::try_from(rng.below(3_600_000))?;
        let resident = if rng.unit() < REGULAR_SHARE { rng.below(regulars) } else { rng.below(u64::from(params.residents)) } + 1;
        visits.push(Visit { at: u32::try_from(ms)?, resident: u32::try_from(resident)?, place: u16::try_from(place)? });
    }
    visits.sort_unstable_by_key(|v| v.at);
    Ok(visits)
}

fn insert_visits(conn: &Connection, visits: &[Visit], places: &[PlannedPlace], start_ms: i64) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut rng = Rng::new(0x5EED);
    for (chunk_index, chunk) in visits.chunks(usize::try_from(ROWS_PER_TRANSACTION)?).enumerate() {
        let tx = conn.unchecked_transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO visits (resident_id, location_id, scanned_at_ms, recorded_at_ms) VALUES (?1, ?2, ?3, ?4)")?;
            for v in chunk {
                let scanned = start_ms + i64::from(v.at);
                // Recorded when the webhook arrived: a moment after the scan, or later for a
                // scan that waited for consent or came from a kiosk's offline buffer.
                let recorded = scanned + i64::try_from(rng.below(3_000))?;
                insert.execute(params![v.resident, places[usize::from(v.place)].location_id.as_str(), scanned, recorded])?;
            }
        }
        tx.commit()?;
        let done = (chunk_index + 1) * chunk.len().max(1);
        let elapsed = started.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss, reason = "row counts far below 2^52")]
        let rate = done as f64 / elapsed.max(1e-9);
        eprintln!("build: {} of {} visits inserted ({:.0} s, {:.0} rows/s)", grouped(u64::try_from(done.min(visits.len()))?), grouped(u64::try_from(visits.len())?), elapsed, rate);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_in_range() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..1000 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            assert!(x < 10);
            let u = a.unit();
            assert_eq!(u.to_bits(), b.unit().to_bits());
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn weighted_draws_follow_the_weights() {
        let mut rng = Rng::new(1);
        let cum = cumulative([1.0, 0.0, 3.0]);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[rng.weighted(&cum)] += 1;
        }
        assert_eq!(counts[1], 0, "a zero weight is never drawn");
        assert!((9_000..11_000).contains(&counts[0]) && (29_000..31_000).contains(&counts[2]), "{counts:?}");
    }

    #[test]
    fn every_profile_has_visits_and_the_first_day_is_a_japanese_midnight() {
        for p in [Profile::Meals, Profile::Shopping, Profile::Evening, Profile::Daytime] {
            assert!(p.hours().iter().any(|&h| h > 0));
        }
        let now = OffsetDateTime::from_unix_timestamp(1_795_478_400).unwrap_or(OffsetDateTime::UNIX_EPOCH); // 2026-11-24 09:00 JST
        let first = first_day_ms(now, 31).unwrap_or(0);
        assert_eq!((first + 9 * HOUR_MS) % DAY_MS, 0);
        assert_eq!(first, (1_795_478_400 - 9 * 3600) * 1000 - 31 * DAY_MS);
    }
}
