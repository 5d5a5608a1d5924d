//! Test support: camera frames of a QR code the way a kiosk camera sees a pass held up to it.
//!
//! The tests (`tests/camera.rs`) and the `decode_bench` example use this to measure the
//! decoder on frames nobody has to photograph: a 640×480 grey frame of a cluttered room, a
//! white card with the code on it held somewhere in front of it — scaled, turned, tilted
//! away (perspective), a thumb on the card's edge — then lit unevenly, blurred by the lens or
//! by a moving hand, and overlaid with sensor noise. Everything comes from a seed, so a frame
//! is the same on every run and a failing one can be rendered again and looked at
//! (`decode_bench --write-frames DIR`). (Another architecture's maths library may round
//! `exp` or `cos` differently in the last bit, so its frames can differ very slightly.)
//!
//! A [`Kind`] picks which degradation is pushed hard; every frame also gets mild amounts of
//! the others (no camera is perfectly sharp, straight or noiseless). [`Scene`] holds the
//! drawn parameters, so a test can also set them by hand.

use std::f32::consts::PI;
use std::ops::Range;

use qrcode::QrCode;
use qrcode::types::{Color, EcLevel};

use super::GrayFrame;

/// Frame width in pixels: the kiosk camera's 640×480 mode.
pub const WIDTH: u32 = 640;
/// Frame height in pixels.
pub const HEIGHT: u32 = 480;

/// Light modules around the symbol, as the QR standard requires (and the kiosk prints).
const QUIET_ZONE: f32 = 4.0;
/// White card beyond the quiet zone, in modules.
const CARD_MARGIN: f32 = 3.0;
/// Focal length in pixels of a typical webcam at 640×480 (about 60° across).
const FOCAL_PX: f32 = 554.0;
/// Sub-pixel samples per axis when drawing the scene (the sensor integrates over a pixel).
const SUPERSAMPLE: usize = 3;

/// A QR symbol to hold up to the camera (error correction level M, as the kiosk's codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Modules per side, without the quiet zone.
    side: usize,
    /// Row-major; `true` is dark.
    dark: Vec<bool>,
}

impl Symbol {
    /// Encodes `text` at level M, or `None` if it does not fit a QR code.
    pub fn encode(text: &str) -> Option<Symbol> {
        let code = QrCode::with_error_correction_level(text, EcLevel::M).ok()?;
        Some(Symbol {
            side: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    /// The symbol drawn in a crisp image of a code — dark modules on a light ground, square
    /// modules of any whole or fractional pixel size, any margin — such as the pass image the
    /// server sends through LINE. Lets a test photograph the very image a resident got rather
    /// than a code encoded again from its text. `None` if no plausible QR grid is found.
    pub fn from_printed(image: &GrayFrame) -> Option<Symbol> {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let pixels = image.pixels();
        let dark = |x: usize, y: usize| pixels[y * width + x] < 128;
        let (mut left, mut top, mut right, mut bottom) = (usize::MAX, usize::MAX, 0, 0);
        for y in 0..height {
            for x in 0..width {
                if dark(x, y) {
                    (left, top, right, bottom) = (left.min(x), top.min(y), right.max(x), bottom.max(y));
                }
            }
        }
        if left > right || top > bottom {
            return None;
        }
        // The top-left finder pattern's outer ring is 7 modules of dark along its top row.
        let finder = (left..=right).take_while(|&x| dark(x, top)).count();
        let module = finder as f32 / 7.0;
        let span = (right - left + 1) as f32;
        let side = (span / module).round() as usize;
        if module < 1.0 || !(21..=177).contains(&side) || !(side - 17).is_multiple_of(4) || ((bottom - top + 1) as f32 - span).abs() > module {
            return None;
        }
        let mut modules = Vec::with_capacity(side * side);
        for row in 0..side {
            for column in 0..side {
                let x = left + ((column as f32 + 0.5) * module) as usize;
                let y = top + ((row as f32 + 0.5) * module) as usize;
                modules.push(x < width && y < height && dark(x, y));
            }
        }
        Some(Symbol { side, dark: modules })
    }

    /// Modules per side, without the quiet zone (21 for version 1, 4 more per version).
    pub fn side(&self) -> usize {
        self.side
    }

    /// The QR version (1–40).
    pub fn version(&self) -> usize {
        (self.side - 17) / 4
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.side && y < self.side && self.dark[y * self.side + x]
    }
}

/// Which degradation a generated frame pushes hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Only the mild everyday amounts every frame gets.
    Clean,
    /// Heavy sensor noise (a dim room, high gain).
    Noise,
    /// Out of focus (the card too close to a fixed-focus lens).
    Blur,
    /// Blurred along a line (the hand still moving).
    Motion,
    /// Turned in its plane by 5–30 degrees.
    Rotation,
    /// Very small (held far away) to very large (held close).
    Scale,
    /// Tilted away from the camera by 15–45 degrees.
    Perspective,
    /// Low contrast, over- or under-exposed, lit from one side.
    Lighting,
    /// Moderate amounts of all of the above at once.
    Combined,
}

impl Kind {
    /// Every kind, in the order reports list them.
    pub const ALL: [Kind; 9] = [
        Kind::Clean,
        Kind::Noise,
        Kind::Blur,
        Kind::Motion,
        Kind::Rotation,
        Kind::Scale,
        Kind::Perspective,
        Kind::Lighting,
        Kind::Combined,
    ];

    /// A short lower-case name for tables and file names.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Clean => "clean",
            Kind::Noise => "noise",
            Kind::Blur => "blur",
            Kind::Motion => "motion",
            Kind::Rotation => "rotation",
            Kind::Scale => "scale",
            Kind::Perspective => "perspective",
            Kind::Lighting => "lighting",
            Kind::Combined => "combined",
        }
    }
}

