//! Finding and reading the QR codes in one camera frame.
//!
//! [`decode`] is a pure function: the same frame always gives the same texts, it keeps no
//! state between frames and shares nothing, so the run loop can hand each frame to a blocking
//! thread. It wraps `rqrr` (a port of quirc), which does the finding and the error
//! correction; what this module adds is where to look.
//!
//! rqrr on its own reads 56% of the degraded pass frames `decode_bench` generates (70% for
//! the smaller kiosk URL code). Its weak point is finding the code, not correcting errors:
//! small modules (about 3 pixels or fewer) and blur make it miss the finder, timing or
//! alignment patterns, and whether it finds them changes from one scale of the same picture
//! to the next. So [`decode`] looks at the frame in up to three of four ways, cheapest first,
//! and stops at the first that reads a code:
//!
//! 1. [`Stage::Half`] — the frame at half size (2×2 mean, 320×240). A pass held close to the
//!    camera has big modules; this reads it in about a millisecond.
//! 2. [`Stage::Full`] — the frame as it is.
//! 3. [`Stage::Regions`] — the one or two *busy regions* of the frame (many light–dark edges
//!    both across and down, as a QR code has and text lines or plain surfaces have not),
//!    cropped and enlarged up to 2× (bilinear). This reads most of the small codes the first
//!    two miss, for a fraction of the cost of enlarging the whole frame (about 20 ms here for
//!    a similar gain).
//! 4. [`Stage::Smoothed`] — the frame through a 3×3 mean, against sensor noise.
//!
//! Which three depends on the frame's noise, measured first (the median difference between
//! neighbouring pixels of the half-size frame: 1–2 grey levels in an everyday frame, 4 and up
//! under heavy sensor noise): an everyday frame gets half → full → regions
//! ([`QUIET_STAGES`]), a noisy one half → smoothed → regions ([`NOISY_STAGES`]), since the
//! full-size frame rarely reads under noise and smoothing rarely helps without it. Running
//! all four ([`STAGES`]) reads 2% more of the degraded passes but made the slowest frames
//! take 40 ms; three keep every frame under about 25 ms. Together they read 71% of those
//! frames (77% of kiosk URLs). A frame without a code costs about 4.5 ms at 640×480 on the
//! 2-core x86_64 development machine; a frame with a code usually stops at the first or
//! second stage. The README ("Kiosk camera decoding") has the measured
//! times and rates per kind of degradation. On a slower Pi the run loop can simply decode the
//! newest frame whenever the previous decoding is done: a pass held up to the camera stays in
//! view for many frames.

use super::GrayFrame;

/// One way of looking at a frame. [`decode`] tries them in [`STAGES`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// The frame at half size, each pixel the mean of a 2×2 block.
    Half,
    /// The frame as it is.
    Full,
    /// The busiest regions, cropped and enlarged up to 2×.
    Regions,
    /// The frame through a 3×3 mean filter.
    Smoothed,
}

/// Every stage, cheapest and most often successful first (the benchmark compares them;
/// [`decode`] runs three of them, chosen by the frame's noise).
pub const STAGES: [Stage; 4] = [Stage::Half, Stage::Full, Stage::Regions, Stage::Smoothed];

/// What [`decode_traced`] read, and at which stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The texts of the codes read, each once, in the order found.
    pub texts: Vec<String>,
    /// The stage that read them; `None` if nothing was read.
    pub stage: Option<Stage>,
}

/// The texts of the QR codes in `frame`, each once, in the order found; empty if there is
/// none. Codes whose content is not UTF-8 are skipped (the kiosk's codes are text).
///
/// Takes tens of milliseconds at most on a Pi, so call it from a blocking thread.
pub fn decode(frame: &GrayFrame) -> Vec<String> {
    decode_traced(frame).texts
}

/// [`decode`], also saying which stage read the codes.
pub fn decode_traced(frame: &GrayFrame) -> Decoded {
    let mut work = Work::new(frame);
    let stages: &[Stage] = if work.noise() >= NOISY { &NOISY_STAGES } else { &QUIET_STAGES };
    work.try_stages(stages)
}

