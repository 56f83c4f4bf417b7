//! Arguments Mailtrap would refuse are refused before anything is sent:
//! each test asserts the `Error::Invalid` and that no request reached the
//! server.

use std::time::Duration;

use api_tokens::Error;
use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, Expiry, ResourceType, TokenId};
use chrono::{Months, Utc};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "FAKE0caller0key0not0real0c3d4";

/// A server that answers anything with 500 and expects nothing.
async fn silent_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("no request was expected"))
        .expect(0)
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer) -> mailtrap::Client {
    mailtrap::Client::builder()
        .token(KEY)
        .account_id(3229)
        .base_url(server.uri())
        .build()
        .expect("client")
}

async fn assert_nothing_sent(server: &MockServer) {
    let received = server.received_requests().await.expect("recording on");
    assert!(
        received.is_empty(),
        "requests reached the server: {received:?}"
    );
}

/// Asserts an `Invalid` refusal of `field` whose reason mentions `hint`.
fn assert_invalid<T: std::fmt::Debug>(result: api_tokens::Result<T>, field: &str, hint: &str) {
    match result {
        Err(Error::Invalid { field: f, reason }) => {
            assert_eq!(f, field, "{reason}");
            assert!(reason.contains(hint), "reason `{reason}` lacks `{hint}`");
        }
        other => panic!("expected Invalid {field}, got {other:?}"),
    }
}

fn id(n: u64) -> TokenId {
    TokenId::new(n).expect("a valid token id")
}

fn valid() -> CreateApiToken {
    CreateApiToken::new("CI deploy").permission(ResourceType::Account, 3229, AccessLevel::Admin)
}

fn with_name(name: &str) -> CreateApiToken {
    CreateApiToken::new(name).permission(ResourceType::Account, 3229, AccessLevel::Admin)
}