/// Everything that decides how one frame looks. [`Scene::sample`] draws it from a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Pixels per module at the card's centre.
    pub module_px: f32,
    /// Where the centre of the code lands in the frame, in pixels.
    pub center: (f32, f32),
    /// Turn in the card's plane, degrees (clockwise on screen).
    pub rotation_deg: f32,
    /// How far the card is tilted away from facing the camera, degrees.
    pub tilt_deg: f32,
    /// Direction, in the card's plane, of the axis it is tilted about, degrees.
    pub tilt_axis_deg: f32,
    /// Lens blur: standard deviation of a Gaussian, pixels (0 for none).
    pub blur_sigma: f32,
    /// Motion blur: length of the smear, pixels (0 for none).
    pub motion_px: f32,
    /// Motion blur: direction of the smear, degrees.
    pub motion_deg: f32,
    /// Uneven light: grey levels added from one side of the frame to the other.
    pub light_gradient: f32,
    /// Direction the light gradient rises towards, degrees.
    pub light_deg: f32,
    /// Camera gain around mid-grey (1 unchanged, 0.3 washed out).
    pub contrast: f32,
    /// Camera exposure: grey levels added after the gain.
    pub brightness: f32,
    /// Sensor noise: standard deviation, grey levels.
    pub noise_sigma: f32,
    /// A thumb holding the card at its edge.
    pub thumb: bool,
    /// Seed for the cluttered background.
    pub background_seed: u64,
    /// Seed for the sensor noise.
    pub noise_seed: u64,
}

