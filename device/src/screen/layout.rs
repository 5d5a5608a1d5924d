//! Where things go on each screen, computed from the target's size alone.
//!
//! Two layouts here cover the kiosk's standing screens: the code screen (the QR code as large
//! as fits, whole-pixel modules, with the place's name, instructions and countdown beside it)
//! and the message screen (a coloured bar and a centred Japanese message with English below);
//! both show a small chip with the number of pass scans not yet sent when there are any. The
//! scan screens (`verdict`) and the help screen (`help`) have their own modules and share the
//! palette. Sizes are in `u`, a hundredth of the shorter side, so 800×480, 1024×600 and
//! 1920×1080 look alike.

use embedded_graphics::Drawable;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::{DrawTarget, Point, Primitive, Size};
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle, RoundedRectangle};

use super::qr::{QUIET_ZONE, QrGrid};
use super::text::{Align, Fonts, Paragraph, Style};

/// The screens' colours: black on white for the code and the main text (highest contrast for
/// cameras and eyes), one accent per kind of message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Palette;

impl Palette {
    pub const PAPER: Rgb888 = Rgb888::new(0xFF, 0xFF, 0xFF);
    pub const INK: Rgb888 = Rgb888::new(0x14, 0x14, 0x14);
    pub const QR_DARK: Rgb888 = Rgb888::new(0x00, 0x00, 0x00);
    pub const MUTED: Rgb888 = Rgb888::new(0x4D, 0x4D, 0x4D);
    pub const RULE: Rgb888 = Rgb888::new(0xD9, 0xD9, 0xD9);
    /// Dark enough that white text on it stays legible (contrast above 4.5:1).
    pub const GREEN: Rgb888 = Rgb888::new(0x00, 0x7A, 0x3D);
    pub const BLUE: Rgb888 = Rgb888::new(0x1F, 0x5F, 0xBF);
    pub const AMBER: Rgb888 = Rgb888::new(0xE0, 0x9A, 0x00);
    pub const AMBER_PAPER: Rgb888 = Rgb888::new(0xFF, 0xF1, 0xC7);
    pub const AMBER_INK: Rgb888 = Rgb888::new(0x5A, 0x3A, 0x00);
    pub const GREY: Rgb888 = Rgb888::new(0x6B, 0x6B, 0x6B);
    pub const RED: Rgb888 = Rgb888::new(0xB3, 0x26, 0x1E);
    pub const BOX: Rgb888 = Rgb888::new(0xEE, 0xEE, 0xEE);
}

/// What the code screen shows (Idle, or Offline with a code).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodeScreen<'a> {
    pub venue_name: &'a str,
    pub checkin_url: &'a str,
    pub seconds_to_next: u32,
    /// Set when offline: the formatted time the connection was lost.
    pub offline_since: Option<&'a str>,
    /// Pass scans waiting to be sent to the server; shown only when above zero.
    pub pending_scans: u32,
}

/// What a message screen shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message<'a> {
    /// Colour of the bar along the top.
    pub accent: Rgb888,
    /// A small line above the title (the place's name).
    pub heading: Option<&'a str>,
    pub title_ja: &'a str,
    pub title_en: &'a str,
    pub detail_ja: Option<&'a str>,
    pub detail_en: Option<&'a str>,
    /// Text shown verbatim in a grey box (a command to type).
    pub code: Option<&'a str>,
    /// Pass scans waiting to be sent to the server; shown only when above zero.
    pub pending_scans: u32,
}

/// The disabled screen's message.
pub(crate) const DISABLED: Message<'static> = Message {
    accent: Palette::GREY,
    heading: None,
    title_ja: "この端末は\u{200B}現在ご利用いただけません",
    title_en: "This kiosk is out of service.",
    detail_ja: Some("施設の係の方に\u{200B}お知らせください"),
    detail_en: Some("Please let the staff know."),
    code: None,
    pending_scans: 0,
};

/// Shown instead of a code that cannot be encoded (a misconfigured, far too long URL).
const UNENCODABLE: Message<'static> = Message {
    accent: Palette::RED,
    heading: None,
    title_ja: "コードを表示できません",
    title_en: "The check-in code cannot be shown.",
    detail_ja: Some("施設の係の方に\u{200B}お知らせください"),
    detail_en: Some("Please let the staff know."),
    code: None,
    pending_scans: 0,
};

