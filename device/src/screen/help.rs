//! The help screen, shown when a visitor presses the help button: the two ways to check in
//! (LINE, a pass) and how to get a pass, as three cards side by side (stacked in portrait),
//! Japanese first in each.

use embedded_graphics::Drawable;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::{DrawTarget, Point, Primitive, Size};
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle, RoundedRectangle};

use super::layout::{Palette, paper_with_bar};
use super::text::{Align, Fonts, Stack, Style};

/// One card of the help screen.
#[derive(Debug, Clone, Copy)]
struct Card {
    /// Colour of the heading.
    accent: Rgb888,
    heading_ja: &'static str,
    heading_en: &'static str,
    body_ja: &'static str,
    body_en: &'static str,
}

const TITLE_JA: &str = "チェックインのしかた";
const TITLE_EN: &str = "How to check in";

const CARDS: [Card; 3] = [
    Card {
        accent: Palette::GREEN,
        heading_ja: "LINEで",
        heading_en: "With LINE",
        body_ja: "この画面の\u{200B}QRコードを、\u{200B}LINEの\u{200B}QRコード\u{200B}リーダーで\u{200B}読み取って\u{200B}ください",
        body_en: "Scan the code on this screen with the LINE QR code reader.",
    },
    Card {
        accent: Palette::GREEN,
        heading_ja: "パスで",
        heading_en: "With a pass",
        body_ja: "パスの\u{200B}QRコードを、\u{200B}この端末の\u{200B}カメラに\u{200B}かざして\u{200B}ください",
        body_en: "Hold the QR code of your pass up to this kiosk's camera.",
    },
    Card {
        accent: Palette::BLUE,
        heading_ja: "パスの\u{200B}もらい方",
        heading_en: "Getting a pass",
        body_ja: "LINE公式\u{200B}アカウントに\u{200B}「パス」と\u{200B}送って\u{200B}ください。\u{200B}ご家族の\u{200B}分も\u{200B}もらえます",
        body_en: "Send \"パス\" to the official LINE account. You can get passes for your family too.",
    },
];

/// Draws the help screen.
pub(crate) fn help_screen<D>(fonts: &Fonts, target: &mut D) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb888>,
{
    let frame = paper_with_bar(target, Palette::BLUE)?;
    let (w, h, u, bar) = (frame.w, frame.h, frame.u, frame.bar);
    let gap = |units: f32| frame.gap(units);

    let landscape = w >= h;
    let margin = gap(4.0);
    let spacing = gap(2.5);
    let width = w - 2 * margin;
    let title_ja = fonts.paragraph(
        TITLE_JA,
        Style::regular(7.0 * u, Palette::INK, Palette::PAPER).bold(),
        width as f32,
    );
    let title_en = fonts.paragraph(
        TITLE_EN,
        Style::regular(4.2 * u, Palette::MUTED, Palette::PAPER),
        width as f32,
    );
    let card_width = if landscape {
        (w - 2 * margin - 2 * spacing) / 3
    } else {
        width
    };
    let pad = gap(2.6);
    let cards: Vec<Stack> = CARDS
        .iter()
        .map(|card| card_text(card, fonts, u, (card_width - 2 * pad).max(1) as f32))
        .collect();
    let card_height = |card: &Stack| card.height() + 2 * pad;
    let cards_height = if landscape {
        cards.iter().map(card_height).max().unwrap_or(0)
    } else {
        cards.iter().map(card_height).sum::<i32>() + spacing * 2
    };
    let header = title_ja.height() + gap(0.5) + title_en.height();
    let total = header + gap(4.0) + cards_height;
    let mut y = ((bar + h - total) / 2).max(bar + gap(2.0));
    title_ja.draw(fonts, margin, y, width, Align::Center, target)?;
    y += title_ja.height() + gap(0.5);
    title_en.draw(fonts, margin, y, width, Align::Center, target)?;
    y += title_en.height() + gap(4.0);

    let corner = Size::new(gap(1.5).max(1) as u32, gap(1.5).max(1) as u32);
    for (index, card) in cards.iter().enumerate() {
        let (left, top, height) = if landscape {
            (
                margin + index as i32 * (card_width + spacing),
                y,
                cards_height,
            )
        } else {
            (margin, y, card_height(card))
        };
        RoundedRectangle::with_equal_corners(
            Rectangle::new(
                Point::new(left, top),
                Size::new(card_width as u32, height as u32),
            ),
            corner,
        )
        .into_styled(PrimitiveStyle::with_fill(Palette::BOX))
        .draw(target)?;
        card.draw(fonts, left + pad, top + pad, card_width - 2 * pad, Align::Left, target)?;
        if !landscape {
            y += height + spacing;
        }
    }
    Ok(())
}

/// A card's heading and text, in both languages, broken into lines for its width.
fn card_text(card: &Card, fonts: &Fonts, u: f32, width: f32) -> Stack {
    let style = |size: f32, color: Rgb888| Style::regular(size * u, color, Palette::BOX);
    Stack(vec![
        (fonts.paragraph(card.heading_ja, style(5.2, card.accent).bold(), width), 0),
        (fonts.paragraph(card.heading_en, style(3.2, Palette::MUTED), width), 0),
        (fonts.paragraph(card.body_ja, style(4.2, Palette::INK), width), (2.0 * u).round() as i32),
        (fonts.paragraph(card.body_en, style(3.1, Palette::MUTED), width), (1.0 * u).round() as i32),
    ])
}
