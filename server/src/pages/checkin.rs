//! What a resident sees when a scanned code cannot lead into LINE: a withdrawn or unknown
//! code, with what to do instead. (An active code redirects into LINE.)

use maud::{Markup, html};

use super::layout::page;

/// `GET /c/{code}` for a code its venue withdrew: nothing is recorded, and the page does
/// not name the venue.
pub fn withdrawn() -> Markup {
    refused(
        ["このQRコードは使えません", "This code is no longer valid"],
        ["このQRコードは現在受け付けていません。来場は記録されていません。", "This QR code is no longer accepted. Your visit has not been recorded."],
        ["掲示物が古い可能性があります。施設・店舗の方に、新しいQRコードがないかお尋ねください。", "The poster may be out of date. Please ask the staff for the current code."],
    )
}

/// `GET /k/{token}` for a kiosk code that is too old (a photo of the screen) or too new.
pub fn expired() -> Markup {
    refused(
        ["QRコードの有効期限が切れています", "This code has expired"],
        ["このQRコードは有効期限が切れています。来場は記録されていません。", "This QR code has expired. Your visit has not been recorded."],
        ["キオスクの画面に表示されている、いまのQRコードを読み取ってください。", "Please scan the code on the kiosk screen now."],
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