const INSTRUCTIONS_JA: &str = "LINEの\u{200B}QRコードリーダー、\u{200B}または\u{200B}スマートフォンの\u{200B}カメラで\u{200B}読み取って\u{200B}ください";
const INSTRUCTIONS_EN: &str = "Scan with the LINE QR code reader or your smartphone camera.";

/// Draws the code screen: the code on the left (on top in portrait), text beside it.
pub(crate) fn code_screen<D>(
    screen: &CodeScreen<'_>,
    fonts: &Fonts,
    target: &mut D,
) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb888>,
{
    let Some(grid) = QrGrid::encode(screen.checkin_url) else {
        return message_screen(&UNENCODABLE, fonts, target);
    };
    let frame = target.bounding_box();
    let (w, h) = (frame.size.width as i32, frame.size.height as i32);
    let u = w.min(h) as f32 / 100.0;
    target.fill_solid(&frame, Palette::PAPER)?;

    let landscape = w >= h;
    let edge = (2.0 * u).round() as i32;
    let available = if landscape {
        (h - 2 * edge).min(w * 3 / 5)
    } else {
        (w - 2 * edge).min(h * 3 / 5)
    };
    let module = grid.module_px(available.max(1) as u32);
    let qr_side = (module * grid.side_modules()) as i32;
    let quiet = (module * QUIET_ZONE) as i32;
    let (qr_left, qr_top) = if landscape {
        let top = (h - qr_side) / 2;
        (top.min(edge * 2), top)
    } else {
        ((w - qr_side) / 2, edge)
    };
    grid.draw(
        Point::new(qr_left, qr_top),
        module,
        Palette::QR_DARK,
        Palette::PAPER,
        target,
    )?;

    let margin = (5.0 * u).round() as i32;
    let panel = if landscape {
        let left = qr_left + qr_side + (u.round() as i32).min(quiet / 2);
        Rectangle::new(
            Point::new(left, margin),
            Size::new(
                (w - margin - left).max(1) as u32,
                (h - 2 * margin).max(1) as u32,
            ),
        )
    } else {
        let top = qr_top + qr_side;
        Rectangle::new(
            Point::new(margin, top),
            Size::new(
                (w - 2 * margin).max(1) as u32,
                (h - margin - top).max(1) as u32,
            ),
        )
    };
    code_panel(screen, fonts, panel, u, target)
}

