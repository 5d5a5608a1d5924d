//! Error pages people may meet: not found, bad request, too large, server error.

use maud::{Markup, html};

use super::layout::page;

/// A short error page with a Japanese explanation and its English line.
pub fn error_page(title: &str, title_en: &str, message: &str, message_en: &str) -> Markup {
    page(
        title,
        title_en,
        html! {
            div.card {
                p { (message) }
                p.en lang="en" { (message_en) }
                a.button.secondary href="/" { "トップページへ" span.en lang="en" style="color:inherit" { "Home" } }
            }
        },
    )
}
