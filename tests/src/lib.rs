//! The end-to-end harness for oshirase: start the real `oshirase-server` binary on a fresh
//! SQLite file, talk to it over real HTTP, look inside the PDFs and QR codes it produces,
//! drive headless Chromium through its pages like a person on a phone, and play residents
//! on LINE through the real `oshirase-line-sandbox` binary wired to the server.
//!
//! Nothing here imports the server's code: the tests see the server only from the outside,
//! as a venue, a resident's phone or an operator would. A missing tool is a failure with a
//! message saying how to get it, never a skipped test.

pub mod browser;
pub mod kiosk;
pub mod line;
pub mod pdf;
pub mod qr;
pub mod server;
pub mod texts;

pub use browser::Browser;
pub use kiosk::{KioskProcess, PairedKiosk, pair_kiosk};
pub use line::{LineSandbox, LineWorld, Venue, sign_webhook};
pub use pdf::{pdf_info, pdf_page_to_png, pdf_pages, pdf_text, pdf_to_png};
pub use qr::{decode_qr_luma, decode_qr_png, png_to_luma};
pub use server::{StoppedServer, TestServer, run_server_binary, target_dir, valid_venue, workspace_dir};
