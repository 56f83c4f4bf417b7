//! One regression test per class of the hostile-input audit, end to end
//! through the clients against a loopback server: the secret placed on
//! purpose never reaches anything an error keeps, and a malformed answer is
//! never a success.

use crate::loopback_support;

use api_tokens::{Error, mailtrap, unit};
use loopback_support::{
    TOKEN, error_with_request_id, mailtrap_client, mailtrap_list_error, redirect_to, server,
    unit_client, unit_list_error, user,
};
use secrecy::{ExposeSecret, SecretString};
use wiremock::ResponseTemplate;

/// A secret the service mints, quoted back in an error.
const MINTED: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0fq2w3";

/// Everything an error shows or keeps, as text.
fn everything(err: &Error) -> String {
    let mut out = format!("{err}\n{err:?}\n{:?}\n", err.messages());
    if let Some(api) = err.api_error() {
        out.push_str(&format!("{api:?}\n"));
        for e in &api.errors {
            out.push_str(&serde_json::to_string(e).unwrap());
        }
    }
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        out.push_str(&format!("{s}\n"));
        source = s.source();
    }
    out
}

fn assert_no(secret: &str, err: &Error) {
    let text = everything(err);
    let collapsed: String = text.chars().filter(|c| !c.is_control()).collect();
    assert!(!collapsed.contains(secret), "{secret} leaked: {text}");
}