/// A frame whose noise measure reaches this is noisy (heavy sensor noise measures 6–20,
/// moderate noise with other degradations 4–9, an everyday frame 1–2).
const NOISY: u8 = 4;
/// The stages for an everyday frame.
pub const QUIET_STAGES: [Stage; 3] = [Stage::Half, Stage::Full, Stage::Regions];
/// The stages for a noisy frame.
pub const NOISY_STAGES: [Stage; 3] = [Stage::Half, Stage::Smoothed, Stage::Regions];

/// Tries `stages` in order, stopping at the first that reads a code (the benchmark compares
/// strategies with it).
pub fn decode_with(frame: &GrayFrame, stages: &[Stage]) -> Decoded {
    Work::new(frame).try_stages(stages)
}

/// The smallest QR code (version 1) has 21 modules a side; anything narrower holds none.
const MIN_SIDE: usize = 21;
/// Busy-region search: cell size, in pixels of the half-size frame.
const CELL: usize = 8;
/// A cell is busy when at least this many of its pixels have a strong edge to the right and
/// as many have one below (of 64).
const BUSY_EDGES: u32 = 10;
/// A busy region must cover at least this many cells (a 2×2-cell code is 32 pixels wide).
const MIN_REGION_CELLS: usize = 4;
/// Cells of margin added around a region, so the code's quiet zone is in the crop.
const REGION_MARGIN: usize = 2;
/// At most this many regions are tried, busiest first.
const MAX_REGIONS: usize = 1;
/// Enlarged regions are at most this many pixels on their long side (about the cost of one
/// full-frame pass).
const MAX_ENLARGED_SIDE: f32 = 640.0;

/// One decoding of one frame: the frame, and its half-size version once a stage needed it.
struct Work<'a> {
    full: View<'a>,
    half: Option<Image>,
}

impl<'a> Work<'a> {
    fn new(frame: &'a GrayFrame) -> Work<'a> {
        Work {
            full: View {
                width: frame.width() as usize,
                height: frame.height() as usize,
                pixels: frame.pixels(),
            },
            half: None,
        }
    }

    fn try_stages(&mut self, stages: &[Stage]) -> Decoded {
        for &stage in stages {
            let texts = self.run(stage);
            if !texts.is_empty() {
                return Decoded { texts, stage: Some(stage) };
            }
        }
        Decoded { texts: Vec::new(), stage: None }
    }

    fn run(&mut self, stage: Stage) -> Vec<String> {
        let mut found = Vec::new();
        match stage {
            Stage::Half => read_codes(&self.half().view(), &mut found),
            Stage::Full => read_codes(&self.full, &mut found),
            Stage::Regions => {
                let regions = busy_regions(&self.half().view());
                for region in regions {
                    let crop = crop(&self.full, region);
                    let scale =
                        (MAX_ENLARGED_SIDE / crop.width.max(crop.height) as f32).clamp(1.0, 2.0);
                    read_codes(&enlarge(&crop.view(), scale).view(), &mut found);
                    if !found.is_empty() {
                        break;
                    }
                }
            }
            Stage::Smoothed => read_codes(&smooth(&self.full).view(), &mut found),
        }
        found
    }

    fn half(&mut self) -> &Image {
        self.half.get_or_insert_with(|| half(&self.full))
    }

    /// The sensor noise in the frame: the median difference between horizontal neighbours of
    /// the half-size frame (flat surfaces, which most of a frame is, make the median; edges and
    /// text lines do not move it).
    fn noise(&mut self) -> u8 {
        let half = self.half();
        if half.width < 2 {
            return 0;
        }
        let mut histogram = [0u32; 256];
        for row in half.pixels.chunks_exact(half.width) {
            for pair in row.windows(2) {
                histogram[usize::from(pair[0].abs_diff(pair[1]))] += 1;
            }
        }
        let middle = histogram.iter().sum::<u32>() / 2;
        let mut seen = 0;
        for (level, count) in histogram.iter().enumerate() {
            seen += count;
            if seen > middle {
                return u8::try_from(level).unwrap_or(u8::MAX);
            }
        }
        0
    }
}

/// For the benchmark: the noise estimate [`decode`] plans with.
#[doc(hidden)]
pub fn noise_level(frame: &GrayFrame) -> u8 {
    Work::new(frame).noise()
}

/// A borrowed grey image, `width × height` bytes row by row.
#[derive(Clone, Copy)]
struct View<'a> {
    width: usize,
    height: usize,
    pixels: &'a [u8],
}

