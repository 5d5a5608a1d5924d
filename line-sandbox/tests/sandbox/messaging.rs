//! The Messaging API: authentication, reply tokens, retry keys, body checks, quota, rate
//! limits, blocked residents and profiles, each answered as LINE answers.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Receiver, TestSandbox, answer};

const KEY: &str = "123e4567-e89b-12d3-a456-426614174000";

fn text(t: &str) -> Value {
    json!([{"type": "text", "text": t}])
}

#[tokio::test]
async fn calls_without_the_channel_access_token_are_refused_with_lines_401() {
    let t = TestSandbox::start().await;
    let id = t.friend("佐藤").await;
    let body = json!({"to": id, "messages": text("x")});
    for request in [
        t.http.post(t.url("/v2/bot/message/push")).json(&body),
        t.http.post(t.url("/v2/bot/message/push")).bearer_auth("wrong").json(&body),
        t.http.get(t.url("/v2/bot/message/quota")).header("authorization", "Basic abc"),
    ] {
        let (status, body) = answer(request.send().await.unwrap()).await;
        assert_eq!(status, 401);
        assert_eq!(body, json!({"message": "Authentication failed. Confirm that the access token in the authorization header is valid."}));
    }
    assert!(t.inbox(&id).await.is_empty());
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_is_logged() {
    let t = TestSandbox::start().await;
    let ok = t.api_get("/v2/bot/message/quota").await;
    let refused = t.http.get(t.url("/v2/bot/message/quota")).send().await.unwrap();
    let unknown = t.api_get("/v2/bot/nothing/here").await;
    for response in [&ok, &refused] {
        let id = response.headers()["x-line-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 36, "{id}");
    }
    let (status, body) = answer(unknown).await;
    assert_eq!((status, body), (404, json!({"message": "Not found"})));
    let log = t.control(Method::GET, "/sandbox/requests", None, 200).await;
    let statuses: Vec<u64> = log.as_array().unwrap().iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [200, 401]);
}

#[tokio::test]
async fn a_push_reaches_a_friend_as_sent_and_answers_sent_messages() {
    let t = TestSandbox::start().await;
    let id = t.friend("佐藤").await;
    let messages = json!([
        {"type": "text", "text": "お知らせがあります"},
        {"type": "template", "altText": "確認", "template": {"type": "confirm", "text": "受け取りましたか",
            "actions": [{"type": "postback", "label": "はい", "data": "ack=1"}, {"type": "postback", "label": "いいえ", "data": "ack=0"}]}}
    ]);
    let (status, body) = answer(t.api_post("/v2/bot/message/push", &json!({"to": id, "messages": messages})).await).await;
    assert_eq!(status, 200);
    let sent = body["sentMessages"].as_array().unwrap();
    assert_eq!(sent.len(), 2);
    assert!(sent[0]["id"].is_string() && sent[0]["quoteToken"].is_string());
    let inbox = t.inbox(&id).await;
    assert_eq!(inbox.iter().map(|m| m["message"].clone()).collect::<Vec<_>>(), messages.as_array().unwrap().clone());
    assert!(inbox.iter().all(|m| m["via"] == "push" && m["received_at"].is_u64()));
}

#[tokio::test]
async fn a_reply_token_works_once() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let id = t.friend("佐藤").await;
    t.act(&id, "text", Some(json!({"text": "こんにちは"}))).await;
    let token = receiver.events()[1]["replyToken"].as_str().unwrap().to_owned();
    let reply = json!({"replyToken": token, "messages": text("ようこそ")});
    let (status, body) = answer(t.api_post("/v2/bot/message/reply", &reply).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sentMessages"].as_array().unwrap().len(), 1);
    let (status, body) = answer(t.api_post("/v2/bot/message/reply", &reply).await).await;
    assert_eq!((status, body), (400, json!({"message": "Invalid reply token"})));
    let inbox = t.inbox(&id).await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["via"], "reply");
    let (_, consumption) = answer(t.api_get("/v2/bot/message/quota/consumption").await).await;
    assert_eq!(consumption, json!({"totalUsage": 0}), "replies are free");
}

#[tokio::test]
async fn a_reply_token_expires_after_its_lifetime_and_unknown_ones_are_invalid() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    t.configure(json!({"reply_token_ttl_ms": 100})).await;
    let id = t.friend("佐藤").await;
    let token = receiver.events()[0]["replyToken"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for token in [token.as_str(), "00000000000000000000000000000000"] {
        let (status, body) = answer(t.api_post("/v2/bot/message/reply", &json!({"replyToken": token, "messages": text("遅い")})).await).await;
        assert_eq!((status, body), (400, json!({"message": "Invalid reply token"})));
    }
    assert!(t.inbox(&id).await.is_empty());
}

