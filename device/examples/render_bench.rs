//! Renders the idle screen at 800×480 many times and prints the time per frame, so a change
//! that slows drawing shows up (`cargo run --release -p oshirase-device --example
//! render_bench [frames]`). Timing is measured here rather than asserted in a test, where a
//! busy CI machine would make it flaky.

use std::time::Instant;

use oshirase_device::screen::{DEFAULT_FONT_PATH, Fonts, PngFrame, Screen, draw};

fn main() -> anyhow::Result<()> {
    let frames: u32 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 500,
    };
    let fonts = Fonts::load(DEFAULT_FONT_PATH)?;
    let mut frame = PngFrame::new(800, 480);
    // One untimed frame first, so lazily parsed font tables do not count.
    let screen = |seconds_to_next| Screen::Idle {
        venue_name: "市民体育館 メインアリーナ".to_owned(),
        checkin_url: "HTTPS://OSHIRASE.EXAMPLE.JP/K/KX7PQ2M901R2DW0A70PJXV6XG".to_owned(),
        seconds_to_next,
        pending_scans: 0,
    };
    let Ok(()) = draw(&screen(30), &fonts, &mut frame);
    let start = Instant::now();
    for n in 0..frames {
        let Ok(()) = draw(&screen(n % 30), &fonts, &mut frame);
    }
    let elapsed = start.elapsed();
    let per_frame = elapsed.as_secs_f64() * 1000.0 / f64::from(frames.max(1));
    println!("{frames} idle frames at 800x480: {per_frame:.3} ms/frame");
    Ok(())
}
