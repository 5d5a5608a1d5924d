//! The page shell shared by every page: `lang="ja"`, viewport, inline stylesheet, header
//! and footer.

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The whole stylesheet, inline so pages load nothing else (CSP allows inline styles only).
const STYLE: &str = r#"
:root{--ink:#1a1a1a;--muted:#5c5c5c;--line:#d0d0d0;--accent:#0b6b3a;--accent-ink:#fff;--bad:#b00020;--bad-bg:#fdecee;--ok-bg:#e9f5ee;--warn-bg:#fff6e0}
*{box-sizing:border-box}
body{margin:0;font-family:"IPAexGothic","Hiragino Sans","Noto Sans JP","Yu Gothic",Meiryo,sans-serif;color:var(--ink);line-height:1.7;background:#f7f7f5}
header.site{background:var(--accent);color:var(--accent-ink);padding:.75rem 1rem}
header.site a{color:inherit;text-decoration:none;font-weight:bold;font-size:1.1rem}
header.site small{display:block;opacity:.85;font-size:.8rem}
main{max-width:44rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;line-height:1.4;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
.en{display:block;color:var(--muted);font-size:.85em;font-weight:normal}
.card{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:1rem;margin:1rem 0}
label{display:block;font-weight:bold;margin-top:1rem}
.req{color:var(--bad);font-size:.8em;margin-left:.4em}
.hint{color:var(--muted);font-size:.85rem;margin:.2rem 0}
input[type=text],input[type=email],input[type=tel],input[type=url],input[type=password],input[type=number],input[type=date],input[type=time],input[type=search],select,textarea{width:100%;font-size:1rem;padding:.6rem;border:1px solid #8a8a8a;border-radius:.35rem;background:#fff;color:var(--ink)}
input[aria-invalid=true],select[aria-invalid=true]{border:2px solid var(--bad);background:var(--bad-bg)}
.field-error{color:var(--bad);font-weight:bold;margin:.3rem 0 0}
.field-error .en{color:var(--bad);font-weight:normal}
button,.button{display:inline-block;font-size:1rem;padding:.7rem 1.4rem;border-radius:.35rem;border:0;background:var(--accent);color:var(--accent-ink);text-decoration:none;cursor:pointer;margin-top:1rem}
.button.secondary,button.secondary{background:#fff;color:var(--accent);border:1px solid var(--accent)}
button.danger{background:var(--bad)}
.summary{border:2px solid var(--bad);background:var(--bad-bg);padding:.75rem 1rem;border-radius:.5rem}
.notice{border:2px solid var(--accent);background:var(--ok-bg);padding:.75rem 1rem;border-radius:.5rem}
.warning{border:2px solid #a86b00;background:var(--warn-bg);padding:.75rem 1rem;border-radius:.5rem}
.secret{font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all}
pre{white-space:pre-wrap;word-break:break-all}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid var(--line);padding:.4rem;text-align:left;vertical-align:top}
.status-active{color:var(--accent);font-weight:bold}
.status-withdrawn{color:var(--bad);font-weight:bold}
.actions a{display:inline-block;padding:.5rem .8rem;margin:.25rem .4rem .25rem 0;border:1px solid var(--accent);border-radius:.35rem;color:var(--accent);text-decoration:none;white-space:nowrap}
th{white-space:nowrap}
footer{max-width:44rem;margin:2rem auto;padding:1rem;color:var(--muted);font-size:.8rem;border-top:1px solid var(--line)}
code{font-family:ui-monospace,monospace}
"#;

/// The `<head>` of every page: the document title (with its suffix) and the one inline
/// stylesheet, plus `extra_style` for pages that need more.
pub(crate) fn head(title: &str, suffix: &str, extra_style: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="robots" content="noindex";
            title { (title) " | " (suffix) }
            style { (PreEscaped(STYLE)) (PreEscaped(extra_style)) }
        }
    }
}

/// Wraps a page body in the common shell. `title` is Japanese; `title_en` its English.
pub fn page(title: &str, title_en: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="ja" {
            (head(title, "oshirase", ""))
            body {
                header.site {
                    a href="/" { "oshirase 接触確認お知らせサービス" }
                    small lang="en" { "Exposure notices through LINE" }
                }
                main {
                    h1 { (title) span.en lang="en" { (title_en) } }
                    (body)
                }
                footer {
                    p { a href="/how-it-works" { "サービスのしくみ" } " ・ " a href="/faq" { "よくある質問" } " ・ " a href="/privacy" { "プライバシーポリシー" } " ・ " a href="/notices" { "施設名の公表" } " ・ " a href="/venues/new" { "施設の登録" } }
                    p { "このサービスは、施設・店舗・イベントで陽性の方と同じ時間帯に居合わせた可能性のある方に、LINEでお知らせするためのものです。" }
                    p lang="en" { "This service tells people through LINE when they may have been at the same place, at the same time, as someone who later tested positive." }
                }
            }
        }
    }
}
