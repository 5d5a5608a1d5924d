//! The start page: what the service is, and where venues register.

use maud::{Markup, html};

use super::layout::page;

/// `GET /`.
pub fn home() -> Markup {
    page(
        "施設・店舗・イベントの登録",
        "Register your venue",
        html! {
            div.card {
                p { "施設・店舗・イベントを登録すると、来場者に読み取ってもらうQRコードのポスター（A4）を印刷できます。登録は無料です。" }
                p.en lang="en" { "Register your facility, shop or event to print an A4 poster with a QR code for your visitors. Registration is free." }
                a.button href="/venues/new" { "1か所を登録する" span.en lang="en" style="color:inherit" { "Register one place" } }
            }
            div.card {
                h2 { "複数の店舗・フロア・会場を登録する" span.en lang="en" { "Register several places at once" } }
                p { "チェーン店の各店舗、フロアや部屋、映画館のスクリーンなどは、区別できる場所ごとに登録してください。場所ごとに別のQRコードになり、お知らせの精度が上がります。" }
                p.en lang="en" { "Register each shop, floor, room or screen separately: each gets its own code, which makes notices more precise." }
                a.button.secondary href="/venues/bulk" { "まとめて登録する（CSV）" span.en lang="en" style="color:inherit" { "Bulk registration (CSV)" } }
            }
        },
    )
}
