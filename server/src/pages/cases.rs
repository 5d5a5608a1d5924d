//! The console's case pages (issue 6): the list, and one case on one page — places and times,
//! the counts the alert would reach, approval and progress — so a trained person gets from a
//! report to an approved alert in a few actions. Counts only; never a resident.

use maud::{Markup, html};

use super::jst;
use super::staff::{csrf_field, staff_page};
use crate::cases::CaseStatus;
use crate::routes::staff::StaffUser;
use crate::staff::Role;
use crate::store::cases::{CasePreview, CaseRecord, CaseSummary, PlaceMatch};

/// The case list with the form for a new case.
pub fn list(user: &StaffUser, cases: &[CaseSummary], error: Option<&str>) -> Markup {
    staff_page(
        "事例",
        "Cases",
        Some(user),
        html! {
            @if let Some(error) = error { div.summary role="alert" { p { (error) } } }
            @if user.roles.has(Role::Investigator) {
                form.card method="post" action="/staff/cases" {
                    (csrf_field(user))
                    label for="reference" { "管理番号（氏名は入力しない）" span.en lang="en" { "Internal reference (never a name)" } }
                    input #reference type="text" name="reference" placeholder="例: 2026-URAWA-0012" required;
                    details {
                        summary { "照合条件を変える（通常は不要）" }
                        label for="tail" { "退出後に含める時間（分、空欄は設定値）" span.en lang="en" { "Minutes after leaving (empty: the setting)" } }
                        input #tail type="number" name="tail_minutes" min="1" max="1440";
                        label for="dwell" { "利用者の滞在時間（分、空欄は業態ごとの設定値）" span.en lang="en" { "Assumed stay (empty: per business type)" } }
                        input #dwell type="number" name="dwell_minutes" min="1" max="1440";
                    }
                    button type="submit" { "事例を作成" }
                }
            }
            p { a href="/staff/reports/cases.csv" { "事例の集計をCSVでダウンロード" } }
            table {
                thead { tr { th { "管理番号" } th { "状態" } th { "作成" } th.num { "場所と時間" } th.num { "通知対象" } } }
                tbody {
                    @for c in cases {
                        tr.case {
                            td { a href={ "/staff/cases/" (c.id) } { (c.reference.as_str()) } }
                            td { (c.status.label_ja()) }
                            td { (jst(c.created_at)) }
                            td.num { (c.exposures) }
                            td.num { @if let Some(n) = c.recipients { (n) "人" } }
                        }
                    }
                }
            }
        },
    )
}

/// Everything on a case's page.
#[derive(Debug)]
pub struct CaseView<'a> {
    /// Who is looking.
    pub user: &'a StaffUser,
    /// The case.
    pub case: &'a CaseRecord,
    /// Counts, for an open case.
    pub preview: Option<&'a CasePreview>,
    /// The place search and its results.
    pub search: Option<(&'a str, &'a [PlaceMatch])>,
    /// A problem with the last form.
    pub error: Option<&'a str>,
    /// Whether this person may approve (approver, and not the creator when a second person
    /// is required).
    pub may_approve: bool,
    /// The date the exposure form starts with (`2026-11-25`).
    pub default_date: &'a str,
    /// The matching settings, to say what the counts assume.
    pub matching: &'a crate::config::MatchingSettings,
}

fn postal(code: &str) -> String {
    if code.len() == 7 && code.chars().all(|c| c.is_ascii_digit()) { format!("{}-{}", &code[..3], &code[3..]) } else { code.to_owned() }
}

fn grouped(code: &str) -> String {
    if code.len() == 10 { format!("{}-{}", &code[..5], &code[5..]) } else { code.to_owned() }
}

fn hh_mm(t: time::OffsetDateTime) -> String {
    jst(t).rsplit(' ').next().unwrap_or_default().to_owned()
}

