//! Line breaking for the poster's Japanese and English text, by measured glyph width.
//!
//! PDF has no text layout of its own: every line is placed by us. Japanese may break between
//! almost any two characters, except that some may not start a line (。、」ー and small kana)
//! or end one (「（), the kinsoku rules every Japanese reader expects. Latin words break only
//! at spaces. Widths are in ems, so one wrap serves any font size: multiply by the size in pt.

/// Gives the advance width of a character in ems (a fraction of the font size).
pub(super) trait Measure {
    /// Horizontal advance of `ch`, in ems.
    fn advance_em(&self, ch: char) -> f32;

    /// Width of `text` set on one line, in ems (no kerning: the poster font has none for
    /// Japanese, and a line wrapped a hair early is harmless).
    fn width_em(&self, text: &str) -> f32 {
        text.chars().map(|ch| self.advance_em(ch)).sum()
    }
}

/// One wrapped line, without leading or trailing spaces.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Line {
    /// The characters on the line.
    pub text: String,
    /// Its measured width, in ems.
    pub width_em: f32,
}

/// Wraps body text the way Japanese print does: each line as full as it can be, the last one
/// shorter, but not a lonely word or two ("さい。"): lines are then broken a little earlier
/// until the last one holds at least a fifth of the measure. `max_em` is the line length in
/// ems.
pub(super) fn wrap_paragraph(text: &str, max_em: f32, measure: &impl Measure) -> Vec<Line> {
    const MIN_LAST_LINE: f32 = 0.2;
    const STEP_EM: f32 = 0.5;
    const MAX_STEPS: u8 = 12;
    let atoms = atoms(text, max_em, measure);
    let natural = greedy(&atoms, max_em, Breaks::Anywhere).unwrap_or_default();
    let is_orphaned = |lines: &[Line]| {
        lines.len() >= 2
            && lines
                .last()
                .is_some_and(|l| l.width_em < MIN_LAST_LINE * max_em)
    };
    if !is_orphaned(&natural) {
        return natural;
    }
    (1..=MAX_STEPS)
        .map(|step| max_em - f32::from(step) * STEP_EM)
        .filter_map(|narrower| greedy(&atoms, narrower, Breaks::Anywhere))
        .take_while(|lines| lines.len() == natural.len())
        .find(|lines| !is_orphaned(lines))
        .unwrap_or(natural)
}

/// Wraps text sentence by sentence: each sentence ending in 。 starts on a new line.
pub(super) fn wrap_sentences(text: &str, max_em: f32, measure: &impl Measure) -> Vec<Line> {
    text.split_inclusive('。')
        .flat_map(|sentence| wrap_paragraph(sentence, max_em, measure))
        .collect()
}

/// Wraps a heading or a name: as few lines as body text would need, but of even length, and
/// broken at spaces when the words allow it ("来店・来場時に / QRコードを…" rather than a
/// break in the middle of a word).
pub(super) fn wrap_balanced(text: &str, max_em: f32, measure: &impl Measure) -> Vec<Line> {
    let atoms = atoms(text, max_em, measure);
    let natural = greedy(&atoms, max_em, Breaks::Anywhere).unwrap_or_default();
    if natural.len() <= 1 {
        return natural;
    }
    balance(&atoms, max_em, natural.len(), Breaks::AtSpacesOnly)
        .or_else(|| balance(&atoms, max_em, natural.len(), Breaks::Anywhere))
        .unwrap_or(natural)
}

/// Wraps a name into lines of even length broken only at its spaces, in as few lines as
/// that allows; `None` if some space-separated part is wider than a line.
pub(super) fn wrap_at_spaces(text: &str, max_em: f32, measure: &impl Measure) -> Option<Vec<Line>> {
    let atoms = atoms(text, max_em, measure);
    let lines = greedy(&atoms, max_em, Breaks::AtSpacesOnly)?;
    balance(&atoms, max_em, lines.len(), Breaks::AtSpacesOnly)
}

/// Which break opportunities a wrap may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breaks {
    /// Between CJK characters (kinsoku permitting), at spaces, and inside over-long words.
    Anywhere,
    /// Only at spaces; fails when a space-separated segment is wider than the line.
    AtSpacesOnly,
}

