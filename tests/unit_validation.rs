//! Every argument Unit would refuse is refused before a request is sent.

use api_tokens::Error;
use api_tokens::secrecy::SecretString;
use api_tokens::unit::{self, CreateApiToken, ResourceRestriction, ResourceType, Scope};
use chrono::{Duration, TimeZone, Utc};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server that fails the test if anything reaches it.
async fn silent_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .named("no request may be sent")
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer) -> unit::Client {
    unit::Client::builder()
        .token(SecretString::from("v2.public.FAKE-ADMIN-KEY.sig"))
        .base_url(server.uri())
        .build()
        .expect("client")
}

async fn assert_nothing_sent(server: &MockServer) {
    let requests = server.received_requests().await.expect("recording on");
    assert!(
        requests.is_empty(),
        "{} request(s) were sent",
        requests.len()
    );
}

/// Asserts `result` is `Error::Invalid` for `field`, with a reason that
/// contains `says`.
fn assert_invalid<T: std::fmt::Debug>(result: api_tokens::Result<T>, field: &str, says: &str) {
    match result {
        Err(Error::Invalid { field: f, reason }) => {
            assert_eq!(f, field, "reason: {reason}");
            assert!(
                reason.contains(says),
                "reason `{reason}` does not say `{says}`"
            );
        }
        other => panic!("expected Invalid {{ field: {field} }}, got {other:?}"),
    }
}

fn valid() -> CreateApiToken {
    CreateApiToken::new(
        "CI deploy",
        [Scope::Customers],
        Utc::now() + Duration::days(30),
    )
}

/// Sends `request` for user 2 and checks it is refused for `field`.
async fn refused_create(request: CreateApiToken, field: &str, says: &str) {
    let server = silent_server().await;
    let result = client(&server).org_api_tokens(2).create(request).await;
    assert_invalid(result, field, says);
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn empty_description_is_refused() {
    for description in ["", "   ", "\n\t"] {
        let request = CreateApiToken::new(
            description,
            [Scope::Customers],
            Utc::now() + Duration::days(1),
        );
        refused_create(request, "description", "description is empty").await;
    }
}

#[tokio::test]
async fn no_scope_is_refused() {
    let request = CreateApiToken::new("CI", Vec::<Scope>::new(), Utc::now() + Duration::days(1));
    refused_create(request, "scope", "at least one scope").await;
}

#[tokio::test]
async fn malformed_other_scope_is_refused() {
    for bad in [
        "Cards",
        "cards write",
        "",
        "cards,write",
        "cärds",
        "cards_write",
        "cards\n",
    ] {
        let request = valid().scope(Scope::Other(bad.to_owned()));
        refused_create(request, "scope", "lower-case letters and dashes").await;
        assert_invalid(
            bad.parse::<Scope>(),
            "scope",
            "lower-case letters and dashes",
        );
    }
}

#[tokio::test]
async fn expiration_not_in_the_future_is_refused() {
    let past = Utc.with_ymd_and_hms(2022, 7, 1, 13, 47, 17).unwrap();
    for expiration in [past, Utc::now() - Duration::seconds(1), Utc::now()] {
        let request = CreateApiToken::new("CI", [Scope::Customers], expiration);
        refused_create(request, "expiration", "not in the future").await;
    }
    let past_text = CreateApiToken::new("CI", [Scope::Customers], past);
    refused_create(past_text, "expiration", "2022-07-01T13:47:17.000Z").await;
}

#[tokio::test]
async fn expiration_past_year_9999_is_refused() {
    let far = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
    refused_create(
        CreateApiToken::new("CI", [Scope::Customers], far),
        "expiration",
        "four digits",
    )
    .await;
}

#[tokio::test]
async fn empty_resources_list_is_refused() {
    refused_create(
        valid().resources(Vec::<ResourceRestriction>::new()),
        "resources",
        "list of resources is empty",
    )
    .await;
}

#[tokio::test]
async fn resource_without_ids_is_refused() {
    refused_create(
        valid().resources([ResourceRestriction::cards(Vec::<String>::new())]),
        "resources",
        "`card` restriction has no ids",
    )
    .await;
    refused_create(
        valid().resources([
            ResourceRestriction::cards(["1"]),
            ResourceRestriction::accounts(Vec::<u64>::new()),
        ]),
        "resources",
        "`account` restriction has no ids",
    )
    .await;
}

#[tokio::test]
async fn resource_id_that_is_not_a_positive_integer_is_refused() {
    for bad in ["0", "abc", "-4", "01", "1 ", ""] {
        refused_create(
            valid().resources([ResourceRestriction::accounts([bad])]),
            "resources",
            "positive integer",
        )
        .await;
    }
}

#[tokio::test]
async fn malformed_resource_type_is_refused() {
    refused_create(
        valid().resources([ResourceRestriction::new(
            ResourceType::Other("debit card".into()),
            ["1"],
        )]),
        "resources",
        "use `card` or `account`",
    )
    .await;
    assert_invalid("".parse::<ResourceType>(), "resources", "resource type");
}

const BAD_IDS: [&str; 9] = ["0", "", "abc", "-1", "01", " 2", "2 ", "1.5", "2/../3"];

#[tokio::test]
async fn user_id_that_is_not_a_positive_integer_is_refused_by_every_call() {
    let server = silent_server().await;
    let client = client(&server);
    let mut ids: Vec<unit::UserId> = BAD_IDS.iter().map(|s| unit::UserId::from(*s)).collect();
    ids.push(unit::UserId::from(0_u64));
    for id in ids {
        let tokens = client.org_api_tokens(id);
        assert_invalid(tokens.create(valid()).await, "user_id", "positive integer");
        assert_invalid(tokens.list().await, "user_id", "positive integer");
        assert_invalid(tokens.revoke("22").await, "user_id", "positive integer");
    }
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn token_id_that_is_not_a_positive_integer_is_refused() {
    let server = silent_server().await;
    let tokens = client(&server).org_api_tokens(2);
    for bad in BAD_IDS {
        assert_invalid(tokens.revoke(bad).await, "token_id", "positive integer");
    }
    assert_invalid(tokens.revoke(0_u64).await, "token_id", "positive integer");
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn refusal_names_the_bad_value() {
    let server = silent_server().await;
    let err = client(&server)
        .org_api_tokens("two")
        .list()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("invalid user_id: `two`"), "{text}");
    assert_nothing_sent(&server).await;
}
