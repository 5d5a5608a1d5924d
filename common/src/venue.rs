//! What a venue registers (R10): the raw form as typed, and the validated [`NewVenue`] that is
//! the only thing the server will store. Every field is a newtype with a `parse` that
//! normalises (NFKC, trim) and checks; [`NewVenue::parse`] collects one error per field so a
//! form can show each beside its input.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::{char_len, has_control_characters, normalize};
use crate::{BusinessType, Lang};

/// The registration form exactly as submitted: every field a string, nothing checked yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VenueForm {
    /// 業態: a business-type key or label.
    pub business_type: String,
    /// 1日あたり利用想定人数 (JSON clients may send a number).
    #[serde(deserialize_with = "string_or_integer")]
    pub daily_visitors: String,
    /// 施設・店舗・イベント名.
    pub name: String,
    /// 郵便番号.
    pub postal_code: String,
    /// 住所.
    pub address: String,
    /// 電話番号.
    pub phone: String,
    /// メールアドレス.
    pub email: String,
}

/// Reads a string, or an integer written as a JSON number.
fn string_or_integer<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(i64),
    }
    Ok(match Raw::deserialize(deserializer) {
        Ok(Raw::Text(s)) => s,
        Ok(Raw::Number(n)) => n.to_string(),
        Err(_) => return Err(serde::de::Error::custom("expected a string or a whole number")),
    })
}

/// A registration that passed every rule. Made only by [`NewVenue::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVenue {
    /// 業態.
    pub business_type: BusinessType,
    /// 1日あたり利用想定人数.
    pub daily_visitors: DailyVisitors,
    /// 施設・店舗・イベント名.
    pub name: VenueName,
    /// 郵便番号.
    pub postal_code: PostalCode,
    /// 住所.
    pub address: Address,
    /// 電話番号.
    pub phone: PhoneNumber,
    /// メールアドレス.
    pub email: Email,
}

impl NewVenue {
    /// Checks every field; on failure returns one error for each bad field, in form order.
    pub fn parse(form: &VenueForm) -> Result<NewVenue, FieldErrors> {
        let mut errors = FieldErrors::default();
        let business_type = errors.check(
            Field::BusinessType,
            if form.business_type.trim().is_empty() {
                Err(FieldError::Required)
            } else {
                BusinessType::parse(&form.business_type).ok_or(FieldError::NotInList)
            },
        );
        let daily_visitors = errors.check(Field::DailyVisitors, DailyVisitors::parse(&form.daily_visitors));
        let name = errors.check(Field::Name, VenueName::parse(&form.name));
        let postal_code = errors.check(Field::PostalCode, PostalCode::parse(&form.postal_code));
        let address = errors.check(Field::Address, Address::parse(&form.address));
        let phone = errors.check(Field::Phone, PhoneNumber::parse(&form.phone));
        let email = errors.check(Field::Email, Email::parse(&form.email));
        match (business_type, daily_visitors, name, postal_code, address, phone, email) {
            (Some(business_type), Some(daily_visitors), Some(name), Some(postal_code), Some(address), Some(phone), Some(email)) => {
                Ok(NewVenue { business_type, daily_visitors, name, postal_code, address, phone, email })
            }
            _ => Err(errors),
        }
    }
}

/// A field of the registration form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// 業態.
    BusinessType,
    /// 1日あたり利用想定人数.
    DailyVisitors,
    /// 施設・店舗・イベント名.
    Name,
    /// 郵便番号.
    PostalCode,
    /// 住所.
    Address,
    /// 電話番号.
    Phone,
    /// メールアドレス.
    Email,
}

impl Field {
    /// Every field, in form order.
    pub const ALL: [Field; 7] = [
        Field::BusinessType,
        Field::DailyVisitors,
        Field::Name,
        Field::PostalCode,
        Field::Address,
        Field::Phone,
        Field::Email,
    ];

