//! The sandbox's own web page (Japanese first, no JavaScript, no external resources): people
//! running the demo play residents here — create them, scan a poster's URL or QR image, read
//! their chat and press its buttons, write, block and unblock. Also the page a browser sees
//! when it lands on an `oaMessage` deep link. Every form posts, acts through [`Sandbox`], keeps
//! a one-line outcome on the resident, and redirects back with 303.
//!
//! Stable hooks for browser tests: `#resident-<userId>` (`article.resident`), `.state`,
//! `.notice`, `ol.inbox` with `li.message` (from the account, `data-via`), `li.sent` (from
//! the resident) and `li.system`; an image message is `li.message[data-type=image]` with
//! `data-media` (`pending`, `fetched`, `failed`) holding `img.media` (the sandbox's own copy,
//! from the control API), `.media-failed` or `.media-pending`; forms `form.scan`
//! (`input[name=url]`, `input[type=file][name=qr]`), `form.send-text`, `form.postback`,
//! `form.block`, `form.follow`, `form.create-resident`.

use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, State};
use axum::http::Uri;
use axum::http::header::REFERRER_POLICY;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use serde_json::Value;

use crate::media::{FetchStatus, Media};
use crate::qr;
use crate::residents::{ChatLine, Friendship, InboxEntry, Resident, Via};
use crate::sandbox::Sandbox;
use crate::scan::{ScanReport, percent_decode};
use crate::webhook::{Delivery, WebhookAttempt};

/// Largest QR picture accepted.
const UPLOAD_LIMIT: usize = 10 * 1024 * 1024;

/// The page routes.
pub fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/R/oaMessage/{basic_id}/", get(oa_message))
        .route("/R/oaMessage/{basic_id}", get(oa_message))
        .route("/ui/residents", post(create_resident))
        .route("/ui/residents/{id}/scan", post(scan).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/ui/residents/{id}/text", post(send_text))
        .route("/ui/residents/{id}/postback", post(postback))
        .route("/ui/residents/{id}/follow", post(follow))
        .route("/ui/residents/{id}/block", post(block))
        .route("/ui/oa-message", post(send_from_deep_link))
        .with_state(sandbox)
}

async fn index(State(sandbox): State<Sandbox>) -> Response {
    page("LINE サンドボックス", render_index(&sandbox))
}

#[derive(Deserialize)]
struct NewResident {
    display_name: String,
}

async fn create_resident(State(sandbox): State<Sandbox>, Form(form): Form<NewResident>) -> Redirect {
    match sandbox.add_resident(&form.display_name) {
        Ok(resident) => back(&resident.user_id),
        Err(_) => Redirect::to("/#new-resident"),
    }
}

async fn scan(State(sandbox): State<Sandbox>, Path(id): Path<String>, mut multipart: Multipart) -> Redirect {
    let mut url = String::new();
    let mut image = Vec::new();
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name() {
            Some("url") => url = field.text().await.unwrap_or_default(),
            Some("qr") => image = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
            _ => {}
        }
    }
    let notice = if image.is_empty() {
        scan_url(&sandbox, &id, url.trim()).await
    } else {
        match qr::decode_png(&image) {
            Ok(text) => format!("QRコードの内容: {text}\n{}", scan_url(&sandbox, &id, &text).await),
            Err(e) => e.to_string(),
        }
    };
    sandbox.set_notice(&id, notice);
    back(&id)
}

async fn scan_url(sandbox: &Sandbox, id: &str, url: &str) -> String {
    if url.is_empty() {
        return "URLを入力するか、QRコードの画像（PNG）を選んでください。".to_owned();
    }
    match sandbox.scan(id, url).await {
        Ok(report) => describe_scan(&report),
        Err(e) => e.japanese(),
    }
}

#[derive(Deserialize)]
struct TextForm {
    text: String,
}

async fn send_text(State(sandbox): State<Sandbox>, Path(id): Path<String>, Form(form): Form<TextForm>) -> Redirect {
    let notice = match sandbox.send_text(&id, &form.text).await {
        Ok(delivery) => describe_delivery("メッセージを送信しました", &delivery),
        Err(e) => e.japanese(),
    };
    sandbox.set_notice(&id, notice);
    back(&id)
}

