//! The screens that answer a pass held up to the camera — accepted, refused, storage full —
//! laid out so they read at a glance from a metre away: a big coloured mark (a green check,
//! a red cross, an amber exclamation mark) beside the Japanese sentence, with the English
//! below it and the details under both. In portrait the mark sits above the text.

use embedded_graphics::Drawable;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::{DrawTarget, Point, Primitive, Size};
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle, RoundedRectangle};

use super::layout::{Palette, paper_with_bar, widest};
use super::mark::Mark;
use super::text::{Align, Fonts, Paragraph, Stack, Style};

/// What a scan screen shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Verdict<'a> {
    pub mark: Mark,
    /// Colour of the mark's disc and of the bar along the top.
    pub color: Rgb888,
    /// A short name shown in a grey box above the title (the pass's label).
    pub badge: Option<&'a str>,
    pub title_ja: &'a str,
    pub title_en: &'a str,
    pub detail_ja: &'a str,
    pub detail_en: &'a str,
}

/// Draws a scan screen: the mark and the text beside it, centred as one group.
pub(crate) fn verdict_screen<D>(
    verdict: &Verdict<'_>,
    fonts: &Fonts,
    target: &mut D,
) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb888>,
{
    let frame = paper_with_bar(target, verdict.color)?;
    let (w, h, u, bar) = (frame.w, frame.h, frame.u, frame.bar);
    let gap = |units: f32| frame.gap(units);

    let landscape = w >= h;
    let margin = gap(6.0);
    let diameter = gap(36.0).max(1);
    let spacing = gap(6.0);
    let column = if landscape {
        w - 2 * margin - diameter - spacing
    } else {
        w - 2 * margin
    }
    .max(1);
    let text = TextBlock::new(verdict, fonts, u, column as f32);

    let middle = (bar + h) / 2;
    if landscape {
        let group = diameter + spacing + text.width;
        let left = ((w - group) / 2).max(margin);
        verdict.mark.draw(
            Point::new(left, middle - diameter / 2),
            diameter as u32,
            verdict.color,
            Palette::PAPER,
            target,
        )?;
        let text_left = left + diameter + spacing;
        let text_top = (middle - text.height / 2).max(bar + gap(3.0));
        text.draw(fonts, text_left, text_top, Align::Left, target)
    } else {
        let total = diameter + spacing + text.height;
        let top = (middle - total / 2).max(bar + gap(3.0));
        verdict.mark.draw(
            Point::new((w - diameter) / 2, top),
            diameter as u32,
            verdict.color,
            Palette::PAPER,
            target,
        )?;
        let text_left = (w - text.width) / 2;
        text.draw(
            fonts,
            text_left,
            top + diameter + spacing,
            Align::Center,
            target,
        )
    }
}

/// The text of a scan screen, broken into lines for its column and measured.
struct TextBlock {
    badge: Option<Paragraph>,
    badge_pad: (i32, i32),
    /// Below the badge.
    blocks: Stack,
    width: i32,
    height: i32,
}

impl TextBlock {
    fn new(verdict: &Verdict<'_>, fonts: &Fonts, u: f32, column: f32) -> TextBlock {
        let gap = |units: f32| (units * u).round() as i32;
        let style = |size: f32, color: Rgb888| Style::regular(size * u, color, Palette::PAPER);
        let badge_pad = (gap(2.0), gap(0.6));
        // A label is the resident's own words: a long one shrinks, then ends in "…".
        let badge = verdict.badge.map(|label| {
            fonts.fit(
                label,
                Style::regular(5.6 * u, Palette::INK, Palette::BOX).bold(),
                column - 2.0 * badge_pad.0 as f32,
                10.0 * u,
                1,
                3.6 * u,
            )
        });
        let title_above = if badge.is_some() { gap(2.5) } else { 0 };
        let blocks = Stack(vec![
            (
                fonts.paragraph(verdict.title_ja, style(7.8, Palette::INK).bold(), column),
                title_above,
            ),
            (
                fonts.paragraph(verdict.title_en, style(4.6, Palette::MUTED), column),
                gap(1.0),
            ),
            (
                fonts.paragraph(verdict.detail_ja, style(4.4, Palette::INK), column),
                gap(5.0),
            ),
            (
                fonts.paragraph(verdict.detail_en, style(3.4, Palette::MUTED), column),
                gap(0.8),
            ),
        ]);
        let badge_size = badge.as_ref().map_or((0, 0), |p| {
            (
                widest(fonts, p) + 2 * badge_pad.0,
                p.height() + 2 * badge_pad.1,
            )
        });
        let width = blocks
            .0
            .iter()
            .map(|(p, _)| widest(fonts, p))
            .fold(badge_size.0, i32::max);
        let height = badge_size.1 + blocks.height();
        TextBlock {
            badge,
            badge_pad,
            blocks,
            width,
            height,
        }
    }

    /// Draws the block with its top-left corner at (`left`, `top`), each line aligned in the
    /// block's width.
    fn draw<D>(
        &self,
        fonts: &Fonts,
        left: i32,
        top: i32,
        align: Align,
        target: &mut D,
    ) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = Rgb888>,
    {
        let mut y = top;
        if let Some(badge) = &self.badge {
            let (pad_x, pad_y) = self.badge_pad;
            let text_width = widest(fonts, badge);
            let box_width = text_width + 2 * pad_x;
            let box_height = badge.height() + 2 * pad_y;
            let box_left = match align {
                Align::Left => left,
                Align::Center => left + (self.width - box_width) / 2,
            };
            let corner = (box_height / 4).max(1) as u32;
            RoundedRectangle::with_equal_corners(
                Rectangle::new(
                    Point::new(box_left, y),
                    Size::new(box_width as u32, box_height as u32),
                ),
                Size::new(corner, corner),
            )
            .into_styled(PrimitiveStyle::with_fill(Palette::BOX))
            .draw(target)?;
            badge.draw(
                fonts,
                box_left + pad_x,
                y + pad_y,
                text_width,
                Align::Left,
                target,
            )?;
            y += box_height;
        }
        self.blocks.draw(fonts, left, y, self.width, align, target)
    }
}
