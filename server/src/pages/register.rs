//! The registration forms: one place (R10), and several places from a CSV file (R12).

use maud::{Markup, html};
use oshirase_common::business_type;
use oshirase_common::{Field, FieldErrors, Lang, VenueForm};

use super::layout::page;

/// What the single-place form shows: the values typed so far and their errors.
#[derive(Debug, Default)]
pub struct FormView<'a> {
    /// Values to fill back in.
    pub values: Option<&'a VenueForm>,
    /// Errors to show beside the fields.
    pub errors: Option<&'a FieldErrors>,
}

/// `GET /venues/new`, and the same page with errors after a refused `POST /venues`.
pub fn new_venue(view: &FormView<'_>) -> Markup {
    let values = view.values.cloned().unwrap_or_default();
    let errors = view.errors.cloned().unwrap_or_default();
    page(
        "施設・店舗・イベントの登録",
        "Register a place",
        html! {
            @if !errors.is_empty() {
                div.summary role="alert" id="error-summary" {
                    p { strong { "入力内容を確認してください。" } span.en lang="en" { "Please check the highlighted fields." } }
                    ul {
                        @for (field, error) in errors.iter() {
                            li { a href={ "#" (field.key()) } { (error.message(field, Lang::Ja)) } }
                        }
                    }
                }
            }
            div.warning {
                p { "登録内容はあとから修正できません。間違えた場合は新しく登録し直し、誤った登録は取り下げてください。" }
                p.en lang="en" { "A registration cannot be edited later. If you make a mistake, register again and withdraw the wrong one." }
            }
            form method="post" action="/venues" novalidate {
                (business_type_select(values.business_type.as_str(), errors.get(Field::BusinessType)))
                (text_input(Field::DailyVisitors, &values.daily_visitors, errors.get(Field::DailyVisitors), "text", "off", Some("numeric"), "例：120", "Whole number, e.g. 120"))
                (text_input(Field::Name, &values.name, errors.get(Field::Name), "text", "organization", None, "例：カフェ・ド・浦和 2階（部屋・フロア・スクリーンごとに登録できます）", "Each room, floor or screen can be registered separately"))
                (text_input(Field::PostalCode, &values.postal_code, errors.get(Field::PostalCode), "text", "postal-code", Some("numeric"), "例：330-9301", "7 digits, e.g. 330-9301"))
                (text_input(Field::Address, &values.address, errors.get(Field::Address), "text", "street-address", None, "例：埼玉県さいたま市浦和区高砂3-15-1", "Prefecture, city, street and number"))
                (text_input(Field::Phone, &values.phone, errors.get(Field::Phone), "tel", "tel", Some("tel"), "例：048-824-2111", "Japanese number with area code"))
                (text_input(Field::Email, &values.email, errors.get(Field::Email), "email", "email", Some("email"), "例：info@example.jp", "e.g. info@example.jp"))
                button type="submit" id="submit" { "登録してポスターを作成する" span.en lang="en" style="color:inherit" { "Register and make the poster" } }
            }
        },
    )
}

fn label(field: Field) -> Markup {
    html! {
        label for=(field.key()) {
            (field.label(Lang::Ja)) span.req { "必須" }
            span.en lang="en" { (field.label(Lang::En)) }
        }
    }
}

fn error_line(field: Field, error: Option<oshirase_common::FieldError>) -> Markup {
    html! {
        @if let Some(error) = error {
            p.field-error id={ (field.key()) "-error" } {
                (error.message(field, Lang::Ja))
                span.en lang="en" { (error.message(field, Lang::En)) }
            }
        }
    }
}

fn business_type_select(selected: &str, error: Option<oshirase_common::FieldError>) -> Markup {
    let field = Field::BusinessType;
    html! {
        (label(field))
        select id=(field.key()) name=(field.key()) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| format!("{}-error", field.key()))] {
            option value="" selected[selected.is_empty()] { "選んでください" }
            @for info in business_type::all() {
                option value=(info.key) selected[selected == info.key] { (info.ja) " / " (info.en) }
            }
        }
        (error_line(field, error))
    }
}

