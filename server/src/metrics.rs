//! Prometheus metrics: request counts and latencies by route, and domain counters
//! (registrations, withdrawals). Rendered by hand in the text exposition format, which keeps
//! a metrics library and its dependencies out of the build.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// How a registration reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RegistrationChannel {
    /// The HTML form for one place.
    Form,
    /// The HTML bulk form (CSV).
    BulkForm,
    /// `POST /api/v1/venues`.
    Api,
    /// `POST /api/v1/venues/bulk`.
    BulkApi,
}

impl RegistrationChannel {
    fn label(self) -> &'static str {
        match self {
            RegistrationChannel::Form => "form",
            RegistrationChannel::BulkForm => "bulk_form",
            RegistrationChannel::Api => "api",
            RegistrationChannel::BulkApi => "bulk_api",
        }
    }
}

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
    registrations: BTreeMap<RegistrationChannel, u64>,
    places_registered: u64,
    withdrawals: u64,
    webhook_events: u64,
}

/// The server's metrics registry.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves counters that are still valid numbers.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records one finished HTTP request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut inner = self.lock();
        *inner.requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        let h = inner.latency.entry((method.to_owned(), route.to_owned())).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Records a successful registration of `places` places.
    pub fn registered(&self, channel: RegistrationChannel, places: usize) {
        let mut inner = self.lock();
        *inner.registrations.entry(channel).or_default() += 1;
        inner.places_registered += places as u64;
    }

    /// Records LINE webhook events received with a valid signature.
    pub fn webhook_events(&self, count: usize) {
        self.lock().webhook_events += count as u64;
    }

    /// Records a withdrawn place.
    pub fn withdrawn(&self) {
        self.lock().withdrawals += 1;
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let inner = self.lock();
        let mut out = String::new();
        out.push_str("# HELP oshirase_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE oshirase_http_requests_total counter\n");
        for ((method, route, status), n) in &inner.requests {
            let _ = writeln!(out, "oshirase_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}", escape(route));
        }
        out.push_str("# HELP oshirase_http_request_duration_seconds HTTP request latency by method and route.\n");
        out.push_str("# TYPE oshirase_http_request_duration_seconds histogram\n");
        for ((method, route), h) in &inner.latency {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "oshirase_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "oshirase_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "oshirase_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "oshirase_http_request_duration_seconds_count{{{labels}}} {}", h.count);
        }
        out.push_str("# HELP oshirase_venue_registrations_total Successful venue registrations (submissions) by channel.\n");
        out.push_str("# TYPE oshirase_venue_registrations_total counter\n");
        for channel in [RegistrationChannel::Form, RegistrationChannel::BulkForm, RegistrationChannel::Api, RegistrationChannel::BulkApi] {
            let n = inner.registrations.get(&channel).copied().unwrap_or(0);
            let _ = writeln!(out, "oshirase_venue_registrations_total{{channel=\"{}\"}} {n}", channel.label());
        }
        out.push_str("# HELP oshirase_venue_places_registered_total Places (each with its own code) registered.\n");
        out.push_str("# TYPE oshirase_venue_places_registered_total counter\n");
        let _ = writeln!(out, "oshirase_venue_places_registered_total {}", inner.places_registered);
        out.push_str("# HELP oshirase_venue_withdrawals_total Places withdrawn by their venue.\n");
        out.push_str("# TYPE oshirase_venue_withdrawals_total counter\n");
        let _ = writeln!(out, "oshirase_venue_withdrawals_total {}", inner.withdrawals);
        out.push_str("# HELP oshirase_line_webhook_events_total LINE webhook events received with a valid signature.\n");
        out.push_str("# TYPE oshirase_line_webhook_events_total counter\n");
        let _ = writeln!(out, "oshirase_line_webhook_events_total {}", inner.webhook_events);
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware that records every request under its route template (`/c/{code}`), never the
/// raw path, so secrets in paths never reach the metrics and label sets stay bounded.
pub async fn track(State(metrics): State<std::sync::Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe_request(&method, &route, response.status().as_u16(), started.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_and_status() {
        let m = Metrics::default();
        m.observe_request("GET", "/c/{code}", 200, Duration::from_millis(3));
        m.observe_request("GET", "/c/{code}", 200, Duration::from_millis(30));
        m.observe_request("GET", "/c/{code}", 404, Duration::from_millis(1));
        let text = m.render();
        assert!(text.contains("oshirase_http_requests_total{method=\"GET\",route=\"/c/{code}\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("oshirase_http_requests_total{method=\"GET\",route=\"/c/{code}\",status=\"404\"} 1"));
        assert!(text.contains("oshirase_http_request_duration_seconds_bucket{method=\"GET\",route=\"/c/{code}\",le=\"0.005\"} 2"));
        assert!(text.contains("oshirase_http_request_duration_seconds_count{method=\"GET\",route=\"/c/{code}\"} 3"));
    }

    #[test]
    fn registrations_are_counted_by_channel() {
        let m = Metrics::default();
        m.registered(RegistrationChannel::BulkApi, 3);
        m.registered(RegistrationChannel::Form, 1);
        m.withdrawn();
        let text = m.render();
        assert!(text.contains("oshirase_venue_registrations_total{channel=\"bulk_api\"} 1"));
        assert!(text.contains("oshirase_venue_registrations_total{channel=\"api\"} 0"));
        assert!(text.contains("oshirase_venue_places_registered_total 4"));
        assert!(text.contains("oshirase_venue_withdrawals_total 1"));
    }
}
