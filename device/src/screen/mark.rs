//! The big marks of the scan screens — a check, a cross, an exclamation mark in a coloured
//! disc — drawn from geometry (a disc and round-capped strokes), not from a font or an
//! image, so they look the same at every size.
//!
//! Each pixel's colour comes from its distance to the disc's edge and to the strokes, so the
//! edges are anti-aliased like the text beside them (embedded-graphics' own circles and
//! lines are not, and would look jagged at this size). Like the text, the mark blends with
//! the paper colour the caller says is under it.

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::{DrawTarget, Pixel, Point};

use super::text::blend;

/// Which mark to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// A check mark: done, accepted.
    Check,
    /// A cross: refused.
    Cross,
    /// An exclamation mark: not possible right now.
    Exclamation,
}

/// A stroke with round caps from `from` to `to`, `half_width` thick on each side, in units
/// of the disc's radius with the centre at (0, 0) and y pointing down.
#[derive(Debug, Clone, Copy)]
struct Stroke {
    from: (f32, f32),
    to: (f32, f32),
    half_width: f32,
}

const HALF_WIDTH: f32 = 0.095;

impl Mark {
    /// The strokes drawn in white on the disc.
    fn strokes(self) -> &'static [Stroke] {
        const fn stroke(from: (f32, f32), to: (f32, f32)) -> Stroke {
            Stroke {
                from,
                to,
                half_width: HALF_WIDTH,
            }
        }
        const CHECK: [Stroke; 2] = [
            stroke((-0.44, 0.03), (-0.13, 0.33)),
            stroke((-0.13, 0.33), (0.45, -0.29)),
        ];
        const CROSS: [Stroke; 2] = [
            stroke((-0.33, -0.33), (0.33, 0.33)),
            stroke((-0.33, 0.33), (0.33, -0.33)),
        ];
        const EXCLAMATION: [Stroke; 2] = [
            stroke((0.0, -0.48), (0.0, 0.12)),
            // The dot: a stroke of length zero is a round dot.
            Stroke {
                from: (0.0, 0.41),
                to: (0.0, 0.41),
                half_width: 0.115,
            },
        ];
        match self {
            Mark::Check => &CHECK,
            Mark::Cross => &CROSS,
            Mark::Exclamation => &EXCLAMATION,
        }
    }

    /// Draws the mark in a disc of `color` whose bounding square has its top-left corner at
    /// `top_left` and is `diameter` pixels wide, on a background of `paper`.
    pub fn draw<D>(
        self,
        top_left: Point,
        diameter: u32,
        color: Rgb888,
        paper: Rgb888,
        target: &mut D,
    ) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = Rgb888>,
    {
        let radius = diameter as f32 / 2.0;
        let strokes = self.strokes();
        let side = diameter as i32;
        let pixels = (0..side).flat_map(move |y| {
            (0..side).filter_map(move |x| {
                // Distances in pixels from the pixel's centre, relative to the disc's centre.
                let px = x as f32 + 0.5 - radius;
                let py = y as f32 + 0.5 - radius;
                let disc = coverage(radius - (px * px + py * py).sqrt());
                if disc <= 0.0 {
                    return None;
                }
                let ink = strokes
                    .iter()
                    .map(|stroke| {
                        let distance =
                            distance_to_segment((px / radius, py / radius), stroke.from, stroke.to);
                        coverage((stroke.half_width - distance) * radius)
                    })
                    .fold(0.0_f32, f32::max);
                let on_disc = blend(color, Rgb888::new(0xFF, 0xFF, 0xFF), ink);
                Some(Pixel(
                    top_left + Point::new(x, y),
                    blend(paper, on_disc, disc),
                ))
            })
        });
        target.draw_iter(pixels)
    }
}

/// How much of a pixel is covered by a shape whose edge is `inside` pixels away from the
/// pixel's centre (negative: outside): a one-pixel ramp across the edge.
fn coverage(inside: f32) -> f32 {
    (inside + 0.5).clamp(0.0, 1.0)
}

/// Distance from `p` to the segment from `a` to `b`.
fn distance_to_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (abx, aby) = (b.0 - a.0, b.1 - a.1);
    let (apx, apy) = (p.0 - a.0, p.1 - a.1);
    let length_squared = abx * abx + aby * aby;
    let t = if length_squared > 0.0 {
        ((apx * abx + apy * aby) / length_squared).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (dx, dy) = (apx - t * abx, apy - t * aby);
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distance_to_a_segment_is_measured_to_its_nearest_point() {
        assert!((distance_to_segment((0.0, 1.0), (-1.0, 0.0), (1.0, 0.0)) - 1.0).abs() < 1e-6);
        assert!((distance_to_segment((3.0, 0.0), (-1.0, 0.0), (1.0, 0.0)) - 2.0).abs() < 1e-6);
        assert!((distance_to_segment((0.0, 2.0), (0.0, 0.0), (0.0, 0.0)) - 2.0).abs() < 1e-6);
    }

    #[test]
    fn coverage_ramps_over_one_pixel_across_the_edge() {
        assert_eq!(coverage(-1.0), 0.0);
        assert_eq!(coverage(0.0), 0.5);
        assert_eq!(coverage(1.0), 1.0);
    }
}
