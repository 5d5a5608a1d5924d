//! Matching a case over a month of visits (issue 6: "matching a 20-exposure case over 10
//! million stored visits, goal < 50 ms on SQLite"):
//!
//! 1. **Data.** The cached database of [`crate::matching_data`] (built on first use).
//! 2. **Case.** Through the store, as the console does: an investigator creates a case and
//!    adds 20 exposures of 1–3 hours — at busy places (among the 10 busiest), ordinary ones
//!    (ranks 11–200) and quiet ones — on days of the last two weeks, at hours people go there.
//! 3. **Preview.** `SqliteStore::preview_case` with the default matching rules: cold (the file
//!    dropped from the page cache first, and a new reader connection), then warm (`--runs`
//!    times), then once more on a freshly opened store (new connection, page cache warm).
//! 4. **Breakdown.** The statements the store runs for a preview (index ranges, then two
//!    lookups per matched resident), timed apart on a connection opened as the store opens its
//!    readers, as the store runs them and inside one read transaction, with `EXPLAIN QUERY
//!    PLAN` of each.
//! 5. **Approval.** `SqliteStore::approve_case` once: matching again, the LINE user ids of the
//!    reachable residents, the outbox in batches of 500, the audit entry, one commit.
//!
//! The case is deleted afterwards (with its exposures and outbox), so the cached database
//! stays as built apart from a few audit entries.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use oshirase_bench::report::Machine;
use oshirase_bench::stats::CpuByThread;
use oshirase_common::LocationId;
use oshirase_server::audit::{Actor, AuditEvent};
use oshirase_server::cases::matching::{Rules, scan_window};
use oshirase_server::cases::template::AlertTemplate;
use oshirase_server::cases::{CaseReference, StayPeriod};
use oshirase_server::config::{AlertSettings, MatchingSettings};
use oshirase_server::store::SqliteStore;
use oshirase_server::store::cases::{Approval, ApprovalRequest, CasePreview, CaseStore as _, ExposureSource, NewCase};
use rusqlite::{Connection, OpenFlags, params};
use serde::Serialize;
use time::OffsetDateTime;

use crate::matching_data::{self, APPROVER, DataMeta, DataParams, INVESTIGATOR, Place, Profile, Rng};
use crate::timing::{Spread, database_size, evict_from_page_cache, grouped, human_bytes, sidecar};

/// The goal for one preview, ms.
pub const GOAL_MS: f64 = 50.0;
/// Case references this benchmark uses (and deletes).
const REFERENCE_PREFIX: &str = "BENCH-MATCHING-";
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The database file.
    pub database: PathBuf,
    /// What it holds.
    pub params: DataParams,
    /// Build it even if a usable one is cached.
    pub rebuild: bool,
    /// Warm previews.
    pub runs: usize,
    /// Exposures of the case.
    pub exposures: usize,
    /// Drop the file from the page cache before the first preview.
    pub evict: bool,
}

/// Everything a run found.
#[derive(Debug, Clone, Serialize)]
pub struct MatchingReport {
    /// Where it ran.
    pub machine: Machine,
    /// The database.
    pub data: DataFigures,
    /// The case's exposures and what each matched.
    pub exposures: Vec<ExposureFigures>,
    /// `preview_case`.
    pub preview: PreviewFigures,
    /// The two statements of matching, timed apart.
    pub breakdown: Breakdown,
    /// `approve_case`.
    pub approval: ApprovalFigures,
    /// `EXPLAIN QUERY PLAN` of the statements (statement, plan).
    pub query_plans: Vec<(String, String)>,
}

/// The database.
#[derive(Debug, Clone, Serialize)]
pub struct DataFigures {
    /// The file.
    pub path: String,
    /// Its size with its `-wal`, bytes.
    pub size_bytes: u64,
    /// What it holds.
    pub params: DataParams,
    /// Residents who blocked the account.
    pub blocked_residents: u64,
    /// Built by this run (false: cached).
    pub built_now: bool,
    /// When it was built.
    pub built_at: String,
    /// How long building took, s.
    pub build_s: f64,
    /// By phase.
    pub phases: matching_data::BuildPhases,
    /// Visits a day at the busiest place, the median one and the quietest.
    pub visits_per_day_busiest_median_quietest: [f64; 3],
}

