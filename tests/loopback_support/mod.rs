//! A loopback server that gives every request the same answer, and clients
//! of both services on it that neither retry nor pace, so that one request
//! meets one answer and its error is what the test looks at.
#![allow(dead_code)]

use std::time::Duration;

use api_tokens::{ClientBuilder, Error, Pacing, RetryPolicy, mailtrap, unit};
use secrecy::SecretString;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The caller's own token: `+` and `/` so that its escaped forms differ.
pub const TOKEN: &str = "v2.public.Zq8+sK2m/Xw9Lr4Tn7Hh3Jk5";

/// A server answering every request with `answer`.
pub async fn server(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    server
}

/// A Unit error answer (500) whose `x-request-id` header is `request_id`.
pub fn error_with_request_id(request_id: &str) -> ResponseTemplate {
    ResponseTemplate::new(500)
        .insert_header("x-request-id", request_id)
        .set_body_raw(
            r#"{"errors":[{"title":"boom"}]}"#,
            "application/vnd.api+json",
        )
}

/// A redirect (302) to `location`.
pub fn redirect_to(location: &str) -> ResponseTemplate {
    ResponseTemplate::new(302).insert_header("location", location)
}

/// `builder` aimed at `server` with [`TOKEN`], one attempt, no pacing.
fn on_loopback<D>(builder: ClientBuilder<D>, server: &MockServer) -> ClientBuilder<D> {
    builder
        .token(SecretString::from(TOKEN))
        .base_url(server.uri())
        .retry(RetryPolicy::disabled())
        .pacing(Pacing::off())
        .timeout(Duration::from_secs(5))
}

/// A Unit client of `server`.
pub fn unit_client(server: &MockServer) -> unit::Client {
    on_loopback(unit::Client::builder(), server)
        .build()
        .unwrap()
}

/// A Mailtrap client of `server`.
pub fn mailtrap_client(server: &MockServer) -> mailtrap::Client {
    on_loopback(mailtrap::Client::builder(), server)
        .build()
        .unwrap()
}

/// User 2, whose tokens the Unit calls here list.
pub fn user() -> unit::UserId {
    "2".parse().unwrap()
}

/// The error of listing user 2's tokens on Unit at `server`.
pub async fn unit_list_error(server: &MockServer) -> Error {
    unit_client(server)
        .org_api_tokens(user())
        .list()
        .await
        .unwrap_err()
}

/// The error of listing the tokens on Mailtrap at `server`.
pub async fn mailtrap_list_error(server: &MockServer) -> Error {
    mailtrap_client(server)
        .api_tokens()
        .list()
        .await
        .unwrap_err()
}