/// The text beside the code: label, name, instructions at the top; the offline notice and
/// the countdown at the bottom; the name gets whatever height is left.
fn code_panel<D>(
    screen: &CodeScreen<'_>,
    fonts: &Fonts,
    panel: Rectangle,
    u: f32,
    target: &mut D,
) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb888>,
{
    let left = panel.top_left.x;
    let width = panel.size.width as i32;
    let max_width = width as f32;
    let top = panel.top_left.y;
    let bottom = top + panel.size.height as i32;
    let gap = |units: f32| (units * u).round() as i32;

    // Bottom block, drawn upwards from the bottom edge.
    let countdown_ja = fonts.paragraph(
        &format!("つぎのコードまで {}秒", screen.seconds_to_next),
        Style::regular(5.4 * u, Palette::INK, Palette::PAPER).bold(),
        max_width,
    );
    let countdown_en = fonts.paragraph(
        &format!("Next code in {} s", screen.seconds_to_next),
        Style::regular(3.4 * u, Palette::MUTED, Palette::PAPER),
        max_width,
    );
    let mut y = bottom - countdown_en.height();
    countdown_en.draw(fonts, left, y, width, Align::Left, target)?;
    y -= countdown_ja.height();
    countdown_ja.draw(fonts, left, y, width, Align::Left, target)?;
    if let Some(chip) = PendingChip::new(screen.pending_scans, fonts, u, max_width) {
        y -= gap(2.0) + chip.height;
        chip.draw(fonts, left, y, target)?;
    }
    if let Some(since) = screen.offline_since {
        y -= gap(2.5);
        y = offline_notice(since, fonts, left, y, width, u, target)?;
    }
    let bottom_block_top = y;

    // Top block.
    let label = fonts.paragraph(
        "チェックイン  Check-in",
        Style::regular(3.2 * u, Palette::PAPER, Palette::GREEN),
        max_width,
    );
    let instructions_ja = fonts.paragraph(
        INSTRUCTIONS_JA,
        Style::regular(4.6 * u, Palette::INK, Palette::PAPER),
        max_width,
    );
    let instructions_en = fonts.paragraph(
        INSTRUCTIONS_EN,
        Style::regular(3.4 * u, Palette::MUTED, Palette::PAPER),
        max_width,
    );
    let pad_x = gap(1.8);
    let pad_y = gap(0.5);
    let label_height = label.height() + 2 * pad_y;
    let fixed = label_height
        + gap(2.5)
        + gap(2.5) * 2
        + gap(0.4).max(1)
        + instructions_ja.height()
        + gap(1.0)
        + instructions_en.height()
        + gap(3.0);
    let name_room = (bottom_block_top - top - fixed).max(0) as f32;
    let name = fonts.fit(
        screen.venue_name,
        Style::regular(8.5 * u, Palette::INK, Palette::PAPER).bold(),
        max_width,
        name_room,
        4,
        4.2 * u,
    );

    let mut y = top;
    let label_width = label
        .lines
        .first()
        .map_or(0.0, |line| fonts.width(line, label.style))
        .ceil() as i32;
    RoundedRectangle::with_equal_corners(
        Rectangle::new(
            Point::new(left, y),
            Size::new((label_width + 2 * pad_x) as u32, label_height as u32),
        ),
        Size::new(label_height as u32 / 2, label_height as u32 / 2),
    )
    .into_styled(PrimitiveStyle::with_fill(Palette::GREEN))
    .draw(target)?;
    label.draw(fonts, left + pad_x, y + pad_y, width, Align::Left, target)?;
    y += label_height + gap(2.5);
    name.draw(fonts, left, y, width, Align::Left, target)?;
    y += name.height() + gap(2.5);
    let rule = gap(0.4).max(1);
    target.fill_solid(
        &Rectangle::new(Point::new(left, y), Size::new(width as u32, rule as u32)),
        Palette::RULE,
    )?;
    y += rule + gap(2.5);
    instructions_ja.draw(fonts, left, y, width, Align::Left, target)?;
    y += instructions_ja.height() + gap(1.0);
    instructions_en.draw(fonts, left, y, width, Align::Left, target)
}

/// The amber offline notice whose bottom edge is at `bottom`; returns its top edge.
fn offline_notice<D>(
    since: &str,
    fonts: &Fonts,
    left: i32,
    bottom: i32,
    width: i32,
    u: f32,
    target: &mut D,
) -> Result<i32, D::Error>
where
    D: DrawTarget<Color = Rgb888>,
{
    let pad = (1.6 * u).round() as i32;
    let inner = (width - 2 * pad).max(1) as f32;
    let ja = fonts.paragraph(
        &format!("オフライン\u{200B}（{since}）"),
        Style::regular(3.8 * u, Palette::AMBER_INK, Palette::AMBER_PAPER).bold(),
        inner,
    );
    let en = fonts.paragraph(
        "Offline. This code still works.",
        Style::regular(3.0 * u, Palette::AMBER_INK, Palette::AMBER_PAPER),
        inner,
    );
    let height = ja.height() + en.height() + 2 * pad;
    let top = bottom - height;
    let corner = (u.round() as u32).max(1);
    RoundedRectangle::with_equal_corners(
        Rectangle::new(
            Point::new(left, top),
            Size::new(width as u32, height as u32),
        ),
        Size::new(corner, corner),
    )
    .into_styled(PrimitiveStyle::with_fill(Palette::AMBER_PAPER))
    .draw(target)?;
    let bar = (0.8 * u).round().max(2.0) as u32;
    target.fill_solid(
        &Rectangle::new(Point::new(left, top), Size::new(bar, height as u32)),
        Palette::AMBER,
    )?;
    ja.draw(fonts, left + pad, top + pad, width, Align::Left, target)?;
    en.draw(
        fonts,
        left + pad,
        top + pad + ja.height(),
        width,
        Align::Left,
        target,
    )?;
    Ok(top)
}

/// The frame a screen is laid out on: its size, its unit (1% of the shorter side) and the
/// height of the accent bar along its top.
pub(crate) struct Frame {
    pub w: i32,
    pub h: i32,
    pub u: f32,
    pub bar: i32,
}

