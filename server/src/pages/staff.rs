//! The staff console's pages (issue 6): Japanese first, no JavaScript, usable without a
//! manual. Every form carries the session's CSRF token ([`csrf_field`]). Pages show counts and
//! places, never a resident.

use maud::{DOCTYPE, Markup, html};

use super::jst;
use super::layout::head;
use crate::routes::staff::StaffUser;
use crate::staff::{Role, StaffAccount};
use crate::store::KioskRecord;
use crate::store::staff::{ApiTokenRecord, AuditRow};

/// Extra rules for the console: wider pages, the menu.
const STAFF_STYLE: &str = r#"
main{max-width:64rem}
header.site nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin-top:.35rem;font-size:.9rem}
header.site nav a{font-weight:normal;font-size:.95rem;text-decoration:underline}
header.site form{display:inline;margin:0}
header.site button{margin:0;padding:.1rem .6rem;font-size:.85rem;background:#fff;color:var(--accent)}
.menu{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:.75rem}
.menu a{display:block;padding:1rem;border:1px solid var(--accent);border-radius:.5rem;background:#fff;color:var(--accent);text-decoration:none;font-weight:bold}
.menu a small{display:block;color:var(--muted);font-weight:normal}
.inline{display:inline;margin:0}
.inline button{margin:.15rem .25rem .15rem 0;padding:.3rem .7rem;font-size:.85rem}
.checks label{display:inline-block;font-weight:normal;margin-right:1rem}
label.inline-label{display:inline-block;font-weight:normal;margin:.2rem .6rem .2rem 0}
label.inline-label input{width:auto}
td.num,th.num{text-align:right}
.stat{font-size:1.6rem;font-weight:bold}
"#;

/// The console's shell: menu for the signed-in person's roles, sign-out button.
pub fn staff_page(title: &str, title_en: &str, user: Option<&StaffUser>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="ja" {
            (head(title, "oshirase 職員用", STAFF_STYLE))
            body {
                header.site {
                    a href="/staff" { "oshirase 職員用コンソール" }
                    small lang="en" { "Staff console" }
                    @if let Some(user) = user {
                        nav {
                            a href="/staff" { "ホーム" }
                            @if user.roles.has(Role::Investigator) || user.roles.has(Role::Approver) {
                                a href="/staff/cases" { "事例" }
                            }
                            @if user.roles.has(Role::Admin) {
                                a href="/staff/kiosks" { "キオスク" }
                                a href="/staff/notices" { "公表" }
                                a href="/staff/template" { "通知文" }
                                a href="/staff/accounts" { "アカウント" }
                                a href="/staff/api-tokens" { "APIトークン" }
                                a href="/staff/audit" { "監査ログ" }
                            }
                            a href="/staff/password" { "パスワード変更" }
                            span { (user.name.as_str()) "（" (user.login.as_str()) "）" }
                            form method="post" action="/staff/logout" {
                                (csrf_field(user))
                                button type="submit" { "ログアウト" }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) span.en lang="en" { (title_en) } }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field every console form carries.
pub fn csrf_field(user: &StaffUser) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf()); }
}

/// The sign-in page.
pub fn login(error: Option<&str>, login: &str, next: &str) -> Markup {
    staff_page(
        "職員ログイン",
        "Staff sign-in",
        None,
        html! {
            @if let Some(error) = error {
                div.summary role="alert" { p { (error) } }
            }
            form.card method="post" action="/staff/login" {
                input type="hidden" name="next" value=(next);
                label for="login" { "ログイン名" span.en lang="en" { "Login" } }
                input #login type="text" name="login" value=(login) autocomplete="username" autocapitalize="none" required autofocus;
                label for="password" { "パスワード" span.en lang="en" { "Password" } }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "ログイン" }
            }
            p.hint { "アカウントは管理者が発行します。パスワードを忘れた場合は管理者に再発行を依頼してください。" }
        },
    )
}

/// The console's home: what the signed-in person can do.
pub fn home(user: &StaffUser) -> Markup {
    staff_page(
        "職員用コンソール",
        "Staff console",
        Some(user),
        html! {
            p { (user.name.as_str()) " さん（" @for (i, role) in user.roles.iter().enumerate() { @if i > 0 { "・" } (role.label_ja()) } "）" }
            div.menu {
                @if user.roles.has(Role::Investigator) || user.roles.has(Role::Approver) {
                    a href="/staff/cases" { "事例と通知" small { "場所と時間の登録・対象者数・承認・送信状況" } }
                }
                @if user.roles.has(Role::Admin) {
                    a href="/staff/kiosks" { "キオスクの稼働状況" small { "最終確認・時計のずれ・バージョン" } }
                    a href="/staff/accounts" { "職員アカウント" small { "発行・無効化・パスワード再発行" } }
                    a href="/staff/api-tokens" { "APIトークン" small { "外部システム連携用" } }
                    a href="/staff/notices" { "施設名の公表" small { "クラスターのおそれがある場合だけ" } }
                    a href="/staff/template" { "通知文と相談窓口" small { "日時・場所は入れられません" } }
                    a href="/staff/audit" { "監査ログ" small { "すべての操作の記録と改ざん検査" } }
                }
                a href="/staff/password" { "パスワード変更" small { "自分のパスワード" } }
            }
        },
    )
}

/// Changing one's own password.
pub fn password(user: &StaffUser, error: Option<&str>) -> Markup {
    staff_page(
        "パスワード変更",
        "Change password",
        Some(user),
        html! {
            @if let Some(error) = error {
                div.summary role="alert" { p { (error) } }
            }
            form.card method="post" action="/staff/password" {
                (csrf_field(user))
                label for="current" { "現在のパスワード" span.en lang="en" { "Current password" } }
                input #current type="password" name="current" autocomplete="current-password" required;
                label for="new" { "新しいパスワード（12文字以上）" span.en lang="en" { "New password (12 characters or more)" } }
                input #new type="password" name="new" autocomplete="new-password" minlength="12" required;
                label for="confirm" { "新しいパスワード（確認）" span.en lang="en" { "New password again" } }
                input #confirm type="password" name="confirm" autocomplete="new-password" minlength="12" required;
                button type="submit" { "変更する" }
            }
            p.hint { "変更すると、すべての端末でログアウトされます。" }
        },
    )
}

/// What the accounts page shows once after a change.
#[derive(Debug, Clone)]
pub enum AccountNotice {
    /// A new account, with its one-time password.
    Created {
        /// Its login.
        login: String,
        /// Its first password.
        password: String,
    },
    /// A reset password, shown once.
    PasswordReset {
        /// The account.
        login: String,
        /// The new password.
        password: String,
    },
    /// Something went wrong with the form.
    Error(String),
}

/// The accounts page (admin).
pub fn accounts(user: &StaffUser, accounts: &[StaffAccount], notice: Option<&AccountNotice>) -> Markup {
    staff_page(
        "職員アカウント",
        "Staff accounts",
        Some(user),
        html! {
            @match notice {
                Some(AccountNotice::Created { login, password }) => div.notice role="status" {
                    p { "アカウント「" strong { (login) } "」を作成しました。初期パスワードは次のとおりです（この画面でしか表示されません）。本人に安全な方法で伝え、最初のログイン後に変更してもらってください。" }
                    pre.secret #one-time-password { (password) }
                },
                Some(AccountNotice::PasswordReset { login, password }) => div.notice role="status" {
                    p { "「" strong { (login) } "」のパスワードを再発行しました（この画面でしか表示されません）。" }
                    pre.secret #one-time-password { (password) }
                },
                Some(AccountNotice::Error(message)) => div.summary role="alert" { p { (message) } },
                None => {},
            }
            table {
                thead { tr { th { "ログイン名" } th { "氏名" } th { "役割" } th { "状態" } th { "操作" } } }
                tbody {
                    @for a in accounts {
                        tr.account data-login=(a.login.as_str()) {
                            td { code { (a.login.as_str()) } }
                            td { (a.name.as_str()) }
                            td {
                                form.inline.checks method="post" action={ "/staff/accounts/" (a.id) "/roles" } {
                                    (csrf_field(user))
                                    @for role in Role::ALL {
                                        label { input type="checkbox" name="roles" value=(role.as_str()) checked[a.roles.has(role)]; " " (role.label_ja()) }
                                    }
                                    button.secondary type="submit" { "役割を保存" }
                                }
                            }
                            td {
                                @if let Some(at) = a.disabled_at { span.status-withdrawn { "無効（" (jst(at)) "）" } }
                                @else if let Some(until) = a.locked_until.filter(|u| *u > time::OffsetDateTime::now_utc()) { span.status-withdrawn { "ロック中（" (jst(until)) "まで）" } }
                                @else { span.status-active { "有効" } }
                            }
                            td {
                                form.inline method="post" action={ "/staff/accounts/" (a.id) "/reset-password" } {
                                    (csrf_field(user)) button.secondary type="submit" { "パスワード再発行" }
                                }
                                @if a.disabled_at.is_some() {
                                    form.inline method="post" action={ "/staff/accounts/" (a.id) "/enable" } { (csrf_field(user)) button type="submit" { "有効にする" } }
                                } @else if a.id != user.staff_id {
                                    form.inline method="post" action={ "/staff/accounts/" (a.id) "/disable" } { (csrf_field(user)) button.danger type="submit" { "無効にする" } }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "アカウントの追加" span.en lang="en" { "Add an account" } }
            form.card method="post" action="/staff/accounts" {
                (csrf_field(user))
                label for="new-login" { "ログイン名（英小文字・数字）" span.en lang="en" { "Login" } }
                input #new-login type="text" name="login" autocapitalize="none" required;
                label for="new-name" { "氏名" span.en lang="en" { "Name" } }
                input #new-name type="text" name="name" required;
                fieldset.checks {
                    legend { "役割" span.en lang="en" { "Roles" } }
                    @for role in Role::ALL {
                        label { input type="checkbox" name="roles" value=(role.as_str()); " " (role.label_ja()) }
                    }
                }
                button type="submit" { "作成して初期パスワードを表示" }
            }
        },
    )
}

/// The API tokens page (admin). `new_token` is shown once after creation.
pub fn api_tokens(user: &StaffUser, tokens: &[ApiTokenRecord], new_token: Option<&str>, error: Option<&str>) -> Markup {
    let now = time::OffsetDateTime::now_utc();
    staff_page(
        "APIトークン",
        "API tokens",
        Some(user),
        html! {
            @if let Some(secret) = new_token {
                div.notice role="status" {
                    p { "トークンを発行しました。この画面でしか表示されません。連携するシステムに安全に設定してください。" }
                    pre.secret #new-token { (secret) }
                }
            }
            @if let Some(error) = error { div.summary role="alert" { p { (error) } } }
            p { "JSON API（" code { "/api/v1/staff/…" } "）は " code { "Authorization: Bearer <トークン>" } " で使います。トークンは1つの役割だけを持ちます。" }
            table {
                thead { tr { th { "ID" } th { "用途" } th { "役割" } th { "発行" } th { "期限" } th { "状態" } } }
                tbody {
                    @for t in tokens {
                        tr.token data-token=(t.token_id) {
                            td { code { (t.token_id) } }
                            td { (t.name) }
                            td { (t.role.label_ja()) }
                            td { (jst(t.created_at)) br; small { (t.created_by) } }
                            td { @if let Some(e) = t.expires_at { (jst(e)) } @else { "なし" } }
                            td {
                                @if let Some(at) = t.revoked_at { span.status-withdrawn { "失効（" (jst(at)) "）" } }
                                @else if !t.usable_at(now) { span.status-withdrawn { "期限切れ" } }
                                @else {
                                    span.status-active { "有効" }
                                    form.inline method="post" action={ "/staff/api-tokens/" (t.token_id) "/revoke" } { (csrf_field(user)) button.danger type="submit" { "失効させる" } }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "トークンの発行" span.en lang="en" { "Create a token" } }
            form.card method="post" action="/staff/api-tokens" {
                (csrf_field(user))
                label for="token-name" { "用途" span.en lang="en" { "What it is for" } }
                input #token-name type="text" name="name" maxlength="60" required;
                label for="token-role" { "役割" span.en lang="en" { "Role" } }
                select #token-role name="role" {
                    @for role in Role::ALL { option value=(role.as_str()) { (role.label_ja()) } }
                }
                label for="token-days" { "有効日数（空欄は無期限）" span.en lang="en" { "Valid for days (empty: no expiry)" } }
                input #token-days type="number" name="days" min="1" max="3650";
                button type="submit" { "発行する" }
            }
        },
    )
}

/// The kiosk fleet (admin): every kiosk of every venue, the silent ones first.
pub fn fleet(user: &StaffUser, kiosks: &[KioskRecord], now: time::OffsetDateTime) -> Markup {
    let silent = |k: &KioskRecord| k.silent_at(now);
    let active = kiosks.iter().filter(|k| k.revoked_at.is_none() && k.place_active).count();
    let silent_count = kiosks.iter().filter(|k| silent(k)).count();
    staff_page(
        "キオスクの稼働状況",
        "Kiosk fleet",
        Some(user),
        html! {
            div.menu {
                div.card { "稼働中の端末" div.stat #fleet-active { (active) } }
                div.card { "連絡のない端末（5分以上）" div.stat #fleet-silent { (silent_count) } }
                div.card { "登録済みの端末（無効化を含む）" div.stat { (kiosks.len()) } }
            }
            table {
                thead { tr { th { "端末" } th { "施設・場所" } th { "最終確認" } th { "画面" } th { "時計のずれ" } th { "未送信のパス読取" } th { "バージョン" } th { "最後のエラー" } } }
                tbody {
                    @for k in kiosks {
                        tr.kiosk data-kiosk=(k.kiosk_id.as_str()) {
                            td { code { (k.kiosk_id.as_str()) } }
                            td { (k.venue_name.as_str()) }
                            td {
                                @if let Some(h) = &k.last_heartbeat { (jst(h.at)) } @else { "未接続" }
                                @if k.revoked_at.is_some() { br; span.status-withdrawn { "無効化済み" } }
                                @else if !k.place_active { br; span.status-withdrawn { "場所の利用停止" } }
                                @else if silent(k) { br; strong.status-withdrawn.kiosk-silent { "連絡なし" } }
                            }
                            td { @if let Some(h) = &k.last_heartbeat { (super::manage::screen_label(&h.screen)) } }
                            td.num { @if let Some(offset) = k.last_heartbeat.as_ref().and_then(|h| h.clock_offset_ms) { (offset) " ms" } }
                            td.num.pending-scans { @if let Some(pending) = k.last_heartbeat.as_ref().and_then(|h| h.pending_scans) { (pending) " 件" } }
                            td { @if let Some(h) = &k.last_heartbeat { (h.version) } }
                            td { @if let Some(e) = k.last_heartbeat.as_ref().and_then(|h| h.last_error.as_ref()) { small { (jst(e.reported_at)) ": " (e.message) } } }
                        }
                    }
                }
            }
        },
    )
}

/// The audit log (admin): the chain's state and the newest entries.
pub fn audit(user: &StaffUser, verdict: &Result<crate::audit::ChainHead, crate::audit::ChainBreak>, rows: &[AuditRow]) -> Markup {
    staff_page(
        "監査ログ",
        "Audit log",
        Some(user),
        html! {
            @match verdict {
                Ok(head) => div.notice #audit-verdict data-ok="true" {
                    p { "改ざんは見つかりませんでした（" (head.entries) "件）。" }
                    p.hint { "先頭のハッシュ: " code { (head.hash_hex()) } }
                },
                Err(e) => div.summary #audit-verdict data-ok="false" role="alert" {
                    p { "監査ログの改ざんまたは欠落を検出しました。" }
                    p lang="en" { (e.to_string()) }
                },
            }
            p.hint { "サーバー上で " code { "oshirase-server audit verify" } " を実行しても検査できます。" }
            table {
                thead { tr { th.num { "#" } th { "日時" } th { "操作者" } th { "操作" } th { "対象" } th { "詳細" } } }
                tbody {
                    @for r in rows {
                        tr {
                            td.num { (r.seq) }
                            td { (jst(r.at)) }
                            td { code { (r.actor) } }
                            td { code { (r.action) } }
                            td { @if let Some(s) = &r.subject { code { (s) } } }
                            td { small { (r.details) } }
                        }
                    }
                }
            }
        },
    )
}

/// The alert's template and contact (admin), with the alert as residents will read it.
pub fn template(user: &StaffUser, template: &str, contact: &str, error: Option<&str>) -> Markup {
    let rendered = crate::cases::template::AlertTemplate::parse(template).map(|t| t.render(contact)).ok();
    staff_page(
        "通知文と相談窓口",
        "Alert text and contact",
        Some(user),
        html! {
            p { "通知文には日時・場所・施設名を入れることはできません。差し込めるのは相談窓口 " code { "{contact}" } " だけです。変更は、この後に承認される事例から使われます。" }
            @if let Some(error) = error { div.summary role="alert" { p { (error) } } }
            form.card method="post" action="/staff/template" {
                (csrf_field(user))
                label for="template" { "通知文" span.en lang="en" { "Alert text" } }
                textarea #template name="template" rows="10" required { (template) }
                label for="contact" { "相談窓口" span.en lang="en" { "Consultation contact" } }
                input #contact type="text" name="contact" value=(contact) required;
                button type="submit" { "保存する" }
            }
            @if let Some(text) = rendered {
                h2 { "住民に届く文面" span.en lang="en" { "What residents receive" } }
                pre.card #rendered { (text) }
            }
        },
    )
}