/// The smallest unit a line is made of.
#[derive(Debug, Clone, PartialEq)]
struct Atom {
    text: String,
    width_em: f32,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A run of white space, shown as one space inside a line and dropped at a break.
    Space,
    /// One Japanese or Chinese character: lines may break on either side of it.
    Cjk,
    /// A run of other characters (a Latin word, a number, a code): never broken.
    Word,
    /// One character of a word too wide for any line, which may therefore break anywhere.
    WordPiece,
}

/// Splits text into atoms; words wider than `max_em` are cut into single characters.
fn atoms(text: &str, max_em: f32, measure: &impl Measure) -> Vec<Atom> {
    let mut atoms: Vec<Atom> = Vec::new();
    for ch in text.chars() {
        let kind = if ch.is_whitespace() {
            Kind::Space
        } else if is_cjk(ch) {
            Kind::Cjk
        } else {
            Kind::Word
        };
        let (ch, width) = match kind {
            Kind::Space => (' ', measure.advance_em(' ')),
            _ => (ch, measure.advance_em(ch)),
        };
        match atoms.last_mut() {
            Some(last) if last.kind == kind && kind != Kind::Cjk => {
                if kind == Kind::Word {
                    last.text.push(ch);
                    last.width_em += width;
                }
            }
            _ => atoms.push(Atom {
                text: ch.to_string(),
                width_em: width,
                kind,
            }),
        }
    }
    atoms
        .into_iter()
        .flat_map(|atom| split_if_too_wide(atom, max_em, measure))
        .collect()
}

fn split_if_too_wide(atom: Atom, max_em: f32, measure: &impl Measure) -> Vec<Atom> {
    if atom.kind != Kind::Word || atom.width_em <= max_em {
        return vec![atom];
    }
    atom.text
        .chars()
        .map(|ch| Atom {
            text: ch.to_string(),
            width_em: measure.advance_em(ch),
            kind: Kind::WordPiece,
        })
        .collect()
}

/// Fills each line as far as it goes, breaking at the last allowed opportunity. Returns
/// `None` only with [`Breaks::AtSpacesOnly`] when some segment cannot fit on a line.
fn greedy(atoms: &[Atom], max_em: f32, breaks: Breaks) -> Option<Vec<Line>> {
    const EPSILON: f32 = 1e-4;
    /// A line may end this much short of full to end at a phrase boundary.
    const PHRASE_FILL: f32 = 0.75;
    let mut lines = Vec::new();
    let mut start = 0;
    while start < atoms.len() {
        if atoms[start].kind == Kind::Space {
            start += 1;
            continue;
        }
        let mut end = start;
        let mut width = 0.0;
        while end < atoms.len() && width + atoms[end].width_em <= max_em + EPSILON {
            width += atoms[end].width_em;
            end += 1;
        }
        if end == atoms.len() {
            lines.push(line(&atoms[start..end]));
            break;
        }
        let allowed = || {
            (start + 1..=end)
                .rev()
                .filter(|&b| may_break_between(&atoms[b - 1], &atoms[b], breaks))
        };
        let filled = |b: usize| atoms[start..b].iter().map(|a| a.width_em).sum::<f32>();
        let phrase_end = allowed()
            .take_while(|&b| filled(b) >= PHRASE_FILL * max_em)
            .filter_map(|b| phrase_boundary(&atoms[b - 1], &atoms[b]).map(|rank| (rank, b)))
            .min_by_key(|&(rank, b)| (rank, std::cmp::Reverse(b)))
            .map(|(_, b)| b);
        let cut = match (phrase_end.or_else(|| allowed().next()), breaks) {
            (Some(b), _) => b,
            (None, Breaks::AtSpacesOnly) => return None,
            // Nothing allowed fits: break where the line is full rather than overflow.
            (None, Breaks::Anywhere) => end.max(start + 1),
        };
        lines.push(line(&atoms[start..cut]));
        start = cut;
    }
    Some(lines)
}

/// Finds the narrowest measure that still needs no more than `line_count` lines, so that
/// the lines come out about equally long.
fn balance(atoms: &[Atom], max_em: f32, line_count: usize, breaks: Breaks) -> Option<Vec<Line>> {
    let mut best = greedy(atoms, max_em, breaks).filter(|lines| lines.len() <= line_count)?;
    let (mut narrow, mut wide) = (0.0_f32, max_em);
    for _ in 0..24 {
        let middle = (narrow + wide) / 2.0;
        match greedy(atoms, middle, breaks) {
            Some(lines) if lines.len() <= line_count => {
                best = lines;
                wide = middle;
            }
            _ => narrow = middle,
        }
    }
    Some(best)
}

