//! The end-to-end harness for oshirase: start the real `oshirase-server` binary on a fresh
//! SQLite file, talk to it over real HTTP, look inside the PDFs and QR codes it produces,
//! and drive headless Chromium through its pages like a person on a phone.
//!
//! Nothing here imports the server's code: the tests see the server only from the outside,
//! as a venue, a resident's phone or an operator would. A missing tool is a failure with a
//! message saying how to get it, never a skipped test.

pub mod browser;
pub mod pdf;
pub mod qr;
pub mod server;

pub use browser::Browser;
pub use pdf::{pdf_info, pdf_page_to_png, pdf_pages, pdf_text, pdf_to_png};
pub use qr::{decode_qr_luma, decode_qr_png, png_to_luma};
pub use server::{TestServer, run_server_binary, target_dir, valid_venue};