#[derive(Deserialize)]
struct PostbackForm {
    data: String,
    #[serde(default)]
    display_text: String,
}

async fn postback(State(sandbox): State<Sandbox>, Path(id): Path<String>, Form(form): Form<PostbackForm>) -> Redirect {
    let shown = Some(form.display_text.as_str()).filter(|t| !t.is_empty());
    let notice = match sandbox.postback(&id, &form.data, shown).await {
        Ok(delivery) => describe_delivery("ボタンを押しました", &delivery),
        Err(e) => e.japanese(),
    };
    sandbox.set_notice(&id, notice);
    back(&id)
}

async fn follow(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Redirect {
    let notice = match sandbox.follow(&id).await {
        Ok(delivery) => describe_delivery("友だち追加しました", &delivery),
        Err(e) => e.japanese(),
    };
    sandbox.set_notice(&id, notice);
    back(&id)
}

async fn block(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Redirect {
    let notice = match sandbox.block(&id).await {
        Ok(delivery) => describe_delivery("ブロックしました", &delivery),
        Err(e) => e.japanese(),
    };
    sandbox.set_notice(&id, notice);
    back(&id)
}

#[derive(Deserialize)]
struct DeepLinkForm {
    user_id: String,
    text: String,
}

async fn send_from_deep_link(State(sandbox): State<Sandbox>, Form(form): Form<DeepLinkForm>) -> Redirect {
    let notice = match sandbox.open_chat_and_send(&form.user_id, &form.text).await {
        Ok(report) => describe_scan(&report),
        Err(e) => e.japanese(),
    };
    sandbox.set_notice(&form.user_id, notice);
    back(&form.user_id)
}

/// `GET /R/oaMessage/{basicId}/?{text}`: what a browser without LINE shows. The text is
/// read from the raw query (percent-decoded, `+` kept), as LINE reads it.
async fn oa_message(State(sandbox): State<Sandbox>, Path(basic_id): Path<String>, uri: Uri) -> Response {
    let text = uri.query().and_then(percent_decode).unwrap_or_default();
    page("LINEアプリで開いてください", render_oa_message(&sandbox, &basic_id, &text))
}

fn back(id: &str) -> Redirect {
    Redirect::to(&format!("/#resident-{id}"))
}

fn page(title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="ja" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — oshirase LINE sandbox" }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    };
    ([(REFERRER_POLICY, "no-referrer")], markup).into_response()
}

fn render_index(sandbox: &Sandbox) -> Markup {
    let config = sandbox.config();
    let stats = sandbox.stats();
    let residents = sandbox.snapshot();
    let webhooks = sandbox.webhook_log();
    html! {
        header.top {
            h1 { "LINE サンドボックス" }
            p.en { "LINE platform sandbox for oshirase — simulated residents, Messaging API and webhooks" }
        }
        main {
            section #account {
                h2 { "公式アカウント" span.en { "Official account" } }
                dl.facts {
                    dt { "ベーシックID" } dd { code { (config.basic_id) } }
                    dt { "Webhook URL" } dd {
                        @match &config.webhook_url {
                            Some(url) => code { (url) },
                            None => span.warn { "未設定（イベントは配信されません） / not set" },
                        }
                    }
                    dt { "今月の送信数" } dd {
                        (grouped(stats.total_usage))
                        @if let Some(quota) = config.knobs.monthly_quota { " / " (grouped(quota)) } @else { "（上限なし）" }
                        span.en { "messages this month" }
                    }
                    dt { "Messaging API" } dd { code { (config.base_url) "/v2/bot/…" } }
                }
                p { a href="/" { "再読み込み" } span.en { " Reload" } }
            }
            section #new-resident {
                h2 { "住民を追加" span.en { "Add a resident" } }
                form.create-resident method="post" action="/ui/residents" {
                    label { "表示名 " input type="text" name="display_name" required maxlength="100" placeholder="例: 山田 花子"; }
                    button type="submit" { "追加" }
                }
            }
            section #residents {
                h2 { "住民" span.en { "Residents" } }
                @if residents.is_empty() {
                    p.empty { "まだ住民がいません。上のフォームで追加してください。" br; span.en { "No residents yet." } }
                }
                @for resident in &residents { (render_resident(resident)) }
            }
            section #webhook-log {
                h2 { "Webhook 送信履歴" span.en { "Webhook deliveries (latest 20)" } }
                @if webhooks.is_empty() {
                    p.empty { "まだありません。" span.en { " None yet." } }
                } @else {
                    table {
                        thead { tr { th { "時刻" } th { "イベント" } th { "応答" } th { "再送" } } }
                        tbody {
                            @for attempt in webhooks.iter().rev().take(20) { (render_attempt(attempt)) }
                        }
                    }
                }
            }
        }
    }
}