    /// The form and JSON name of the field.
    pub fn key(self) -> &'static str {
        match self {
            Field::BusinessType => "business_type",
            Field::DailyVisitors => "daily_visitors",
            Field::Name => "name",
            Field::PostalCode => "postal_code",
            Field::Address => "address",
            Field::Phone => "phone",
            Field::Email => "email",
        }
    }

    /// The field's label as the form shows it.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Field::BusinessType, Lang::Ja) => "業態",
            (Field::BusinessType, Lang::En) => "Business type",
            (Field::DailyVisitors, Lang::Ja) => "1日あたり利用想定人数",
            (Field::DailyVisitors, Lang::En) => "Expected visitors per day",
            (Field::Name, Lang::Ja) => "施設・店舗・イベント名",
            (Field::Name, Lang::En) => "Name of the facility, shop or event",
            (Field::PostalCode, Lang::Ja) => "郵便番号",
            (Field::PostalCode, Lang::En) => "Postal code",
            (Field::Address, Lang::Ja) => "住所",
            (Field::Address, Lang::En) => "Address",
            (Field::Phone, Lang::Ja) => "電話番号",
            (Field::Phone, Lang::En) => "Phone number",
            (Field::Email, Lang::Ja) => "メールアドレス",
            (Field::Email, Lang::En) => "E-mail address",
        }
    }

    /// Reads a field from its key or its Japanese label (CSV headers use either).
    pub fn from_header(header: &str) -> Option<Field> {
        let wanted = normalize(header);
        Field::ALL.into_iter().find(|f| {
            f.key() == wanted
                || normalize(f.label(Lang::Ja)) == wanted
                || f.label(Lang::En).eq_ignore_ascii_case(&wanted)
        })
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Why a field's value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    /// Nothing was entered.
    Required,
    /// Longer than allowed.
    TooLong {
        /// Maximum number of characters.
        max: usize,
    },
    /// Holds control or invisible formatting characters.
    ControlCharacters,
    /// Not one of the offered choices.
    NotInList,
    /// Not a whole number.
    NotANumber,
    /// A number outside the allowed range.
    OutOfRange {
        /// Smallest allowed value.
        min: u32,
        /// Largest allowed value.
        max: u32,
    },
    /// Not seven digits in a postal-code form.
    PostalCodeFormat,
    /// Not a Japanese phone number.
    PhoneFormat,
    /// Not an e-mail address.
    EmailFormat,
}

impl FieldError {
    /// A stable machine-readable code for API clients.
    pub fn code(self) -> &'static str {
        match self {
            FieldError::Required => "required",
            FieldError::TooLong { .. } => "too_long",
            FieldError::ControlCharacters => "control_characters",
            FieldError::NotInList => "not_in_list",
            FieldError::NotANumber => "not_a_number",
            FieldError::OutOfRange { .. } => "out_of_range",
            FieldError::PostalCodeFormat => "postal_code_format",
            FieldError::PhoneFormat => "phone_format",
            FieldError::EmailFormat => "email_format",
        }
    }

    /// The message shown beside the field.
    pub fn message(self, field: Field, lang: Lang) -> String {
        let label = field.label(lang);
        match (self, lang) {
            (FieldError::Required, Lang::Ja) if field == Field::BusinessType => format!("{label}を選んでください。"),
            (FieldError::Required, Lang::Ja) => format!("{label}を入力してください。"),
            (FieldError::Required, Lang::En) => format!("{label} is required."),
            (FieldError::TooLong { max }, Lang::Ja) => format!("{label}は{max}文字以内で入力してください。"),
            (FieldError::TooLong { max }, Lang::En) => format!("{label} must be at most {max} characters."),
            (FieldError::ControlCharacters, Lang::Ja) => format!("{label}に使えない文字が含まれています。"),
            (FieldError::ControlCharacters, Lang::En) => format!("{label} contains characters that are not allowed."),
            (FieldError::NotInList, Lang::Ja) => format!("{label}は一覧から選んでください。"),
            (FieldError::NotInList, Lang::En) => format!("Choose the {} from the list.", label.to_lowercase()),
            (FieldError::NotANumber, Lang::Ja) => format!("{label}は半角または全角の数字で入力してください（例：120）。"),
            (FieldError::NotANumber, Lang::En) => format!("{label} must be a whole number (e.g. 120)."),
            (FieldError::OutOfRange { min, max }, Lang::Ja) => format!("{label}は{min}から{max}までの数で入力してください。"),
            (FieldError::OutOfRange { min, max }, Lang::En) => format!("{label} must be between {min} and {max}."),
            (FieldError::PostalCodeFormat, Lang::Ja) => "郵便番号は7桁の数字で入力してください（例：330-9301）。".to_owned(),
            (FieldError::PostalCodeFormat, Lang::En) => "Enter the postal code as 7 digits (e.g. 330-9301).".to_owned(),
            (FieldError::PhoneFormat, Lang::Ja) => "電話番号は市外局番から入力してください（例：048-824-2111、090-1234-5678）。".to_owned(),
            (FieldError::PhoneFormat, Lang::En) => "Enter a Japanese phone number with its area code (e.g. 048-824-2111).".to_owned(),
            (FieldError::EmailFormat, Lang::Ja) => "メールアドレスの形式が正しくありません（例：info@example.jp）。".to_owned(),
            (FieldError::EmailFormat, Lang::En) => "Enter a valid e-mail address (e.g. info@example.jp).".to_owned(),
        }
    }
}