impl View<'_> {
    fn at(&self, x: usize, y: usize) -> u8 {
        self.pixels[y * self.width + x]
    }
}

/// An owned grey image made from a frame.
struct Image {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Image {
    fn view(&self) -> View<'_> {
        View {
            width: self.width,
            height: self.height,
            pixels: &self.pixels,
        }
    }
}

/// A rectangle in pixels: left, top, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    x: usize,
    y: usize,
    width: usize,
    height: usize,
}

/// Runs rqrr over `view`, adding each text it reads that is not in `found` yet.
fn read_codes(view: &View<'_>, found: &mut Vec<String>) {
    if view.width < MIN_SIDE || view.height < MIN_SIDE {
        return;
    }
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(view.width, view.height, |x, y| view.at(x, y));
    for grid in prepared.detect_grids() {
        let mut bytes = Vec::new();
        if grid.decode_to(&mut bytes).is_err() {
            continue;
        }
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if !found.contains(&text) {
            found.push(text);
        }
    }
}

/// The image at half size, each pixel the rounded mean of a 2×2 block (an odd last row or
/// column is dropped).
fn half(view: &View<'_>) -> Image {
    let (width, height) = (view.width / 2, view.height / 2);
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        let top = &view.pixels[2 * y * view.width..][..2 * width];
        let bottom = &view.pixels[(2 * y + 1) * view.width..][..2 * width];
        for (t, b) in top.chunks_exact(2).zip(bottom.chunks_exact(2)) {
            let sum = u16::from(t[0]) + u16::from(t[1]) + u16::from(b[0]) + u16::from(b[1]);
            pixels.push(mean_u8(u32::from(sum), 4));
        }
    }
    Image {
        width,
        height,
        pixels,
    }
}

/// The image through a 3×3 mean filter (edges use the pixels that exist).
fn smooth(view: &View<'_>) -> Image {
    let (width, height) = (view.width, view.height);
    // Sums of three horizontal neighbours, then of three of those vertically.
    let mut rows = vec![0u16; width * height];
    for y in 0..height {
        for x in 0..width {
            let lo = x.saturating_sub(1);
            let hi = (x + 1).min(width - 1);
            rows[y * width + x] = (lo..=hi).map(|i| u16::from(view.at(i, y))).sum();
        }
    }
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        let lo = y.saturating_sub(1);
        let hi = (y + 1).min(height - 1);
        for x in 0..width {
            let across = (x + 1).min(width - 1) - x.saturating_sub(1) + 1;
            let sum: u32 = (lo..=hi).map(|j| u32::from(rows[j * width + x])).sum();
            pixels.push(mean_u8(sum, (across * (hi - lo + 1)) as u32));
        }
    }
    Image {
        width,
        height,
        pixels,
    }
}

/// The part of `view` inside `rect` (which lies inside `view`).
fn crop(view: &View<'_>, rect: Rect) -> Image {
    let mut pixels = Vec::with_capacity(rect.width * rect.height);
    for y in rect.y..rect.y + rect.height {
        pixels.extend_from_slice(&view.pixels[y * view.width + rect.x..][..rect.width]);
    }
    Image {
        width: rect.width,
        height: rect.height,
        pixels,
    }
}

/// The image enlarged by `scale` (≥ 1) with bilinear interpolation.
fn enlarge(view: &View<'_>, scale: f32) -> Image {
    let width = (view.width as f32 * scale) as usize;
    let height = (view.height as f32 * scale) as usize;
    let (max_x, max_y) = ((view.width - 1) as f32, (view.height - 1) as f32);
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        let sy = ((y as f32 + 0.5) / scale - 0.5).clamp(0.0, max_y);
        let (y0, fy) = (sy as usize, sy.fract());
        let y1 = (y0 + 1).min(view.height - 1);
        for x in 0..width {
            let sx = ((x as f32 + 0.5) / scale - 0.5).clamp(0.0, max_x);
            let (x0, fx) = (sx as usize, sx.fract());
            let x1 = (x0 + 1).min(view.width - 1);
            let at = |x, y| f32::from(view.at(x, y));
            let top = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * fx;
            let bottom = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * fx;
            // A mix of bytes stays within 0..=255, so the cast only drops the fraction.
            pixels.push((top + (bottom - top) * fy).round() as u8);
        }
    }
    Image {
        width,
        height,
        pixels,
    }
}

