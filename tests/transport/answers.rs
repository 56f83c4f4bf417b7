//! What a client makes of an answer, through the public clients: the
//! rate-limit headers kept, the counters its clones share, a body without
//! end cut at the limit, and the attempts the final error names.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use api_tokens::{Error, RateLimit, RetryPolicy, mailtrap, unit};
use chrono::Utc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server giving this answer to every request.
async fn always(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    server
}

/// A Unit client of `base` making up to `attempts` attempts, 1 ms apart.
fn unit_client(base: &str, attempts: u32) -> unit::Client {
    unit::Client::builder()
        .token("v2.public.FAKE-ANSWERS-KEY.sig")
        .base_url(base)
        .retry(
            RetryPolicy::default()
                .max_attempts(attempts)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(1)),
        )
        .build()
        .expect("unit client")
}

fn tokens(client: &unit::Client) -> unit::OrgApiTokens {
    client.org_api_tokens("2".parse().expect("user"))
}

#[tokio::test]
async fn clones_share_the_counters() {
    let server = crate::retries::sequence(ResponseTemplate::new(500), 1).await;
    let client = unit_client(&server.uri(), 2);
    let clone = client.clone();
    tokens(&clone)
        .list()
        .await
        .expect("listed on the second attempt");
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries), (2, 1));
}

#[tokio::test]
async fn rate_limit_headers_are_read_and_kept() {
    let server = always(
        ResponseTemplate::new(429)
            .insert_header("X-Ratelimit-Limit", "150")
            .insert_header("X-Ratelimit-Remaining", "0")
            .insert_header("Retry-After", "1000"),
    )
    .await;
    let client = mailtrap::Client::builder()
        .token("FAKE0answers0key")
        .base_url(server.uri())
        .build()
        .expect("mailtrap client");
    assert_eq!(client.last_rate_limit(), None);
    let err = client.api_tokens().list().await.expect_err("rate limited");
    let expected = RateLimit::new(Some(150), Some(0));
    match &err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(1000)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.rate_limit(), Some(expected));
    assert_eq!(client.last_rate_limit(), Some(expected));
    assert_eq!(
        client.stats().requests,
        1,
        "a wait above the cap is not made"
    );
}

