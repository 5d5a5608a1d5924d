//! Cluster notices (R18): an admin publishes a place, a period and a message on the public
//! page and withdraws it; nothing else about a case is public.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod support;

use axum::http::StatusCode;
use oshirase_server::staff::Role;
use serde_json::json;
use support::{call, TestApp, add_staff, add_token, json_body, text};


#[tokio::test]
async fn an_admin_publishes_and_withdraws_a_notice_and_nothing_else_becomes_public() {
    let app = TestApp::new();
    let admin = add_staff(&app, "admin", &[Role::Admin, Role::Investigator]).await;
    let token = add_token(&app, admin, Role::Admin, None).await;
    let investigator = add_token(&app, admin, Role::Investigator, None).await;
    let body = json!({ "business_type": "restaurant", "daily_visitors": 80, "name": "居酒屋 さくら 浦和店", "postal_code": "330-0063",
                       "address": "埼玉県さいたま市浦和区高砂2-2-2", "phone": "048-000-0002", "email": "s@example.jp" });
    let location = json_body(app.post_json("/api/v1/venues", &body.to_string()).await).await["venues"][0]["location_id"].as_str().unwrap().to_owned();
    // A case about the same place: its reference must never become public.
    call(&app, "POST", "/api/v1/staff/cases", &investigator, Some(json!({ "reference": "2026-SECRET-9" }))).await;

    assert!(text(app.get("/notices").await).await.contains("現在、公表している施設はありません"));
    let notice = json!({ "location_id": location, "from": "2026-11-18T15:00:00Z", "to": "2026-11-20T15:00:00Z", "message": "この期間に利用された方で症状のある方は保健所にご相談ください。" });
    for bad in [
        json!({ "location_id": location, "from": "2026-11-18T15:00:00Z", "to": "2026-12-30T15:00:00Z", "message": "長すぎる期間" }),
        json!({ "location_id": location, "from": "2026-11-18T15:00:00Z", "to": "2026-11-19T15:00:00Z", "message": " " }),
        json!({ "location_id": "0000000000000000000000000A", "from": "2026-11-18T15:00:00Z", "to": "2026-11-19T15:00:00Z", "message": "x" }),
    ] {
        assert_eq!(call(&app, "POST", "/api/v1/staff/notices", &token, Some(bad)).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(call(&app, "POST", "/api/v1/staff/notices", &investigator, Some(notice.clone())).await.status(), StatusCode::FORBIDDEN);
    let published = call(&app, "POST", "/api/v1/staff/notices", &token, Some(notice)).await;
    assert_eq!(published.status(), StatusCode::CREATED);
    let id = json_body(published).await["id"].as_i64().unwrap();

    let public = text(app.get("/notices").await).await;
    assert!(public.contains("居酒屋 さくら 浦和店") && public.contains("2026年11月19日〜2026年11月20日"), "place and period in Japan time");
    assert!(public.contains("保健所にご相談ください"));
    assert!(!public.contains("2026-SECRET-9"), "nothing about a case");

    assert_eq!(call(&app, "POST", &format!("/api/v1/staff/notices/{id}/withdraw"), &token, None).await.status(), StatusCode::OK);
    assert!(!text(app.get("/notices").await).await.contains("居酒屋 さくら"), "withdrawn notices disappear");
    assert_eq!(call(&app, "POST", &format!("/api/v1/staff/notices/{id}/withdraw"), &token, None).await.status(), StatusCode::NOT_FOUND, "once");
    let listed = json_body(call(&app, "GET", "/api/v1/staff/notices", &token, None).await).await;
    assert!(listed["notices"][0]["withdrawn_at"].is_string(), "admins still see it, withdrawn");
}