/// Where in the frame a code probably is, busiest first, in full-size pixels; `half` is the
/// frame at half size.
///
/// The half-size frame is cut into 8×8 cells; a cell is busy when many of its pixels have a
/// strong step to the next pixel both across and down (a QR code's modules do; text lines,
/// edges of furniture and plain surfaces mostly step one way only). "Strong" is a sixth of
/// the frame's spread of grey levels (10th to 90th percentile), so that a washed-out frame
/// still has edges. Connected busy cells form regions; the largest, with a margin, are
/// returned.
fn busy_regions(half: &View<'_>) -> Vec<Rect> {
    let (cols, rows) = (half.width / CELL, half.height / CELL);
    if cols == 0 || rows == 0 {
        return Vec::new();
    }
    let step = edge_step(half);
    let busy: Vec<u32> = (0..rows * cols)
        .map(|i| cell_edges(half, i % cols, i / cols, step))
        .collect();
    let mut regions = Vec::new();
    let mut seen = vec![false; busy.len()];
    for start in 0..busy.len() {
        if busy[start] < BUSY_EDGES || seen[start] {
            continue;
        }
        let region = grow_region(&busy, &mut seen, cols, rows, start);
        if region.cells >= MIN_REGION_CELLS {
            regions.push(region);
        }
    }
    // Busiest first; ties (rare) by position, so the order never depends on anything else.
    regions.sort_by(|a, b| b.score.cmp(&a.score).then(a.first.cmp(&b.first)));
    regions
        .into_iter()
        .take(MAX_REGIONS)
        .map(|region| region.to_pixels(cols, rows, half))
        .collect()
}

/// The grey-level step that counts as an edge in `view`.
fn edge_step(view: &View<'_>) -> i16 {
    let mut histogram = [0usize; 256];
    for &p in view.pixels {
        histogram[usize::from(p)] += 1;
    }
    let percentile = |share: usize| {
        let target = view.pixels.len() * share / 100;
        let mut seen = 0;
        for (level, count) in histogram.iter().enumerate() {
            seen += count;
            if seen >= target {
                return level as i16;
            }
        }
        255
    };
    ((percentile(90) - percentile(10)) / 6).clamp(8, 40)
}

/// How busy cell (`cx`, `cy`) is: the fewer of its pixels with a step above `step` to the
/// right and those with one below.
fn cell_edges(view: &View<'_>, cx: usize, cy: usize, step: i16) -> u32 {
    let (mut across, mut down) = (0, 0);
    for y in cy * CELL..(cy + 1) * CELL {
        for x in cx * CELL..(cx + 1) * CELL {
            let here = i16::from(view.at(x, y));
            if x + 1 < view.width && (i16::from(view.at(x + 1, y)) - here).abs() > step {
                across += 1;
            }
            if y + 1 < view.height && (i16::from(view.at(x, y + 1)) - here).abs() > step {
                down += 1;
            }
        }
    }
    u32::min(across, down)
}

/// Busy cells connected to each other (8 neighbours), in cell units.
struct Region {
    /// Sum of the cells' edge counts.
    score: u32,
    cells: usize,
    /// The first cell found (row-major), for a stable order.
    first: usize,
    left: usize,
    top: usize,
    right: usize,
    bottom: usize,
}

