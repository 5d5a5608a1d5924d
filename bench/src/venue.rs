//! A place registered through the server's JSON API, and pairing codes for its kiosks: the
//! set-up the kiosk benchmarks share.

use anyhow::{Context as _, ensure};
use serde_json::{Value, json};

/// The place kiosks pair with, and the secret that asks for pairing codes.
#[derive(Debug)]
pub struct Venue {
    /// Its location id.
    pub location_id: String,
    /// The registration's management secret.
    pub manage_token: String,
}

/// Registers one place named `name` (`POST /api/v1/venues`).
pub async fn register_venue(client: &reqwest::Client, base_url: &str, name: &str) -> anyhow::Result<Venue> {
    let body = json!({
        "business_type": "hall",
        "daily_visitors": 300,
        "name": name,
        "postal_code": "330-9301",
        "address": "埼玉県さいたま市浦和区高砂3-15-1",
        "phone": "048-824-2111",
        "email": "info@example.jp"
    });
    let response = client.post(format!("{base_url}/api/v1/venues")).json(&body).send().await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    ensure!(status == reqwest::StatusCode::CREATED, "venue registration answered {status}: {answer}");
    let field = |v: &Value, key: &str| v[key].as_str().map(str::to_owned).with_context(|| format!("no {key} in {answer}"));
    Ok(Venue { location_id: field(&answer["venues"][0], "location_id")?, manage_token: field(&answer["registration"], "manage_token")? })
}

/// A one-time pairing code for a kiosk at `venue`, from the management API.
pub async fn pairing_code(client: &reqwest::Client, base_url: &str, venue: &Venue) -> anyhow::Result<String> {
    let response = client.post(format!("{base_url}/api/v1/manage/venues/{}/kiosks", venue.location_id)).bearer_auth(&venue.manage_token).send().await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    ensure!(status.is_success(), "asking for a pairing code answered {status}: {answer}");
    answer["pairing_code"].as_str().map(str::to_owned).with_context(|| format!("no pairing_code in {answer}"))
}
