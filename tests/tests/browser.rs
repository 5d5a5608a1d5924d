//! The whole venue journey in headless Chromium at phone size, as a person would walk it:
//! find the form, make a typing mistake, fix it, download the poster, scan its QR code, and
//! later withdraw the place. One test, because starting a browser is the slow part.
//! Screenshots land in `target/screenshots/` for people to look at.

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::Locator;
use oshirase_e2e::{Browser, TestServer, decode_qr_png, pdf_to_png, target_dir};

/// The option of the 業態 list, as the form shows it.
const RESTAURANT: &str = "飲食店 / Restaurant, café or bar";
const VENUE_NAME: &str = "カフェ・ド・浦和 2階";
const WITHDRAWN_TEXT: &str = "このQRコードは現在受け付けていません";
/// How long an element may take to appear after a click or navigation.
const PAGE_WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_registers_on_a_phone_prints_its_poster_and_later_withdraws_it() {
    let server = TestServer::start().await;
    let browser = Browser::start().await;

    browser.goto(&server.url("/")).await.expect("open the start page");
    find(&browser, "a[href='/venues/new']").await.click().await.expect("follow the registration link");
    let kind = find(&browser, "select#business_type").await;
    assert!(browser.current_url().await.expect("URL").path().ends_with("/venues/new"));

    kind.select_by_label(RESTAURANT).await.expect("choose 飲食店 by its visible label");
    type_into(&browser, "#daily_visitors", "120").await;
    type_into(&browser, "#name", VENUE_NAME).await;
    type_into(&browser, "#postal_code", "12345").await;
    type_into(&browser, "#address", "埼玉県さいたま市浦和区高砂3-15-1").await;
    type_into(&browser, "#phone", "048-824-2111").await;
    type_into(&browser, "#email", "info@example.jp").await;
    find(&browser, "#submit").await.click().await.expect("submit the form");

    let error = find(&browser, "#postal_code-error").await;
    let error_text = error.text().await.expect("error text");
    assert!(error_text.contains("7桁"), "the postal-code error is in Japanese and explains the rule: {error_text}");
    assert_eq!(attribute(&browser, "#postal_code", "aria-invalid").await.as_deref(), Some("true"));
    assert_eq!(value_of(&browser, "#business_type").await, "restaurant", "the chosen 業態 is kept");
    for (field, typed) in [("#daily_visitors", "120"), ("#name", VENUE_NAME), ("#postal_code", "12345"), ("#email", "info@example.jp")] {
        assert_eq!(value_of(&browser, field).await, typed, "{field} keeps what was typed");
    }
    assert!(browser.find(Locator::Css("#name-error")).await.is_err(), "fields without mistakes show no error");
    browser.screenshot(&screenshot("registration-form-with-error.png")).await;

    let postal = find(&browser, "#postal_code").await;
    postal.clear().await.expect("clear the postal code");
    postal.send_keys("３３０－９３０１").await.expect("type a full-width postal code");
    find(&browser, "#submit").await.click().await.expect("submit again");

    find(&browser, "#registered").await;
    let manage_url = find(&browser, "#manage-url").await.text().await.expect("management URL").trim().to_owned();
    assert!(manage_url.starts_with(&format!("{}/manage/", server.base_url())), "the page shows its own secret URL: {manage_url}");
    assert_eq!(browser.current_url().await.expect("URL").as_str(), format!("{manage_url}?registered=1"));
    browser.screenshot(&screenshot("management-page-after-registration.png")).await;

    let token = manage_url.rsplit('/').next().expect("token").to_owned();
    let listed = server.manage(&token).await;
    let venue = &listed["venues"][0];
    let code = venue["code"].as_str().expect("code").to_owned();
    let checkin_url = venue["checkin_url"].as_str().expect("check-in URL").to_owned();
    assert_eq!(venue["name"], VENUE_NAME);
    assert_eq!(venue["postal_code"], "330-9301", "the full-width postal code was normalised");
    let shown_code = find(&browser, "section.place code").await.text().await.expect("code on the page");
    assert_eq!(shown_code.replace('-', ""), code, "the page shows the place's code");

    let poster_link = find(&browser, "a.poster-pdf").await;
    let poster_href = poster_link.attr("href").await.expect("href").expect("the poster link has an href");
    poster_link.click().await.expect("click the poster link");
    let poster = match browser.wait_for_download("pdf", Duration::from_secs(15)).await {
        Some(path) => std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())),
        None => panic!("clicking a.poster-pdf downloaded nothing into {} within 15 s", browser.download_dir().display()),
    };
    assert!(poster.starts_with(b"%PDF-"), "the download is a PDF");
    assert_eq!(server.get_bytes(&poster_href).await.len(), poster.len(), "the browser saved what the link serves");
    assert_eq!(decode_qr_png(&pdf_to_png(&poster, 150)), vec![checkin_url.clone()], "the downloaded poster's QR code holds the check-in URL");

    // Scanning the code leads into LINE (its deep link; LINE itself is not reachable here).
    for url in [server.url(&format!("/c/{code}")), checkin_url.clone()] {
        server.assert_leads_into_line(&url, &code).await;
    }

    browser.goto(&manage_url).await.expect("open the management page again");
    find(&browser, "a.withdraw").await.click().await.expect("follow the withdraw link");
    find(&browser, "input[type='checkbox'][name='confirm']").await.click().await.expect("tick the confirmation");
    find(&browser, "#confirm-withdraw").await.click().await.expect("confirm the withdrawal");
    find(&browser, "#withdrawn-notice").await;
    find(&browser, "section.place .status-withdrawn").await;
    assert!(browser.find(Locator::Css("a.poster-pdf")).await.is_err(), "a withdrawn place offers no poster");
    browser.screenshot(&screenshot("management-page-after-withdrawal.png")).await;

    browser.goto(&server.url(&format!("/c/{code}"))).await.expect("scan the old poster again");
    let refusal = find(&browser, "div.summary").await.text().await.expect("refusal text");
    assert!(refusal.contains(WITHDRAWN_TEXT), "the withdrawn code is refused in Japanese: {refusal}");
    browser.screenshot(&screenshot("checkin-page-withdrawn.png")).await;

    browser.quit().await;
}

/// Waits for an element to appear.
async fn find(browser: &Browser, css: &str) -> fantoccini::elements::Element {
    browser.wait().at_most(PAGE_WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css} did not appear within {PAGE_WAIT:?}: {e}"))
}

async fn type_into(browser: &Browser, css: &str, text: &str) {
    find(browser, css).await.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

async fn value_of(browser: &Browser, css: &str) -> String {
    find(browser, css).await.prop("value").await.expect("read a value").unwrap_or_default()
}

async fn attribute(browser: &Browser, css: &str, name: &str) -> Option<String> {
    find(browser, css).await.attr(name).await.expect("read an attribute")
}

fn screenshot(name: &str) -> PathBuf {
    target_dir().join("screenshots").join(name)
}