/// The errors of one form, at most one per field, in form order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(Field, FieldError)>);

impl FieldErrors {
    /// Records the error of a failed check and passes a success through.
    fn check<T>(&mut self, field: Field, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.0.push((field, e))).ok()
    }

    /// The error of `field`, if any.
    pub fn get(&self, field: Field) -> Option<FieldError> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, e)| *e)
    }

    /// Every error, in form order.
    pub fn iter(&self) -> impl Iterator<Item = (Field, FieldError)> + '_ {
        self.0.iter().copied()
    }

    /// True if there is no error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of fields in error.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

fn checked_text(input: &str, max: usize) -> Result<String, FieldError> {
    if has_control_characters(input.trim_matches(|c: char| c.is_whitespace())) {
        return Err(FieldError::ControlCharacters);
    }
    let text = normalize(input);
    if text.is_empty() {
        return Err(FieldError::Required);
    }
    if char_len(&text) > max {
        return Err(FieldError::TooLong { max });
    }
    Ok(text)
}

macro_rules! text_newtype {
    ($(#[$meta:meta])* $name:ident, max = $max:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in characters.
            pub const MAX_CHARS: usize = $max;

            /// NFKC-normalises, trims and checks length and characters.
            pub fn parse(input: &str) -> Result<Self, FieldError> {
                checked_text(input, $max).map(Self)
            }

            /// The normalised text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_newtype!(
    /// 施設・店舗・イベント名: what residents see on the poster and the check-in page.
    VenueName, max = 80
);

text_newtype!(
    /// 住所: the place's address, from prefecture to room number.
    Address, max = 200
);

/// 1日あたり利用想定人数: how many visitors a day the venue expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DailyVisitors(u32);

impl DailyVisitors {
    /// Smallest accepted value.
    pub const MIN: u32 = 1;
    /// Largest accepted value: more than the largest stadium event, fewer than a typo.
    pub const MAX: u32 = 500_000;

    /// Accepts digits in any width, digit-group commas (`1,200`) and a trailing `人`.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let text = normalize(input);
        let text = text.strip_suffix('人').unwrap_or(&text).trim();
        if text.is_empty() {
            return Err(FieldError::Required);
        }
        if !grouped_digits(text) {
            return Err(FieldError::NotANumber);
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let out_of_range = FieldError::OutOfRange { min: Self::MIN, max: Self::MAX };
        let value: u32 = digits.parse().map_err(|_| out_of_range)?;
        if !(Self::MIN..=Self::MAX).contains(&value) {
            return Err(out_of_range);
        }
        Ok(Self(value))
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// Rebuilds a value read back from storage.
    pub fn from_stored(value: u32) -> Result<Self, FieldError> {
        Self::parse(&value.to_string())
    }
}

/// Plain digits, or digits in groups of three separated by commas.
fn grouped_digits(text: &str) -> bool {
    if text.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    let groups: Vec<&str> = text.split(',').collect();
    let first_ok = groups[0].len() <= 3 && !groups[0].is_empty();
    first_ok && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit())) && groups[1..].iter().all(|g| g.len() == 3)
}

/// 郵便番号: seven digits, shown as `330-9301`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalCode(String);

/// Dashes people type between digits: ASCII and full-width hyphen-minus (after NFKC), the
/// hyphen, the minus sign, dashes and the katakana prolonged sound mark that IMEs produce.
fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{2212}' | '\u{30fc}' | '\u{ff70}')
}

