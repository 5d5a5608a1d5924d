//! The staff side of the real binary: `oshirase-server admin create` makes the first admin,
//! who signs in to the console over HTTP and sees the kiosk fleet; `oshirase-server audit
//! verify` vouches for the audit log and catches an edited entry.

use oshirase_e2e::{TestServer, pair_kiosk, run_server_binary, valid_venue};
use reqwest::StatusCode;

fn database_env(server: &TestServer) -> String {
    server.database_path().to_str().expect("UTF-8 path").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_admin_signs_in_sees_the_fleet_and_the_audit_log_vouches_for_it() {
    let server = TestServer::start().await;
    let db = database_env(&server);
    let env = [("OSHIRASE_DATABASE__PATH", db.as_str())];
    let created = run_server_binary(&["admin", "create", "--login", "Yamada", "--name", "山田 花子"], &env);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let stdout = String::from_utf8_lossy(&created.stdout).into_owned();
    let password = stdout.lines().last().expect("the password line").trim().to_owned();
    assert!(stdout.contains("yamada") && password.len() >= 20, "{stdout}");
    let again = run_server_binary(&["admin", "create", "--login", "yamada", "--name", "別人"], &env);
    assert!(!again.status.success(), "a taken login is refused");

    let body = server.register(&valid_venue("県立図書館 1階")).await;
    let (location, manage) = (body["venues"][0]["location_id"].as_str().expect("location"), body["registration"]["manage_token"].as_str().expect("token"));
    let paired = pair_kiosk(&server, location, manage).await;

    let before = server.get("/staff/kiosks").await;
    assert_eq!(before.status(), StatusCode::SEE_OTHER, "not signed in: sent to sign in");
    let signed_in = server.client().post(server.url("/staff/login")).form(&[("login", "yamada"), ("password", password.as_str()), ("next", "/staff/kiosks")]).send().await.expect("sign in");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()["location"], "/staff/kiosks");
    let cookie = signed_in.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("pair").to_owned();
    let page = server.client().get(server.url("/staff/kiosks")).header("cookie", cookie).send().await.expect("fleet").text().await.expect("page");
    assert!(page.contains("キオスクの稼働状況") && page.contains(&paired.kiosk_id) && page.contains("県立図書館 1階"), "the fleet lists the kiosk");

    let token = run_server_binary(&["admin", "token", "--login", "yamada", "--role", "admin", "--name", "県システム連携"], &env);
    assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
    let token = String::from_utf8_lossy(&token.stdout).lines().last().expect("the token line").trim().to_owned();
    let me: serde_json::Value = server.client().get(server.url("/api/v1/staff/me")).bearer_auth(&token).send().await.expect("me").json().await.expect("JSON");
    assert_eq!(me["roles"], serde_json::json!(["admin"]));
    let refused = run_server_binary(&["admin", "token", "--login", "yamada", "--role", "approver", "--name", "x"], &env);
    assert!(!refused.status.success(), "a role the account does not hold");

    let verified = run_server_binary(&["audit", "verify"], &env);
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    assert!(String::from_utf8_lossy(&verified.stdout).contains("intact: 3 entries"), "created, signed in, token: {}", String::from_utf8_lossy(&verified.stdout));

    let conn = rusqlite::Connection::open(server.database_path()).expect("db");
    conn.execute_batch("DROP TRIGGER audit_log_is_append_only_delete; DELETE FROM audit_log WHERE seq = 1;").expect("tamper");
    let broken = run_server_binary(&["audit", "verify"], &env);
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("BROKEN"), "{}", String::from_utf8_lossy(&broken.stderr));
}