fn render_resident(resident: &Resident) -> Markup {
    let id = &resident.user_id;
    let (state_class, state_text) = match resident.friendship {
        Friendship::Friend => ("friend", "友だち"),
        Friendship::NotFriend => ("not-friend", "未追加"),
        Friendship::Blocked => ("blocked", "ブロック中"),
    };
    html! {
        article.resident id={ "resident-" (id) } data-user-id=(id) {
            header {
                h3 { (resident.display_name) }
                span class={ "state " (state_class) } { (state_text) }
                code.user-id { (id) }
            }
            @if let Some(notice) = &resident.notice {
                p.notice role="status" { (notice) }
            }
            div.columns {
                // `column-reverse` keeps the newest messages in view without JavaScript.
                div.chat {
                    div.scroll {
                        ol.inbox {
                            @for line in &resident.chat { (render_chat_line(resident, line)) }
                        }
                    }
                    @if resident.chat.is_empty() {
                        p.empty { "トークはまだありません" br; span.en { "No messages yet" } }
                    }
                }
                div.actions {
                    form.scan method="post" action={ "/ui/residents/" (id) "/scan" } enctype="multipart/form-data" {
                        fieldset {
                            legend { "QRコードを読み取る" span.en { "Scan a QR code" } }
                            label { "URL " input type="url" name="url" placeholder="http://…/c/…"; }
                            label { "または画像（PNG） " input type="file" name="qr" accept="image/png"; }
                            button type="submit" { "読み取る" }
                        }
                    }
                    form.send-text method="post" action={ "/ui/residents/" (id) "/text" } {
                        fieldset {
                            legend { "メッセージを送る" span.en { "Send a message" } }
                            input type="text" name="text" required maxlength="5000" aria-label="メッセージ";
                            button type="submit" { "送信" }
                        }
                    }
                    @match resident.friendship {
                        Friendship::Friend => form.block method="post" action={ "/ui/residents/" (id) "/block" } {
                            button.secondary type="submit" { "ブロックする" }
                        },
                        Friendship::NotFriend => form.follow method="post" action={ "/ui/residents/" (id) "/follow" } {
                            button type="submit" { "友だち追加" }
                        },
                        Friendship::Blocked => form.follow method="post" action={ "/ui/residents/" (id) "/follow" } {
                            button type="submit" { "ブロック解除" }
                        },
                    }
                }
            }
        }
    }
}

fn render_chat_line(resident: &Resident, line: &ChatLine) -> Markup {
    match line {
        ChatLine::FromAccount(index) => match resident.inbox.get(*index) {
            Some(entry) => render_message(&resident.user_id, entry),
            None => html! {},
        },
        ChatLine::FromResident { at, text, postback_data } => html! {
            li.sent data-postback=[postback_data.as_deref()] {
                div.bubble { (text) }
                span.meta { (clock(*at)) }
            }
        },
        ChatLine::Note { at, text } => html! {
            li.system { (text) " " span.meta { (clock(*at)) } }
        },
    }
}

