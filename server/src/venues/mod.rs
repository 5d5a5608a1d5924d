//! Venue registration as a service: validated places in, a stored registration and its
//! one-time management secret out. Handlers for the HTML form, the CSV upload and the JSON
//! API all end here, so the rules hold the same whichever way a venue registers.

pub mod csv_import;

use oshirase_common::{FieldErrors, NewVenue, VenueForm};
use thiserror::Error;
use time::OffsetDateTime;

use crate::secrets::{ManageToken, new_location_id, new_venue_code};
use crate::store::{NewPlace, NewRegistration, RegistrationRecord, Store, StoreError};

/// How often fresh random identifiers are drawn when they collide with stored ones (with
/// 50-bit codes a single collision is already astronomically rare).
const ID_ATTEMPTS: usize = 3;

/// Why a registration was refused or failed.
#[derive(Debug, Error)]
pub enum RegisterError {
    /// Some places have invalid fields; nothing was stored. Holds (index, errors) per bad place.
    #[error("{} place(s) have invalid fields", .0.len())]
    Invalid(Vec<(usize, FieldErrors)>),
    /// The submission had no places.
    #[error("no places to register")]
    Empty,
    /// More places than one submission may hold.
    #[error("too many places: {count} (at most {max})")]
    TooMany {
        /// Places submitted.
        count: usize,
        /// Limit.
        max: usize,
    },
    /// Storage failed; nothing was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A stored registration and the secret that manages it, shown to the venue once.
#[derive(Debug)]
pub struct Registered {
    /// The management secret; only its hash is stored.
    pub token: ManageToken,
    /// What was stored.
    pub record: RegistrationRecord,
}

/// Validates every form; all valid → parsed places, else every error with its index.
pub fn validate_all(forms: &[VenueForm], max: usize) -> Result<Vec<NewVenue>, RegisterError> {
    if forms.is_empty() {
        return Err(RegisterError::Empty);
    }
    if forms.len() > max {
        return Err(RegisterError::TooMany { count: forms.len(), max });
    }
    let mut venues = Vec::with_capacity(forms.len());
    let mut errors = Vec::new();
    for (index, form) in forms.iter().enumerate() {
        match NewVenue::parse(form) {
            Ok(v) => venues.push(v),
            Err(e) => errors.push((index, e)),
        }
    }
    if errors.is_empty() { Ok(venues) } else { Err(RegisterError::Invalid(errors)) }
}

/// Stores places as one registration (all or nothing) with a fresh management secret.
pub async fn register(store: &dyn Store, venues: Vec<NewVenue>, now: OffsetDateTime) -> Result<Registered, RegisterError> {
    if venues.is_empty() {
        return Err(RegisterError::Empty);
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let token = ManageToken::generate();
        let places = venues
            .iter()
            .map(|venue| NewPlace { location_id: new_location_id(), code: new_venue_code(), venue: venue.clone() })
            .collect();
        let registration = NewRegistration { token_hash: token.hash(), created_at: now, venues: places };
        match store.create_registration(registration).await {
            Ok(record) => return Ok(Registered { token, record }),
            Err(StoreError::Conflict(what)) if attempt < ID_ATTEMPTS => {
                tracing::warn!(%what, attempt, "random identifier collided; drawing new ones");
            }
            Err(e) => return Err(e.into()),
        }
    }
}