/// One exposure.
#[derive(Debug, Clone, Serialize)]
pub struct ExposureFigures {
    /// `busy`, `ordinary` or `quiet`.
    pub band: String,
    /// The place's popularity rank (1 = busiest).
    pub rank: usize,
    /// Its business type.
    pub business_type: String,
    /// Its visits per day on average.
    pub place_visits_per_day: f64,
    /// The positive person's stay, Japan time.
    pub stay: String,
    /// The scan window matched (dwell before, tail after), minutes.
    pub window_minutes: i64,
    /// Visits in the window (index entries read).
    pub visits_in_window: u64,
    /// Distinct residents among them who did not block the account (the preview's
    /// per-exposure count).
    pub residents: u32,
}

/// `preview_case`.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewFigures {
    /// The first preview after the file was dropped from the page cache, ms.
    pub cold_evicted_ms: Option<f64>,
    /// The first preview without eviction (`--no-evict`), or on a new store with the page cache warm, ms.
    pub first_on_new_connection_ms: f64,
    /// Warm previews.
    pub warm: Spread,
    /// This process's threads during the warm previews, per preview: time on a core and time
    /// ready to run but waiting for one (other work on the machine shows here).
    pub warm_cpu: CpuPerRun,
    /// Residents who would be alerted.
    pub total: u32,
    /// Matching residents who blocked the account.
    pub blocked: u32,
    /// The goal, ms.
    pub goal_ms: f64,
    /// True when the warm median is below the goal.
    pub goal_met_warm: bool,
    /// True when the warm 95th percentile is below the goal too.
    pub goal_met_p95: bool,
}

/// CPU per run, ms.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuPerRun {
    /// On a core.
    pub on_cpu_ms: f64,
    /// Ready to run, waiting for a core.
    pub waiting_ms: f64,
}

/// Scheduler times of every thread of this process so far, s.
#[derive(Debug, Clone, Copy, Default)]
struct ProcessCpu {
    on_cpu_s: f64,
    waiting_s: f64,
}

fn process_cpu() -> ProcessCpu {
    let threads = CpuByThread::of_process(std::process::id()).unwrap_or_default();
    ProcessCpu { on_cpu_s: threads.0.values().map(|t| t.on_cpu_s).sum(), waiting_s: threads.0.values().map(|t| t.waiting_s).sum() }
}

impl ProcessCpu {
    fn since(self, earlier: ProcessCpu, runs: usize) -> CpuPerRun {
        #[allow(clippy::cast_precision_loss, reason = "a few thousand runs")]
        let runs = runs.max(1) as f64;
        CpuPerRun { on_cpu_ms: (self.on_cpu_s - earlier.on_cpu_s) * 1000.0 / runs, waiting_ms: (self.waiting_s - earlier.waiting_s) * 1000.0 / runs }
    }
}

/// Matching step by step, on a connection opened as the store opens its readers (warm): the
/// statements `store/sqlite/cases.rs` runs for a preview (20 index ranges; a pass over the
/// matched residents for their blocked flag; a pass for their LINE user id and blocked flag),
/// each statement its own read transaction as in the store; then the same inside one read
/// transaction; then in one read transaction with one lookup per resident.
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    /// One range of `visits_for_matching` per exposure, collected into sets of residents.
    pub ranges: Spread,
    /// Index entries the ranges read.
    pub index_entries: u64,
    /// Distinct residents matched.
    pub residents: u64,
    /// The pass reading each matched resident's blocked flag.
    pub blocked_pass: Spread,
    /// The pass reading each matched resident's LINE user id and blocked flag.
    pub reachable_pass: Spread,
    /// All three, as the store runs them.
    pub as_store: Spread,
    /// This process's CPU per run of those.
    pub as_store_cpu: CpuPerRun,
    /// The same statements inside one `BEGIN` … `COMMIT`.
    pub one_transaction: Spread,
    /// This process's CPU per run of those.
    pub one_transaction_cpu: CpuPerRun,
    /// One read transaction and one lookup per resident (the blocked set taken from the
    /// reachable pass).
    pub one_pass: Spread,
    /// This process's CPU per run of those.
    pub one_pass_cpu: CpuPerRun,
}

/// `approve_case`.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalFigures {
    /// Call → committed, ms.
    pub ms: f64,
    /// Residents in the outbox.
    pub recipients: u32,
    /// Blocked residents left out.
    pub blocked: u32,
    /// Batches written.
    pub batches: u32,
    /// The same counts as the preview.
    pub matches_preview: bool,
}