fn render_message(user_id: &str, entry: &InboxEntry) -> Markup {
    let via = match entry.via {
        Via::Reply => ("reply", "応答"),
        Via::Push => ("push", "プッシュ"),
        Via::Multicast => ("multicast", "マルチキャスト"),
    };
    let message = &entry.message;
    html! {
        li.message data-via=(via.0) data-type=[message["type"].as_str()] data-media=[entry.media.as_ref().map(media_status)] {
            @match message["type"].as_str() {
                Some("text") => div.bubble { (str_of(&message["text"])) },
                Some("template") => (render_template(user_id, message)),
                Some("image") => (render_image(user_id, entry)),
                _ => div.bubble { (message.to_string()) },
            }
            span.meta { (via.1) " " (clock(entry.received_at)) }
        }
    }
}

/// An image as the phone shows it: the sandbox's own copy once fetched (nothing is loaded from
/// the URL the bot gave), why it could not be fetched, or that it is still loading.
fn render_image(user_id: &str, entry: &InboxEntry) -> Markup {
    let pending = Media::pending();
    let media = entry.media.as_ref().unwrap_or(&pending);
    html! {
        div.bubble.image {
            @match media.status() {
                FetchStatus::Fetched => img.media
                    src={ "/sandbox/residents/" (user_id) "/inbox/" (entry.message_id) "/content" }
                    alt="公式アカウントから届いた画像 / Image from the official account";,
                FetchStatus::Failed => p.media-failed {
                    "画像を取得できませんでした" br; span.en { "The image could not be fetched" }
                    @if let Some((field, error)) = media.failure() {
                        br; span.reason { (error.japanese()) br; span.en { (field) ": " (error) } }
                    }
                },
                FetchStatus::Pending => p.media-pending {
                    "画像を読み込み中" br; span.en { "Loading the image (reload the page)" }
                },
            }
        }
    }
}

fn media_status(media: &Media) -> &'static str {
    match media.status() {
        FetchStatus::Pending => "pending",
        FetchStatus::Fetched => "fetched",
        FetchStatus::Failed => "failed",
    }
}

fn render_template(user_id: &str, message: &Value) -> Markup {
    let template = &message["template"];
    let empty = Vec::new();
    let actions = template["actions"].as_array().unwrap_or(&empty);
    html! {
        div.bubble.template data-template=[template["type"].as_str()] {
            @if let Some(title) = template["title"].as_str() { p.title { (title) } }
            p.text { (str_of(&template["text"])) }
            div.buttons {
                @for action in actions { (render_action(user_id, action)) }
            }
        }
    }
}

fn render_action(user_id: &str, action: &Value) -> Markup {
    let label = str_of(&action["label"]);
    match action["type"].as_str() {
        Some("postback") => html! {
            form.postback method="post" action={ "/ui/residents/" (user_id) "/postback" } {
                input type="hidden" name="data" value=(str_of(&action["data"]));
                input type="hidden" name="display_text" value=(action["displayText"].as_str().or(action["text"].as_str()).unwrap_or(""));
                button type="submit" { (label) }
            }
        },
        Some("message") => html! {
            form.message-action method="post" action={ "/ui/residents/" (user_id) "/text" } {
                input type="hidden" name="text" value=(str_of(&action["text"]));
                button type="submit" { (label) }
            }
        },
        Some("uri") => html! { a.uri-action href=(str_of(&action["uri"])) rel="noreferrer" { (label) } },
        _ => html! { span.unsupported { (label) } },
    }
}

fn render_attempt(attempt: &WebhookAttempt) -> Markup {
    html! {
        tr {
            td { (clock(attempt.at)) }
            td { code { (attempt.webhook_event_ids.join(", ")) } }
            td {
                @match (attempt.status, &attempt.error) {
                    (Some(status), _) => (status),
                    (None, Some(error)) => span.warn { (error) },
                    (None, None) => "—",
                }
            }
            td { @if attempt.is_redelivery { "再送 " (attempt.attempt) } }
        }
    }
}