impl PostalCode {
    /// Accepts `3309301`, `330-9301`, full-width digits and a leading `〒`.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let text = normalize(input);
        let text = text.strip_prefix('〒').unwrap_or(&text).trim();
        if text.is_empty() {
            return Err(FieldError::Required);
        }
        let chars: Vec<char> = text.chars().collect();
        let digits: String = match chars.len() {
            8 if is_dash(chars[3]) => chars[..3].iter().chain(&chars[4..]).collect(),
            7 => chars.iter().collect(),
            _ => return Err(FieldError::PostalCodeFormat),
        };
        if !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() != 7 {
            return Err(FieldError::PostalCodeFormat);
        }
        Ok(Self(digits))
    }

    /// The seven digits, as stored.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PostalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..3], &self.0[3..])
    }
}

/// 電話番号: a Japanese number, stored as its domestic digits (`0488242111`).
///
/// Accepted: 10-digit fixed lines and `0120`/`0570` numbers, 11-digit mobile and IP numbers
/// (`050`, `070`, `080`, `090`) and `0800`; hyphens, spaces, brackets, full-width digits and a
/// `+81` prefix are allowed in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses and normalises a phone number.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let text = normalize(input);
        if text.is_empty() {
            return Err(FieldError::Required);
        }
        let mut digits = String::new();
        let mut rest = text.as_str();
        if let Some(after) = rest.strip_prefix("+81") {
            digits.push('0');
            rest = after.trim_start_matches([' ', '-', '(', ')']).trim_start_matches('0');
        }
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '(' | ')' => {}
                c if is_dash(c) => {}
                _ => return Err(FieldError::PhoneFormat),
            }
        }
        if is_japanese_number(&digits) {
            Ok(Self(digits))
        } else {
            Err(FieldError::PhoneFormat)
        }
    }

    /// The domestic digits, as stored.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

fn is_japanese_number(digits: &str) -> bool {
    let eleven_digit_prefixes = ["050", "070", "080", "090", "0800"];
    let starts_like_eleven = eleven_digit_prefixes.iter().any(|p| digits.starts_with(p));
    match digits.len() {
        10 => digits.starts_with('0') && !digits.starts_with("00") && !digits.starts_with("020") && !starts_like_eleven,
        11 => starts_like_eleven,
        _ => false,
    }
}

impl fmt::Display for PhoneNumber {
    /// Mobile, IP and free-dial numbers have fixed groupings; fixed lines are shown as digits,
    /// since their area-code length varies.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        if d.len() == 11 && !d.starts_with("0800") {
            write!(f, "{}-{}-{}", &d[..3], &d[3..7], &d[7..])
        } else if d.starts_with("0120") || d.starts_with("0570") || d.starts_with("0800") {
            write!(f, "{}-{}-{}", &d[..4], &d[4..7], &d[7..])
        } else if d.starts_with("03") || d.starts_with("06") {
            write!(f, "{}-{}-{}", &d[..2], &d[2..6], &d[6..])
        } else {
            f.write_str(d)
        }
    }
}

