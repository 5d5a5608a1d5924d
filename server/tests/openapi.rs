//! The staff API's OpenAPI document (`server/data/openapi.json`), as served at
//! `/api/v1/staff/openapi.json`, against the routes the guard enforces ([`ROUTES`]): every API
//! route is described with the same access, nothing else is, every `$ref` resolves, and every
//! operation has a Japanese summary and a unique operationId. The document cannot drift from
//! the routes without this test failing.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{StatusCode, header};
use oshirase_server::routes::staff::{Access, Kind, OPENAPI, ROUTES};
use serde_json::{Map, Value};
use support::{TestApp, text};

/// The lower-case method names OpenAPI allows as operations in a path item.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The other fields a path item may hold.
const PATH_ITEM_FIELDS: [&str; 5] = ["summary", "description", "servers", "parameters", "$ref"];

/// A route's access in the notation of `x-oshirase-access` (and of `EXPECTED` in `staff.rs`).
fn notation(access: Access) -> String {
    match access {
        Access::Anyone => "anyone".to_owned(),
        Access::AnyStaff => "staff".to_owned(),
        Access::Role(role) => role.as_str().to_owned(),
        Access::AnyOf(roles) => roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join("|"),
    }
}

/// The document as the server answers it.
async fn served() -> Value {
    let app = TestApp::new();
    let response = app.get("/api/v1/staff/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK, "served without a token");
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(content_type.starts_with("application/json"), "content type {content_type}");
    let body = text(response).await;
    assert_eq!(body, OPENAPI, "served verbatim");
    serde_json::from_str(&body).unwrap()
}

/// Every operation of the document: (method, path) → operation.
fn operations(doc: &Value) -> BTreeMap<(String, String), &Map<String, Value>> {
    let paths = doc["paths"].as_object().expect("`paths` is an object");
    let mut found = BTreeMap::new();
    for (path, item) in paths {
        let item = item.as_object().unwrap_or_else(|| panic!("{path}: path item is not an object"));
        let mut any = false;
        for (key, value) in item {
            if METHODS.contains(&key.as_str()) {
                let operation = value.as_object().unwrap_or_else(|| panic!("{key} {path}: operation is not an object"));
                found.insert((key.to_uppercase(), path.clone()), operation);
                any = true;
            } else {
                assert!(PATH_ITEM_FIELDS.contains(&key.as_str()) || key.starts_with("x-"), "{path}: unexpected field `{key}`");
            }
        }
        assert!(any, "{path} has no operation");
    }
    found
}

/// Follows a local `$ref` (`#/components/…`), if it resolves.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    if !reference.starts_with("#/components/") {
        return None;
    }
    reference.strip_prefix('#').and_then(|pointer| doc.pointer(pointer))
}

/// Every `$ref` in `value`, with where it is.
fn references<'a>(value: &'a Value, at: &str, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                if key == "$ref" {
                    out.push((here, child));
                } else {
                    references(child, &here, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                references(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_served_to_anyone_as_json() {
    let doc = served().await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "OpenAPI 3.1: {}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string(), "info has a title and a version");
    let bearer = &doc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!((bearer["type"].as_str(), bearer["scheme"].as_str()), (Some("http"), Some("bearer")), "the bearer scheme");
}

#[tokio::test]
async fn every_api_route_is_described_with_its_access_and_nothing_else_is() {
    let doc = served().await;
    let described = operations(&doc);
    let mut declared = BTreeSet::new();
    for route in ROUTES.iter().filter(|r| r.kind == Kind::Api) {
        let key = (route.method.to_owned(), route.path.to_owned());
        let what = format!("{} {}", route.method, route.path);
        let Some(operation) = described.get(&key) else {
            panic!("{what} is in ROUTES but not in openapi.json");
        };
        let access = notation(route.access);
        assert_eq!(operation.get("x-oshirase-access").and_then(Value::as_str), Some(access.as_str()), "{what}: x-oshirase-access");
        let security = operation.get("security").and_then(Value::as_array).unwrap_or_else(|| panic!("{what}: no `security`"));
        if route.access == Access::Anyone {
            assert!(security.is_empty(), "{what} is open to anyone: `security` must be []");
        } else {
            assert!(security.iter().any(|s| s.get("bearerAuth").is_some()), "{what}: needs the bearer scheme in `security`");
        }
        let responses = operation.get("responses").and_then(Value::as_object).unwrap_or_else(|| panic!("{what}: no `responses`"));
        assert!(responses.keys().any(|status| status.starts_with('2')), "{what}: no success response");
        declared.insert(key);
    }
    for (method, path) in described.keys() {
        assert!(declared.contains(&(method.clone(), path.clone())), "{method} {path} is in openapi.json but not an API route in ROUTES");
    }
}

#[tokio::test]
async fn every_path_parameter_is_declared() {
    let doc = served().await;
    for ((method, path), operation) in operations(&doc) {
        let mut parameters: Vec<&Value> = doc["paths"][path.as_str()]["parameters"].as_array().map(|p| p.iter().collect()).unwrap_or_default();
        parameters.extend(operation.get("parameters").and_then(Value::as_array).into_iter().flatten());
        let in_path: BTreeSet<&str> = parameters
            .into_iter()
            .map(|p| p.get("$ref").and_then(Value::as_str).map_or(Some(p), |r| resolve(&doc, r)).unwrap_or_else(|| panic!("{method} {path}: unresolved parameter {p}")))
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{method} {path}: path parameter {} must be required", p["name"]);
                p["name"].as_str().unwrap()
            })
            .collect();
        let templated: BTreeSet<&str> = path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        assert_eq!(in_path, templated, "{method} {path}: path parameters");
    }
}

#[tokio::test]
async fn every_reference_resolves_to_a_component() {
    let doc = served().await;
    let mut found = Vec::new();
    references(&doc, "#", &mut found);
    assert!(!found.is_empty(), "the document shares its schemas through components");
    for (at, reference) in found {
        let reference = reference.as_str().unwrap_or_else(|| panic!("{at} is not a string"));
        assert!(resolve(&doc, reference).is_some(), "{at}: {reference} does not resolve to a component");
    }
    assert!(doc["components"]["schemas"]["Error"].is_object(), "the shared Error schema");
}

#[tokio::test]
async fn every_operation_has_a_japanese_summary_and_a_unique_operation_id() {
    let doc = served().await;
    let mut ids = BTreeSet::new();
    for ((method, path), operation) in operations(&doc) {
        let summary = operation.get("summary").and_then(Value::as_str).unwrap_or_default();
        assert!(!summary.trim().is_empty() && !summary.is_ascii(), "{method} {path}: summary {summary:?} is not Japanese");
        let description = operation.get("description").and_then(Value::as_str).unwrap_or_default();
        assert!(!description.trim().is_empty(), "{method} {path}: no English description");
        let id = operation.get("operationId").and_then(Value::as_str).unwrap_or_default();
        assert!(!id.is_empty(), "{method} {path}: no operationId");
        assert!(ids.insert(id.to_owned()), "{method} {path}: operationId {id} is used twice");
    }
}
