//! The printed side of a venue's registration: the QR code residents scan and the A4 poster
//! that carries it.
//!
//! [`qr`] turns a check-in URL into a grid of modules and draws it as PNG or SVG; [`pdf`]
//! lays out the bilingual poster around the same grid with the venue's own font, and
//! [`pass_card`] a resident's pass as a card to carry. The two documents share the font
//! handling of `font` (glyph checks, measuring, 〓 for what the font lacks), the line breaking
//! of `wrap` and the drawing of `draw`. Nothing here touches the database or HTTP: callers
//! pass in the text to print and get bytes back.

mod draw;
mod font;
pub mod pass_card;
pub mod pdf;
pub mod qr;
mod wrap;

pub use pass_card::{PassCard, PassCardRenderer};
pub use pdf::{PosterContent, PosterError, PosterRenderer};
