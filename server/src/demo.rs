//! The local demo's set-up step (`oshirase-server demo-kiosk`): registers a sample place and
//! prints a pairing code for a simulated kiosk, so `scripts/start` can show a paired kiosk
//! without anyone typing. Uses the same services as the pages and the API.

use anyhow::Context as _;
use oshirase_common::{NewVenue, VenueForm};
use time::OffsetDateTime;

use crate::config::Settings;
use crate::secrets::PairingCode;
use crate::store::{SqliteStore, Store};

/// What the demo set-up made.
#[derive(Debug)]
pub struct DemoKiosk {
    /// The pairing code for the kiosk.
    pub pairing_code: String,
    /// The sample registration's management path (`/manage/<secret>`).
    pub manage_path: String,
}

/// Registers a sample place and makes a pairing code for it.
pub async fn demo_kiosk(settings: &Settings) -> anyhow::Result<DemoKiosk> {
    let store = SqliteStore::open(&settings.database.path).context("opening the database")?;
    let venue = NewVenue::parse(&VenueForm {
        business_type: "hall".into(),
        daily_visitors: "300".into(),
        name: "デモ会場 キオスク前".into(),
        postal_code: "330-9301".into(),
        address: "埼玉県さいたま市浦和区高砂3-15-1".into(),
        phone: "048-824-2111".into(),
        email: "demo@example.jp".into(),
    })
    .map_err(|e| anyhow::anyhow!("the demo venue is invalid: {e:?}"))?;
    let now = OffsetDateTime::now_utc();
    let registered = crate::venues::register(&store, vec![venue], now).await?;
    let location = registered.record.venues[0].location_id.clone();
    let code = PairingCode::generate();
    let expires = now + time::Duration::minutes(i64::from(settings.kiosk.pairing_code_minutes));
    store.create_pairing_code(registered.record.id, location, code.hash(), now, expires).await?;
    Ok(DemoKiosk { pairing_code: code.grouped(), manage_path: crate::routes::manage::manage_path(&registered.token) })
}
