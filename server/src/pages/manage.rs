//! The venue's private management page, reached only through its secret link: posters to
//! download again, and withdrawal of a place whose code must stop being accepted (R11).
//!
//! Architecture invariant: nothing on these pages depends on visits or cases; a venue learns
//! nothing about who checked in or whether a positive person was there (R17).

use maud::{Markup, html};
use oshirase_common::Lang;

use super::jst;
use super::layout::page;
use crate::store::{KioskRecord, RegistrationRecord, VenueRecord};

/// Everything the management page shows.
#[derive(Debug)]
pub struct ManageView<'a> {
    /// The registration and its places.
    pub registration: &'a RegistrationRecord,
    /// The page's own URL (with the secret), shown once after registration to be saved.
    pub manage_url: &'a str,
    /// Path prefix of this registration's pages: `/manage/<secret>`.
    pub base_path: &'a str,
    /// True right after registering: show the "save this link" notice.
    pub just_registered: bool,
    /// True right after a withdrawal.
    pub just_withdrawn: bool,
    /// The public base URL, to show each place's check-in URL (what its QR code holds).
    pub public_base: &'a crate::config::PublicBaseUrl,
    /// The kiosks of the registration's places.
    pub kiosks: &'a [KioskRecord],
    /// The time the page is drawn, to tell kiosks that stopped reporting.
    pub now: time::OffsetDateTime,
}

/// `GET /manage/{token}`.
pub fn manage(view: &ManageView<'_>) -> Markup {
    let active = view.registration.venues.iter().filter(|v| v.is_active()).count();
    page(
        "登録の管理",
        "Manage your registration",
        html! {
            @if view.just_registered {
                div.notice role="status" id="registered" {
                    p { strong { "登録が完了しました。" } span.en lang="en" { "Registration complete." } }
                    p { "このページのURLは、ポスターの再ダウンロードや登録の取り下げに必要です。" strong { "再発行できません" } "ので、ブックマークするか安全な場所に保存してください。他の人には教えないでください。" }
                    p.en lang="en" { "Keep this page's address: you need it to download the poster again or withdraw the registration. It cannot be sent again. Do not share it." }
                    p.secret id="manage-url" { (view.manage_url) }
                }
            }
            @if view.just_withdrawn {
                div.notice role="status" id="withdrawn-notice" {
                    p { "取り下げました。そのQRコードは今後受け付けられません。掲示しているポスターを外して処分してください。" }
                    p.en lang="en" { "Withdrawn. Its code is no longer accepted; please remove and discard its posters." }
                }
            }
            div.card {
                p { "登録日時：" (jst(view.registration.created_at)) }
                p { "登録した場所：" (view.registration.venues.len()) "か所（受付中 " (active) "か所）" }
                @if active > 1 {
                    a.button href={ (view.base_path) "/posters.pdf" } id="all-posters" { "受付中のすべてのポスター（PDF）" span.en lang="en" style="color:inherit" { "All posters (PDF)" } }
                }
            }
            @for venue in &view.registration.venues {
                (place(view.base_path, &view.public_base.qr_url(&format!("/C/{}", venue.code)), venue))
            }
            (kiosk_list(view))
            div.card {
                h2 { "ポスターの掲示について" span.en lang="en" { "Displaying the poster" } }
                ul {
                    li { "A4で印刷し、入口など来場者が読み取りやすい場所に掲示してください。白黒印刷・複数の入口への掲示もできます。" }
                    li { "施設の外への掲示、配布、SNSへの投稿はしないでください。その場にいなかった人が読み取ると、お知らせが正しく届かなくなります。" }
                    li { "施設・店舗の従業員の方も、来場者と同じように読み取ることができます。" }
                    li { "同じ主催者が定期的に開くイベントは、同じQRコードを使い続けられます。" }
                }
            }
        },
    )
}

fn place(base_path: &str, checkin_url: &str, venue: &VenueRecord) -> Markup {
    let v = &venue.venue;
    let path = format!("{base_path}/venues/{}", venue.location_id);
    html! {
        section.card.place data-location=(venue.location_id) {
            h2 { (v.name) }
            table {
                tbody {
                    tr { th { "状態" } td {
                        @if let Some(at) = venue.withdrawn_at {
                            span.status-withdrawn { "取り下げ済み（" (jst(at)) "）" }
                        } @else {
                            span.status-active { "受付中" }
                        }
                    } }
                    tr { th { "業態" } td { (v.business_type.label(Lang::Ja)) } }
                    tr { th { "1日あたり利用想定人数" } td { (v.daily_visitors.get()) "人" } }
                    tr { th { "郵便番号" } td { (v.postal_code) } }
                    tr { th { "住所" } td { (v.address) } }
                    tr { th { "電話番号" } td { (v.phone) } }
                    tr { th { "メールアドレス" } td { (v.email) } }
                    tr { th { "コード" } td { code { (venue.code.grouped()) } } }
                    @if venue.is_active() {
                        tr { th { "読み取り用URL" } td { code.checkin-url { (checkin_url) } } }
                    }
                }
            }
            @if venue.is_active() {
                p.actions {
                    a.poster-pdf href={ (path) "/poster.pdf" } { "ポスター（A4 PDF）" }
                    a.qr-png href={ (path) "/qr.png" } { "QRコード（PNG）" }
                    a.qr-svg href={ (path) "/qr.svg" } { "QRコード（SVG）" }
                }
                form.add-kiosk method="post" action={ (path) "/kiosks" } {
                    button.secondary type="submit" { "キオスク（画面表示端末）を追加" span.en lang="en" style="color:inherit" { "Add a kiosk" } }
                }
                p { a.withdraw href={ (path) "/withdraw" } { "この場所の登録を取り下げる" } }
            }
        }
    }
}