#[tokio::test]
async fn issued_reply_tokens_work_once_reach_their_resident_and_expire_like_delivered_ones() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let id = t.friend("佐藤").await;
    let other = t.friend("鈴木").await;
    let issued = t.control(Method::POST, &format!("/sandbox/residents/{id}/reply-tokens"), Some(json!({"count": 2})), 200).await;
    let tokens: Vec<String> = issued["reply_tokens"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1]);
    for token in &tokens {
        let reply = json!({"replyToken": token, "messages": text("記録しました")});
        let (status, body) = answer(t.api_post("/v2/bot/message/reply", &reply).await).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = answer(t.api_post("/v2/bot/message/reply", &reply).await).await;
        assert_eq!((status, body), (400, json!({"message": "Invalid reply token"})), "a second use is refused");
    }
    assert_eq!(t.inbox(&id).await.len(), 2);
    assert!(t.inbox(&other).await.is_empty(), "replies reach only the resident the tokens were issued for");

    t.configure(json!({"reply_token_ttl_ms": 100})).await;
    let late = t.sandbox().issue_reply_tokens(&id, 1).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _) = answer(t.api_post("/v2/bot/message/reply", &json!({"replyToken": late[0], "messages": text("遅い")})).await).await;
    assert_eq!(status, 400, "an issued token expires like a delivered one");
    assert_eq!(receiver.received().len(), 2, "issuing tokens delivers no webhook (only the two follows were)");
}

#[tokio::test]
async fn reply_tokens_are_issued_only_to_friends_and_in_sensible_numbers() {
    let t = TestSandbox::start().await;
    let stranger = t.resident("田中").await;
    let refused = t.control(Method::POST, &format!("/sandbox/residents/{stranger}/reply-tokens"), Some(json!({"count": 1})), 409).await;
    assert!(refused["error"].as_str().unwrap().contains("friend"));
    t.control(Method::POST, "/sandbox/residents/Uunknown/reply-tokens", Some(json!({"count": 1})), 404).await;
    t.sandbox().follow(&stranger).await.unwrap();
    for count in [0, 10_001] {
        t.control(Method::POST, &format!("/sandbox/residents/{stranger}/reply-tokens"), Some(json!({"count": count})), 400).await;
    }
}

#[tokio::test]
async fn a_retry_key_on_reply_is_refused() {
    let receiver = Receiver::start().await;
    let t = TestSandbox::delivering_to(&receiver).await;
    let id = t.friend("佐藤").await;
    let token = receiver.events()[0]["replyToken"].as_str().unwrap().to_owned();
    let reply = json!({"replyToken": token, "messages": text("x")});
    let (status, _) = answer(t.api_post_with_key("/v2/bot/message/reply", KEY, &reply).await).await;
    assert_eq!(status, 400);
    assert!(t.inbox(&id).await.is_empty());
    let (status, _) = answer(t.api_post("/v2/bot/message/reply", &reply).await).await;
    assert_eq!(status, 200, "the refused call did not use up the token");
}

#[tokio::test]
async fn a_repeated_retry_key_gets_409_with_the_first_request_id_and_delivers_nothing_twice() {
    let t = TestSandbox::start().await;
    let id = t.friend("佐藤").await;
    let push = json!({"to": id, "messages": text("一度だけ")});
    let first = t.api_post_with_key("/v2/bot/message/push", KEY, &push).await;
    let first_id = first.headers()["x-line-request-id"].to_str().unwrap().to_owned();
    let (status, first_body) = answer(first).await;
    assert_eq!(status, 200);
    let again = t.api_post_with_key("/v2/bot/message/push", &KEY.to_uppercase(), &push).await;
    assert_eq!(again.headers()["x-line-accepted-request-id"].to_str().unwrap(), first_id);
    assert_ne!(again.headers()["x-line-request-id"].to_str().unwrap(), first_id);
    let (status, body) = answer(again).await;
    assert_eq!(status, 409);
    assert_eq!(body, json!({"message": "The retry key is already accepted", "sentMessages": first_body["sentMessages"]}));

    let other_key = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    let multicast = json!({"to": [id], "messages": text("全員へ")});
    let (status, body) = answer(t.api_post_with_key("/v2/bot/message/multicast", other_key, &multicast).await).await;
    assert_eq!((status, body), (200, json!({})));
    let (status, body) = answer(t.api_post_with_key("/v2/bot/message/multicast", other_key, &multicast).await).await;
    assert_eq!((status, body), (409, json!({"message": "The retry key is already accepted"})));

    assert_eq!(t.inbox(&id).await.len(), 2);
    let (_, consumption) = answer(t.api_get("/v2/bot/message/quota/consumption").await).await;
    assert_eq!(consumption["totalUsage"], 2);
    let log = t.control(Method::GET, "/sandbox/requests", None, 200).await;
    let keys: Vec<&str> = log.as_array().unwrap().iter().filter_map(|r| r["retry_key"].as_str()).collect();
    assert_eq!(keys.len(), 4);
}