/// Runs the benchmark.
pub async fn run(options: &Options) -> anyhow::Result<MatchingReport> {
    ensure!(options.runs >= 1, "--runs must be at least 1");
    let machine = Machine::this_one();
    let dataset = matching_data::ensure(&options.database, options.params, options.rebuild).await?;
    let meta = &dataset.meta;
    delete_bench_cases(&dataset.path)?;
    if options.evict {
        evict_from_page_cache(&dataset.path).context("dropping the database from the page cache")?;
        evict_from_page_cache(&sidecar(&dataset.path, "-wal"))?;
    }

    let rules = MatchingSettings::default();
    let store = SqliteStore::open(&dataset.path)?;
    let planned = plan_exposures(meta, options.exposures)?;
    let (case_id, exposure_ids) = create_case(&store, meta, &planned).await?;

    let (first, first_counts) = timed_preview(&store, case_id, &rules).await?;
    let mut warm = Vec::with_capacity(options.runs);
    let cpu_before = process_cpu();
    for _ in 0..options.runs {
        let (took, counts) = timed_preview(&store, case_id, &rules).await?;
        ensure!(counts == first_counts, "previews disagree");
        warm.push(took);
    }
    let warm_cpu = process_cpu().since(cpu_before, options.runs);
    let warm = Spread::of(&warm);
    let first_on_new_connection = if options.evict {
        let fresh = SqliteStore::open(&dataset.path)?;
        timed_preview(&fresh, case_id, &rules).await?.0
    } else {
        first
    };
    eprintln!("preview: first {:.1} ms, warm {}", first.as_secs_f64() * 1000.0, warm.text(1));

    let Measured { breakdown, per_exposure_visits, plans: query_plans } = breakdown(&dataset.path, &planned, &rules, options.runs.min(20))?;

    let approval = approve(&store, meta, case_id, &rules).await;
    drop(store);
    delete_bench_cases(&dataset.path)?;
    let approval = approval?;
    let preview_counts = &first_counts;

    // The preview lists exposures by start time; match them to the plan by id.
    let residents_of = |id: i64| preview_counts.per_exposure.iter().find(|(e, _)| *e == id).map_or(0, |(_, n)| *n);
    let exposures = planned
        .iter()
        .zip(&exposure_ids)
        .zip(&per_exposure_visits)
        .map(|((p, id), visits)| ExposureFigures {
            band: p.band.to_owned(),
            rank: p.rank + 1,
            business_type: p.place.business_type.clone(),
            place_visits_per_day: p.place.visits_per_day,
            stay: jst_range(p.starts_ms, p.ends_ms),
            window_minutes: (p.ends_ms - p.starts_ms) / MINUTE_MS + i64::from(rules.dwell_for(&p.place.business_type)) + i64::from(rules.tail_minutes),
            visits_in_window: *visits,
            residents: residents_of(*id),
        })
        .collect();
    let places = &meta.places;
    let approval = ApprovalFigures {
        matches_preview: approval.recipients == preview_counts.total && approval.blocked == preview_counts.blocked,
        ..approval
    };
    Ok(MatchingReport {
        machine,
        data: DataFigures {
            path: dataset.path.display().to_string(),
            size_bytes: database_size(&dataset.path),
            params: meta.params,
            blocked_residents: meta.blocked_residents,
            built_now: dataset.built_now,
            built_at: meta.built_at.clone(),
            build_s: meta.build_s,
            phases: meta.phases,
            visits_per_day_busiest_median_quietest: [
                places.first().map_or(0.0, |p| p.visits_per_day),
                places.get(places.len() / 2).map_or(0.0, |p| p.visits_per_day),
                places.last().map_or(0.0, |p| p.visits_per_day),
            ],
        },
        exposures,
        preview: PreviewFigures {
            cold_evicted_ms: options.evict.then_some(first.as_secs_f64() * 1000.0),
            first_on_new_connection_ms: first_on_new_connection.as_secs_f64() * 1000.0,
            warm,
            warm_cpu,
            total: preview_counts.total,
            blocked: preview_counts.blocked,
            goal_ms: GOAL_MS,
            goal_met_warm: warm.median_ms < GOAL_MS,
            goal_met_p95: warm.p95_ms < GOAL_MS,
        },
        breakdown,
        approval,
        query_plans,
    })
}