fn line(atoms: &[Atom]) -> Line {
    let first = atoms.iter().position(|a| a.kind != Kind::Space);
    let last = atoms.iter().rposition(|a| a.kind != Kind::Space);
    let trimmed = match (first, last) {
        (Some(first), Some(last)) => &atoms[first..=last],
        _ => &[],
    };
    Line {
        text: trimmed.iter().map(|a| a.text.as_str()).collect(),
        width_em: trimmed.iter().map(|a| a.width_em).sum(),
    }
}

fn may_break_between(before: &Atom, after: &Atom, breaks: Breaks) -> bool {
    if before.kind == Kind::Space || after.kind == Kind::Space {
        return true;
    }
    if breaks == Breaks::AtSpacesOnly {
        return false;
    }
    if before.kind == Kind::WordPiece && after.kind == Kind::WordPiece {
        return true;
    }
    let starts_badly = after.text.chars().next().is_some_and(may_not_start_line);
    let ends_badly = before.text.chars().last().is_some_and(may_not_end_line);
    !starts_badly && !ends_badly
}

/// How good a break between these atoms is for ending a line between phrases, best first:
/// a space or punctuation (`Some(0)`); a particle before kanji, katakana, Latin or an
/// honorific prefix starting the next phrase, as in "リーダーで|読み取って" or
/// "LINEで|お知らせ" (`Some(1)`); other hiragana before kanji, katakana or Latin, as in
/// "判断により|LINE" (`Some(2)`); `None` inside a word.
fn phrase_boundary(before: &Atom, after: &Atom) -> Option<u8> {
    if before.kind == Kind::Space || after.kind == Kind::Space {
        return Some(0);
    }
    let (last, first) = (before.text.chars().last()?, after.text.chars().next()?);
    // お and ご are honorific prefixes: they start the word after them ("お知らせ").
    let is_prefix = |ch| "おご".contains(ch);
    let is_particle = |ch| "でにをはがのとへもや".contains(ch);
    if "、。，．,.!?！？」』）)".contains(last) {
        Some(0)
    } else if !is_hiragana(last) || is_prefix(last) {
        None
    } else if is_particle(last) && (!is_hiragana(first) || is_prefix(first)) {
        Some(1)
    } else if !is_hiragana(first) {
        Some(2)
    } else {
        None
    }
}

fn is_hiragana(ch: char) -> bool {
    ('\u{3041}'..='\u{309F}').contains(&ch)
}

/// Characters that Japanese typesetting never puts at the start of a line (行頭禁則).
fn may_not_start_line(ch: char) -> bool {
    "、。，．,.：:；;？?！!・ー〜～‐゠)）]］}｝」』】〕〉》〙〗〟’”｠»%％ヽヾゝゞ々\
     ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"
        .contains(ch)
}

/// Characters that Japanese typesetting never leaves at the end of a line (行末禁則).
fn may_not_end_line(ch: char) -> bool {
    "(（[［{｛「『【〔〈《〘〖〝‘“｟«".contains(ch)
}

