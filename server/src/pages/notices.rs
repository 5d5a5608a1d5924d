//! Cluster notices (R18): the public page, and the admin's page to publish and withdraw them.
//! A notice names a place, a period and a message; nothing else about any case.

use maud::{Markup, html};

use super::jst;
use super::layout::page;
use super::staff::{csrf_field, staff_page};
use crate::routes::staff::StaffUser;
use crate::store::cases::{NoticeRecord, PlaceMatch};

fn date(t: time::OffsetDateTime) -> String {
    jst(t).split(' ').next().unwrap_or_default().to_owned()
}

/// The period as people read it: whole days are shown as dates.
fn period(n: &NoticeRecord) -> String {
    let last_day = date(n.to - time::Duration::seconds(1));
    if date(n.from) == last_day { last_day } else { format!("{}〜{}", date(n.from), last_day) }
}

/// `GET /notices`: what the prefecture has published.
pub fn public(notices: &[NoticeRecord]) -> Markup {
    page(
        "施設名の公表（クラスター発生のおそれ）",
        "Published places (cluster risk)",
        html! {
            p { "県が、感染が広がるおそれがあると判断した場合に限り、施設名と期間を公表しています。" }
            p.en lang="en" { "The prefecture publishes a place only when it judges there is a risk of a cluster." }
            @if notices.is_empty() {
                div.card #no-notices { p { "現在、公表している施設はありません。" } p.en lang="en" { "No place is published at present." } }
            }
            @for n in notices {
                div.card.notice-entry {
                    h2 { (n.venue_name) }
                    p { small { (n.address) } }
                    p { "対象期間: " strong { (period(n)) } }
                    p { (n.message) }
                    p.hint { "公表日: " (date(n.published_at)) }
                }
            }
        },
    )
}

/// `GET /staff/notices`: publish and withdraw (admin).
pub fn staff(user: &StaffUser, notices: &[NoticeRecord], search: Option<(&str, &[PlaceMatch])>, error: Option<&str>, today: &str) -> Markup {
    staff_page(
        "施設名の公表",
        "Cluster notices",
        Some(user),
        html! {
            p { "公表した内容は " a href="/notices" { "公開ページ" } " にすぐ表示されます。公表できるのは施設・期間・文面だけです。" }
            @if let Some(error) = error { div.summary role="alert" { p { (error) } } }
            table {
                thead { tr { th { "施設" } th { "期間" } th { "文面" } th { "状態" } } }
                tbody {
                    @for n in notices {
                        tr.notice data-notice=(n.id) {
                            td { (n.venue_name) }
                            td { (period(n)) }
                            td { small { (n.message) } }
                            td {
                                @if let Some(at) = n.withdrawn_at { span.status-withdrawn { "取り下げ（" (jst(at)) "）" } }
                                @else {
                                    span.status-active { "公表中" }
                                    form.inline method="post" action={ "/staff/notices/" (n.id) "/withdraw" } { (csrf_field(user)) button.danger type="submit" { "取り下げる" } }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "公表する施設を探す" span.en lang="en" { "Find the place" } }
            form.card method="get" action="/staff/notices" {
                input type="search" name="q" value=(search.map(|(q, _)| q).unwrap_or_default()) aria-label="施設名・住所・郵便番号・コード" required;
                button type="submit" { "検索" }
            }
            @if let Some((_, places)) = search {
                @for p in places {
                    form.card method="post" action="/staff/notices" {
                        (csrf_field(user))
                        input type="hidden" name="location_id" value=(p.location_id.as_str());
                        p { strong { (p.name) } " " small { (p.address) } }
                        label { "期間（日本時間の日付）" }
                        input type="date" name="from" value=(today) required aria-label="開始日";
                        " 〜 "
                        input type="date" name="to" value=(today) required aria-label="終了日";
                        label { "文面" }
                        textarea name="message" rows="3" maxlength="500" required { "上記の期間にこの施設を利用された方で、発熱などの症状のある方は、お住まいの地域の保健所にご相談ください。" }
                        button.danger type="submit" { "公表する" }
                    }
                }
            }
        },
    )
}
