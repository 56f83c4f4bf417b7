//! Unit's two error shapes: its shared published schema is a bare JSON
//! array of error objects, its documentation shows `{"errors": […]}`. Both
//! decode, through the client, into exactly the same error.

use std::time::Duration;

use api_tokens::unit::{self, CreateApiToken, Scope, TokenId};
use api_tokens::{ApiError, Error, RetryPolicy, Service};
use chrono::Utc;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MEDIA_TYPE: &str = "application/vnd.api+json";

/// Which call meets the error.
#[derive(Debug, Clone, Copy)]
enum Call {
    Create,
    List,
    Revoke,
}

/// Makes `call` against a server answering `status` with `body` (and
/// `headers`), and gives the error.
async fn error_for(call: Call, status: u16, body: &Value, headers: &[(&str, &str)]) -> Error {
    let server = MockServer::start().await;
    let mut answer =
        ResponseTemplate::new(status).set_body_raw(body.to_string().into_bytes(), MEDIA_TYPE);
    for (name, value) in headers {
        answer = answer.insert_header(*name, *value);
    }
    let (verb, at) = match call {
        Call::Create | Call::List => (
            if matches!(call, Call::Create) {
                "POST"
            } else {
                "GET"
            },
            "/users/2/api-tokens",
        ),
        Call::Revoke => ("DELETE", "/users/2/api-tokens/22"),
    };
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    let client = unit::Client::builder()
        .token("v2.public.FAKE-SHAPES-KEY.sig")
        .base_url(server.uri())
        .retry(RetryPolicy::disabled())
        .build()
        .expect("client");
    let tokens = client.org_api_tokens("2".parse().expect("user id"));
    let result = match call {
        Call::Create => tokens
            .create(CreateApiToken::new(
                "CI deploy",
                [Scope::Customers],
                Utc::now() + chrono::Duration::days(30),
            ))
            .await
            .map(|_| ()),
        Call::List => tokens.list().await.map(|_| ()),
        Call::Revoke => {
            let id: TokenId = "22".parse().expect("token id");
            tokens.revoke(&id).await.map(|_| ())
        }
    };
    result.expect_err("an error answer")
}

/// A call, the status it meets, the error objects and the headers.
type Case = (Call, u16, Value, Vec<(&'static str, &'static str)>);

/// The error objects of each case, written once and served in both shapes.
fn cases() -> Vec<Case> {
    vec![
        (
            Call::Create,
            422,
            json!([
                {"status": "422", "title": "Invalid value", "code": "invalid_value",
                 "detail": "expiration must be a date in the future",
                 "source": {"pointer": "/data/attributes/expiration"},
                 "meta": {"supportId": "c7d1f2e3-1111-4a2b-9c3d-000000000422"}},
                {"status": "422", "title": "Invalid value",
                 "detail": "scope contains an unknown scope",
                 "source": {"pointer": "/data/attributes/scope"},
                 "links": {"about": "https://unit.co/docs/api/org-api-tokens"}}
            ]),
            vec![],
        ),
        (
            Call::Create,
            400,
            json!([{"status": "400", "title": "Bad Request", "code": "invalid_request",
                    "details": "data.attributes must be an object"}]),
            vec![("x-request-id", "req-400")],
        ),
        (
            Call::List,
            401,
            json!([{"status": "401", "title": "Unauthorized",
                    "detail": "The bearer token is invalid or expired"}]),
            vec![],
        ),
        (
            Call::List,
            403,
            json!([{"status": "403", "title": "Forbidden", "code": "forbidden"}]),
            vec![],
        ),
        (
            Call::Revoke,
            404,
            json!([{"status": "404", "title": "Not Found",
                    "detail": "API token 22 was not found"}]),
            vec![],
        ),
        (
            Call::List,
            429,
            json!([{"status": "429", "title": "Too Many Requests", "code": "limits_exceeded"}]),
            vec![("retry-after", "30")],
        ),
        (
            Call::List,
            500,
            json!([{"status": "500", "title": "Internal Server Error",
                    "detail": "Something went wrong on our side"},
                   "and a bare string"]),
            vec![("x-request-id", "req-7f3a9b21")],
        ),
    ]
}

/// The variant's name, to compare two errors' kinds.
fn kind(e: &Error) -> String {
    format!("{e:?}")
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_bare_array_of_error_objects_decodes_exactly_like_the_errors_member() {
    for (call, status, objects, headers) in cases() {
        let wrapped = error_for(call, status, &json!({ "errors": objects }), &headers).await;
        let bare = error_for(call, status, &objects, &headers).await;
        let what = format!("{call:?} {status}");

        let a: &ApiError = wrapped.api_error().expect("the service's error");
        let b: &ApiError = bare.api_error().expect("the service's error");
        assert_eq!(a, b, "{what}");
        assert_eq!(kind(&wrapped), kind(&bare), "{what}");
        assert_eq!(wrapped.to_string(), bare.to_string(), "{what}");
        assert_eq!(wrapped.status(), Some(status), "{what}");

        // And what both say is the service's, not an empty default.
        assert_eq!(b.service, Service::Unit);
        let items = objects.as_array().expect("array");
        assert_eq!(b.errors.len(), items.len(), "{what}");
        assert!(!b.messages.is_empty(), "{what}");
    }
}

#[tokio::test]
async fn the_bare_array_keeps_pointers_support_ids_and_extra_members() {
    let (call, status, objects, headers) = cases().remove(0);
    let err = error_for(call, status, &objects, &headers).await;
    let Error::Api(api) = &err else {
        panic!("expected Api, got {err:?}");
    };
    assert_eq!(api.status, 422);
    assert_eq!(
        api.errors[0].source_pointer.as_deref(),
        Some("/data/attributes/expiration")
    );
    assert_eq!(
        api.errors[1].extra.get("links"),
        Some(&json!({"about": "https://unit.co/docs/api/org-api-tokens"}))
    );
    assert_eq!(
        api.field_errors["expiration"],
        ["expiration must be a date in the future"]
    );
    assert_eq!(
        api.field_errors["scope"],
        ["scope contains an unknown scope"]
    );
    assert_eq!(
        err.request_id(),
        Some("c7d1f2e3-1111-4a2b-9c3d-000000000422")
    );
}

#[tokio::test]
async fn the_bare_array_keeps_the_status_variants() {
    let mut seen = Vec::new();
    for (call, status, objects, headers) in cases() {
        let err = error_for(call, status, &objects, &headers).await;
        let ok = match status {
            401 => matches!(err, Error::Unauthorized(_)),
            403 => matches!(err, Error::Forbidden(_)),
            404 => matches!(err, Error::NotFound(_)),
            429 => matches!(
                err,
                Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(30)
            ),
            // A 500 on a list is the service's error, to retry.
            500 => matches!(err, Error::Api(_)) && err.is_retryable(),
            _ => matches!(err, Error::Api(_)) && !err.is_retryable(),
        };
        assert!(ok, "{status}: {err:?}");
        seen.push(status);
    }
    assert_eq!(seen, [422, 400, 401, 403, 404, 429, 500]);
}
