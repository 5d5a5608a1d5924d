//! A resident's check-in played on the LINE sandbox's own page in headless Chromium at phone
//! size: add a resident, upload a photo of the poster's QR code, agree in the chat, and see
//! the confirmation. The real server and sandbox binaries talk to each other underneath.
//! One test, because starting a browser is the slow part. The screenshot lands in
//! `target/screenshots/` for people to look at.

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::Locator;
use fantoccini::elements::Element;
use oshirase_e2e::texts::catalog;
use oshirase_e2e::{Browser, LineWorld, decode_qr_png, target_dir};

const VENUE_NAME: &str = "カフェ・ド・浦和 2階";
/// How long an element may take to appear after a click or navigation.
const PAGE_WAIT: Duration = Duration::from_secs(10);
/// Messages after the first scan (welcome, consent request, question; waiting notice, question).
const AFTER_FIRST_SCAN: usize = 5;
/// … and after agreeing (thanks, confirmation).
const AFTER_CONSENT: usize = 7;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_on_the_sandbox_page_uploads_the_posters_qr_code_agrees_and_sees_the_visit_confirmed() {
    let world = LineWorld::start().await;
    let venue = world.register_venue(VENUE_NAME).await;
    let png = world.server.get_bytes(&venue.qr_png_url).await;
    assert_eq!(decode_qr_png(&png), vec![venue.checkin_url.clone()], "the QR image holds the check-in URL");
    let photos = tempfile::Builder::new().prefix("oshirase-qr-").tempdir().expect("a temporary folder");
    let photo = photos.path().join("poster-qr.png");
    std::fs::write(&photo, &png).expect("save the QR image");

    let browser = Browser::start().await;
    browser.goto(&format!("{}/", world.line.base_url())).await.expect("open the sandbox page");
    find(&browser, "form.create-resident input[name=display_name]").await.send_keys("山田 花子").await.expect("type a name");
    find(&browser, "form.create-resident button[type=submit]").await.click().await.expect("add the resident");
    let user = find(&browser, "article.resident").await.attr("data-user-id").await.expect("read data-user-id").expect("the resident has a user id");
    let me = format!("#resident-{user}");

    let file_input = find(&browser, &format!("{me} form.scan input[type=file][name=qr]")).await;
    file_input.send_keys(photo.to_str().expect("a UTF-8 path")).await.expect("choose the QR image");
    press(&find(&browser, &format!("{me} form.scan button[type=submit]")).await).await;
    let notice = find(&browser, &format!("{me} p.notice")).await.text().await.expect("notice text");
    assert!(notice.contains(&venue.checkin_url), "the page read the check-in URL out of the image: {notice}");

    // Replies arrive after the webhook is answered; once they are in, the page shows them.
    world.wait_for_inbox(&user, AFTER_FIRST_SCAN).await;
    browser.refresh().await.expect("reload the page");
    let consent = catalog().question("consent_question");
    let questions = browser.find_all(Locator::Css(&format!("{me} ol.inbox li.message .template[data-template=confirm]"))).await.expect("find templates");
    assert_eq!(questions.len(), 2, "the consent question is in the chat after the welcome and after the scan");
    let question = questions.last().expect("a question");
    let question_text = question.find(Locator::Css("p.text")).await.expect("the question's text").text().await.expect("text");
    assert_eq!(question_text, consent.ja);
    let agree = button_labelled(question, &consent.yes).await;
    press(&agree).await;
    wait_for_text(&browser, &format!("{me} p.notice"), "ボタンを押しました").await;

    let inbox = world.wait_for_inbox(&user, AFTER_CONSENT).await;
    browser.refresh().await.expect("reload the page");
    let bubbles = browser.find_all(Locator::Css(&format!("{me} ol.inbox li.message .bubble"))).await.expect("find messages");
    let mut shown = Vec::new();
    for bubble in &bubbles {
        shown.push(bubble.text().await.expect("message text"));
    }
    let confirmation = shown.iter().find(|t| t.contains("への来場を記録しました"));
    let confirmation = confirmation.unwrap_or_else(|| panic!("the chat shows the confirmation: {shown:#?}\ninbox: {inbox:#?}"));
    assert!(confirmation.contains(&format!("「{VENUE_NAME}」")), "the confirmation names the venue: {confirmation}");
    let sent = browser.find_all(Locator::Css(&format!("{me} ol.inbox li.sent"))).await.expect("find sent lines");
    let mut sent_texts = Vec::new();
    for line in &sent {
        // Older lines sit above the chat's scrolled view, so read their text, not what shows.
        sent_texts.push(line.prop("textContent").await.expect("sent text").unwrap_or_default());
    }
    assert!(sent_texts.iter().any(|t| t.contains(&consent.yes)), "the tap shows as the resident's own line: {sent_texts:?}");
    browser.screenshot(&screenshot("sandbox-checkin.png")).await;
    browser.quit().await;
}

/// Waits for an element to appear.
async fn find(browser: &Browser, css: &str) -> Element {
    browser.wait().at_most(PAGE_WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css} did not appear within {PAGE_WAIT:?}: {e}"))
}

/// Waits until the element's text contains `expected` (the page has come back from a form).
async fn wait_for_text(browser: &Browser, css: &str, expected: &str) {
    let deadline = std::time::Instant::now() + PAGE_WAIT;
    loop {
        let text = match browser.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(expected) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{css} did not come to say {expected:?} within {PAGE_WAIT:?}; it says {text:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Taps a button, as a person on a phone would.
async fn press(button: &Element) {
    button.click().await.expect("tap a button");
}

/// The template's button whose text is `label`.
async fn button_labelled(template: &Element, label: &str) -> Element {
    let buttons = template.find_all(Locator::Css("form.postback button")).await.expect("find buttons");
    for button in buttons {
        if button.text().await.expect("button text") == label {
            return button;
        }
    }
    panic!("no button labelled {label}")
}

fn screenshot(name: &str) -> PathBuf {
    target_dir().join("screenshots").join(name)
}