/// An exposure before it is stored.
#[derive(Debug, Clone)]
struct PlannedExposure<'a> {
    band: &'static str,
    rank: usize,
    place: &'a Place,
    starts_ms: i64,
    ends_ms: i64,
}

/// 20 exposures by default: a fifth at busy places (among the 10 busiest), three tenths at
/// ordinary ones (ranks 11–200), half at quiet ones; on days of the last two weeks of the data,
/// at an hour people go to that kind of place, for 1 to 3 hours.
fn plan_exposures(meta: &DataMeta, n: usize) -> anyhow::Result<Vec<PlannedExposure<'_>>> {
    let places = &meta.places;
    ensure!(!places.is_empty(), "the database has no places");
    let mut rng = Rng::new(meta.params.seed ^ 0xCA5E);
    let busy = n / 5;
    let ordinary = n * 3 / 10;
    let bands = [("busy", 0..10usize, busy), ("ordinary", 10..200, ordinary), ("quiet", 200..places.len(), n - busy - ordinary)];
    let days = i64::from(meta.params.days);
    let mut taken = BTreeSet::new();
    let mut planned = Vec::with_capacity(n);
    for (band, ranks, count) in bands {
        let ranks = ranks.start.min(places.len() - 1)..ranks.end.min(places.len()).max(ranks.start.min(places.len() - 1) + 1);
        for _ in 0..count {
            let mut rank = ranks.start + usize::try_from(rng.below(u64::try_from(ranks.len())?))?;
            // Distinct places while there are enough of them.
            for _ in 0..100 {
                if taken.insert(rank) {
                    break;
                }
                rank = ranks.start + usize::try_from(rng.below(u64::try_from(ranks.len())?))?;
            }
            let place = &places[rank];
            let hours: &[i64] = match Profile::of(&place.business_type) {
                Profile::Meals => &[12, 18, 19],
                Profile::Shopping => &[11, 14, 17, 18],
                Profile::Evening => &[17, 18, 19],
                Profile::Daytime => &[10, 13, 15],
            };
            let day = (days - 14).max(0) + i64::try_from(rng.below(u64::try_from(days.min(14))?))?;
            let hour = hours[usize::try_from(rng.below(u64::try_from(hours.len())?))?];
            let minutes = 60 + 30 * i64::try_from(rng.below(5))?;
            let starts_ms = meta.start_ms + day * DAY_MS + hour * HOUR_MS;
            planned.push(PlannedExposure { band, rank, place, starts_ms, ends_ms: starts_ms + minutes * MINUTE_MS });
        }
    }
    Ok(planned)
}

fn at_ms(ms: i64) -> anyhow::Result<OffsetDateTime> {
    Ok(OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)?)
}

