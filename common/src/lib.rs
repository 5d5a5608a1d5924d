//! Domain types, parsing rules and wire formats shared by the oshirase server and kiosk.
//!
//! Architecture invariant: this crate does no I/O. It never reads files, sockets, clocks or
//! random number generators; callers pass in what it needs (random bytes, the current time).
//! Every validated value is a newtype whose only way in is `parse`, so code that holds one
//! cannot have skipped a check.

pub mod base32;
pub mod business_type;
pub mod ids;
pub mod kiosk_token;
pub mod lang;
pub mod pass;
pub mod text;
pub mod venue;

pub use business_type::BusinessType;
pub use ids::{LineUserId, LocationId, VenueCode};
pub use lang::Lang;
pub use venue::{
    Address, DailyVisitors, Email, Field, FieldError, FieldErrors, NewVenue, PhoneNumber,
    PostalCode, VenueForm, VenueName,
};
