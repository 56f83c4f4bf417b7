//! Every request the Unit dialect sends, checked against the contract
//! (`unit-org-api-tokens.openapi.yaml`) by a Prism mock started with
//! `--errors`: a request that breaks the contract gets a 422 and fails here.
//!
//! Run with a Prism mock of the contract listening, e.g.:
//!
//! ```text
//! prism mock --errors -p 4010 unit-org-api-tokens.openapi.yaml
//! API_TOKENS_PRISM_UNIT_URL=http://127.0.0.1:4010 cargo test --test unit_contract -- --ignored
//! ```

use std::net::IpAddr;

use api_tokens::secrecy::{ExposeSecret, SecretString};
use api_tokens::unit::{
    self, CreateApiToken, NewApiToken, ResourceRestriction, Scope, SourceIp, TokenId, UserId,
};
use api_tokens::{Error, RetryPolicy};
use chrono::{Duration, Timelike, Utc};

const PRISM_ENV: &str = "API_TOKENS_PRISM_UNIT_URL";

fn prism_url() -> String {
    match std::env::var(PRISM_ENV) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{PRISM_ENV} is not set: start `prism mock --errors -p 4010 \
             unit-org-api-tokens.openapi.yaml` and set {PRISM_ENV}=http://127.0.0.1:4010"
        ),
    }
}

fn client() -> unit::Client {
    unit::Client::builder()
        .token(SecretString::from("v2.public.FAKE-CONTRACT-KEY.sig"))
        .base_url(prism_url())
        .retry(RetryPolicy::disabled())
        .build()
        .expect("client")
}

/// Fails with what Prism said when it found a violation.
fn accepted<T>(what: &str, result: api_tokens::Result<T>) -> T {
    match result {
        Ok(v) => v,
        Err(Error::Api(api)) if api.status == 422 => {
            panic!("{what}: the request breaks the contract: {api}")
        }
        Err(e) => panic!("{what}: {e}"),
    }
}

fn in_days(days: i64) -> chrono::DateTime<Utc> {
    (Utc::now() + Duration::days(days))
        .with_nanosecond(987_654_321)
        .expect("nanos")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn user(id: u64) -> UserId {
    UserId::try_from(id).expect("a valid user id")
}

async fn create(what: &str, request: CreateApiToken) -> NewApiToken {
    let created = accepted(what, client().org_api_tokens(user(2)).create(request).await);
    assert!(!created.token.expose_secret().is_empty());
    assert!(!created.id.as_str().is_empty());
    created
}

#[tokio::test]
#[ignore = "needs a Prism mock of the Unit contract; .ci/run starts one"]
async fn create_with_the_required_attributes_only() {
    create(
        "minimal create",
        CreateApiToken::new("Production token", [Scope::Customers], in_days(30)),
    )
    .await;
}

#[tokio::test]
#[ignore = "needs a Prism mock of the Unit contract; .ci/run starts one"]
async fn create_with_source_ips() {
    create(
        "create with one source IP",
        CreateApiToken::new("Office", [Scope::Accounts], in_days(7)).source_ip(ip("192.168.1.1")),
    )
    .await;
    create(
        "create with IPv4 and IPv6 source IPs",
        CreateApiToken::new("Office", [Scope::Accounts], in_days(7)).source_ips([
            ip("192.168.1.1").into(),
            ip("2001:db8::1").into(),
            ip("10.20.30.40").into(),
        ]),
    )
    .await;
    create(
        "create with addresses and CIDR ranges",
        CreateApiToken::new("Office", [Scope::Accounts], in_days(7)).source_ips(
            ["10.0.0.0/8", "192.168.1.1", "2001:db8::/32"]
                .map(|s| s.parse::<SourceIp>().expect("an address or a range")),
        ),
    )
    .await;
}

#[tokio::test]
#[ignore = "needs a Prism mock of the Unit contract; .ci/run starts one"]
async fn create_with_resources() {
    create(
        "create restricted to cards and accounts",
        CreateApiToken::new("Card ops", [Scope::Cards, Scope::CardsWrite], in_days(1))
            .resources([
                ResourceRestriction::cards(["10001", "10002"]),
                ResourceRestriction::accounts([10005_u64]),
            ])
            .source_ip(ip("203.0.113.7")),
    )
    .await;
}

#[tokio::test]
#[ignore = "needs a Prism mock of the Unit contract; .ci/run starts one"]
async fn create_with_every_known_scope_and_an_unknown_one() {
    create(
        "create with every scope",
        CreateApiToken::new("Everything", Scope::KNOWN.iter().cloned(), in_days(365))
            .scope(Scope::Other("loans-write".into())),
    )
    .await;
    create(
        "create with several scopes",
        CreateApiToken::new(
            "CI deploy",
            [
                Scope::Customers,
                Scope::Applications,
                Scope::PaymentsWriteAchDebit,
            ],
            in_days(90),
        ),
    )
    .await;
}

#[tokio::test]
#[ignore = "needs a Prism mock of the Unit contract; .ci/run starts one"]
async fn list() {
    let tokens = accepted("list", client().org_api_tokens(user(2)).list().await);
    assert!(!tokens.is_empty());
    let other: UserId = "17".parse().expect("a valid user id");
    accepted("list", client().org_api_tokens(other).list().await);
}

#[tokio::test]
#[ignore = "needs a Prism mock of the Unit contract; .ci/run starts one"]
async fn revoke() {
    let tokens = client().org_api_tokens(user(2));
    let parsed: TokenId = "22".parse().expect("a valid token id");
    accepted("revoke by a parsed id", tokens.revoke(&parsed).await);
    let number = TokenId::try_from(22_u64).expect("a valid token id");
    accepted("revoke by a number", tokens.revoke(&number).await);
    // Prism answers with the contract's example, token 22, whatever id is
    // revoked, and an answer about another token is refused: ask for 22.
    let made = TokenId::new("22").expect("a valid token id");
    accepted("revoke by TokenId::new", tokens.revoke(&made).await);
}

#[tokio::test]
#[ignore = "needs a Prism mock of the Unit contract; .ci/run starts one"]
async fn the_mock_does_refuse_what_breaks_the_contract() {
    // Without this control a mock that checks nothing would pass every
    // test above: an expiration without milliseconds must be refused.
    let body = serde_json::json!({"data": {"type": "apiToken", "attributes": {
        "description": "x", "scope": "customers", "expiration": "2030-01-01T00:00:00Z"
    }}});
    let url = format!("{}/users/2/api-tokens", prism_url().trim_end_matches('/'));
    let answer = reqwest::Client::new()
        .post(url)
        .bearer_auth("v2.public.FAKE-CONTRACT-KEY.sig")
        .header("content-type", "application/vnd.api+json")
        .header("accept", "application/vnd.api+json")
        .body(body.to_string())
        .send()
        .await
        .expect("Prism answers");
    assert_eq!(answer.status().as_u16(), 422);
    assert!(answer.headers().contains_key("sl-violations"));
}
