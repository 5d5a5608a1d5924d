//! Staff sign-in, roles, CSRF, API tokens and the audit chain, through `app()`.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use oshirase_server::routes::staff::{Access, Kind, ROUTES};
use oshirase_server::staff::Role;
use serde_json::json;
use support::{api_call, PASSWORD, TestApp, add_staff, add_token, json_body, text};

/// A signed-in console session: its cookie and its CSRF token.
#[derive(Clone)]
struct Session {
    cookie: String,
    csrf: String,
}

async fn login_response(app: &TestApp, login: &str, password: &str) -> Response {
    let body = serde_urlencoded::to_string([("login", login), ("password", password), ("next", "/staff")]).unwrap();
    app.post_form("/staff/login", &body).await
}

async fn sign_in(app: &TestApp, login: &str) -> Session {
    let response = login_response(app, login, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {login}");
    let set_cookie = response.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let home = text(app.send(Request::get("/staff").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await).await;
    let csrf = home.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    Session { cookie, csrf }
}

async fn page_get(app: &TestApp, path: &str, session: Option<&Session>) -> Response {
    let mut request = Request::get(path);
    if let Some(s) = session {
        request = request.header(header::COOKIE, &s.cookie);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

async fn page_post(app: &TestApp, path: &str, session: Option<&Session>, fields: &[(&str, &str)]) -> Response {
    let mut fields = fields.to_vec();
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(s) = session {
        request = request.header(header::COOKIE, &s.cookie);
        fields.push(("csrf", &s.csrf));
    }
    app.send(request.body(Body::from(serde_urlencoded::to_string(&fields).unwrap())).unwrap()).await
}


fn redirects_to_login(response: &Response) -> bool {
    response.status() == StatusCode::SEE_OTHER && response.headers()[header::LOCATION].to_str().unwrap().starts_with("/staff/login")
}

/// The access this test expects of every staff route: written here a second time, on purpose,
/// so that a change of a route's role is a visible change of this table too.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("GET", "/staff/login", "anyone"),
    ("POST", "/staff/login", "anyone"),
    ("POST", "/staff/logout", "staff"),
    ("GET", "/staff", "staff"),
    ("GET", "/staff/password", "staff"),
    ("POST", "/staff/password", "staff"),
    ("GET", "/staff/accounts", "admin"),
    ("POST", "/staff/accounts", "admin"),
    ("POST", "/staff/accounts/{id}/disable", "admin"),
    ("POST", "/staff/accounts/{id}/enable", "admin"),
    ("POST", "/staff/accounts/{id}/reset-password", "admin"),
    ("POST", "/staff/accounts/{id}/roles", "admin"),
    ("GET", "/staff/api-tokens", "admin"),
    ("POST", "/staff/api-tokens", "admin"),
    ("POST", "/staff/api-tokens/{id}/revoke", "admin"),
    ("GET", "/staff/kiosks", "admin"),
    ("GET", "/staff/audit", "admin"),
    ("GET", "/staff/reports/cases.csv", "staff"),
    ("GET", "/staff/template", "admin"),
    ("POST", "/staff/template", "admin"),
    ("GET", "/staff/notices", "admin"),
    ("POST", "/staff/notices", "admin"),
    ("POST", "/staff/notices/{id}/withdraw", "admin"),
    ("GET", "/staff/cases", "investigator|approver"),
    ("POST", "/staff/cases", "investigator"),
    ("GET", "/staff/cases/{id}", "investigator|approver"),
    ("POST", "/staff/cases/{id}/exposures", "investigator"),
    ("POST", "/staff/cases/{id}/exposures/{exposure}/delete", "investigator"),
    ("POST", "/staff/cases/{id}/history", "investigator"),
    ("POST", "/staff/cases/{id}/approve", "approver"),
    ("POST", "/staff/cases/{id}/close", "investigator"),
    ("POST", "/staff/cases/{id}/resume", "approver"),
    ("GET", "/api/v1/staff/openapi.json", "anyone"),
    ("GET", "/api/v1/staff/me", "staff"),
    ("GET", "/api/v1/staff/accounts", "admin"),
    ("POST", "/api/v1/staff/accounts", "admin"),
    ("GET", "/api/v1/staff/kiosks", "admin"),
    ("GET", "/api/v1/staff/audit/verify", "admin"),
    ("GET", "/api/v1/staff/reports/cases.csv", "staff"),
    ("GET", "/api/v1/staff/template", "admin"),
    ("PUT", "/api/v1/staff/template", "admin"),
    ("GET", "/api/v1/staff/notices", "admin"),
    ("POST", "/api/v1/staff/notices", "admin"),
    ("POST", "/api/v1/staff/notices/{id}/withdraw", "admin"),
    ("GET", "/api/v1/staff/places", "investigator"),
    ("GET", "/api/v1/staff/cases", "investigator|approver"),
    ("POST", "/api/v1/staff/cases", "investigator"),
    ("GET", "/api/v1/staff/cases/{id}", "investigator|approver"),
    ("POST", "/api/v1/staff/cases/{id}/exposures", "investigator"),
    ("DELETE", "/api/v1/staff/cases/{id}/exposures/{exposure}", "investigator"),
    ("POST", "/api/v1/staff/cases/{id}/history", "investigator"),
    ("GET", "/api/v1/staff/cases/{id}/preview", "investigator|approver"),
    ("POST", "/api/v1/staff/cases/{id}/approve", "approver"),
    ("POST", "/api/v1/staff/cases/{id}/close", "investigator"),
    ("POST", "/api/v1/staff/cases/{id}/resume", "approver"),
];

fn allowed(expected: &str, roles: &[Role]) -> bool {
    match expected {
        "anyone" => true,
        "staff" => !roles.is_empty(),
        any => any.split('|').any(|role| roles.iter().any(|r| r.as_str() == role)),
    }
}

#[tokio::test]
async fn every_staff_route_is_refused_without_its_role_and_open_with_it() {
    let declared: Vec<(&str, &str, String)> = ROUTES
        .iter()
        .map(|r| {
            let access = match r.access {
                Access::Anyone => "anyone".to_owned(),
                Access::AnyStaff => "staff".to_owned(),
                Access::Role(role) => role.as_str().to_owned(),
                Access::AnyOf(roles) => roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join("|"),
            };
            (r.method, r.path, access)
        })
        .collect();
    let expected: Vec<(&str, &str, String)> = EXPECTED.iter().map(|(m, p, a)| (*m, *p, (*a).to_owned())).collect();
    assert_eq!(declared, expected, "the routes' declared access differs from what this test expects");

    let mut app = TestApp::new();
    app.state.staff.login_attempts_per_address = 10_000;
    let target = add_staff(&app, "target", &[Role::Investigator]).await;
    let identities: Vec<(&str, Vec<Role>)> = vec![
        ("none", vec![]),
        ("investigator", vec![Role::Investigator]),
        ("approver", vec![Role::Approver]),
        ("admin", vec![Role::Admin]),
    ];
    let mut tokens = Vec::new();
    for (login, roles) in &identities {
        if let [role] = roles.as_slice() {
            let id = add_staff(&app, login, roles).await;
            tokens.push((*login, add_token(&app, id, *role, None).await));
        }
    }
    for (login, roles) in &identities {
        let token = tokens.iter().find(|(l, _)| l == login).map(|(_, t)| t.clone());
        // The sign-out route is walked last: it ends the session.
        let mut routes: Vec<_> = ROUTES.iter().collect();
        routes.sort_by_key(|r| r.path == "/staff/logout");
        for route in routes {
            let expected = EXPECTED.iter().find(|(m, p, _)| *m == route.method && *p == route.path).unwrap().2;
            let path = route.path.replace("{id}", &target.to_string()).replace("{exposure}", "1");
            let session = if roles.is_empty() { None } else { Some(sign_in(&app, login).await) };
            let response = match (route.kind, route.method) {
                (Kind::Page, "GET") => page_get(&app, &path, session.as_ref()).await,
                (Kind::Page, _) => page_post(&app, &path, session.as_ref(), &[("roles", "investigator"), ("login", "x"), ("password", "y")]).await,
                (Kind::Api, method) => api_call(&app, method, &path, token.as_deref(), (method == "POST").then(|| json!({}))).await,
            };
            let status = response.status();
            let what = format!("{} {} as {login}", route.method, route.path);
            if allowed(expected, roles) {
                assert!(status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED || route.path == "/staff/login", "{what}: {status}");
                assert!(!redirects_to_login(&response) || route.path.starts_with("/staff/log") || route.path.ends_with("/password"), "{what} sent to sign in");
            } else if roles.is_empty() {
                match route.kind {
                    Kind::Page => assert!(redirects_to_login(&response), "{what}: {status}"),
                    Kind::Api => assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}"),
                }
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
            }
        }
    }
}

#[tokio::test]
async fn sign_in_sets_a_strict_cookie_and_sign_out_ends_the_session() {
    let app = TestApp::new();
    add_staff(&app, "sato", &[Role::Investigator]).await;
    let response = login_response(&app, "Sato", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/staff", "Secure"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let session = sign_in(&app, "sato").await;
    assert_eq!(page_get(&app, "/staff", Some(&session)).await.status(), StatusCode::OK);
    assert_eq!(page_post(&app, "/staff/logout", Some(&session), &[]).await.status(), StatusCode::SEE_OTHER);
    assert!(redirects_to_login(&page_get(&app, "/staff", Some(&session)).await), "the old cookie no longer works");
}

#[tokio::test]
async fn wrong_passwords_and_unknown_logins_get_the_same_answer_and_repeated_failures_lock_the_account() {
    let app = TestApp::new();
    add_staff(&app, "suzuki", &[Role::Approver]).await;
    let unknown = login_response(&app, "nobody", PASSWORD).await;
    let wrong = login_response(&app, "suzuki", "not the password").await;
    assert_eq!((unknown.status(), wrong.status()), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    let (unknown, wrong) = (text(unknown).await, text(wrong).await);
    assert!(unknown.contains("ログイン名またはパスワードが正しくありません") && wrong.contains("ログイン名またはパスワードが正しくありません"));
    assert!(wrong.contains("value=\"suzuki\""), "the login name is kept in the form");

    for _ in 0..4 {
        login_response(&app, "suzuki", "still wrong").await;
    }
    let locked = login_response(&app, "suzuki", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::UNAUTHORIZED, "the right password does not open a locked account");
    assert!(text(locked).await.contains("ロックされています"));
    let actions: Vec<String> = rusqlite::Connection::open(&app.db).unwrap().prepare("SELECT action FROM audit_log ORDER BY seq").unwrap().query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(actions.iter().filter(|a| *a == "login.failed").count(), 6);
    assert!(actions.contains(&"account.locked".to_owned()) && actions.contains(&"login.refused_locked".to_owned()), "{actions:?}");
}

#[tokio::test]
async fn one_address_cannot_keep_guessing_across_accounts() {
    let mut app = TestApp::new();
    app.state.staff.login_attempts_per_address = 3;
    add_staff(&app, "tanaka", &[Role::Investigator]).await;
    for login in ["a1a", "b2b", "c3c"] {
        assert_eq!(login_response(&app, login, "guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = login_response(&app, "tanaka", PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn a_form_without_its_csrf_token_or_from_another_site_changes_nothing() {
    let app = TestApp::new();
    add_staff(&app, "admin", &[Role::Admin]).await;
    let session = sign_in(&app, "admin").await;
    let before = app.count("staff");
    let forged = Request::post("/staff/accounts")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &session.cookie)
        .body(Body::from("login=intruder&name=x&roles=admin"))
        .unwrap();
    assert_eq!(app.send(forged).await.status(), StatusCode::FORBIDDEN);
    let wrong_token = page_post(&app, "/staff/accounts", Some(&Session { csrf: "A".repeat(43), ..session.clone() }), &[("login", "intruder"), ("name", "x"), ("roles", "admin")]).await;
    assert_eq!(wrong_token.status(), StatusCode::FORBIDDEN);
    let cross_site = Request::post("/staff/accounts")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &session.cookie)
        .header(header::HOST, "oshirase.example.jp")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from(format!("login=intruder&name=x&roles=admin&csrf={}", session.csrf)))
        .unwrap();
    assert_eq!(app.send(cross_site).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("staff"), before, "no account was created");

    let created = page_post(&app, "/staff/accounts", Some(&session), &[("login", "kato"), ("name", "加藤 一"), ("roles", "investigator"), ("roles", "approver")]).await;
    assert_eq!(created.status(), StatusCode::OK);
    let page = text(created).await;
    let password = page.split("id=\"one-time-password\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(app.count("staff"), before + 1);
    assert_eq!(login_response(&app, "kato", &password).await.status(), StatusCode::SEE_OTHER, "the one-time password signs in");
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_and_its_api_tokens() {
    let app = TestApp::new();
    add_staff(&app, "admin", &[Role::Admin]).await;
    let other = add_staff(&app, "ito", &[Role::Admin]).await;
    let token = add_token(&app, other, Role::Admin, None).await;
    let admin = sign_in(&app, "admin").await;
    let ito = sign_in(&app, "ito").await;
    assert_eq!(api_call(&app, "GET", "/api/v1/staff/me", Some(&token), None).await.status(), StatusCode::OK);

    assert_eq!(page_post(&app, &format!("/staff/accounts/{other}/disable"), Some(&admin), &[]).await.status(), StatusCode::SEE_OTHER);
    assert!(redirects_to_login(&page_get(&app, "/staff", Some(&ito)).await));
    assert_eq!(login_response(&app, "ito", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api_call(&app, "GET", "/api/v1/staff/me", Some(&token), None).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_tokens_act_with_their_one_role_until_revoked_or_expired() {
    let app = TestApp::new();
    let admin = add_staff(&app, "admin", &[Role::Admin, Role::Investigator]).await;
    let investigator = add_token(&app, admin, Role::Investigator, None).await;
    let me = json_body(api_call(&app, "GET", "/api/v1/staff/me", Some(&investigator), None).await).await;
    assert_eq!(me["roles"], json!(["investigator"]), "a token has its own role, not its creator's");
    assert_eq!(api_call(&app, "GET", "/api/v1/staff/accounts", Some(&investigator), None).await.status(), StatusCode::FORBIDDEN);

    let expired = add_token(&app, admin, Role::Admin, Some(time::OffsetDateTime::now_utc() - time::Duration::minutes(1))).await;
    assert_eq!(api_call(&app, "GET", "/api/v1/staff/me", Some(&expired), None).await.status(), StatusCode::UNAUTHORIZED);

    let session = sign_in(&app, "admin").await;
    let created = text(page_post(&app, "/staff/api-tokens", Some(&session), &[("name", "県庁システム連携"), ("role", "admin"), ("days", "30")]).await).await;
    let secret = created.split("id=\"new-token\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let listed = json_body(api_call(&app, "GET", "/api/v1/staff/accounts", Some(&secret), None).await).await;
    assert_eq!(listed["accounts"][0]["login"], "admin");
    let token_id = created.split("data-token=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_eq!(page_post(&app, &format!("/staff/api-tokens/{token_id}/revoke"), Some(&session), &[]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(api_call(&app, "GET", "/api/v1/staff/accounts", Some(&secret), None).await.status(), StatusCode::UNAUTHORIZED);

    let made = api_call(&app, "POST", "/api/v1/staff/accounts", Some(&add_token(&app, admin, Role::Admin, None).await), Some(json!({ "login": "nakamura", "name": "中村", "roles": ["approver"] }))).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made = json_body(made).await;
    assert_eq!(made["roles"], json!(["approver"]));
    assert_eq!(login_response(&app, "nakamura", made["password"].as_str().unwrap()).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn every_staff_action_is_in_an_intact_audit_chain_that_catches_tampering() {
    let app = TestApp::new();
    add_staff(&app, "admin", &[Role::Admin]).await;
    let session = sign_in(&app, "admin").await;
    page_post(&app, "/staff/accounts", Some(&session), &[("login", "kimura"), ("name", "木村"), ("roles", "approver")]).await;
    let verdict = json_body(api_call(&app, "GET", "/api/v1/staff/audit/verify", Some(&add_token(&app, 1, Role::Admin, None).await), None).await).await;
    assert_eq!(verdict["intact"], true, "{verdict}");
    assert_eq!(verdict["entries"], 4, "account, sign-in, account, token: {verdict}");
    let page = text(page_get(&app, "/staff/audit", Some(&session)).await).await;
    assert!(page.contains("data-ok=\"true\"") && page.contains("account:kimura") && page.contains("staff:admin"));

    let db = rusqlite::Connection::open(&app.db).unwrap();
    assert!(db.execute("UPDATE audit_log SET actor = 'staff:someone' WHERE seq = 3", []).is_err(), "the table refuses edits");
    assert!(db.execute("DELETE FROM audit_log WHERE seq = 3", []).is_err(), "and deletions");
    db.execute_batch("DROP TRIGGER audit_log_is_append_only_update; UPDATE audit_log SET actor = 'staff:someone' WHERE seq = 3;").unwrap();
    let page = text(page_get(&app, "/staff/audit", Some(&session)).await).await;
    assert!(page.contains("data-ok=\"false\"") && page.contains("entry 3 was altered"), "the console shows the break");
}