/// `GET /manage/{token}/venues/{id}/withdraw`: asks before withdrawing.
pub fn confirm_withdraw(base_path: &str, venue: &VenueRecord) -> Markup {
    let action = format!("{base_path}/venues/{}/withdraw", venue.location_id);
    page(
        "登録の取り下げ",
        "Withdraw a registration",
        html! {
            div.warning {
                p { "「" strong { (venue.venue.name) } "」の登録を取り下げます。取り下げると、このQRコードは今後受け付けられず、元に戻せません。" }
                p.en lang="en" { "Once withdrawn, this place's code is refused from then on. This cannot be undone." }
            }
            form method="post" action=(action) {
                label { input type="checkbox" name="confirm" value="yes" required; " 取り下げることを確認しました" span.en lang="en" { "I understand" } }
                button.danger type="submit" id="confirm-withdraw" { "取り下げる" span.en lang="en" style="color:inherit" { "Withdraw" } }
                " "
                a.button.secondary href=(base_path) { "戻る" }
            }
        },
    )
}

fn kiosk_list(view: &ManageView<'_>) -> Markup {
    let place_name = |k: &KioskRecord| {
        view.registration.venues.iter().find(|v| v.location_id == k.location_id).map(|v| v.venue.name.as_str().to_owned()).unwrap_or_default()
    };
    html! {
        @if !view.kiosks.is_empty() {
            section.card.kiosks {
                h2 { "キオスク" span.en lang="en" { "Kiosks" } }
                table {
                    thead { tr { th { "端末" } th { "場所" } th { "最終確認" } th { "状態" } } }
                    tbody {
                        @for k in view.kiosks {
                            tr.kiosk data-kiosk=(k.kiosk_id.as_str()) {
                                td { code { (k.kiosk_id.as_str()) } }
                                td { (place_name(k)) }
                                td {
                                    @if let Some(h) = &k.last_heartbeat {
                                        (jst(h.at))
                                        @if k.revoked_at.is_none() && view.now - h.at > crate::store::KIOSK_SILENT_AFTER {
                                            " " strong.status-withdrawn.kiosk-silent { "連絡なし" }
                                        }
                                        br;
                                        small { (screen_label(&h.screen)) " ・ v" (h.version) }
                                        @if let Some(offset) = h.clock_offset_ms {
                                            br; small { "時計のずれ " (offset) " ms" }
                                        }
                                        @if let Some(e) = &h.last_error {
                                            br; small.kiosk-error { "最後のエラー（" (jst(e.reported_at)) "）: " (e.message) }
                                        }
                                    } @else {
                                        "未接続（" (jst(k.paired_at)) "登録）"
                                    }
                                }
                                td {
                                    @if let Some(at) = k.revoked_at {
                                        span.status-withdrawn { "無効化済み（" (jst(at)) "）" }
                                    } @else {
                                        span.status-active { "使用中" }
                                        form method="post" action={ (view.base_path) "/kiosks/" (k.kiosk_id.as_str()) "/revoke" } {
                                            button.danger.revoke-kiosk type="submit" { "無効にする" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p.hint { "紛失・盗難・廃棄した端末は「無効にする」を押してください。その端末のQRコードは受け付けられなくなります。" }
            }
        }
    }
}

/// The page that hands a new pairing code over, once.
pub fn pairing_code(base_path: &str, venue_name: &str, grouped_code: &str, expires: time::OffsetDateTime, command: &str, qr_svg: &str) -> Markup {
    page(
        "キオスクの追加",
        "Add a kiosk",
        html! {
            div.notice {
                p { "「" strong { (venue_name) } "」に表示するキオスクのペアリングコードです。" (jst(expires)) "まで、1回だけ使えます。" }
                p.en lang="en" { "A one-time pairing code for a kiosk at this place." }
            }
            div.card {
                p style="font-size:2rem;font-weight:bold;letter-spacing:.1em;text-align:center" id="pairing-code" { (grouped_code) }
                div style="max-width:12rem;margin:0 auto" { (maud::PreEscaped(qr_svg)) }
                h2 { "キオスクでの操作" span.en lang="en" { "On the kiosk" } }
                p { "キオスク（Raspberry Pi）で次のコマンドを実行してください。" }
                pre.secret { (command) }
            }
            a.button.secondary href=(base_path) { "管理ページに戻る" }
        },
    )
}

/// A kiosk's reported screen, in Japanese.
pub fn screen_label(screen: &str) -> &'static str {
    match screen {
        "idle" => "コード表示中",
        "offline" => "オフライン（コード表示中）",
        "clock_untrusted" => "時計の確認待ち",
        "disabled" => "停止中",
        "unpaired" => "未ペアリング",
        _ => "不明",
    }
}
