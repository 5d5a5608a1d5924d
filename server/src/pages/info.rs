//! Public information pages: how the service works (residents and venues), the FAQ (kept
//! as data in `server/data/faq.toml`), and the privacy policy the consent request links to.

use std::sync::LazyLock;

use maud::{Markup, html};
use serde::Deserialize;

use super::layout::page;

/// One question and its answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faq {
    /// The question, in Japanese.
    pub q: String,
    /// The answer, in Japanese.
    pub a: String,
    /// The answer in short English.
    pub en: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaqFile {
    resident: Vec<Faq>,
    venue: Vec<Faq>,
}

static FAQ: LazyLock<FaqFile> =
    LazyLock::new(|| toml::from_str(include_str!("../../data/faq.toml")).unwrap_or_else(|e| panic!("server/data/faq.toml is malformed: {e}")));

/// `GET /how-it-works`.
pub fn how_it_works() -> Markup {
    page(
        "サービスのしくみ",
        "How it works",
        html! {
            div.card {
                h2 { "利用する方へ" span.en lang="en" { "For residents" } }
                ol {
                    li { "施設・店舗・イベントに掲示されたQRコードを、LINEまたはスマートフォンのカメラで読み取ります。" }
                    li { "LINEのトーク画面が開いたら、表示されたメッセージを送信します。初めての方は友だち追加と、情報の取得への同意をお願いします。" }
                    li { "来場を記録したことが、LINEで届きます。訪れるたびに読み取ってください。" }
                    li { "陽性の方と同じ時間帯に同じ場所にいた可能性があり、保健所が必要と判断した場合に、LINEでお知らせが届きます。お知らせには日時や場所は書かれていません。" }
                }
                p.en lang="en" { "Scan the code, send the prepared message in LINE, and LINE confirms each visit. If the health centre judges it necessary, you get a notice that names no date, time or place." }
            }
            div.card {
                h2 { "施設・店舗・イベントの方へ" span.en lang="en" { "For venues" } }
                ol {
                    li { a href="/venues/new" { "登録フォーム" } "から無料で登録し、QRコードのポスター（A4）を印刷します。" }
                    li { "入口やレジ、テーブルなど、来場者が読み取りやすい場所に掲示し、読み取りを呼びかけてください。" }
                    li { "陽性の方が訪れたかどうかは、事業者にはお知らせしません。" }
                }
                p.en lang="en" { "Register for free, print the poster, display it inside. Venues are never told about cases." }
            }
            p { a href="/faq" { "よくある質問" } " ・ " a href="/privacy" { "プライバシーポリシー" } }
        },
    )
}

/// `GET /faq`.
pub fn faq() -> Markup {
    page(
        "よくある質問",
        "Frequently asked questions",
        html! {
            h2 { "利用する方" span.en lang="en" { "Residents" } }
            (faq_list(&FAQ.resident))
            h2 { "施設・店舗・イベントの方" span.en lang="en" { "Venues" } }
            (faq_list(&FAQ.venue))
        },
    )
}

fn faq_list(items: &[Faq]) -> Markup {
    html! {
        @for item in items {
            div.card.faq {
                h3 { "Q. " (item.q) }
                p { (item.a) }
                p.en lang="en" { (item.en) }
            }
        }
    }
}

/// `GET /privacy`: what is collected, why, for how long, and the resident's rights.
pub fn privacy(terms_version: &str, visit_days: u32) -> Markup {
    page(
        "利用規約とプライバシーポリシー",
        "Terms and privacy policy",
        html! {
            div.card {
                p { "版：" (terms_version) }
                h2 { "取得する情報" span.en lang="en" { "What we collect" } }
                ul {
                    li { "LINEのユーザー識別子（お知らせを届けるため。表示名や電話番号は取得しません）" }
                    li { "読み取ったQRコードの施設・店舗・イベントと、読み取った日時" }
                    li { "同意の日時と、同意した規約の版" }
                }
                h2 { "利用目的" span.en lang="en" { "Purpose" } }
                p { "陽性の方と同じ時間帯に同じ場所にいた可能性のある方に、保健所の判断によりLINEでお知らせするためだけに使います。それ以外の目的には使いません。" }
                h2 { "提供" span.en lang="en" { "Sharing" } }
                p { "施設・店舗・イベントの事業者を含め、第三者には提供しません。保健所の職員が見るのは人数だけで、個人を特定できる情報は見ません。" }
                h2 { "保存期間" span.en lang="en" { "Retention" } }
                p { "来場の記録は、読み取った日から" (visit_days) "日が過ぎると自動的に削除します。同意前の読み取りは、同意がなければ短時間で削除します。" }
                h2 { "削除" span.en lang="en" { "Deletion" } }
                p { "LINEのトーク画面で「削除」と送り、確認のボタンをタップすると、いつでもすべてのデータを削除できます。" }
                h2 { "お知らせの内容" span.en lang="en" { "Notices" } }
                p { "お知らせには日時や場所を書きません。お知らせは診断ではありません。記載された相談窓口にご相談ください。" }
            }
            div.card {
                p.en lang="en" {
                    "We collect your LINE user identifier, the places you scanned and when, and your consent. We use them only to notify you, at the health centre's discretion, if you may have been exposed. Nobody else receives them; staff see counts only. Visits are deleted automatically after their retention period (shown above in days), or at any time when you send 削除."
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_faq_loads_and_covers_both_audiences() {
        assert!(FAQ.resident.len() >= 8 && FAQ.venue.len() >= 8);
        let html = faq().into_string();
        assert!(html.contains("訪れるたびに読み取る必要がありますか？"));
        assert!(html.contains("陽性の方が来店したことは事業者に知らされますか？"));
    }
}
