//! The load generator: `N` HTTP/1.1 keep-alive connections, each sending its next request as
//! soon as the previous answer is read (a closed loop, as LINE's delivery channels behave),
//! for a warm-up and then a measured window. Built on hyper's bare connection API: one
//! connection per task, no pool, no per-request client machinery, so that as much of the
//! shared CPU as possible goes to the server under test.
//!
//! What a request says is up to a [`RequestSource`], one per connection, so the same
//! generator drives the real server and the bare handler it is compared with.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::stats::Latencies;

/// How often one connection may fail to connect before it gives up.
const MAX_CONNECT_FAILURES: u32 = 20;

/// Makes the requests of one connection.
pub trait RequestSource: Send + 'static {
    /// The next request (path-only URI, with a `host` header). An error stops this
    /// connection and is reported.
    fn next_request(&mut self) -> Result<Request<Full<Bytes>>, String>;
}

/// The instants that bound a run.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// The first request may go.
    pub start: Instant,
    /// Answers from here on are measured.
    pub measure_start: Instant,
    /// No request starts from here on; answers after it are not measured.
    pub end: Instant,
}

impl Window {
    /// A warm-up (connections open, caches and pools fill) then a measured window, starting
    /// now.
    pub fn starting_now(warmup: Duration, measure: Duration) -> Window {
        let start = Instant::now();
        Window { start, measure_start: start + warmup, end: start + warmup + measure }
    }

    /// The measured window's length.
    pub fn measured(&self) -> Duration {
        self.end - self.measure_start
    }
}

/// What a run saw.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// When it ran.
    pub window: Window,
    /// When the last connection finished its last request (after `window.end`).
    pub finished: Instant,
    /// Latencies of 200 answers that arrived within the measured window.
    pub latencies: Latencies,
    /// 200 answers within the measured window.
    pub measured_ok: u64,
    /// Other answers within the measured window.
    pub measured_not_ok: u64,
    /// Answers by status over the whole run (warm-up and the last in-flight requests too).
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no answer (connection failed or reset) over the whole run.
    pub transport_errors: u64,
    /// The first such error or source error, for the report.
    pub first_error: Option<String>,
}

impl Outcome {
    /// 200 answers over the whole run.
    pub fn total_ok(&self) -> u64 {
        self.statuses.get(&200).copied().unwrap_or(0)
    }

    /// Answers other than 200 over the whole run.
    pub fn total_not_ok(&self) -> u64 {
        self.statuses.iter().filter(|(status, _)| **status != 200).map(|(_, n)| n).sum()
    }
}

/// Runs `sources.len()` connections against `addr` until `window` closes, then waits for the
/// requests still in flight.
pub async fn run<S: RequestSource>(addr: SocketAddr, window: Window, sources: Vec<S>) -> Outcome {
    let tasks: Vec<_> = sources.into_iter().map(|source| tokio::spawn(drive(addr, window, source))).collect();
    let mut latencies = Vec::new();
    let mut outcome = Outcome {
        window,
        finished: window.end,
        latencies: Latencies::default(),
        measured_ok: 0,
        measured_not_ok: 0,
        statuses: BTreeMap::new(),
        transport_errors: 0,
        first_error: None,
    };
    for task in tasks {
        let connection = task.await.unwrap_or_else(|e| Connection { first_error: Some(format!("connection task failed: {e}")), ..Connection::default() });
        latencies.extend(connection.latencies_us);
        outcome.measured_ok += connection.measured_ok;
        outcome.measured_not_ok += connection.measured_not_ok;
        for (status, n) in connection.statuses {
            *outcome.statuses.entry(status).or_default() += n;
        }
        outcome.transport_errors += connection.transport_errors;
        outcome.first_error = outcome.first_error.or(connection.first_error);
    }
    outcome.finished = Instant::now();
    outcome.latencies = Latencies::from_micros(latencies);
    outcome
}

/// One connection's tally.
#[derive(Debug, Default)]
struct Connection {
    latencies_us: Vec<u32>,
    measured_ok: u64,
    measured_not_ok: u64,
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
    first_error: Option<String>,
}

impl Connection {
    fn error(&mut self, message: String) {
        self.first_error.get_or_insert(message);
    }
}

async fn drive<S: RequestSource>(addr: SocketAddr, window: Window, mut source: S) -> Connection {
    let mut tally = Connection { latencies_us: Vec::with_capacity(64 * 1024), ..Connection::default() };
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    let mut connect_failures = 0;
    while Instant::now() < window.end {
        let Some(open) = sender.as_mut() else {
            match connect(addr).await {
                Ok(s) => sender = Some(s),
                Err(e) => {
                    tally.error(format!("connect to {addr}: {e}"));
                    connect_failures += 1;
                    if connect_failures >= MAX_CONNECT_FAILURES {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            continue;
        };
        if open.ready().await.is_err() {
            sender = None;
            continue;
        }
        let request = match source.next_request() {
            Ok(request) => request,
            Err(e) => {
                tally.error(e);
                break;
            }
        };
        let started = Instant::now();
        let answer = exchange(open, request).await;
        let done = Instant::now();
        match answer {
            Ok(status) => {
                *tally.statuses.entry(status).or_default() += 1;
                if done >= window.measure_start && done <= window.end {
                    if status == 200 {
                        tally.measured_ok += 1;
                        tally.latencies_us.push(u32::try_from((done - started).as_micros()).unwrap_or(u32::MAX));
                    } else {
                        tally.measured_not_ok += 1;
                    }
                }
            }
            Err(e) => {
                tally.transport_errors += 1;
                tally.error(e);
                sender = None;
            }
        }
    }
    tally
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        // Ends when the sender is dropped or the server closes; either is seen by the sender.
        let _ = connection.await;
    });
    Ok(sender)
}

/// Sends one request and reads the whole answer (so the connection can be reused).
async fn exchange(sender: &mut SendRequest<Full<Bytes>>, request: Request<Full<Bytes>>) -> Result<u16, String> {
    let response = sender.send_request(request).await.map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    response.into_body().collect().await.map_err(|e| format!("reading the answer failed: {e}"))?;
    Ok(status)
}
