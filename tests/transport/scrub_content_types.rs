//! Secrets named by their key in an error answer never reach an error,
//! whatever the content type quoting them: JSON (free text inside a string
//! too), plain text, HTML, a form body, a header the error keeps. End to
//! end through both clients against a loopback server; what is not secret
//! in the message is kept.

use crate::loopback_support;

use api_tokens::Error;
use loopback_support::{
    TOKEN, error_with_request_id, mailtrap_list_error, redirect_to, server, unit_list_error,
};
use wiremock::ResponseTemplate;

/// A secret the caller does not know (a token just minted, a password),
/// found only by the name it is written under.
const UNKNOWN: &str = "mint3d-Secret-7f3a9c2e";
/// Another one, for answers that hold two.
const OTHER: &str = "hunter2-Passw0rd-99";
/// Both of them.
const BOTH: &[&str] = &[UNKNOWN, OTHER];

/// The error of a list call to each service answered with `answer`.
async fn errors_for(answer: ResponseTemplate) -> [(&'static str, Error); 2] {
    let s = server(answer).await;
    [
        ("unit", unit_list_error(&s).await),
        ("mailtrap", mailtrap_list_error(&s).await),
    ]
}

/// `Display` and `Debug` of the error.
fn shown(err: &Error) -> String {
    format!("{err}\n{err:?}")
}

/// Every form of `secret` a reader could recover from `text`: as written,
/// percent-encoded, JSON-escaped, with control characters dropped.
fn assert_hidden(secret: &str, text: &str, case: &str) {
    let collapsed: String = text.chars().filter(|c| !c.is_control()).collect();
    for form in [
        secret.to_owned(),
        secret.replace('+', "%2B").replace('/', "%2F"),
        secret.replace('/', "\\/"),
    ] {
        assert!(
            !collapsed.contains(&form),
            "{case}: {form} leaked in {text}"
        );
    }
}

/// Checks one answer on both clients: the secrets are in neither
/// `Display` nor `Debug`, and each of `kept` is in `Display`.
async fn check(status: u16, content_type: &str, body: String, secrets: &[&str], kept: &[&str]) {
    let case = format!("{content_type} {status}");
    let answer = ResponseTemplate::new(status).set_body_raw(body, content_type);
    for (service, err) in errors_for(answer).await {
        let text = shown(&err);
        for secret in secrets {
            assert_hidden(secret, &text, &format!("{case} ({service})"));
        }
        assert_hidden(TOKEN, &text, &format!("{case} ({service})"));
        let display = err.to_string();
        for part in kept {
            assert!(
                display.contains(part),
                "{case} ({service}): {part:?} lost from {display:?}"
            );
        }
    }
}

#[tokio::test]
async fn plain_text_key_value_and_key_colon_value() {
    let body = format!(
        "request rejected: password: {OTHER} is wrong; token={UNKNOWN} revoked\n\
         Authorization: Bearer {UNKNOWN}x and api-key = '{OTHER}' (try again)"
    );
    let kept = ["request rejected", "is wrong", "revoked", "try again"];
    check(400, "text/plain", body, BOTH, &kept).await;
}

#[tokio::test]
async fn html_fields_attributes_and_text() {
    // No title: the summary is the page's text, every tag included.
    let page = format!(
        r#"<html><body><p>Sign-in failed</p><form>
        <input type="hidden" name="authenticity_token" value="{UNKNOWN}">
        <input type="password" name="pw" value="{OTHER}">
        <meta name="csrf-token" content="{UNKNOWN}z">
        <div data-api-key="{OTHER}q">token: {UNKNOWN}w</div></form></body></html>"#
    );
    check(403, "text/html", page, BOTH, &["Sign-in failed"]).await;
    // A title quoting a secret.
    let page = format!("<html><head><title>denied: secret={UNKNOWN}</title></head></html>");
    check(502, "text/html", page, &[UNKNOWN], &["denied: secret="]).await;
    // The page shown escaped inside another page.
    let page = format!(
        "<pre>&lt;input name=&quot;api_token&quot; value=&quot;{UNKNOWN}&quot;&gt; rejected</pre>"
    );
    check(500, "text/html", page, &[UNKNOWN], &["rejected"]).await;
}

#[tokio::test]
async fn form_bodies_with_percent_encoding() {
    let encoded = "s3cr%2Bt-value%2F99%26more";
    let body = format!(
        "error=invalid_grant&access_token={encoded}&client_secret={OTHER}&error_description=expired%20grant&api%5Fkey={UNKNOWN}"
    );
    check(
        400,
        "application/x-www-form-urlencoded",
        body,
        &[
            UNKNOWN,
            OTHER,
            "s3cr+t-value/99",
            "s3cr%2Bt",
            "value%2F99",
            "more",
        ],
        &["error=invalid_grant", "error_description=expired%20grant"],
    )
    .await;
}

#[tokio::test]
async fn free_text_inside_json_strings() {
    // Mailtrap's flat error, and a JSON:API error list.
    let body = format!(
        r#"{{"error":"boom token={UNKNOWN}","errors":[{{"title":"Conflict","detail":"rejected password: {OTHER} now"}}]}}"#
    );
    check(409, "application/json", body, BOTH, &[]).await;
    let body = format!(
        r#"{{"errors":[{{"title":"boom token={UNKNOWN}","detail":"<input name=\"api_key\" value=\"{OTHER}\"> rejected"}}]}}"#
    );
    let kept = ["boom token="];
    check(422, "application/vnd.api+json", body, BOTH, &kept).await;
    // Mailtrap reads `error`: its words survive, its secret does not.
    let body = format!(r#"{{"error":"boom token={UNKNOWN} (Bearer {OTHER})"}}"#);
    let s = server(ResponseTemplate::new(401).set_body_raw(body, "application/json")).await;
    let err = mailtrap_list_error(&s).await;
    assert_hidden(UNKNOWN, &shown(&err), "mailtrap error");
    assert_hidden(OTHER, &shown(&err), "mailtrap error");
    assert!(
        err.messages()
            .iter()
            .any(|m| m == "boom token=[REDACTED] (Bearer [REDACTED])"),
        "{:?}",
        err.messages()
    );
}

#[tokio::test]
async fn headers_an_error_keeps() {
    let s = server(error_with_request_id(&format!("req-7 token={UNKNOWN}"))).await;
    let err = unit_list_error(&s).await;
    assert_hidden(UNKNOWN, &shown(&err), "x-request-id");
    assert_eq!(err.request_id(), Some("req-7 token=[REDACTED]"));

    let location = format!("https://elsewhere.example/cb?state=ok&access_token={UNKNOWN}");
    let s = server(redirect_to(&location)).await;
    let err = mailtrap_list_error(&s).await;
    assert!(matches!(err, Error::Redirect { .. }), "{err:?}");
    assert_hidden(UNKNOWN, &shown(&err), "location");
    assert!(err.to_string().contains("state=ok"), "{err}");
}

#[tokio::test]
async fn the_callers_token_stays_hidden_in_every_content_type() {
    let encoded = TOKEN.replace('+', "%2B").replace('/', "%2F");
    for (content_type, body) in [
        ("text/plain", format!("bad credential {TOKEN} sent")),
        ("text/html", format!("<p>bad credential {TOKEN} sent</p>")),
        (
            "application/x-www-form-urlencoded",
            format!("error=bad&echo={encoded}"),
        ),
        (
            "application/json",
            format!(r#"{{"error":"bad {TOKEN} sent"}}"#),
        ),
    ] {
        check(401, content_type, body, &[TOKEN, &encoded], &["bad"]).await;
    }
}