/// A server that never stops sending a body: the client stops reading at
/// its limit with a typed error instead of holding it all in memory.
#[tokio::test]
async fn an_endless_body_is_cut_at_the_limit_with_a_typed_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    let sent = Arc::new(AtomicU32::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut head = [0u8; 4096];
            let _ = socket.read(&mut head).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/vnd.api+json\r\ntransfer-encoding: chunked\r\n\r\n")
                .await;
            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "[".repeat(64 * 1024));
            while socket.write_all(chunk.as_bytes()).await.is_ok() {}
        }
    });
    let err = tokens(&unit_client(&base, 3))
        .list()
        .await
        .expect_err("cut");
    match &err {
        Error::Decode { status, reason, .. } => {
            assert_eq!(*status, 200);
            assert!(reason.contains("MiB"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sent.load(Ordering::SeqCst), 1, "not repeated");
}

/// The error a call ends in after retries says, and shows, how many
/// attempts were made: a 503 after retries once did not.
#[tokio::test]
async fn the_final_error_says_how_many_attempts_were_made() {
    let unavailable = always(ResponseTemplate::new(503)).await;
    let limited = always(ResponseTemplate::new(429).insert_header("Retry-After", "0")).await;
    let missing = always(ResponseTemplate::new(404)).await;

    let client = unit_client(&unavailable.uri(), 3);
    let read = tokens(&client).list().await.expect_err("503");
    assert!(matches!(read, Error::Api(_)), "{read:?}");
    assert_eq!(read.attempts(), Some(3));
    assert!(read.to_string().ends_with("after 3 attempts"), "{read}");

    let revoked = tokens(&client).revoke(&"19".parse().expect("id")).await;
    let revoked = revoked.expect_err("503");
    assert_eq!(revoked.attempts(), Some(3));
    assert!(
        revoked.to_string().contains("after 3 attempts"),
        "{revoked}"
    );

    let request = unit::CreateApiToken::new(
        "ci",
        [unit::Scope::Customers],
        Utc::now() + chrono::Duration::days(1),
    );
    // A create is sent once: its outcome is unknown after one attempt.
    let minted = tokens(&client).create(request).await.expect_err("503");
    assert!(minted.is_outcome_unknown(), "{minted:?}");
    assert_eq!(minted.attempts(), Some(1));
    assert!(!minted.to_string().contains("attempts"), "{minted}");

    let limited = tokens(&unit_client(&limited.uri(), 3)).list().await;
    let limited = limited.expect_err("429");
    assert!(matches!(limited, Error::RateLimited { .. }), "{limited:?}");
    assert_eq!(limited.attempts(), Some(3));
    assert!(
        limited.to_string().contains("after 3 attempts"),
        "{limited}"
    );

    // A refusal that is not repeated made one attempt, and says nothing of it.
    let missing = tokens(&unit_client(&missing.uri(), 3)).list().await;
    let missing = missing.expect_err("404");
    assert_eq!(missing.attempts(), Some(1));
    assert!(!missing.to_string().contains("attempt"), "{missing}");

    // Arguments refused before sending made none.
    let refused = unit::TokenId::new("0").expect_err("not an id");
    assert_eq!(refused.attempts(), None);
}

/// A service's messages reach an error as visible text only, and a bounded
/// amount of it: no escape sequence, line break or bidirectional override
/// that could rewrite a terminal or a log line, at most 20 messages of at
/// most 500 characters, however many and long the answer's are.
#[tokio::test]
async fn hostile_messages_reach_an_error_as_bounded_visible_text() {
    let hostile = "bad \u{1b}[2J\u{1b}[31mRED\u{1b}]0;title\u{7} a\u{0}b\nforged line \u{202e}desrever\u{200b}";
    let long = "x".repeat(100_000);
    let mut many: Vec<serde_json::Value> = vec![
        serde_json::json!({ "title": hostile }),
        serde_json::json!({ "detail": long }),
    ];
    many.extend((0..1000).map(|i| serde_json::json!({ "title": format!("error {i}") })));
    let unit_server = always(ResponseTemplate::new(422).set_body_raw(
        serde_json::json!({ "errors": many }).to_string(),
        "application/vnd.api+json",
    ))
    .await;
    let mailtrap_server = always(ResponseTemplate::new(422).set_body_json(serde_json::json!({
        "errors": { hostile: [hostile, long.clone()] },
        "error": hostile,
    })))
    .await;
    let unit_err = tokens(&unit_client(&unit_server.uri(), 1))
        .list()
        .await
        .expect_err("422");
    let mailtrap_err = mailtrap::Client::builder()
        .token("FAKE0answers0key")
        .base_url(mailtrap_server.uri())
        .build()
        .expect("mailtrap client")
        .api_tokens()
        .list()
        .await
        .expect_err("422");
    for err in [unit_err, mailtrap_err] {
        let api = err.api_error().expect("an error answer");
        assert!(api.messages.len() <= 20, "{}", api.messages.len());
        let text = format!("{err}");
        for message in &api.messages {
            assert!(message.chars().count() <= 501, "{}", message.len());
        }
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() || matches!(c, '\u{202e}' | '\u{200b}')),
            "{text:?}"
        );
        assert!(
            text.contains("RED") && text.contains("forged line"),
            "{text}"
        );
        assert!(text.len() < 20 * 510, "{}", text.len());
    }
}

/// A success that quotes the caller's own token (a hostile service echoing
/// it in a token's name) reaches the caller with the token hidden; a
/// created token's secret, which a create answers with, is kept.
#[tokio::test]
async fn a_success_never_quotes_the_callers_token() {
    let caller = "FAKE0answers0key";
    let server = always(ResponseTemplate::new(200).set_body_json(serde_json::json!([
        {"id": 21, "name": format!("leak {caller} here"), "last_4_digits": "x7k9",
         "created_by": "a@example.com", "expires_at": null, "resources": []}
    ])))
    .await;
    let client = mailtrap::Client::builder()
        .token(caller)
        .base_url(server.uri())
        .build()
        .expect("mailtrap client");
    let listed = client.api_tokens().list().await.expect("listed");
    assert_eq!(listed[0].name, "leak [REDACTED] here");
}

/// An answer that cannot be decoded keeps its request id (the error, and
/// `Error::request_id`, name it, as for the service's error answers), and
/// a request id that echoes the caller's token is hidden.
#[tokio::test]
async fn an_undecodable_answer_names_its_request_id_and_never_the_callers_token() {
    let token = "v2.public.FAKE-ANSWERS-KEY.sig";
    for (id, shown) in [("req-123", "req-123"), (token, "[REDACTED]")] {
        let server = always(
            ResponseTemplate::new(200)
                .insert_header("x-request-id", id)
                .set_body_raw(r#"{"data":[{"id":1}]}"#, "application/vnd.api+json"),
        )
        .await;
        let err = unit_client(&server.uri(), 1)
            .org_api_tokens("2".parse().unwrap())
            .list()
            .await
            .expect_err("not a token list");
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        assert_eq!(err.request_id(), Some(shown), "{err}");
        let text = err.to_string();
        assert!(text.contains(&format!("request id {shown}")), "{text}");
        assert!(!text.contains(token), "{text}");
    }
}