/// Creates the case; answers its id and its exposures' ids in the order planned.
async fn create_case(store: &SqliteStore, meta: &DataMeta, planned: &[PlannedExposure<'_>]) -> anyhow::Result<(i64, Vec<i64>)> {
    let now = OffsetDateTime::now_utc();
    let reference = CaseReference::parse(&format!("{REFERENCE_PREFIX}{}", now.unix_timestamp())).map_err(|e| anyhow::anyhow!("{e}"))?;
    let actor = Actor::Staff(INVESTIGATOR.to_owned());
    let case = NewCase { reference, created_by: meta.investigator_id, tail_minutes: None, dwell_minutes: None };
    let case_id = store.create_case(case, now, AuditEvent::new(actor.clone(), "case.created")).await?;
    let mut ids = Vec::with_capacity(planned.len());
    for p in planned {
        let location = LocationId::parse(&p.place.location_id).map_err(|e| anyhow::anyhow!("{e}"))?;
        let period = StayPeriod::new(at_ms(p.starts_ms)?, at_ms(p.ends_ms)?, now).map_err(|e| anyhow::anyhow!("{e}"))?;
        let audit = AuditEvent::new(actor.clone(), "exposure.added").about(format!("case:{case_id}"));
        let added = store.add_exposure(case_id, location, period, ExposureSource::Staff, now, audit).await?;
        ids.push(added.with_context(|| format!("the exposure at {} was not added", p.place.location_id))?);
    }
    Ok((case_id, ids))
}

async fn timed_preview(store: &SqliteStore, case_id: i64, rules: &MatchingSettings) -> anyhow::Result<(Duration, CasePreview)> {
    let started = Instant::now();
    let counts = store.preview_case(case_id, rules.clone()).await?;
    Ok((started.elapsed(), counts))
}

async fn approve(store: &SqliteStore, meta: &DataMeta, case_id: i64, rules: &MatchingSettings) -> anyhow::Result<ApprovalFigures> {
    let request = ApprovalRequest {
        approver: meta.approver_id,
        require_second: true,
        rules: rules.clone(),
        alert_text: AlertTemplate::default_template().render(&AlertSettings::default().contact),
    };
    let audit = AuditEvent::new(Actor::Staff(APPROVER.to_owned()), "case.approved").about(format!("case:{case_id}"));
    let started = Instant::now();
    let approval = store.approve_case(case_id, request, OffsetDateTime::now_utc(), audit).await?;
    let took = started.elapsed();
    match approval {
        Approval::Approved { recipients, blocked, batches } => {
            eprintln!("approval: {:.0} ms, {recipients} recipients in {batches} batches", took.as_secs_f64() * 1000.0);
            Ok(ApprovalFigures { ms: took.as_secs_f64() * 1000.0, recipients, blocked, batches, matches_preview: false })
        }
        other => anyhow::bail!("the approval came to {other:?}"),
    }
}

/// The matching statements exactly as `store/sqlite/cases.rs` runs them for a preview
/// (`matched`, `blocked_residents`, `reachable`; copied: the store does not expose its SQL).
const RANGE_SQL: &str = "SELECT resident_id FROM visits WHERE location_id = ?1 AND scanned_at_ms > ?2 AND scanned_at_ms < ?3";
const LOOKUP_SQL: &str = "SELECT line_user_id, blocked_at_ms IS NOT NULL FROM residents WHERE id = ?1";
const BLOCKED_SQL: &str = "SELECT blocked_at_ms IS NOT NULL FROM residents WHERE id = ?1";

/// A connection opened as `SqliteStore` opens its readers.
fn reader(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

type Planned<'a> = [PlannedExposure<'a>];

/// The breakdown, the visits each exposure's range read, and the query plans.
struct Measured {
    breakdown: Breakdown,
    per_exposure_visits: Vec<u64>,
    plans: Vec<(String, String)>,
}

fn breakdown(path: &Path, planned: &Planned<'_>, rules: &MatchingSettings, runs: usize) -> anyhow::Result<Measured> {
    let conn = reader(path)?;
    let windows: Vec<(String, i64, i64)> = planned
        .iter()
        .map(|p| {
            let stay = StayPeriod::stored(at_ms(p.starts_ms)?, at_ms(p.ends_ms)?);
            let rule = Rules { tail: time::Duration::minutes(i64::from(rules.tail_minutes)), dwell: time::Duration::minutes(i64::from(rules.dwell_for(&p.place.business_type))) };
            let w = scan_window(stay, rule);
            Ok((p.place.location_id.clone(), millis(w.from), millis(w.until)))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut ranges = Vec::with_capacity(runs);
    let mut blocked_pass = Vec::with_capacity(runs);
    let mut reachable_pass = Vec::with_capacity(runs);
    let mut whole: [Vec<Duration>; 3] = Default::default();
    let mut cpu = [CpuPerRun::default(); 3];
    let mut per_exposure = Vec::new();
    let mut matched = BTreeSet::new();
    let mut answers = Vec::new();
    for way in 0..3 {
        let (in_transaction, two_passes) = (way > 0, way < 2);
        let before = process_cpu();
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            if in_transaction {
                conn.execute_batch("BEGIN")?;
            }
            let mut stmt = conn.prepare_cached(RANGE_SQL)?;
            matched.clear();
            per_exposure.clear();
            for (location, from, until) in &windows {
                let mut n = 0u64;
                for r in stmt.query_map(params![location, from, until], |r| r.get::<_, i64>(0))? {
                    matched.insert(r?);
                    n += 1;
                }
                per_exposure.push(n);
            }
            let ranges_done = Instant::now();
            let mut blocked = BTreeSet::new();
            if two_passes {
                let mut stmt = conn.prepare_cached(BLOCKED_SQL)?;
                for id in &matched {
                    if stmt.query_row([id], |r| r.get::<_, bool>(0))? {
                        blocked.insert(*id);
                    }
                }
            }
            let blocked_done = Instant::now();
            let mut stmt = conn.prepare_cached(LOOKUP_SQL)?;
            let mut users = Vec::with_capacity(matched.len());
            let mut blocked_count = 0u64;
            for id in &matched {
                let (user, is_blocked): (String, bool) = stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                if is_blocked {
                    blocked_count += 1;
                    if !two_passes {
                        blocked.insert(*id);
                    }
                } else {
                    users.push(user);
                }
            }
            if in_transaction {
                conn.execute_batch("COMMIT")?;
            } else {
                ranges.push(ranges_done.duration_since(started));
                blocked_pass.push(blocked_done.duration_since(ranges_done));
                reachable_pass.push(blocked_done.elapsed());
            }
            whole[way].push(started.elapsed());
            answers.push((users.len(), blocked_count, blocked.len()));
        }
        cpu[way] = process_cpu().since(before, runs.max(1));
    }
    ensure!(answers.windows(2).all(|w| w[0] == w[1]), "the ways of matching disagree");
    let mut plans = Vec::new();
    for (name, sql, args) in [
        ("per exposure", RANGE_SQL, vec![rusqlite::types::Value::Text(windows.first().map(|w| w.0.clone()).unwrap_or_default()), 0.into(), 1.into()]),
        ("per resident", LOOKUP_SQL, vec![1.into()]),
        ("blocked flag", BLOCKED_SQL, vec![1.into()]),
    ] {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let rows: Vec<String> = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))?.collect::<Result<_, _>>()?;
        plans.push((name.to_owned(), rows.join("; ")));
    }
    Ok(Measured {
        breakdown: Breakdown {
            ranges: Spread::of(&ranges),
            index_entries: per_exposure.iter().sum(),
            residents: u64::try_from(matched.len())?,
            blocked_pass: Spread::of(&blocked_pass),
            reachable_pass: Spread::of(&reachable_pass),
            as_store: Spread::of(&whole[0]),
            as_store_cpu: cpu[0],
            one_transaction: Spread::of(&whole[1]),
            one_transaction_cpu: cpu[1],
            one_pass: Spread::of(&whole[2]),
            one_pass_cpu: cpu[2],
        },
        per_exposure_visits: per_exposure,
        plans,
    })
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Deletes this benchmark's cases (their exposures and outbox go with them).
fn delete_bench_cases(path: &Path) -> anyhow::Result<()> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.execute("DELETE FROM cases WHERE reference LIKE ?1", [format!("{REFERENCE_PREFIX}%")])?;
    Ok(())
}