/// Whether `ch` is set as a single, freely breakable character (kana, kanji, CJK
/// punctuation, full-width forms).
fn is_cjk(ch: char) -> bool {
    matches!(
        u32::from(ch),
        0x2E80..=0x2FDF
            | 0x3000..=0x303F
            | 0x3040..=0x30FF
            | 0x31F0..=0x31FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xF900..=0xFAFF
            | 0xFF00..=0xFFEF
            | 0x20000..=0x3FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A font where CJK characters are 1 em wide and everything else half an em.
    struct Monospace;

    impl Measure for Monospace {
        fn advance_em(&self, ch: char) -> f32 {
            if is_cjk(ch) { 1.0 } else { 0.5 }
        }
    }

    fn texts(lines: &[Line]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn japanese_breaks_between_any_two_characters_when_the_line_is_full() {
        let lines = wrap_paragraph("あいうえおかきくけこ", 4.0, &Monospace);
        assert_eq!(texts(&lines), ["あいうえ", "おかきく", "けこ"]);
    }

    #[test]
    fn punctuation_and_small_kana_never_start_a_line() {
        let lines = wrap_paragraph("あいう。えおかっき", 3.0, &Monospace);
        assert_eq!(texts(&lines), ["あい", "う。え", "おかっ", "き"]);
    }

    #[test]
    fn an_opening_bracket_never_ends_a_line() {
        let lines = wrap_paragraph("あい「うえ」お", 3.0, &Monospace);
        for line in &lines {
            let last = line.text.chars().last().unwrap_or(' ');
            assert!(!may_not_end_line(last), "{lines:?}");
        }
        assert_eq!(texts(&lines).concat(), "あい「うえ」お");
    }

    #[test]
    fn latin_words_break_only_at_spaces() {
        let lines = wrap_paragraph(
            "Scan at every visit; each visit is recorded",
            9.0,
            &Monospace,
        );
        assert_eq!(
            texts(&lines),
            ["Scan at every", "visit; each visit", "is recorded"]
        );
        assert!(lines.iter().all(|l| l.width_em <= 9.0));
    }

    #[test]
    fn a_paragraph_does_not_end_with_a_lonely_fragment() {
        let lines = wrap_paragraph(
            "あいうえおかきくけこさしすせそたちつてとな。",
            20.0,
            &Monospace,
        );
        assert_eq!(
            texts(&lines),
            ["あいうえおかきくけこさしすせそたちつ", "てとな。"]
        );
    }

    #[test]
    fn a_line_ends_between_phrases_when_that_leaves_it_mostly_full() {
        let lines = wrap_paragraph(
            "カメラ・QRコードリーダーで読み取ってください。",
            17.0,
            &Monospace,
        );
        assert_eq!(
            texts(&lines),
            ["カメラ・QRコードリーダーで", "読み取ってください。"]
        );
    }

    #[test]
    fn an_honorific_prefix_stays_with_its_word() {
        let lines = wrap_paragraph(
            "保健所の判断によりLINEでお知らせが届きます。",
            16.0,
            &Monospace,
        );
        assert_eq!(
            texts(&lines),
            ["保健所の判断によりLINEで", "お知らせが届きます。"]
        );
    }

    #[test]
    fn a_name_can_be_wrapped_at_its_spaces_only() {
        let lines = wrap_at_spaces("株式会社サンプル商事 本社ビル 1階", 12.0, &Monospace)
            .expect("every part fits on a line");
        assert_eq!(texts(&lines), ["株式会社サンプル商事", "本社ビル 1階"]);
        assert_eq!(
            wrap_at_spaces("株式会社サンプル商事", 8.0, &Monospace),
            None
        );
    }

    #[test]
    fn each_sentence_starts_on_a_new_line() {
        let lines = wrap_sentences("あいう。えおか。", 20.0, &Monospace);
        assert_eq!(texts(&lines), ["あいう。", "えおか。"]);
    }

    #[test]
    fn a_word_wider_than_the_line_is_cut_rather_than_overflowing() {
        let lines = wrap_paragraph("ABCDEFGHIJKL", 3.0, &Monospace);
        assert_eq!(texts(&lines), ["ABCDEF", "GHIJKL"]);
    }

    #[test]
    fn a_heading_breaks_at_its_space_when_that_needs_no_extra_line() {
        let lines = wrap_balanced(
            "来店・来場時に QRコードを読み取ってください",
            17.0,
            &Monospace,
        );
        assert_eq!(
            texts(&lines),
            ["来店・来場時に", "QRコードを読み取ってください"]
        );
    }

    #[test]
    fn a_heading_without_spaces_is_split_into_even_lines() {
        let lines = wrap_balanced("あいうえおかきくけこさしすせそ", 12.0, &Monospace);
        assert_eq!(texts(&lines), ["あいうえおかきく", "けこさしすせそ"]);
    }

    #[test]
    fn text_that_fits_stays_on_one_line() {
        let lines = wrap_balanced("カフェ・ド・浦和 2階", 20.0, &Monospace);
        assert_eq!(texts(&lines), ["カフェ・ド・浦和 2階"]);
        assert!((lines[0].width_em - 10.0).abs() < 1e-6);
    }

    #[test]
    fn runs_of_white_space_become_one_space_and_vanish_at_line_ends() {
        let lines = wrap_paragraph("  ab   cd  ", 10.0, &Monospace);
        assert_eq!(texts(&lines), ["ab cd"]);
        assert!(wrap_paragraph("   ", 10.0, &Monospace).is_empty());
    }
}
