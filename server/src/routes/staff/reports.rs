//! Exports (issue 6): case statistics as CSV for spreadsheets. Every cell that a spreadsheet
//! would read as a formula is neutralised ([`spreadsheet_safe`]); nothing in an export names
//! a resident or a place. Each export is in the audit log.

use std::borrow::Cow;

use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use super::StaffUser;
use crate::audit::AuditEvent;
use crate::pages::jst;
use crate::routes::error::PageError;
use crate::routes::{AppState, no_store};

/// A cell as a spreadsheet will not evaluate it: text starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading apostrophe (OWASP's advice against CSV injection).
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// The case statistics: one row per case, counts only.
async fn cases_csv(state: &AppState, user: &StaffUser) -> Result<Vec<u8>, PageError> {
    let cases = state.store.list_cases().await?;
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        let header = ["管理番号", "状態", "作成日時", "場所と時間の数", "通知対象（人）"];
        writer.write_record(header).map_err(|e| PageError::Internal(e.into()))?;
        for c in &cases {
            let row = [
                spreadsheet_safe(c.reference.as_str()).into_owned(),
                c.status.label_ja().to_owned(),
                jst(c.created_at),
                c.exposures.to_string(),
                c.recipients.map(|n| n.to_string()).unwrap_or_default(),
            ];
            writer.write_record(&row).map_err(|e| PageError::Internal(e.into()))?;
        }
        writer.flush().map_err(|e| PageError::Internal(e.into()))?;
    }
    let audit = AuditEvent::new(user.actor.clone(), "export.cases_csv").with(serde_json::json!({ "rows": cases.len() }));
    state.store.append_audit(OffsetDateTime::now_utc(), audit).await?;
    Ok(out)
}

fn csv_response(bytes: Vec<u8>) -> Response {
    (
        no_store(),
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"oshirase-cases.csv\"")],
        bytes,
    )
        .into_response()
}

/// `GET /staff/reports/cases.csv`
pub async fn cases_page(State(state): State<AppState>, Extension(user): Extension<StaffUser>) -> Result<Response, PageError> {
    Ok(csv_response(cases_csv(&state, &user).await?))
}

/// `GET /api/v1/staff/reports/cases.csv`
pub async fn cases_api(State(state): State<AppState>, Extension(user): Extension<StaffUser>) -> Result<Response, crate::routes::error::ApiError> {
    cases_csv(&state, &user).await.map(csv_response).map_err(|e| match e {
        PageError::Internal(e) => crate::routes::error::ApiError::Internal(e),
        _ => crate::routes::error::ApiError::NotFound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_plain_text_is_kept() {
        for formula in ["=HYPERLINK(\"http://x\")", "+1", "-2-3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(formula), format!("'{formula}"));
        }
        for plain in ["2026-URAWA-1", "調査中", "12", ""] {
            assert_eq!(spreadsheet_safe(plain), plain);
        }
    }
}