/// メールアドレス: a practical check (one `@`, a dotted domain), the domain lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Longest accepted address (RFC 5321 path limit).
    pub const MAX_CHARS: usize = 254;

    /// Parses and normalises an e-mail address.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let text = checked_text(input, Self::MAX_CHARS)?;
        let Some((local, domain)) = text.split_once('@') else {
            return Err(FieldError::EmailFormat);
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain = domain.to_ascii_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if !(local_ok && domain_ok) {
            return Err(FieldError::EmailFormat);
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_form() -> VenueForm {
        VenueForm {
            business_type: "restaurant".into(),
            daily_visitors: "120".into(),
            name: "カフェ・ド・浦和".into(),
            postal_code: "330-9301".into(),
            address: "埼玉県さいたま市浦和区高砂3-15-1".into(),
            phone: "048-824-2111".into(),
            email: "info@example.jp".into(),
        }
    }

    #[test]
    fn a_complete_form_parses() {
        let venue = NewVenue::parse(&valid_form()).expect("valid");
        assert_eq!(venue.business_type.key(), "restaurant");
        assert_eq!(venue.daily_visitors.get(), 120);
        assert_eq!(venue.postal_code.digits(), "3309301");
        assert_eq!(venue.phone.digits(), "0488242111");
    }

    #[test]
    fn an_empty_form_has_one_required_error_per_field() {
        let errors = NewVenue::parse(&VenueForm::default()).expect_err("empty");
        assert_eq!(errors.len(), 7);
        assert!(errors.iter().all(|(_, e)| e == FieldError::Required));
        assert_eq!(errors.iter().map(|(f, _)| f).collect::<Vec<_>>(), Field::ALL.to_vec());
    }

    #[test]
    fn only_the_bad_fields_are_reported() {
        let form = VenueForm { postal_code: "12345".into(), email: "nope".into(), ..valid_form() };
        let errors = NewVenue::parse(&form).expect_err("bad");
        assert_eq!(errors.get(Field::PostalCode), Some(FieldError::PostalCodeFormat));
        assert_eq!(errors.get(Field::Email), Some(FieldError::EmailFormat));
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn unknown_business_types_are_refused() {
        let form = VenueForm { business_type: "casino".into(), ..valid_form() };
        assert_eq!(NewVenue::parse(&form).expect_err("bad").get(Field::BusinessType), Some(FieldError::NotInList));
    }

    #[test]
    fn messages_are_japanese_first() {
        let msg = FieldError::Required.message(Field::Name, Lang::Ja);
        assert_eq!(msg, "施設・店舗・イベント名を入力してください。");
        assert_eq!(FieldError::Required.message(Field::BusinessType, Lang::Ja), "業態を選んでください。");
        assert!(FieldError::PostalCodeFormat.message(Field::PostalCode, Lang::En).contains("7 digits"));
    }

    #[test]
    fn fields_are_found_from_csv_headers() {
        assert_eq!(Field::from_header("郵便番号"), Some(Field::PostalCode));
        assert_eq!(Field::from_header("postal_code"), Some(Field::PostalCode));
        assert_eq!(Field::from_header(" 1日あたり利用想定人数 "), Some(Field::DailyVisitors));
        assert_eq!(Field::from_header("１日あたり利用想定人数"), Some(Field::DailyVisitors));
        assert_eq!(Field::from_header("fax"), None);
    }

    #[test]
    fn json_forms_take_numbers_or_strings_and_refuse_unknown_fields() {
        let form: VenueForm = serde_json::from_str(r#"{"daily_visitors": 120, "name": "店"}"#).expect("number");
        assert_eq!(form.daily_visitors, "120");
        let form: VenueForm = serde_json::from_str(r#"{"daily_visitors": "１２０"}"#).expect("string");
        assert_eq!(form.daily_visitors, "１２０");
        assert!(serde_json::from_str::<VenueForm>(r#"{"daily_visitors": 1.5}"#).is_err());
        assert!(serde_json::from_str::<VenueForm>(r#"{"fax": "x"}"#).is_err());
    }

    #[test]
    fn daily_visitors_accepted() {
        for (input, expected) in [("1", 1), ("120", 120), ("１２０", 120), ("1,200", 1200), ("1,200人", 1200), (" 500000 ", 500_000), ("007", 7)] {
            assert_eq!(DailyVisitors::parse(input).map(DailyVisitors::get), Ok(expected), "{input}");
        }
    }

    #[test]
    fn daily_visitors_rejected() {
        let range = FieldError::OutOfRange { min: 1, max: 500_000 };
        for (input, expected) in [
            ("", FieldError::Required),
            ("0", range),
            ("500001", range),
            ("99999999999999999999", range),
            ("-5", FieldError::NotANumber),
            ("12.5", FieldError::NotANumber),
            ("百", FieldError::NotANumber),
            ("1,20", FieldError::NotANumber),
            ("12,000,00", FieldError::NotANumber),
            ("abc", FieldError::NotANumber),
        ] {
            assert_eq!(DailyVisitors::parse(input), Err(expected), "{input}");
        }
    }

    #[test]
    fn postal_codes_accepted() {
        for input in ["330-9301", "3309301", "３３０－９３０１", "３３０９３０１", "〒330-9301", " 330ー9301 ", "330‐9301", "330−9301"] {
            assert_eq!(PostalCode::parse(input).map(|p| p.to_string()), Ok("330-9301".to_owned()), "{input}");
        }
    }

    #[test]
    fn postal_codes_rejected() {
        assert_eq!(PostalCode::parse(""), Err(FieldError::Required));
        for input in ["330930", "33093011", "33-09301", "330-930a", "abc-defg", "330 9301", "3309-301", "330--9301"] {
            assert_eq!(PostalCode::parse(input), Err(FieldError::PostalCodeFormat), "{input}");
        }
    }

    #[test]
    fn phone_numbers_accepted_and_normalised() {
        for (input, digits, shown) in [
            ("048-824-2111", "0488242111", "0488242111"),
            ("(048) 824-2111", "0488242111", "0488242111"),
            ("０４８－８２４－２１１１", "0488242111", "0488242111"),
            ("03-1234-5678", "0312345678", "03-1234-5678"),
            ("090-1234-5678", "09012345678", "090-1234-5678"),
            ("09012345678", "09012345678", "090-1234-5678"),
            ("050 1234 5678", "05012345678", "050-1234-5678"),
            ("0120-123-456", "0120123456", "0120-123-456"),
            ("0800-123-4567", "08001234567", "0800-123-4567"),
            ("+81 90-1234-5678", "09012345678", "090-1234-5678"),
            ("+81-3-1234-5678", "0312345678", "03-1234-5678"),
        ] {
            let phone = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e:?}"));
            assert_eq!(phone.digits(), digits, "{input}");
            assert_eq!(phone.to_string(), shown, "{input}");
        }
    }

    #[test]
    fn phone_numbers_rejected() {
        assert_eq!(PhoneNumber::parse(" "), Err(FieldError::Required));
        for input in ["12345", "048-824-211", "0488242111111", "1488242111", "0012345678", "090-1234-567", "0120-123-4567", "tel:0488242111", "048/824/2111", "02012345678", "+1 415 555 0100"] {
            assert_eq!(PhoneNumber::parse(input), Err(FieldError::PhoneFormat), "{input}");
        }
    }

    #[test]
    fn emails_accepted() {
        for (input, stored) in [
            ("info@example.jp", "info@example.jp"),
            (" Info@Example.CO.JP ", "Info@example.co.jp"),
            ("ｉｎｆｏ＠ｅｘａｍｐｌｅ．ｊｐ", "info@example.jp"),
            ("a.b+tag@sub-domain.example.com", "a.b+tag@sub-domain.example.com"),
        ] {
            assert_eq!(Email::parse(input).map(|e| e.to_string()), Ok(stored.to_owned()), "{input}");
        }
    }

    #[test]
    fn emails_rejected() {
        assert_eq!(Email::parse(""), Err(FieldError::Required));
        for input in ["info", "info@", "@example.jp", "info@example", "info@@example.jp", "a..b@example.jp", ".a@example.jp", "info@-example.jp", "info@example.j", "山田@example.jp", "info@例え.jp", "a b@example.jp"] {
            assert_eq!(Email::parse(input), Err(FieldError::EmailFormat), "{input}");
        }
        let long = format!("{}@example.jp", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(FieldError::TooLong { max: 254 }));
    }

    #[test]
    fn names_and_addresses_are_normalised_and_bounded() {
        assert_eq!(VenueName::parse("　ｶﾌｪ　ＡＢＣ ").map(|n| n.to_string()), Ok("カフェ ABC".to_owned()));
        assert_eq!(VenueName::parse("   "), Err(FieldError::Required));
        assert_eq!(VenueName::parse(&"あ".repeat(81)), Err(FieldError::TooLong { max: 80 }));
        assert!(VenueName::parse(&"あ".repeat(80)).is_ok());
        assert_eq!(VenueName::parse("店\u{0000}名"), Err(FieldError::ControlCharacters));
        assert_eq!(VenueName::parse("evil\u{202e}txt"), Err(FieldError::ControlCharacters));
        assert_eq!(Address::parse(&"a".repeat(201)), Err(FieldError::TooLong { max: 200 }));
        assert_eq!(Address::parse("埼玉県さいたま市浦和区高砂３－１５－１").map(|a| a.to_string()), Ok("埼玉県さいたま市浦和区高砂3-15-1".to_owned()));
    }
}