#[allow(clippy::too_many_arguments, reason = "one call per form field reads best as a flat list")]
fn text_input(
    field: Field,
    value: &str,
    error: Option<oshirase_common::FieldError>,
    kind: &str,
    autocomplete: &str,
    inputmode: Option<&str>,
    hint: &str,
    hint_en: &str,
) -> Markup {
    let hint_id = format!("{}-hint", field.key());
    let described = match error {
        Some(_) => format!("{hint_id} {}-error", field.key()),
        None => hint_id.clone(),
    };
    html! {
        (label(field))
        p.hint id=(hint_id) { (hint) span.en lang="en" { (hint_en) } }
        input type=(kind) id=(field.key()) name=(field.key()) value=(value) autocomplete=(autocomplete)
            inputmode=[inputmode] aria-invalid=[error.map(|_| "true")] aria-describedby=(described);
        (error_line(field, error))
    }
}

/// A problem found in a bulk upload, as the bulk page lists it.
#[derive(Debug)]
pub enum BulkProblem {
    /// The file as a whole could not be read.
    File {
        /// Japanese message.
        ja: String,
        /// English message.
        en: String,
    },
    /// Some rows have invalid fields: (CSV line, errors).
    Rows(Vec<(u64, FieldErrors)>),
}

/// `GET /venues/bulk`, and the same page listing problems after a refused upload.
pub fn bulk(max_places: usize, problem: Option<&BulkProblem>) -> Markup {
    page(
        "複数の場所をまとめて登録",
        "Register several places at once",
        html! {
            @if let Some(problem) = problem {
                div.summary role="alert" id="error-summary" {
                    p { strong { "登録できませんでした。何も登録されていません。" } span.en lang="en" { "Nothing was registered." } }
                    @match problem {
                        BulkProblem::File { ja, en } => {
                            p.field-error { (ja) span.en lang="en" { (en) } }
                        }
                        BulkProblem::Rows(rows) => {
                            p { "次の行を直して、もう一度アップロードしてください。" span.en lang="en" { "Fix these rows and upload the file again." } }
                            table {
                                thead { tr { th { "行" } th { "項目" } th { "内容" } } }
                                tbody {
                                    @for (line, errors) in rows {
                                        @for (field, error) in errors.iter() {
                                            tr.row-error { td { (line) } td { (field.label(Lang::Ja)) } td { (error.message(field, Lang::Ja)) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.card {
                p { "チェーン店の各店舗、フロア、部屋、スクリーンなどを、CSVファイルでまとめて登録できます。1行が1か所で、それぞれに別のQRコードが発行されます。すべての行が正しい場合だけ登録されます。" }
                p.en lang="en" { "Upload a CSV file with one place per row; each gets its own QR code. Nothing is registered unless every row is valid." }
                p { "1回に登録できるのは" (max_places) "か所までです。" }
                p { a href="/venues/bulk/template.csv" download { "CSVテンプレートをダウンロード" } span.en lang="en" { "Download the CSV template" } }
                p.hint { "見出し：業態, 1日あたり利用想定人数, 施設・店舗・イベント名, 郵便番号, 住所, 電話番号, メールアドレス（UTF-8 または Shift_JIS）" }
            }
            form method="post" action="/venues/bulk" enctype="multipart/form-data" {
                label for="csv" { "CSVファイル" span.en lang="en" { "CSV file" } }
                input type="file" id="csv" name="csv" accept=".csv,text/csv";
                label for="csv_text" { "またはCSVを貼り付け" span.en lang="en" { "Or paste the CSV" } }
                textarea id="csv_text" name="csv_text" rows="6" {}
                button type="submit" id="submit" { "まとめて登録する" span.en lang="en" style="color:inherit" { "Register all" } }
            }
        },
    )
}