#[tokio::test]
async fn an_empty_name_is_refused() {
    let server = silent_server().await;
    let result = client(&server).api_tokens().create(with_name("")).await;
    assert_invalid(result, "name", "1 to 255 characters");
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn a_blank_name_is_refused() {
    let server = silent_server().await;
    let result = client(&server)
        .api_tokens()
        .create(with_name(" \t\n"))
        .await;
    assert_invalid(result, "name", "blank");
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn a_name_over_255_characters_is_refused() {
    let server = silent_server().await;
    let tokens = client(&server);
    let tokens = tokens.api_tokens();

    assert_invalid(
        tokens.create(with_name(&"a".repeat(256))).await,
        "name",
        "256 characters",
    );
    // Characters, not bytes: 256 two-byte characters are refused too.
    assert_invalid(
        tokens.create(with_name(&"é".repeat(256))).await,
        "name",
        "at most 255",
    );
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn a_name_of_255_multibyte_characters_is_sent() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_json(serde_json::json!({"errors": {"base": ["stop here"]}})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server)
        .api_tokens()
        .create(with_name(&"é".repeat(255)))
        .await
        .unwrap_err();

    // Not refused locally: the service's own answer came back.
    assert_eq!(err.status(), Some(422));
    let received = server.received_requests().await.expect("recording on");
    let body: serde_json::Value = serde_json::from_slice(&received[0].body).expect("json");
    assert_eq!(body["name"].as_str().map(|n| n.chars().count()), Some(255));
}

#[tokio::test]
async fn a_token_without_permissions_is_refused() {
    let server = silent_server().await;
    let result = client(&server)
        .api_tokens()
        .create(CreateApiToken::new("CI deploy"))
        .await;
    assert_invalid(result, "permissions", "at least one permission");
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn an_account_id_of_zero_is_refused() {
    let server = silent_server().await;
    let result = mailtrap::Client::builder()
        .token(KEY)
        .account_id(0)
        .base_url(server.uri())
        .build();
    assert_invalid(result, "account_id", "positive");
    assert_nothing_sent(&server).await;
}

/// No account named: the client works on the token's own account (the
/// account-free paths, asserted in `mailtrap_paths`); building it sends
/// nothing.
#[tokio::test]
async fn a_missing_account_id_means_the_tokens_own_account() {
    let server = silent_server().await;
    let mt = mailtrap::Client::builder()
        .token(KEY)
        .base_url(server.uri())
        .build()
        .expect("a client without an account");
    assert_eq!(mt.account_id(), None);
    assert_eq!(mt.api_tokens().account_id(), None);
    assert_nothing_sent(&server).await;
}

/// A token id is checked once, when it is made, by every way of making
/// one; get, delete and reset take only ids so made.
#[test]
fn a_token_id_of_zero_cannot_be_made() {
    assert_invalid(TokenId::new(0), "token_id", "positive");
    assert_invalid(TokenId::try_from(0_u64), "token_id", "positive");
    assert_invalid("0".parse::<TokenId>(), "token_id", "positive");
    for bad in ["", "abc", "-1", "1.5", "12 345"] {
        assert_invalid(bad.parse::<TokenId>(), "token_id", "positive integer");
    }
    let ok: TokenId = " 12345 ".parse().expect("spaces around are trimmed");
    assert_eq!(ok.get(), 12345);
    assert_eq!(u64::from(ok), 12345);
}

/// Mailtrap's ids are signed 64-bit integers: one above `i64::MAX` names
/// nothing and is refused like 0.
#[tokio::test]
async fn ids_beyond_a_signed_64_bit_integer_are_refused() {
    let server = silent_server().await;
    let too_big = i64::MAX as u64 + 1;
    let result = mailtrap::Client::builder()
        .token(KEY)
        .account_id(too_big)
        .base_url(server.uri())
        .build();
    assert_invalid(result, "account_id", "9223372036854775807");

    assert_invalid(TokenId::new(too_big), "token_id", "9223372036854775807");
    assert_invalid(
        TokenId::try_from(u64::MAX),
        "token_id",
        "9223372036854775807",
    );
    assert_invalid(
        too_big.to_string().parse::<TokenId>(),
        "token_id",
        "9223372036854775807",
    );
    assert_eq!(
        TokenId::new(i64::MAX as u64).expect("the largest id").get(),
        i64::MAX as u64
    );
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn an_expiry_in_the_past_is_refused_on_create_and_reset() {
    let server = silent_server().await;
    let mt = client(&server);
    let tokens = mt.api_tokens();
    let past = Utc::now() - chrono::Duration::minutes(1);

    assert_invalid(
        tokens.create(valid().expires(Expiry::At(past))).await,
        "expires_at",
        "not in the future",
    );
    assert_invalid(
        tokens.reset(id(12345), Expiry::At(past)).await,
        "expires_at",
        "not in the future",
    );
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn an_expiry_beyond_five_years_is_refused_on_create_and_reset() {
    let server = silent_server().await;
    let mt = client(&server);
    let tokens = mt.api_tokens();
    let too_far = Utc::now()
        .checked_add_months(Months::new(60))
        .expect("date")
        + chrono::Duration::hours(1);

    assert_invalid(
        tokens.create(valid().expires(Expiry::At(too_far))).await,
        "expires_at",
        "more than 5 years",
    );
    assert_invalid(
        tokens.reset(id(12345), Expiry::At(too_far)).await,
        "expires_at",
        "more than 5 years",
    );
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn every_refusal_is_checked_before_the_network_even_with_no_server() {
    // Port 9 (discard) on loopback: nothing listens, so any attempt to send
    // would end in a transport error instead of `Invalid`.
    let mt = mailtrap::Client::builder()
        .token(KEY)
        .account_id(3229)
        .base_url("http://127.0.0.1:9")
        .connect_timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let tokens = mt.api_tokens();
    let past = Utc::now() - chrono::Duration::days(1);

    for result in [
        tokens.create(with_name("")).await.map(|_| ()),
        tokens.create(CreateApiToken::new("x")).await.map(|_| ()),
        tokens
            .create(valid().expires(Expiry::At(past)))
            .await
            .map(|_| ()),
        tokens.reset(id(1), Expiry::At(past)).await.map(|_| ()),
        TokenId::new(0).map(|_| ()),
    ] {
        assert!(matches!(result, Err(Error::Invalid { .. })), "{result:?}");
    }
    assert_eq!(mt.stats().requests, 0);
}