impl Frame {
    /// `units` of the frame's unit, in whole pixels.
    pub fn gap(&self, units: f32) -> i32 {
        (units * self.u).round() as i32
    }
}

/// Paints the paper and an accent bar along the top; returns the frame to lay out on.
pub(crate) fn paper_with_bar<D>(target: &mut D, accent: Rgb888) -> Result<Frame, D::Error>
where
    D: DrawTarget<Color = Rgb888>,
{
    let bounds = target.bounding_box();
    let (w, h) = (bounds.size.width as i32, bounds.size.height as i32);
    let u = w.min(h) as f32 / 100.0;
    let bar = ((2.0 * u).round() as i32).max(2);
    target.fill_solid(&bounds, Palette::PAPER)?;
    target.fill_solid(&Rectangle::new(Point::zero(), Size::new(w as u32, bar as u32)), accent)?;
    Ok(Frame { w, h, u, bar })
}

/// Draws a message screen: an accent bar along the top and the message centred.
pub(crate) fn message_screen<D>(
    message: &Message<'_>,
    fonts: &Fonts,
    target: &mut D,
) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb888>,
{
    let frame = paper_with_bar(target, message.accent)?;
    let (w, h, u) = (frame.w, frame.h, frame.u);
    let gap = |units: f32| frame.gap(units);

    let width = (w - 2 * gap(8.0)).min(gap(160.0)).max(1);
    let left = (w - width) / 2;
    let max_width = width as f32;
    let regular = |size: f32, color: Rgb888| Style::regular(size * u, color, Palette::PAPER);

    // (paragraph, space above it)
    let mut blocks: Vec<(Paragraph, i32)> = Vec::new();
    if let Some(heading) = message.heading {
        blocks.push((
            fonts.fit(
                heading,
                regular(4.4, Palette::MUTED).bold(),
                max_width,
                20.0 * u,
                2,
                3.0 * u,
            ),
            0,
        ));
    }
    blocks.push((
        fonts.fit(
            message.title_ja,
            regular(7.6, Palette::INK).bold(),
            max_width,
            40.0 * u,
            2,
            4.8 * u,
        ),
        gap(3.0),
    ));
    blocks.push((
        fonts.paragraph(message.title_en, regular(4.6, Palette::MUTED), max_width),
        gap(1.0),
    ));
    if let Some(detail) = message.detail_ja {
        blocks.push((
            fonts.paragraph(detail, regular(4.4, Palette::INK), max_width * 0.9),
            gap(6.0),
        ));
    }
    if let Some(detail) = message.detail_en {
        blocks.push((
            fonts.paragraph(detail, regular(3.4, Palette::MUTED), max_width * 0.9),
            gap(0.8),
        ));
    }
    let code = message.code.map(|code| {
        let style = Style::regular(5.0 * u, Palette::INK, Palette::BOX).bold();
        fonts.paragraph(code, style, max_width - 2.0 * gap(4.0) as f32)
    });
    let code_pad = (gap(4.0), gap(1.6));
    let code_gap = gap(3.0);

    let mut total: i32 = blocks.iter().map(|(p, above)| p.height() + above).sum();
    if let Some(code) = &code {
        total += code_gap + code.height() + 2 * code_pad.1;
    }
    if blocks.first().is_some_and(|(_, above)| *above > 0) {
        total -= blocks.first().map_or(0, |(_, above)| *above);
    }
    let mut y = ((h - total) / 2).max(gap(4.0));
    for (index, (paragraph, above)) in blocks.iter().enumerate() {
        if index > 0 {
            y += above;
        }
        paragraph.draw(fonts, left, y, width, Align::Center, target)?;
        y += paragraph.height();
    }
    if let Some(code) = code {
        y += code_gap;
        let text_width = code
            .lines
            .iter()
            .map(|line| fonts.width(line, code.style))
            .fold(0.0, f32::max)
            .ceil() as i32;
        let box_width = text_width + 2 * code_pad.0;
        let box_left = (w - box_width) / 2;
        let corner = (u.round() as u32).max(1);
        RoundedRectangle::with_equal_corners(
            Rectangle::new(
                Point::new(box_left, y),
                Size::new(box_width as u32, (code.height() + 2 * code_pad.1) as u32),
            ),
            Size::new(corner, corner),
        )
        .into_styled(PrimitiveStyle::with_fill(Palette::BOX))
        .draw(target)?;
        code.draw(
            fonts,
            box_left + code_pad.0,
            y + code_pad.1,
            text_width,
            Align::Center,
            target,
        )?;
    }
    if let Some(chip) = PendingChip::new(message.pending_scans, fonts, u, max_width) {
        let top = h - gap(4.0) - chip.height;
        chip.draw(fonts, (w - chip.width) / 2, top, target)?;
    }
    Ok(())
}