/// Class 1: the caller's token quoted JSON-escaped (`\/`, `\u002B`).
#[tokio::test]
async fn class_1_a_json_escaped_token_in_an_error_body_is_hidden() {
    let escaped = TOKEN.replace('/', "\\/").replace('+', "\\u002B");
    let body = format!(r#"{{"error":"Incorrect API token {escaped}"}}"#);
    let s = server(ResponseTemplate::new(401).set_body_raw(body, "application/json")).await;
    let err = mailtrap_list_error(&s).await;
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    assert!(err.messages()[0].starts_with("Incorrect API token"));
    assert_no(TOKEN, &err);
}

/// Class 2: a token split by control characters in an HTML error page.
#[tokio::test]
async fn class_2_a_token_split_by_control_characters_is_hidden() {
    let (a, b) = TOKEN.split_at(10);
    for split in ["\u{0}", "\u{7}", "\u{7f}", "\u{85}"] {
        let body = format!("<html><title>denied {a}{split}{b}</title></html>");
        let s = server(ResponseTemplate::new(502).set_body_raw(body, "text/html")).await;
        let err = unit_list_error(&s).await;
        assert_eq!(err.status(), Some(502));
        assert_no(TOKEN, &err);
    }
}

/// Class 3: the token in a header an error keeps, and in a refused
/// redirect's `Location`.
#[tokio::test]
async fn class_3_a_token_in_kept_headers_is_hidden() {
    let s = server(error_with_request_id(&format!("req-{TOKEN}"))).await;
    let err = unit_list_error(&s).await;
    assert!(err.request_id().is_some_and(|id| id.starts_with("req-")));
    assert_no(TOKEN, &err);

    let encoded = TOKEN.replace('+', "%2B").replace('/', "%2F");
    let s = server(redirect_to(&format!(
        "https://elsewhere.example/?k={encoded}"
    )))
    .await;
    let err = mailtrap_list_error(&s).await;
    assert!(matches!(err, Error::Redirect { .. }), "{err:?}");
    assert_no(TOKEN, &err);
    assert_no(&encoded, &err);
}

/// Class 4: a minted secret under a key written with escapes, in a message
/// and in a kept JSON:API member.
#[tokio::test]
async fn class_4_a_secret_under_an_escaped_key_is_hidden() {
    let body = format!(
        r#"{{"errors":[{{"title":"Conflict","meta":{{"t\u006fken":"{MINTED}"}},"attributes":{{"acc\u0065ssToken":"{MINTED}"}}}}]}}"#
    );
    let s = server(ResponseTemplate::new(409).set_body_raw(body, "application/vnd.api+json")).await;
    let err = unit_list_error(&s).await;
    assert_eq!(err.status(), Some(409));
    assert_no(MINTED, &err);

    let body = format!(r#"{{"error":"conflict","t\u006fken":"{MINTED}"}}"#);
    let s = server(ResponseTemplate::new(422).set_body_raw(body, "application/json")).await;
    let err = mailtrap_list_error(&s).await;
    assert_no(MINTED, &err);
}

/// Class 9: a secret the caller does not know, under its name in an error
/// body that is not a JSON document (plain text, HTML, a form), or in free
/// text inside a JSON string.
#[tokio::test]
async fn class_9_a_secret_named_in_text_is_hidden_whatever_the_content_type() {
    for (content_type, body) in [
        ("text/plain", format!("denied: password: {MINTED}")),
        (
            "text/html",
            format!(r#"<form><input name="token" value="{MINTED}"></form>"#),
        ),
        (
            "application/x-www-form-urlencoded",
            format!("error=denied&access_token={MINTED}"),
        ),
        (
            "application/json",
            format!(r#"{{"error":"boom token={MINTED}"}}"#),
        ),
    ] {
        let s = server(ResponseTemplate::new(400).set_body_raw(body, content_type)).await;
        let err = mailtrap_list_error(&s).await;
        assert_eq!(err.status(), Some(400), "{content_type}");
        assert_no(MINTED, &err);
        let err = unit_list_error(&s).await;
        assert_no(MINTED, &err);
    }
}

/// Class 7: an array in place of an object is never read by position.
#[tokio::test]
async fn class_7_arrays_in_place_of_objects_are_decode_errors() {
    let s =
        server(ResponseTemplate::new(200).set_body_raw("[[]]", "application/vnd.api+json")).await;
    let err = unit_list_error(&s).await;
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");

    let s = server(ResponseTemplate::new(200).set_body_raw("[]", "application/vnd.api+json")).await;
    let err = unit_client(&s)
        .org_api_tokens(user())
        .revoke(&"19".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");

    let s = server(ResponseTemplate::new(200).set_body_raw(
        r#"[12345,"CI deploy","x7k9","ops",null,[]]"#,
        "application/json",
    ))
    .await;
    let err = mailtrap_client(&s)
        .api_tokens()
        .get(mailtrap::TokenId::new(12345).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

/// Class 8: what the crate refuses from its user it refuses from the
/// service: an empty secret, an empty or non-numeric Unit id, Mailtrap id 0.
#[tokio::test]
async fn class_8_empty_secrets_and_impossible_ids_are_decode_errors() {
    let created = |id: &str, secret: &str| {
        serde_json::json!({"data": {"type": "apiToken", "id": id, "attributes": {
            "createdAt": "2026-05-01T09:13:23.211Z", "description": "ci",
            "expiration": "2027-05-01T09:13:23.124Z", "token": secret}}})
    };
    let request = || {
        unit::CreateApiToken::new(
            "ci",
            [unit::Scope::Customers],
            chrono::Utc::now() + chrono::Duration::days(1),
        )
    };
    for (id, secret, at) in [
        ("19", "", "data.attributes.token"),
        ("", MINTED, "data.id"),
        ("nineteen", MINTED, "data.id"),
    ] {
        let s = server(ResponseTemplate::new(201).set_body_json(created(id, secret))).await;
        let err = unit_client(&s)
            .org_api_tokens(user())
            .create(request())
            .await
            .unwrap_err();
        // A success that cannot be read leaves the outcome unknown: a token
        // may exist.
        let Error::OutcomeUnknown { cause, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(
            matches!(&**cause, Error::Decode { at: a, .. } if a == at),
            "{cause:?}"
        );
        assert_no(MINTED, &err);
    }

    let s = server(ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "id": 0, "name": "CI deploy", "resources": []
    })))
    .await;
    let err = mailtrap_client(&s)
        .api_tokens()
        .get(mailtrap::TokenId::new(1).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { at, .. } if at == "id"),
        "{err:?}"
    );
    let _ = SecretString::from(MINTED).expose_secret();
}