impl Region {
    /// The region with its margin, in pixels of the full-size frame, inside the frame.
    fn to_pixels(&self, cols: usize, rows: usize, half: &View<'_>) -> Rect {
        let scale = CELL * 2;
        let left = self.left.saturating_sub(REGION_MARGIN) * scale;
        let top = self.top.saturating_sub(REGION_MARGIN) * scale;
        let right = (self.right + 1 + REGION_MARGIN).min(cols) * scale;
        let bottom = (self.bottom + 1 + REGION_MARGIN).min(rows) * scale;
        let right = right.min(half.width * 2);
        let bottom = bottom.min(half.height * 2);
        Rect {
            x: left,
            y: top,
            width: right - left,
            height: bottom - top,
        }
    }
}

/// The region of busy cells connected to `start`, marking them in `seen`.
fn grow_region(busy: &[u32], seen: &mut [bool], cols: usize, rows: usize, start: usize) -> Region {
    let mut region = Region {
        score: 0,
        cells: 0,
        first: start,
        left: cols,
        top: rows,
        right: 0,
        bottom: 0,
    };
    let mut stack = vec![start];
    seen[start] = true;
    while let Some(i) = stack.pop() {
        let (cx, cy) = (i % cols, i / cols);
        region.score += busy[i];
        region.cells += 1;
        region.left = region.left.min(cx);
        region.top = region.top.min(cy);
        region.right = region.right.max(cx);
        region.bottom = region.bottom.max(cy);
        for ny in cy.saturating_sub(1)..=(cy + 1).min(rows - 1) {
            for nx in cx.saturating_sub(1)..=(cx + 1).min(cols - 1) {
                let j = ny * cols + nx;
                if busy[j] >= BUSY_EDGES && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
    }
    region
}

/// `sum / count` rounded, as a byte (`sum` is at most `255 * count`).
fn mean_u8(sum: u32, count: u32) -> u8 {
    u8::try_from((sum + count / 2) / count.max(1)).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: usize, height: usize, f: impl Fn(usize, usize) -> u8) -> Image {
        let pixels = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        Image {
            width,
            height,
            pixels,
        }
    }

    #[test]
    fn half_size_averages_two_by_two_blocks_and_drops_an_odd_edge() {
        let source = image(5, 3, |x, y| (10 * x + 100 * y) as u8);
        let halved = half(&source.view());
        assert_eq!((halved.width, halved.height), (2, 1));
        assert_eq!(halved.pixels, vec![55, 75]);
    }

    #[test]
    fn smoothing_keeps_a_flat_image_flat_and_spreads_a_dot() {
        let flat = smooth(&image(6, 4, |_, _| 77).view());
        assert!(flat.pixels.iter().all(|&p| p == 77));
        let dot = smooth(&image(5, 5, |x, y| if (x, y) == (2, 2) { 90 } else { 0 }).view());
        assert_eq!(dot.pixels[2 * 5 + 2], 10);
        assert_eq!(dot.pixels[5 + 1], 10);
        assert_eq!(dot.pixels[0], 0);
    }

    #[test]
    fn enlarging_doubles_the_size_and_keeps_the_levels() {
        let source = image(4, 3, |x, _| if x < 2 { 0 } else { 200 });
        let big = enlarge(&source.view(), 2.0);
        assert_eq!((big.width, big.height), (8, 6));
        assert_eq!(big.pixels[0], 0);
        assert_eq!(big.pixels[7], 200);
    }

    #[test]
    fn a_plain_frame_has_no_busy_region_and_a_checked_patch_has_one() {
        let plain = image(160, 120, |_, _| 128);
        assert!(busy_regions(&plain.view()).is_empty());
        // Light–dark squares of 2 pixels in a 48×48 patch: edges both ways, like modules.
        let checked = image(160, 120, |x, y| {
            let inside = (40..88).contains(&x) && (32..80).contains(&y);
            if inside && (x / 2 + y / 2) % 2 == 0 {
                20
            } else {
                230
            }
        });
        let regions = busy_regions(&checked.view());
        assert_eq!(regions.len(), 1);
        let r = regions[0];
        // In full-size pixels: the patch (80..176 × 64..160) lies inside, with a margin.
        assert!(r.x <= 80 && r.y <= 64, "{r:?}");
        assert!(r.x + r.width >= 176 && r.y + r.height >= 160, "{r:?}");
        assert!(r.x + r.width <= 320 && r.y + r.height <= 240, "{r:?}");
    }
}