#[tokio::test]
async fn a_retry_key_must_be_a_uuid_and_a_refused_request_does_not_use_it_up() {
    let t = TestSandbox::start().await;
    let id = t.friend("佐藤").await;
    let (status, _) = answer(t.api_post_with_key("/v2/bot/message/push", "retry-1", &json!({"to": id, "messages": text("x")})).await).await;
    assert_eq!(status, 400);
    let (status, _) = answer(t.api_post_with_key("/v2/bot/message/push", KEY, &json!({"to": id, "messages": []})).await).await;
    assert_eq!(status, 400);
    let (status, _) = answer(t.api_post_with_key("/v2/bot/message/push", KEY, &json!({"to": id, "messages": text("x")})).await).await;
    assert_eq!(status, 200, "a key is accepted only with a request that succeeds");
}

#[tokio::test]
async fn invalid_bodies_get_lines_400_with_every_property_path() {
    let t = TestSandbox::start().await;
    let id = t.friend("佐藤").await;
    let body = json!({"to": id, "messages": [
        {"type": "text", "text": "あ".repeat(5001)},
        {"type": "template", "altText": "a", "template": {"type": "confirm", "text": "同意しますか",
            "actions": [{"type": "postback", "label": "同意します（内容を確認しました）ありがとう", "data": "y"}, {"type": "postback", "label": "いいえ", "data": "d".repeat(301)}]}},
        {"type": "flex", "altText": "a", "contents": {"type": "bubble"}}
    ]});
    let (status, body) = answer(t.api_post("/v2/bot/message/push", &body).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "The request body has 4 error(s)");
    let properties: Vec<&str> = body["details"].as_array().unwrap().iter().map(|d| d["property"].as_str().unwrap()).collect();
    assert_eq!(
        properties,
        ["messages[0].text", "messages[1].template.actions[0].label", "messages[1].template.actions[1].data", "messages[2].type"]
    );
    assert!(body["details"].as_array().unwrap().iter().all(|d| d["message"].is_string()));
    let (status, body) = answer(t.api_post("/v2/bot/message/push", &json!({"to": "someone", "messages": text("x")})).await).await;
    assert_eq!((status, body["details"][0]["property"].clone()), (400, json!("to")));
    assert!(t.inbox(&id).await.is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused_as_unparsable() {
    let t = TestSandbox::start().await;
    for raw in ["{\"to\": ", "[]", ""] {
        let response = t.http.post(t.url("/v2/bot/message/push")).bearer_auth(crate::helpers::TOKEN).body(raw).send().await.unwrap();
        let (status, body) = answer(response).await;
        assert_eq!((status, body), (400, json!({"message": "The request body could not be parsed as JSON"})), "{raw:?}");
    }
}

#[tokio::test]
async fn multicast_to_more_than_500_is_refused_and_500_are_accepted() {
    let t = TestSandbox::start().await;
    let id = t.friend("佐藤").await;
    let mut to: Vec<String> = (0..500).map(|i| format!("U{i:032x}")).collect();
    to[0] = id.clone();
    let (status, body) = answer(t.api_post("/v2/bot/message/multicast", &json!({"to": to, "messages": text("x")})).await).await;
    assert_eq!((status, body), (200, json!({})));
    to.push(format!("U{:032x}", 999));
    let (status, body) = answer(t.api_post("/v2/bot/message/multicast", &json!({"to": to, "messages": text("y")})).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["details"], json!([{"message": "Size must be between 1 and 500", "property": "to"}]));
    assert_eq!(t.inbox(&id).await.len(), 1);
    let (_, consumption) = answer(t.api_get("/v2/bot/message/quota/consumption").await).await;
    assert_eq!(consumption["totalUsage"], 500, "every recipient counts, reachable or not");
}

#[tokio::test]
async fn the_quota_is_reported_and_a_send_that_would_exceed_it_answers_429_and_delivers_nothing() {
    let t = TestSandbox::start().await;
    t.configure(json!({"monthly_quota": 3})).await;
    let a = t.friend("佐藤").await;
    let b = t.friend("鈴木").await;
    let (_, quota) = answer(t.api_get("/v2/bot/message/quota").await).await;
    assert_eq!(quota, json!({"type": "limited", "value": 3}));
    assert_eq!(answer(t.push_text(&a, "1").await).await.0, 200);
    assert_eq!(answer(t.api_post("/v2/bot/message/multicast", &json!({"to": [a, b], "messages": text("2")})).await).await.0, 200);
    let (status, body) = answer(t.api_post("/v2/bot/message/multicast", &json!({"to": [a, b], "messages": text("3")})).await).await;
    assert_eq!((status, body), (429, json!({"message": "You have reached your monthly limit."})));
    assert_eq!(answer(t.push_text(&b, "4").await).await.0, 429);
    assert_eq!(t.inbox(&a).await.len(), 2);
    assert_eq!(t.inbox(&b).await.len(), 1);
    let (_, consumption) = answer(t.api_get("/v2/bot/message/quota/consumption").await).await;
    assert_eq!(consumption, json!({"totalUsage": 3}));
    t.configure(json!({"monthly_quota": null})).await;
    let (_, quota) = answer(t.api_get("/v2/bot/message/quota").await).await;
    assert_eq!(quota, json!({"type": "none"}));
    assert_eq!(answer(t.push_text(&b, "5").await).await.0, 200);
}

#[tokio::test]
async fn more_requests_per_second_than_the_limit_answer_429() {
    let t = TestSandbox::start().await;
    t.configure(json!({"rate_limits": {"push": 3}})).await;
    let id = t.friend("佐藤").await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        statuses.push(answer(t.push_text(&id, &i.to_string()).await).await);
    }
    assert_eq!(statuses.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [200, 200, 200, 429, 429]);
    assert_eq!(statuses[3].1, json!({"message": "The API rate limit has been exceeded. Try again later."}));
    assert_eq!(t.inbox(&id).await.len(), 3);
    let (_, consumption) = answer(t.api_get("/v2/bot/message/quota/consumption").await).await;
    assert_eq!(consumption["totalUsage"], 3, "refused requests are not counted");
}

#[tokio::test]
async fn a_blocked_resident_gets_nothing_while_the_api_says_200() {
    let t = TestSandbox::start().await;
    let blocked = t.friend("佐藤").await;
    let friend = t.friend("鈴木").await;
    t.act(&blocked, "block", None).await;
    let (status, body) = answer(t.push_text(&blocked, "届かない").await).await;
    assert_eq!(status, 200);
    assert_eq!(body["sentMessages"].as_array().unwrap().len(), 1);
    let (status, _) = answer(t.api_post("/v2/bot/message/multicast", &json!({"to": [blocked, friend], "messages": text("全員")})).await).await;
    assert_eq!(status, 200);
    assert!(t.inbox(&blocked).await.is_empty());
    assert_eq!(t.inbox(&friend).await.len(), 1);
    let (_, consumption) = answer(t.api_get("/v2/bot/message/quota/consumption").await).await;
    assert_eq!(consumption["totalUsage"], 3, "LINE counts blocked recipients too");
    let stats = t.control(Method::GET, "/sandbox/stats", None, 200).await;
    assert_eq!(stats["recipients_not_reached"], 2);
}

#[tokio::test]
async fn the_profile_of_a_friend_is_returned_and_that_of_a_blocked_or_unknown_user_is_404() {
    let t = TestSandbox::start().await;
    let id = t.friend("山田 花子").await;
    let (status, body) = answer(t.api_get(&format!("/v2/bot/profile/{id}")).await).await;
    assert_eq!((status, body), (200, json!({"userId": id, "displayName": "山田 花子", "language": "ja"})));
    let stranger = t.resident("田中").await;
    t.act(&id, "block", None).await;
    for user in [id.as_str(), stranger.as_str(), "U00000000000000000000000000000000"] {
        let (status, body) = answer(t.api_get(&format!("/v2/bot/profile/{user}")).await).await;
        assert_eq!((status, body), (404, json!({"message": "Not found"})), "{user}");
    }
}