fn jst_range(from_ms: i64, to_ms: i64) -> String {
    let jst = time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let fmt = |ms: i64| {
        at_ms(ms).map_or_else(
            |_| ms.to_string(),
            |t| {
                let t = t.to_offset(jst);
                format!("{:02}-{:02} {:02}:{:02}", u8::from(t.month()), t.day(), t.hour(), t.minute())
            },
        )
    };
    let to = fmt(to_ms);
    format!("{}–{}", fmt(from_ms), to.split_once(' ').map_or(to.as_str(), |(_, hm)| hm))
}

impl MatchingReport {
    /// The plain-text report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let d = &self.data;
        let p = &self.preview;
        let b = &self.breakdown;
        let a = &self.approval;
        let _ = writeln!(out, "oshirase matching benchmark");
        let _ = writeln!(out, "machine: {} CPUs ({}), load average {} at start", self.machine.cpus, self.machine.cpu_model, self.machine.load_average_at_start);
        let _ = writeln!(
            out,
            "data: {} places, {} residents ({} blocked), {} visits over {} days; visits a day at the busiest place {:.0}, the median {:.0}, the quietest {:.0}",
            grouped(u64::from(d.params.venues)),
            grouped(u64::from(d.params.residents)),
            grouped(d.blocked_residents),
            grouped(d.params.visits),
            d.params.days,
            d.visits_per_day_busiest_median_quietest[0],
            d.visits_per_day_busiest_median_quietest[1],
            d.visits_per_day_busiest_median_quietest[2]
        );
        let _ = writeln!(
            out,
            "database: {}, {} ({}; built {} in {:.0} s: store {:.0} s, residents {:.0} s, generating visits {:.0} s, inserting visits {:.0} s, finishing {:.0} s)",
            d.path,
            human_bytes(d.size_bytes),
            if d.built_now { "built by this run" } else { "cached" },
            d.built_at,
            d.build_s,
            d.phases.store_s,
            d.phases.residents_s,
            d.phases.generate_s,
            d.phases.visits_s,
            d.phases.finish_s
        );
        let busy = self.exposures.iter().filter(|e| e.band == "busy").count();
        let ordinary = self.exposures.iter().filter(|e| e.band == "ordinary").count();
        let _ = writeln!(
            out,
            "case: {} exposures of 1–3 h ({busy} at busy places, {ordinary} ordinary, {} quiet), default rules (tail 30 min, dwell by business type)",
            self.exposures.len(),
            self.exposures.len() - busy - ordinary
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "preview_case (the counts staff see before approving)");
        if let Some(cold) = p.cold_evicted_ms {
            let _ = writeln!(out, "  cold               {cold:.1} ms (file dropped from the page cache, new reader connection)");
            let _ = writeln!(out, "  new connection     {:.1} ms (a freshly opened store, page cache warm)", p.first_on_new_connection_ms);
        } else {
            let _ = writeln!(out, "  first              {:.1} ms (new reader connection, page cache as it was)", p.first_on_new_connection_ms);
        }
        let _ = writeln!(out, "  warm, {} runs      {}", p.warm.count, p.warm.text(1));
        let _ = writeln!(out, "  CPU per preview    {:.1} ms on a core, {:.1} ms waiting for one (all threads of this process)", p.warm_cpu.on_cpu_ms, p.warm_cpu.waiting_ms);
        let _ = writeln!(out, "  matched            {} residents to alert, {} blocked left out", grouped(u64::from(p.total)), grouped(u64::from(p.blocked)));
        let _ = writeln!(
            out,
            "  breakdown (warm)   medians: {} index ranges reading {} entries {:.1} ms; blocked flags of {} residents {:.1} ms; their LINE ids {:.1} ms (one read transaction per statement, as the store)",
            self.exposures.len(),
            grouped(b.index_entries),
            b.ranges.median_ms,
            grouped(b.residents),
            b.blocked_pass.median_ms,
            b.reachable_pass.median_ms
        );
        let _ = writeln!(
            out,
            "  same statements    {:.1} ms as the store ({:.1} ms on a core); {:.1} ms in one read transaction ({:.1}); {:.1} ms in one read transaction with one lookup per resident ({:.1})",
            b.as_store.median_ms,
            b.as_store_cpu.on_cpu_ms,
            b.one_transaction.median_ms,
            b.one_transaction_cpu.on_cpu_ms,
            b.one_pass.median_ms,
            b.one_pass_cpu.on_cpu_ms
        );
        let _ = writeln!(
            out,
            "  goal < {:.0} ms      {} by the warm median ({:.1} ms), {} by the p95 ({:.1} ms)",
            p.goal_ms,
            if p.goal_met_warm { "met" } else { "not met" },
            p.warm.median_ms,
            if p.goal_met_p95 { "met" } else { "not met" },
            p.warm.p95_ms
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "approve_case (matching again, the outbox in batches of ≤ 500, one commit with synchronous=FULL)");
        let _ = writeln!(out, "  time               {:.1} ms", a.ms);
        let _ = writeln!(
            out,
            "  outbox             {} recipients in {} batches, {} blocked left out {}",
            grouped(u64::from(a.recipients)),
            a.batches,
            grouped(u64::from(a.blocked)),
            if a.matches_preview { "(same as the preview)" } else { "(DIFFERS from the preview)" }
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "query plans");
        for (name, plan) in &self.query_plans {
            let _ = writeln!(out, "  {name:<18} {plan}");
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "exposures (rank 1 = busiest place; window = stay + dwell before + tail after; residents as the preview counts them, blocked ones left out)");
        let _ = writeln!(out, "  {:<9} {:>5} {:<16} {:>10} {:<19} {:>7} {:>8} {:>9}", "band", "rank", "business type", "visits/day", "stay (JST)", "window", "visits", "residents");
        for e in &self.exposures {
            let _ = writeln!(
                out,
                "  {:<9} {:>5} {:<16} {:>10.0} {:<19} {:>5} m {:>8} {:>9}",
                e.band,
                e.rank,
                e.business_type,
                e.place_visits_per_day,
                e.stay,
                e.window_minutes,
                grouped(e.visits_in_window),
                grouped(u64::from(e.residents))
            );
        }
        out
    }
}