/// One case.
pub fn case(view: &CaseView<'_>) -> Markup {
    let c = view.case;
    let user = view.user;
    let open = c.status == CaseStatus::Open;
    let investigator = user.roles.has(Role::Investigator);
    let base = format!("/staff/cases/{}", c.id);
    let title = format!("事例 {}", c.reference.as_str());
    staff_page(
        &title,
        "Case",
        Some(user),
        html! {
            @if c.status == CaseStatus::Sending {
                // The page refreshes itself while the alert goes out (no JavaScript).
                meta http-equiv="refresh" content="2";
            }
            p #case-status data-status=(c.status.as_str()) { "状態: " strong { (c.status.label_ja()) } " ・ 作成 " (jst(c.created_at)) "（" (c.created_by) "）" }
            @if let Some(error) = view.error { div.summary role="alert" { p { (error) } } }

            h2 { "1. 場所と時間" span.en lang="en" { "Places and times" } }
            @if c.exposures.is_empty() {
                p.hint { "陽性の方が利用した場所と時間を登録してください。" }
            } @else {
                table #exposures {
                    thead { tr { th { "場所" } th { "日付" } th { "時間" } @if view.preview.is_some() { th.num { "通知する人" } } @if open && investigator { th {} } } }
                    tbody {
                        @for e in &c.exposures {
                            tr.exposure {
                                td {
                                    (e.venue_name)
                                    @if open { br; small { "利用者は" (c.dwell_minutes.unwrap_or_else(|| view.matching.dwell_for(&e.business_type))) "分滞在として照合" } }
                                }
                                td { (jst(e.starts_at).split(' ').next().unwrap_or_default()) }
                                td { (hh_mm(e.starts_at)) "〜" (hh_mm(e.ends_at)) }
                                @if let Some(p) = view.preview { td.num { @if let Some((_, n)) = p.per_exposure.iter().find(|(id, _)| *id == e.id) { (n) "人" } } }
                                @if open && investigator {
                                    td { form.inline method="post" action={ (base) "/exposures/" (e.id) "/delete" } { (csrf_field(user)) button.secondary type="submit" { "削除" } } }
                                }
                            }
                        }
                    }
                }
            }
            @if open && investigator {
                form.card method="post" action={ (base) "/history" } {
                    (csrf_field(user))
                    label for="history-code" { "陽性の方の履歴コードで取り込む（LINEで「履歴コード」と送ると発行されます）" span.en lang="en" { "Import the positive person's visits with their history code" } }
                    input #history-code type="text" name="code" placeholder="例: 7K3M-9QX2" autocapitalize="characters" required;
                    button type="submit" { "取り込む" }
                }
                form.card method="get" action=(base) {
                    label for="q" { "場所を探す（施設名・住所・郵便番号・コード）" span.en lang="en" { "Find a place (name, address, postal code or code)" } }
                    input #q type="search" name="q" value=(view.search.map(|(q, _)| q).unwrap_or_default()) required;
                    button type="submit" { "検索" }
                }
                @if let Some((query, places)) = view.search {
                    @if places.is_empty() {
                        p.hint #no-places { "「" (query) "」に当たる場所はありません。" }
                    } @else {
                        table #places {
                            thead { tr { th { "場所" } th { "住所" } th { "追加する時間（日本時間）" } } }
                            tbody {
                                @for p in places {
                                    tr.place data-location=(p.location_id.as_str()) {
                                        td { (p.name) br; small { code { (grouped(&p.code)) } @if p.withdrawn { " ・ 利用停止済み" } } }
                                        td { small { "〒" (postal(&p.postal_code)) " " (p.address) } }
                                        td {
                                            form.inline method="post" action={ (base) "/exposures" } {
                                                (csrf_field(user))
                                                input type="hidden" name="location_id" value=(p.location_id.as_str());
                                                input type="hidden" name="q" value=(query);
                                                label.inline-label { "日付 " input type="date" name="date" value=(view.default_date) required; }
                                                label.inline-label { "入室 " input type="time" name="from" required; }
                                                label.inline-label { "退出 " input type="time" name="to" required; }
                                                button type="submit" { "追加" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        p.hint { "退出が入室より前の時刻なら翌日とみなします。" }
                    }
                }
            }

            h2 { "2. 通知の対象者数" span.en lang="en" { "Who would be alerted (counts only)" } }
            @if let Some(p) = view.preview {
                div.menu {
                    div.card { "通知する人数" div.stat #preview-total { (p.total) } }
                    div.card { "ブロック中（送信しない）" div.stat #preview-blocked { (p.blocked) } }
                }
                p.hint {
                    "陽性の方の退出後 " (c.tail_minutes.unwrap_or(view.matching.tail_minutes)) "分までに来場した方も含めます。"
                    "ブロック中の方には送信されません。"
                    @if c.excludes_positive_person { " 陽性の方ご本人は除いています。" }
                }
            } @else if let (Some(n), Some(b)) = (c.recipients, c.blocked) {
                p { "承認時の通知対象: " strong #approved-total { (n) "人" } "（ブロック中 " (b) "人は送信しません）" }
            }

            h2 { "3. 承認と送信" span.en lang="en" { "Approval and sending" } }
            @match c.status {
                CaseStatus::Open => {
                    @if view.may_approve && view.preview.is_some_and(|p| p.total > 0) {
                        form.card method="post" action={ (base) "/approve" } {
                            (csrf_field(user))
                            p { "通知文には日時・場所は含まれません。承認すると、上記の " strong { (view.preview.map_or(0, |p| p.total)) "人" } " にLINEで送信します。" }
                            button #approve type="submit" { "承認して送信する" }
                        }
                    } @else if user.roles.has(Role::Approver) && !view.may_approve {
                        p.hint { "この事例を作成した職員とは別の承認担当者が承認します。" }
                    } @else {
                        p.hint { "承認担当者が内容を確認して承認します。" }
                    }
                    @if investigator {
                        form.card method="post" action={ (base) "/close" } {
                            (csrf_field(user))
                            label { input type="checkbox" name="confirm" value="yes" required; " 通知は不要と判断したので、この事例を終了します（元に戻せません）" }
                            button.secondary type="submit" { "通知せずに終了" }
                        }
                    }
                }
                CaseStatus::Sending | CaseStatus::Paused | CaseStatus::Sent => {
                    @if let Some((who, at)) = &c.approved { p { "承認: " (who) "（" (jst(*at)) "）" } }
                    @if c.status == CaseStatus::Sent {
                        div.notice #sent-done { p { "送信が完了しました。" } }
                    }
                    p #progress data-sent=(c.progress.sent_recipients) {
                        "送信済み " strong { (c.progress.sent_recipients) "人" } " ／ " (c.recipients.unwrap_or(0)) "人"
                        @if c.progress.failed_batches > 0 { " ・ LINEが受け付けなかった送信: " (c.progress.failed_batches) "回（管理者に連絡してください）" }
                    }
                    @if let Some(reason) = &c.pause_reason {
                        div.warning { p { "送信を一時停止しています: " (reason) } }
                        @if user.roles.has(Role::Approver) {
                            form.inline method="post" action={ (base) "/resume" } { (csrf_field(user)) button type="submit" { "送信を再開" } }
                        }
                    }
                }
                CaseStatus::Closed => p { "通知せずに終了しました。" },
            }
        },
    )
}
