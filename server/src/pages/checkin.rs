//! What a resident sees when a phone camera (not LINE) opens a venue's code: the venue's
//! name and how to check in; or, for a withdrawn or unknown code, what to do instead.

use maud::{Markup, html};

use super::layout::page;

/// `GET /c/{code}` for an active place.
pub fn active(venue_name: &str) -> Markup {
    page(
        "来場の記録",
        "Check in",
        html! {
            div.card {
                p { "ここは" }
                p style="font-size:1.4rem;font-weight:bold" id="venue-name" { (venue_name) }
                p { "です。" }
            }
            div.card {
                h2 { "来場を記録するには" span.en lang="en" { "How to check in" } }
                ol {
                    li { "LINEアプリを開き、ホーム画面の検索欄の横にあるQRコードリーダーで、施設に掲示されたQRコードを読み取ってください。" }
                    li { "LINEのトーク画面が開いたら、表示されたメッセージを送信してください。" }
                    li { "来場を記録したことをLINEでお知らせします。来場のたびに読み取ってください。" }
                }
                p.en lang="en" { "Open LINE, scan the poster with LINE's QR reader, and send the message it prepares. LINE confirms each visit. Scan at every visit." }
            }
        },
    )
}

/// `GET /c/{code}` for a code its venue withdrew: nothing is recorded, and the page does
/// not name the venue.
pub fn withdrawn() -> Markup {
    refused(
        ["このQRコードは使えません", "This code is no longer valid"],
        ["このQRコードは現在受け付けていません。来場は記録されていません。", "This QR code is no longer accepted. Your visit has not been recorded."],
        ["掲示物が古い可能性があります。施設・店舗の方に、新しいQRコードがないかお尋ねください。", "The poster may be out of date. Please ask the staff for the current code."],
    )
}

/// `GET /c/{code}` for a code that was never issued.
pub fn unknown() -> Markup {
    refused(
        ["QRコードが見つかりません", "Unknown code"],
        ["このQRコードは登録されていません。来場は記録されていません。", "This QR code is not registered. Your visit has not been recorded."],
        ["施設に掲示されたQRコードを、もう一度読み取ってください。うまくいかない場合は、施設・店舗の方にお尋ねください。", "Please scan the code at the venue again, or ask the staff."],
    )
}

/// A refused code: each text as [Japanese, English].
fn refused(title: [&str; 2], what: [&str; 2], advice: [&str; 2]) -> Markup {
    page(
        title[0],
        title[1],
        html! {
            div.summary role="alert" {
                p { (what[0]) }
                p.en lang="en" { (what[1]) }
            }
            div.card {
                p { (advice[0]) }
                p.en lang="en" { (advice[1]) }
            }
        },
    )
}