/// The small grey chip that says how many pass scans wait to be sent to the server
/// ("未送信 12件" with the English after it on the same baseline, or below it when the line
/// is too narrow). Staff read it; visitors can ignore it, so it is the smallest text.
#[derive(Debug, Clone)]
pub(crate) struct PendingChip {
    ja: Paragraph,
    en: Paragraph,
    /// Where the English starts relative to the chip's top-left corner.
    en_offset: Point,
    pad: (i32, i32),
    pub width: i32,
    pub height: i32,
}

impl PendingChip {
    /// The chip for `count` scans at most `max_width` wide, or `None` when nothing waits.
    pub fn new(count: u32, fonts: &Fonts, u: f32, max_width: f32) -> Option<PendingChip> {
        if count == 0 {
            return None;
        }
        let pad = ((1.6 * u).round() as i32, (0.5 * u).round() as i32);
        let inner = (max_width - 2.0 * pad.0 as f32).max(1.0);
        let ja = fonts.paragraph(
            &format!("未送信 {count}件"),
            Style::regular(3.4 * u, Palette::INK, Palette::BOX).bold(),
            inner,
        );
        let noun = if count == 1 { "scan" } else { "scans" };
        let en_style = Style::regular(2.8 * u, Palette::MUTED, Palette::BOX);
        let ja_width = widest(fonts, &ja);
        let space = (1.4 * u).round() as i32;
        let one_line = fonts.paragraph(&format!("{count} {noun} not yet sent"), en_style, inner);
        let en_width = widest(fonts, &one_line);
        let (en, en_offset, text_width, text_height) =
            if one_line.lines.len() == 1 && (ja_width + space + en_width) as f32 <= inner {
                let shift = (fonts.baseline(ja.style) - fonts.baseline(en_style)).round() as i32;
                let offset = Point::new(pad.0 + ja_width + space, pad.1 + shift);
                (one_line, offset, ja_width + space + en_width, ja.height())
            } else {
                let offset = Point::new(pad.0, pad.1 + ja.height());
                let height = ja.height() + one_line.height();
                (one_line, offset, ja_width.max(en_width), height)
            };
        Some(PendingChip {
            ja,
            en,
            en_offset,
            pad,
            width: text_width + 2 * pad.0,
            height: text_height + 2 * pad.1,
        })
    }

    /// Draws the chip with its top-left corner at (`left`, `top`).
    pub fn draw<D>(
        &self,
        fonts: &Fonts,
        left: i32,
        top: i32,
        target: &mut D,
    ) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = Rgb888>,
    {
        let corner = (self.height / 2).max(1) as u32;
        RoundedRectangle::with_equal_corners(
            Rectangle::new(
                Point::new(left, top),
                Size::new(self.width as u32, self.height as u32),
            ),
            Size::new(corner, corner),
        )
        .into_styled(PrimitiveStyle::with_fill(Palette::BOX))
        .draw(target)?;
        let width = self.width - 2 * self.pad.0;
        self.ja.draw(
            fonts,
            left + self.pad.0,
            top + self.pad.1,
            width,
            Align::Left,
            target,
        )?;
        self.en.draw(
            fonts,
            left + self.en_offset.x,
            top + self.en_offset.y,
            width,
            Align::Left,
            target,
        )
    }
}

/// Width of the widest line of `paragraph`, rounded up to whole pixels.
pub(crate) fn widest(fonts: &Fonts, paragraph: &Paragraph) -> i32 {
    paragraph
        .lines
        .iter()
        .map(|line| fonts.width(line, paragraph.style))
        .fold(0.0, f32::max)
        .ceil() as i32
}
