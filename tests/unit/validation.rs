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

fn user() -> unit::UserId {
    "2".parse().expect("a valid user id")
}

/// Sends `request` for user 2 and checks it is refused for `field`.
async fn refused_create(request: CreateApiToken, field: &str, says: &str) {
    let server = silent_server().await;
    let result = client(&server).org_api_tokens(user()).create(request).await;
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

const BAD_IDS: [&str; 12] = [
    "0", "", "abc", "-1", "+1", "01", " 2", "2 ", "1.5", "2/../3", "..", "２",
];

/// An id is checked once, when it is made, by every way of making one: an
/// id in hand is always one Unit could have written, so no call can carry
/// a bad one.
#[test]
fn user_id_that_is_not_a_positive_integer_cannot_be_made() {
    for bad in BAD_IDS {
        assert_invalid(unit::UserId::new(bad), "user_id", "positive integer");
        assert_invalid(bad.parse::<unit::UserId>(), "user_id", "positive integer");
        assert_invalid(unit::UserId::try_from(bad), "user_id", "positive integer");
        assert_invalid(
            unit::UserId::try_from(bad.to_owned()),
            "user_id",
            "positive integer",
        );
    }
    assert_invalid(unit::UserId::try_from(0_u64), "user_id", "positive integer");
    let ok = unit::UserId::try_from(2_u64).expect("2");
    assert_eq!(ok, user());
    assert_eq!(ok.as_str(), "2");
}

#[test]
fn token_id_that_is_not_a_positive_integer_cannot_be_made() {
    for bad in BAD_IDS {
        assert_invalid(unit::TokenId::new(bad), "token_id", "positive integer");
        assert_invalid(bad.parse::<unit::TokenId>(), "token_id", "positive integer");
        assert_invalid(unit::TokenId::try_from(bad), "token_id", "positive integer");
    }
    assert_invalid(
        unit::TokenId::try_from(0_u64),
        "token_id",
        "positive integer",
    );
    assert_eq!(
        unit::TokenId::try_from(u64::MAX).expect("max").as_str(),
        u64::MAX.to_string()
    );
}

#[tokio::test]
async fn calls_with_valid_ids_reach_the_service_at_the_ids_path() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("DELETE"))
        .and(wiremock::matchers::path("/users/2/api-tokens/22"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = client(&server).org_api_tokens(user());
    assert_eq!(tokens.user_id(), &user());
    let id = unit::TokenId::try_from(22_u64).expect("22");
    assert_eq!(tokens.revoke(&id).await.expect("revoked"), None);
}

#[test]
fn refusal_names_the_bad_value() {
    let err = "two".parse::<unit::UserId>().unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("invalid user_id: `two`"), "{text}");
    let err = unit::TokenId::new("1 9").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("invalid token_id: `1 9`"), "{text}");
}
