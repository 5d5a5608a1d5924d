//! Reading a chain's CSV of places for bulk registration (R12).
//!
//! Japanese spreadsheets save CSV as Shift_JIS (Windows-31J) unless told otherwise, so a file
//! that is not UTF-8 is decoded as Shift_JIS. The header row names the columns, by their
//! Japanese labels (as in the template) or their API keys, in any order.

use oshirase_common::{Field, Lang, VenueForm};
use thiserror::Error;

/// The header row of the template offered for download.
pub fn template() -> String {
    let header: Vec<&str> = Field::ALL.iter().map(|f| f.label(Lang::Ja)).collect();
    let example = ["飲食店", "80", "カフェ・ド・浦和 本店", "330-9301", "埼玉県さいたま市浦和区高砂3-15-1", "048-824-2111", "honten@example.jp"];
    // A BOM so that spreadsheet programs open the UTF-8 file with the right encoding.
    format!("\u{feff}{}\r\n{}\r\n", header.join(","), example.join(","))
}

/// Why a CSV file could not be read as a list of places.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CsvError {
    /// Neither UTF-8 nor Shift_JIS.
    #[error("the file is neither UTF-8 nor Shift_JIS text")]
    Encoding,
    /// No header row, or no data row.
    #[error("the file has no places")]
    Empty,
    /// A header names no known column.
    #[error("unknown column {0:?}")]
    UnknownColumn(String),
    /// A column appears twice.
    #[error("column {0:?} appears twice")]
    DuplicateColumn(String),
    /// A required column is missing.
    #[error("column {0:?} is missing")]
    MissingColumn(&'static str),
    /// The CSV syntax is broken (e.g. an unclosed quote) at a line.
    #[error("the CSV is malformed near line {line}")]
    Malformed {
        /// 1-based line number.
        line: u64,
    },
}

impl CsvError {
    /// The message shown to the venue.
    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (CsvError::Encoding, Lang::Ja) => "ファイルの文字コードを読み取れません。UTF-8 または Shift_JIS の CSV ファイルを選んでください。".into(),
            (CsvError::Empty, Lang::Ja) => "CSV ファイルに施設の行がありません。1行目に見出し、2行目から施設を入力してください。".into(),
            (CsvError::UnknownColumn(c), Lang::Ja) => format!("見出し「{c}」は使えません。テンプレートの見出しを使ってください。"),
            (CsvError::DuplicateColumn(c), Lang::Ja) => format!("見出し「{c}」が2回あります。"),
            (CsvError::MissingColumn(c), Lang::Ja) => format!("見出し「{c}」の列がありません。"),
            (CsvError::Malformed { line }, Lang::Ja) => format!("CSV の形式が正しくありません（{line}行目付近）。"),
            (other, Lang::En) => format!("{other}."),
        }
    }
}

/// Parses CSV bytes into one raw form per non-empty data row, with each row's line number.
pub fn parse(bytes: &[u8]) -> Result<Vec<(u64, VenueForm)>, CsvError> {
    let text = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| malformed(&e))?.clone();
    if headers.iter().all(str::is_empty) {
        return Err(CsvError::Empty);
    }
    let mut columns: Vec<Option<Field>> = Vec::with_capacity(headers.len());
    for header in &headers {
        if header.is_empty() {
            columns.push(None);
            continue;
        }
        let field = Field::from_header(header).ok_or_else(|| CsvError::UnknownColumn(header.to_owned()))?;
        if columns.contains(&Some(field)) {
            return Err(CsvError::DuplicateColumn(header.to_owned()));
        }
        columns.push(Some(field));
    }
    if let Some(missing) = Field::ALL.into_iter().find(|f| !columns.contains(&Some(*f))) {
        return Err(CsvError::MissingColumn(missing.label(Lang::Ja)));
    }
    let mut forms = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| malformed(&e))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let line = record.position().map_or(0, csv::Position::line);
        let mut form = VenueForm::default();
        for (value, column) in record.iter().zip(&columns) {
            if let Some(field) = column {
                *slot(&mut form, *field) = value.to_owned();
            }
        }
        forms.push((line, form));
    }
    if forms.is_empty() {
        return Err(CsvError::Empty);
    }
    Ok(forms)
}

fn malformed(e: &csv::Error) -> CsvError {
    CsvError::Malformed { line: e.position().map_or(1, csv::Position::line) }
}

fn decode(bytes: &[u8]) -> Result<String, CsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(bytes);
    if had_errors { Err(CsvError::Encoding) } else { Ok(text.into_owned()) }
}

fn slot(form: &mut VenueForm, field: Field) -> &mut String {
    match field {
        Field::BusinessType => &mut form.business_type,
        Field::DailyVisitors => &mut form.daily_visitors,
        Field::Name => &mut form.name,
        Field::PostalCode => &mut form.postal_code,
        Field::Address => &mut form.address,
        Field::Phone => &mut form.phone,
        Field::Email => &mut form.email,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "業態,1日あたり利用想定人数,施設・店舗・イベント名,郵便番号,住所,電話番号,メールアドレス";

    #[test]
    fn the_template_parses_to_one_valid_place() {
        let forms = parse(template().as_bytes()).expect("template");
        assert_eq!(forms.len(), 1);
        assert!(oshirase_common::NewVenue::parse(&forms[0].1).is_ok());
    }

    #[test]
    fn rows_are_read_with_line_numbers_and_blank_rows_skipped() {
        let csv = format!("{HEADER}\n飲食店,10,店A,3309301,住所A,0488242111,a@example.jp\n,,,,,,\n小売店,20,\"店B, 2階\",330-9301,住所B,090-1234-5678,b@example.jp\n");
        let forms = parse(csv.as_bytes()).expect("valid");
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[0].0, 2);
        assert_eq!(forms[1].0, 4);
        assert_eq!(forms[1].1.name, "店B, 2階");
    }

    #[test]
    fn columns_may_come_in_any_order_with_api_keys() {
        let csv = "email,phone,address,postal_code,name,daily_visitors,business_type\na@example.jp,0488242111,住所,3309301,店,5,retail\n";
        let forms = parse(csv.as_bytes()).expect("valid");
        assert_eq!(forms[0].1.business_type, "retail");
        assert_eq!(forms[0].1.email, "a@example.jp");
    }

    #[test]
    fn shift_jis_files_from_spreadsheets_are_read() {
        let csv = format!("{HEADER}\n飲食店,10,浦和の店,3309301,埼玉県さいたま市,0488242111,a@example.jp\n");
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&csv);
        let forms = parse(&sjis).expect("sjis");
        assert_eq!(forms[0].1.name, "浦和の店");
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        assert_eq!(parse(b"\xff\xfe\x00\x01garbage\x80\x80"), Err(CsvError::Encoding));
        assert_eq!(parse(b""), Err(CsvError::Empty));
        assert_eq!(parse(format!("{HEADER}\n").as_bytes()), Err(CsvError::Empty));
        assert_eq!(parse(format!("{HEADER},FAX\n").as_bytes()), Err(CsvError::UnknownColumn("FAX".into())));
        assert_eq!(parse("業態,郵便番号\n".as_bytes()), Err(CsvError::MissingColumn("1日あたり利用想定人数")));
        assert_eq!(parse(format!("{HEADER},業態\n").as_bytes()), Err(CsvError::DuplicateColumn("業態".into())));
    }
}