fn render_oa_message(sandbox: &Sandbox, basic_id: &str, text: &str) -> Markup {
    let residents = sandbox.residents();
    let ours = basic_id.eq_ignore_ascii_case(sandbox.basic_id());
    html! {
        main.landing {
            h1 { "LINEアプリで開いてください" }
            p.en { "Open this link in the LINE app" }
            p { "このリンクは LINE の公式アカウント " code { (basic_id) } " とのトークを開き、次のメッセージを入力した状態にします。" }
            blockquote.prefilled { (text) }
            @if !ours {
                p.warn { "このサンドボックスのアカウント（" (sandbox.basic_id()) "）ではありません。" }
            } @else if residents.is_empty() {
                p { "サンドボックスに住民がいません。" a href="/" { "住民を追加" } }
            } @else {
                form.send-as method="post" action="/ui/oa-message" {
                    input type="hidden" name="text" value=(text);
                    label { "送信する住民 " select name="user_id" {
                        @for r in &residents { option value=(r.user_id) { (r.display_name) } }
                    } }
                    button type="submit" { "この住民として送信" }
                }
            }
            p { a href="/" { "サンドボックスのトップへ" } }
        }
    }
}

fn describe_delivery(what: &str, delivery: &Delivery) -> String {
    match (delivery.delivered, delivery.status) {
        (true, Some(status)) => format!("{what}（webhook: HTTP {status}）"),
        (false, Some(status)) => format!("{what}。webhook はエラーを返しました（HTTP {status}）"),
        (_, None) if delivery.events.is_empty() => what.to_owned(),
        (_, None) => format!("{what}。webhook は届きませんでした（未設定・タイムアウト・接続不可）"),
    }
}

fn describe_scan(report: &ScanReport) -> String {
    match report {
        ScanReport::MessageSent { text, followed, delivered, status, .. } => {
            let friend = if *followed { "友だち追加して、" } else { "" };
            let webhook = match (delivered, status) {
                (true, _) => "webhook 配信済み".to_owned(),
                (false, Some(status)) => format!("webhook エラー HTTP {status}"),
                (false, None) => "webhook 未達".to_owned(),
            };
            format!("{friend}「{text}」を送信しました（{webhook}）")
        }
        ScanReport::Page { status, title } => format!("ページが表示されました（HTTP {status}）: {}", title.as_deref().unwrap_or("（タイトルなし）")),
        ScanReport::Redirect { location, .. } => format!("別の場所へ転送されました: {location}"),
        ScanReport::Unreachable { error } => format!("URLを開けませんでした: {error}"),
    }
}