impl Scene {
    /// Draws the parameters of one frame of `kind` from `seed`, sized for `symbol` (so that
    /// the card stays inside the frame).
    pub fn sample(kind: Kind, seed: u64, symbol: &Symbol) -> Scene {
        let mut rng = Rng::new(seed ^ (kind as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut scene = Scene::baseline(&mut rng);
        match kind {
            Kind::Clean => {}
            Kind::Noise => scene.noise_sigma = rng.range(10.0, 45.0),
            Kind::Blur => scene.blur_sigma = rng.range(1.0, 3.0),
            Kind::Motion => {
                scene.motion_px = rng.range(2.0, 10.0);
                scene.motion_deg = rng.range(0.0, 180.0);
            }
            Kind::Rotation => scene.rotation_deg = rng.sign() * rng.range(5.0, 30.0),
            Kind::Scale => scene.module_px = (rng.range(1.5f32.ln(), 8.0f32.ln())).exp(),
            Kind::Perspective => scene.tilt_deg = rng.range(15.0, 45.0),
            Kind::Lighting => {
                scene.contrast = rng.range(0.2, 0.6);
                scene.brightness = rng.range(-80.0, 80.0);
                scene.light_gradient = rng.range(60.0, 160.0);
            }
            Kind::Combined => {
                scene.module_px = rng.range(2.5, 5.0);
                scene.rotation_deg = rng.range(-30.0, 30.0);
                scene.tilt_deg = rng.range(0.0, 25.0);
                scene.blur_sigma = rng.range(0.8, 1.8);
                scene.noise_sigma = rng.range(6.0, 20.0);
                scene.contrast = rng.range(0.45, 0.85);
                scene.brightness = rng.range(-40.0, 40.0);
                scene.light_gradient = rng.range(0.0, 80.0);
            }
        }
        scene.place(symbol, &mut rng);
        scene
    }

    /// The mild amounts of everything that every frame gets.
    fn baseline(rng: &mut Rng) -> Scene {
        Scene {
            module_px: rng.range(3.0, 5.5),
            center: (WIDTH as f32 / 2.0, HEIGHT as f32 / 2.0),
            rotation_deg: rng.range(-3.0, 3.0),
            tilt_deg: rng.range(0.0, 6.0),
            tilt_axis_deg: rng.range(0.0, 360.0),
            blur_sigma: 0.6,
            motion_px: 0.0,
            motion_deg: 0.0,
            light_gradient: rng.range(0.0, 20.0),
            light_deg: rng.range(0.0, 360.0),
            contrast: rng.range(0.85, 1.0),
            brightness: rng.range(-10.0, 10.0),
            noise_sigma: 3.0,
            thumb: rng.chance(0.5),
            background_seed: rng.next_u64(),
            noise_seed: rng.next_u64(),
        }
    }

    /// Shrinks the code until it fits the frame, then puts its centre at a random place where
    /// the whole card (quiet zone included) stays in view.
    fn place(&mut self, symbol: &Symbol, rng: &mut Rng) {
        let modules = symbol.side as f32 + 2.0 * QUIET_ZONE;
        let turn = self.rotation_deg.to_radians();
        // The turned square's bounding box, plus a little for perspective.
        let spread = (turn.cos().abs() + turn.sin().abs()) * 1.08;
        let limit = (HEIGHT as f32 - 8.0) / (modules * spread);
        self.module_px = self.module_px.min(limit);
        let half = modules * self.module_px * spread / 2.0;
        let x_room = (WIDTH as f32 / 2.0 - half - 4.0).max(0.0);
        let y_room = (HEIGHT as f32 / 2.0 - half - 4.0).max(0.0);
        self.center = (
            WIDTH as f32 / 2.0 + rng.range(-x_room, x_room),
            HEIGHT as f32 / 2.0 + rng.range(-y_room, y_room),
        );
    }

    /// The frame the camera sees: `symbol` on its card in front of the background, or the
    /// background alone for `None`.
    pub fn render(&self, symbol: Option<&Symbol>) -> GrayFrame {
        let mut image = background(self.background_seed);
        if let Some(symbol) = symbol {
            self.draw_card(symbol, &mut image);
        }
        light(&mut image, self.light_gradient, self.light_deg);
        if self.blur_sigma > 0.0 {
            image = gaussian_blur(&image, self.blur_sigma);
        }
        if self.motion_px > 0.0 {
            image = motion_blur(&image, self.motion_px, self.motion_deg);
        }
        let mut noise = Rng::new(self.noise_seed);
        let pixels = image
            .values
            .iter()
            .map(|&v| {
                let exposed = (v - 128.0) * self.contrast + 128.0 + self.brightness;
                quantise(exposed + self.noise_sigma * noise.normal())
            })
            .collect();
        GrayFrame::new(WIDTH, HEIGHT, pixels)
            .expect("the generator makes frames of exactly WIDTH × HEIGHT pixels")
    }

    /// Draws the card with the code over `image`, through the camera's perspective.
    fn draw_card(&self, symbol: &Symbol, image: &mut Plane) {
        let card = Card::new(symbol, self.thumb);
        let to_frame = self.homography(symbol.side as f32);
        let to_card = to_frame.inverse();
        let (xs, ys) = card.bounds(&to_frame, image);
        let step = 1.0 / SUPERSAMPLE as f32;
        for y in ys {
            for x in xs.clone() {
                let behind = image.get(x, y);
                let mut sum = 0.0;
                let mut hits = 0;
                for sy in 0..SUPERSAMPLE {
                    for sx in 0..SUPERSAMPLE {
                        let px = x as f32 + (sx as f32 + 0.5) * step;
                        let py = y as f32 + (sy as f32 + 0.5) * step;
                        let Some((u, v)) = to_card.apply(px, py) else {
                            sum += behind;
                            continue;
                        };
                        match card.shade(u, v) {
                            Some(shade) => {
                                sum += shade;
                                hits += 1;
                            }
                            None => sum += behind,
                        }
                    }
                }
                if hits > 0 {
                    image.set(x, y, sum / (SUPERSAMPLE * SUPERSAMPLE) as f32);
                }
            }
        }
    }

    /// Maps card coordinates (modules, the symbol's top-left corner at 0,0) to frame pixels:
    /// scaled, tilted about an axis in the card's plane, turned, moved and projected by a
    /// pinhole camera whose focal plane holds the card's centre at `module_px`.
    fn homography(&self, side: f32) -> Mat3 {
        let (axis_x, axis_y) = {
            let a = self.tilt_axis_deg.to_radians();
            (a.cos(), a.sin())
        };
        let tilt = Mat3::rotation_about(axis_x, axis_y, 0.0, self.tilt_deg.to_radians());
        let turn = Mat3::rotation_about(0.0, 0.0, 1.0, self.rotation_deg.to_radians());
        let r = turn.mul(&tilt);
        let s = self.module_px;
        let c = side / 2.0;
        let (cx, cy) = (WIDTH as f32 / 2.0, HEIGHT as f32 / 2.0);
        // Card point (u, v) → camera space: R · ((u − c)·s, (v − c)·s, 0) + t.
        let t = [self.center.0 - cx, self.center.1 - cy, FOCAL_PX];
        let col = |i: usize| [r.m[0][i], r.m[1][i], r.m[2][i]];
        let (r1, r2) = (col(0), col(1));
        let offset: [f32; 3] = std::array::from_fn(|k| t[k] - c * s * r1[k] - c * s * r2[k]);
        let extrinsic = Mat3 {
            m: std::array::from_fn(|row| [s * r1[row], s * r2[row], offset[row]]),
        };
        let intrinsic = Mat3 {
            m: [[FOCAL_PX, 0.0, cx], [0.0, FOCAL_PX, cy], [0.0, 0.0, 1.0]],
        };
        intrinsic.mul(&extrinsic)
    }
}

/// One frame of `kind` showing `symbol`, drawn from `seed` (the same seed, the same frame).
pub fn frame(symbol: &Symbol, kind: Kind, seed: u64) -> GrayFrame {
    Scene::sample(kind, seed, symbol).render(Some(symbol))
}

/// The code as a crisp image: black modules of `module_px` pixels on white, with the quiet
/// zone — a pass as a file, for the simulated camera (`POST /camera` on the preview) and
/// tests that need a frame every decoder reads.
pub fn printed(symbol: &Symbol, module_px: u32) -> GrayFrame {
    let module_px = module_px.max(1) as usize;
    let quiet = QUIET_ZONE as usize;
    let side_px = (symbol.side + 2 * quiet) * module_px;
    let mut pixels = vec![u8::MAX; side_px * side_px];
    for (i, pixel) in pixels.iter_mut().enumerate() {
        let (x, y) = ((i % side_px) / module_px, (i / side_px) / module_px);
        if x >= quiet && y >= quiet && symbol.is_dark(x - quiet, y - quiet) {
            *pixel = 0;
        }
    }
    let side = u32::try_from(side_px).unwrap_or(u32::MAX);
    // The pixels fill the square by construction.
    GrayFrame::new(side, side, pixels).expect("a square of side_px² pixels")
}

/// A frame of the cluttered background with no code in it, drawn from `seed`.
pub fn empty_frame(seed: u64) -> GrayFrame {
    let mut rng = Rng::new(seed);
    let scene = Scene::baseline(&mut rng);
    scene.render(None)
}

/// The card: white, the code on it with its quiet zone, maybe a thumb on one edge.
struct Card<'a> {
    symbol: &'a Symbol,
    /// Grey of the card's white and of the ink.
    paper: f32,
    ink: f32,
    /// A thumb: an ellipse centre (card coordinates) and radii, in modules.
    thumb: Option<((f32, f32), (f32, f32))>,
}

impl<'a> Card<'a> {
    fn new(symbol: &'a Symbol, thumb: bool) -> Card<'a> {
        let side = symbol.side as f32;
        let edge = side + QUIET_ZONE + CARD_MARGIN;
        Card {
            symbol,
            paper: 232.0,
            ink: 28.0,
            // On the card's right edge, over the margin and not into the quiet zone.
            thumb: thumb.then_some(((edge + 1.0, side * 0.6), (CARD_MARGIN + 0.5, 5.0))),
        }
    }

    /// The pixels of `image` the card (thumb included) can cover, seen through `to_frame`.
    fn bounds(&self, to_frame: &Mat3, image: &Plane) -> (Range<usize>, Range<usize>) {
        let side = self.symbol.side as f32;
        // The thumb reaches at most this far beyond the card's edge.
        let reach = QUIET_ZONE + 2.0 * CARD_MARGIN + 2.0;
        let (lo, hi) = (-reach, side + reach);
        let corners = [(lo, lo), (hi, lo), (hi, hi), (lo, hi)];
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for (u, v) in corners {
            let Some((x, y)) = to_frame.apply(u, v) else {
                // A corner behind the camera: cover the whole frame to be safe.
                return (0..image.width, 0..image.height);
            };
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        let clamp = |v: f32, max: usize| (v.max(0.0) as usize).min(max);
        (
            clamp(x0.floor(), image.width)..clamp(x1.ceil() + 1.0, image.width),
            clamp(y0.floor(), image.height)..clamp(y1.ceil() + 1.0, image.height),
        )
    }

    /// The grey at card point (`u`, `v`), or `None` off the card.
    fn shade(&self, u: f32, v: f32) -> Option<f32> {
        if let Some(((tx, ty), (rx, ry))) = self.thumb {
            let (dx, dy) = ((u - tx) / rx, (v - ty) / ry);
            if dx * dx + dy * dy <= 1.0 {
                return Some(150.0);
            }
        }
        let side = self.symbol.side as f32;
        let lo = -(QUIET_ZONE + CARD_MARGIN);
        let hi = side + QUIET_ZONE + CARD_MARGIN;
        if !(lo..hi).contains(&u) || !(lo..hi).contains(&v) {
            return None;
        }
        let dark =
            u >= 0.0 && v >= 0.0 && self.symbol.is_dark(u.floor() as usize, v.floor() as usize);
        Some(if dark { self.ink } else { self.paper })
    }
}

/// A grey image in floating point while it is being made.
struct Plane {
    width: usize,
    height: usize,
    values: Vec<f32>,
}

impl Plane {
    fn new(level: f32) -> Plane {
        let (width, height) = (WIDTH as usize, HEIGHT as usize);
        Plane {
            width,
            height,
            values: vec![level; width * height],
        }
    }

    fn get(&self, x: usize, y: usize) -> f32 {
        self.values[y * self.width + x]
    }

    fn set(&mut self, x: usize, y: usize, value: f32) {
        self.values[y * self.width + x] = value;
    }

    /// The value at a real position, bilinear, clamped to the edges.
    fn sample(&self, x: f32, y: f32) -> f32 {
        let x = x.clamp(0.0, (self.width - 1) as f32);
        let y = y.clamp(0.0, (self.height - 1) as f32);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let top = self.get(x0, y0) * (1.0 - fx) + self.get(x1, y0) * fx;
        let bottom = self.get(x0, y1) * (1.0 - fx) + self.get(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, level: f32) {
        let x0 = x.max(0.0) as usize;
        let y0 = y.max(0.0) as usize;
        let x1 = ((x + w).max(0.0) as usize).min(self.width);
        let y1 = ((y + h).max(0.0) as usize).min(self.height);
        for row in y0..y1 {
            self.values[row * self.width + x0.min(x1)..row * self.width + x1].fill(level);
        }
    }

    fn fill_ellipse(&mut self, (cx, cy): (f32, f32), (rx, ry): (f32, f32), level: f32) {
        let y0 = (cy - ry).max(0.0) as usize;
        let y1 = ((cy + ry).max(0.0) as usize).min(self.height);
        for y in y0..y1 {
            let dy = (y as f32 + 0.5 - cy) / ry;
            let half = rx * (1.0 - dy * dy).max(0.0).sqrt();
            self.fill_rect(cx - half, y as f32, 2.0 * half, 1.0, level);
        }
    }
}

/// A cluttered room: a shaded wall, furniture-like blocks, round things, posters with lines
/// of "text", and a patterned surface — edges and dark blobs for the decoder to reject.
fn background(seed: u64) -> Plane {
    let mut rng = Rng::new(seed);
    let mut image = Plane::new(rng.range(90.0, 190.0));
    let (w, h) = (WIDTH as f32, HEIGHT as f32);
    for _ in 0..rng.int(8, 16) {
        let (bw, bh) = (rng.range(20.0, 260.0), rng.range(20.0, 260.0));
        image.fill_rect(
            rng.range(-40.0, w),
            rng.range(-40.0, h),
            bw,
            bh,
            rng.range(0.0, 255.0),
        );
    }
    for _ in 0..rng.int(3, 8) {
        let centre = (rng.range(0.0, w), rng.range(0.0, h));
        let radii = (rng.range(8.0, 70.0), rng.range(8.0, 70.0));
        image.fill_ellipse(centre, radii, rng.range(0.0, 255.0));
    }
    for _ in 0..rng.int(1, 4) {
        poster(&mut image, &mut rng);
    }
    if rng.chance(0.5) {
        checks(&mut image, &mut rng);
    }
    image
}

/// A light rectangle with rows of dark "words" on it.
fn poster(image: &mut Plane, rng: &mut Rng) {
    let (x, y) = (rng.range(-20.0, 560.0), rng.range(-20.0, 400.0));
    let (pw, ph) = (rng.range(80.0, 220.0), rng.range(60.0, 200.0));
    image.fill_rect(x, y, pw, ph, rng.range(190.0, 245.0));
    let line = rng.range(6.0, 14.0);
    let ink = rng.range(10.0, 80.0);
    let mut row = y + line;
    while row + line < y + ph {
        let mut col = x + line;
        while col < x + pw - line {
            let word = rng.range(line, 5.0 * line);
            image.fill_rect(col, row, word.min(x + pw - line - col), line * 0.6, ink);
            col += word + line * 0.6;
        }
        row += line * 1.6;
    }
}

/// A patch of dark and light squares (a tiled floor, a checked cloth).
fn checks(image: &mut Plane, rng: &mut Rng) {
    let (x, y) = (rng.range(0.0, 500.0), rng.range(0.0, 360.0));
    let cell = rng.range(6.0, 24.0);
    let (cols, rows) = (rng.int(3, 10), rng.int(3, 10));
    let (dark, bright) = (rng.range(0.0, 90.0), rng.range(150.0, 255.0));
    for r in 0..rows {
        for c in 0..cols {
            let level = if (r + c) % 2 == 0 { dark } else { bright };
            image.fill_rect(x + c as f32 * cell, y + r as f32 * cell, cell, cell, level);
        }
    }
}

/// Adds light rising by `gradient` grey levels across the frame towards `deg`.
fn light(image: &mut Plane, gradient: f32, deg: f32) {
    let (dx, dy) = (deg.to_radians().cos(), deg.to_radians().sin());
    let reach = WIDTH as f32 * dx.abs() + HEIGHT as f32 * dy.abs();
    let (cx, cy) = (WIDTH as f32 / 2.0, HEIGHT as f32 / 2.0);
    for y in 0..image.height {
        for x in 0..image.width {
            let along = ((x as f32 - cx) * dx + (y as f32 - cy) * dy) / reach.max(1.0);
            let value = image.get(x, y) + gradient * along;
            image.set(x, y, value);
        }
    }
}

/// Separable Gaussian blur with standard deviation `sigma` pixels, edges clamped.
fn gaussian_blur(image: &Plane, sigma: f32) -> Plane {
    let radius = (3.0 * sigma).ceil() as isize;
    let mut kernel: Vec<f32> = (-radius..=radius)
        .map(|i| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= total);
    let pass = |src: &Plane, horizontal: bool| {
        let mut out = Plane::new(0.0);
        for y in 0..src.height {
            for x in 0..src.width {
                let mut sum = 0.0;
                for (k, weight) in kernel.iter().enumerate() {
                    let d = k as isize - radius;
                    let (sx, sy) = if horizontal {
                        (
                            (x as isize + d).clamp(0, src.width as isize - 1) as usize,
                            y,
                        )
                    } else {
                        (
                            x,
                            (y as isize + d).clamp(0, src.height as isize - 1) as usize,
                        )
                    };
                    sum += weight * src.get(sx, sy);
                }
                out.set(x, y, sum);
            }
        }
        out
    };
    pass(&pass(image, true), false)
}

/// The mean along a line `length` pixels long at `deg` through each pixel: a hand moving
/// while the shutter is open.
fn motion_blur(image: &Plane, length: f32, deg: f32) -> Plane {
    let steps = length.ceil().max(1.0) as usize;
    let (dx, dy) = (deg.to_radians().cos(), deg.to_radians().sin());
    let mut out = Plane::new(0.0);
    for y in 0..image.height {
        for x in 0..image.width {
            let mut sum = 0.0;
            for i in 0..=steps {
                let t = (i as f32 / steps as f32 - 0.5) * length;
                sum += image.sample(x as f32 + t * dx, y as f32 + t * dy);
            }
            out.set(x, y, sum / (steps + 1) as f32);
        }
    }
    out
}

fn quantise(value: f32) -> u8 {
    // Clamped to 0..=255 first, so the cast only drops the fraction.
    value.round().clamp(0.0, 255.0) as u8
}

/// A 3×3 matrix of `f32`, row-major: rotations and the card-to-frame homography.
#[derive(Debug, Clone, Copy)]
struct Mat3 {
    m: [[f32; 3]; 3],
}

impl Mat3 {
    /// Rotation by `angle` radians about the unit axis (`x`, `y`, `z`) (Rodrigues).
    fn rotation_about(x: f32, y: f32, z: f32, angle: f32) -> Mat3 {
        let (s, c) = angle.sin_cos();
        let t = 1.0 - c;
        Mat3 {
            m: [
                [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
                [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
                [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
            ],
        }
    }

    fn mul(&self, other: &Mat3) -> Mat3 {
        Mat3 {
            m: std::array::from_fn(|i| {
                std::array::from_fn(|j| (0..3).map(|k| self.m[i][k] * other.m[k][j]).sum())
            }),
        }
    }

    /// The inverse (adjugate over determinant). The homographies built here are never
    /// singular: the card is never seen edge-on.
    fn inverse(&self) -> Mat3 {
        let m = &self.m;
        let cof = |r0: usize, r1: usize, c0: usize, c1: usize| {
            m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]
        };
        let adj = [
            [cof(1, 2, 1, 2), -cof(0, 2, 1, 2), cof(0, 1, 1, 2)],
            [-cof(1, 2, 0, 2), cof(0, 2, 0, 2), -cof(0, 1, 0, 2)],
            [cof(1, 2, 0, 1), -cof(0, 2, 0, 1), cof(0, 1, 0, 1)],
        ];
        let det = m[0][0] * adj[0][0] + m[0][1] * adj[1][0] + m[0][2] * adj[2][0];
        Mat3 {
            m: std::array::from_fn(|i| std::array::from_fn(|j| adj[i][j] / det)),
        }
    }

    /// Applies the homography to the point (`x`, `y`); `None` behind the camera.
    fn apply(&self, x: f32, y: f32) -> Option<(f32, f32)> {
        let m = &self.m;
        let w = m[2][0] * x + m[2][1] * y + m[2][2];
        if w.abs() < 1e-6 {
            return None;
        }
        Some((
            (m[0][0] * x + m[0][1] * y + m[0][2]) / w,
            (m[1][0] * x + m[1][1] * y + m[1][2]) / w,
        ))
    }
}

/// SplitMix64: a tiny, fast, seedable generator, so frames are the same everywhere without a
/// `rand` dependency.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        // The top 24 bits: exactly representable in an f32.
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [`lo`, `hi`).
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in [`lo`, `hi`].
    fn int(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }

    fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    fn sign(&mut self) -> f32 {
        if self.chance(0.5) { -1.0 } else { 1.0 }
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(f32::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }
}