/// `30000` → `30,000`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn str_of(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// `HH:MM` in Japan time (UTC+9, no daylight saving).
fn clock(unix_ms: u64) -> String {
    let seconds_of_day = (unix_ms / 1000 + 9 * 3600) % 86_400;
    format!("{:02}:{:02}", seconds_of_day / 3600, seconds_of_day % 3600 / 60)
}

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font-family:"Hiragino Sans","Noto Sans CJK JP","IPAexGothic","Yu Gothic",sans-serif;color:#1f2328;background:#f4f5f7;line-height:1.5}
header.top{background:#06c755;color:#fff;padding:14px 24px}
header.top h1{margin:0;font-size:1.5rem}
.en{color:#5b6470;font-size:.85em;font-weight:normal;margin-left:.5em}
header.top .en{color:#e8fff0;margin:0}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
section{background:#fff;border:1px solid #dde1e6;border-radius:10px;padding:12px 18px;margin-bottom:16px}
h2{font-size:1.15rem;margin:.2em 0 .6em}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dt{color:#5b6470}dd{margin:0}
code{font-family:ui-monospace,monospace;font-size:.85em;background:#f0f2f4;border-radius:4px;padding:1px 4px;word-break:break-all}
.warn{color:#b3261e}
.empty{color:#5b6470}
input[type=text],input[type=url],select{font:inherit;padding:6px 8px;border:1px solid #b8bfc7;border-radius:6px;min-width:14em}
button{font:inherit;background:#06c755;color:#fff;border:0;border-radius:6px;padding:6px 14px;cursor:pointer}
button.secondary{background:#fff;color:#b3261e;border:1px solid #b3261e}
form{margin:0}
fieldset{border:1px solid #dde1e6;border-radius:8px;margin:0 0 10px;padding:8px 12px;display:flex;flex-wrap:wrap;gap:8px;align-items:center}
legend{font-weight:bold;padding:0 4px}
fieldset label{display:flex;align-items:center;gap:4px}
article.resident{border-top:1px solid #dde1e6;padding:14px 0}
article.resident:first-of-type{border-top:0}
article.resident>header{display:flex;align-items:center;gap:10px;flex-wrap:wrap}
article.resident h3{margin:0;font-size:1.1rem}
.state{font-size:.8rem;border-radius:999px;padding:1px 10px;border:1px solid}
.state.friend{color:#05a648;border-color:#05a648}
.state.not-friend{color:#5b6470;border-color:#8a939d}
.state.blocked{color:#b3261e;border-color:#b3261e}
.user-id{color:#5b6470}
.notice{background:#fff8e1;border:1px solid #f0d58c;border-radius:6px;padding:6px 10px;margin:8px 0;white-space:pre-line}
.columns{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px;margin-top:8px}
@media (max-width:760px){.columns{grid-template-columns:minmax(0,1fr)}main{padding:12px}}
input[type=file]{max-width:100%}
fieldset input[type=text],fieldset input[type=url]{min-width:0;flex:1 1 10em}
.chat{background:#8cabd9;border-radius:10px;padding:10px;min-height:120px}
.chat .scroll{display:flex;flex-direction:column-reverse;max-height:560px;overflow-y:auto}
.chat .empty,.chat .empty .en{color:#eef3fb;text-align:center;margin:0}
ol.inbox{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:8px}
li.message,li.sent{display:flex;align-items:flex-end;gap:6px;max-width:85%}
li.message{align-self:flex-start}
li.sent{align-self:flex-end;flex-direction:row-reverse}
.bubble{background:#fff;border-radius:16px;padding:8px 12px;white-space:pre-wrap;overflow-wrap:anywhere}
li.sent .bubble{background:#8de055}
.meta{font-size:.7rem;color:#eef3fb;white-space:nowrap}
li.system{align-self:center;font-size:.8rem;background:rgba(0,0,0,.18);color:#fff;border-radius:999px;padding:2px 12px}
li.system .meta{color:#fff}
.bubble.image{padding:4px}
.bubble.image img{display:block;width:240px;max-width:100%;height:auto;border-radius:12px;image-rendering:pixelated}
.bubble.image p{margin:6px 8px}
.media-failed{color:#b3261e}
.media-failed .reason{font-size:.85em}
.template{padding:0;overflow:hidden;min-width:14em}
.template .title{font-weight:bold;margin:0;padding:10px 12px 0}
.template .text{margin:0;padding:10px 12px}
.template .buttons{display:flex;flex-direction:column;border-top:1px solid #e3e6ea}
.template .buttons button,.template .buttons a{display:block;width:100%;background:#fff;color:#2a6ad6;border:0;border-top:1px solid #e3e6ea;border-radius:0;padding:9px;text-align:center;text-decoration:none}
.template .buttons form:first-child button,.template .buttons>:first-child{border-top:0}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;border-bottom:1px solid #e3e6ea;padding:4px 8px;vertical-align:top}
.landing{max-width:640px}
.landing p.en{margin:-.8em 0 1em}
blockquote.prefilled{background:#fff;border-left:4px solid #06c755;margin:12px 0;padding:10px 14px;white-space:pre-wrap}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_shows_japan_time() {
        // 2024-01-01T00:00:00Z is 09:00 in Japan.
        assert_eq!(clock(1_704_067_200_000), "09:00");
        assert_eq!(clock(1_704_067_200_000 + 15 * 3_600_000 + 59 * 60_000), "00:59");
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!((grouped(0), grouped(999), grouped(30_000), grouped(1_234_567)), ("0".into(), "999".into(), "30,000".into(), "1,234,567".into()));
    }

    #[test]
    fn outcomes_are_described_in_japanese() {
        let page = ScanReport::Page { status: 404, title: Some("コードが見つかりません".into()) };
        assert_eq!(describe_scan(&page), "ページが表示されました（HTTP 404）: コードが見つかりません");
        let delivery = Delivery { delivered: false, status: Some(500), events: vec!["x".into()] };
        assert_eq!(describe_delivery("送信しました", &delivery), "送信しました。webhook はエラーを返しました（HTTP 500）");
    }
}
