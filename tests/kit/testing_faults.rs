//! Fault injection on the fakes and their request log, seen from plain HTTP.

use std::time::Duration;

use api_tokens::testing::{Fault, MailtrapFake, MailtrapOp, UnitFake, UnitOp, placeholder};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

struct Mailtrap {
    fake: MailtrapFake,
    http: reqwest::Client,
    base: String,
}

impl Mailtrap {
    async fn start() -> Mailtrap {
        let fake = MailtrapFake::start().await;
        let base = format!(
            "{}/api/accounts/{}/api_tokens",
            fake.uri(),
            fake.account_id()
        );
        Mailtrap {
            fake,
            http: reqwest::Client::new(),
            base,
        }
    }

    async fn list(&self) -> reqwest::Result<reqwest::Response> {
        self.http
            .get(&self.base)
            .header("Api-Token", self.fake.token().expose_secret())
            .send()
            .await
    }

    fn create_request(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let body = json!({"name": "ci", "resources": [
            {"resource_type": "account", "resource_id": self.fake.account_id(), "access_level": 100}]});
        client
            .post(&self.base)
            .header("Api-Token", self.fake.token().expose_secret())
            .header("content-type", "application/json")
            .body(body.to_string())
    }
}

#[tokio::test]
async fn the_next_n_calls_answer_the_status_in_the_service_shape() {
    let mt = Mailtrap::start().await;
    mt.fake
        .inject(MailtrapOp::List, Fault::status(503).times(2));
    for _ in 0..2 {
        let answer = mt.list().await.unwrap();
        assert_eq!(answer.status(), 503);
        assert!(answer.headers().get("retry-after").is_none());
        assert_eq!(
            json_of(&answer.bytes().await.unwrap()),
            json!({"error": "Service Unavailable"})
        );
    }
    assert_eq!(
        mt.list().await.unwrap().status(),
        200,
        "then back to normal"
    );

    let unit = UnitFake::start().await;
    unit.inject(UnitOp::Any, Fault::status(500));
    let answer = reqwest::Client::new()
        .get(format!(
            "{}/users/{}/api-tokens",
            unit.uri(),
            unit.user_id()
        ))
        .bearer_auth(unit.token().expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 500);
    assert_eq!(answer.headers()["content-type"], "application/vnd.api+json");
    let body = json_of(&answer.bytes().await.unwrap());
    assert_eq!(body["errors"][0]["status"], "500");
    assert!(body["errors"][0]["meta"]["supportId"].is_string());
}

#[tokio::test]
async fn rate_limits_carry_retry_after_when_asked() {
    let mt = Mailtrap::start().await;
    mt.fake
        .inject(MailtrapOp::List, Fault::status(429).retry_after(2));
    mt.fake.inject(MailtrapOp::List, Fault::status(429));
    mt.fake.inject(
        MailtrapOp::List,
        Fault::status(429).retry_after_value("Wed, 21 Oct 2037 07:28:00 GMT"),
    );

    let first = mt.list().await.unwrap();
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "2");
    assert_eq!(first.headers()["x-ratelimit-limit"], "150");
    assert_eq!(first.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(
        json_of(&first.bytes().await.unwrap()),
        json!({"errors": "Rate limit exceeded"})
    );
    let second = mt.list().await.unwrap();
    assert_eq!(second.status(), 429);
    assert!(second.headers().get("retry-after").is_none());
    let third = mt.list().await.unwrap();
    assert_eq!(
        third.headers()["retry-after"],
        "Wed, 21 Oct 2037 07:28:00 GMT"
    );
    assert_eq!(mt.list().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_fault_hits_only_its_endpoint_and_is_not_acted_on() {
    let mt = Mailtrap::start().await;
    mt.fake.inject(MailtrapOp::Create, Fault::status(503));
    assert_eq!(mt.list().await.unwrap().status(), 200, "list is not create");
    let answer = mt.create_request(&mt.http).send().await.unwrap();
    assert_eq!(answer.status(), 503);
    assert!(
        mt.fake.tokens().is_empty(),
        "a faulted create mints nothing"
    );
    let answer = mt.create_request(&mt.http).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(mt.fake.tokens().len(), 1);

    mt.fake
        .inject(MailtrapOp::Create, Fault::status(500).times(5));
    mt.fake.clear_faults();
    assert_eq!(
        mt.create_request(&mt.http).send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_and_nothing_happens() {
    let mt = Mailtrap::start().await;
    mt.fake.inject(MailtrapOp::Create, Fault::drop_connection());
    let err = mt.create_request(&mt.http).send().await.unwrap_err();
    assert!(!err.is_timeout());
    assert!(err.status().is_none(), "no answer at all: {err}");
    assert!(mt.fake.tokens().is_empty());

    // Dropping after acting: the token exists though the answer was lost.
    mt.fake.inject(MailtrapOp::Create, Fault::lose_answer());
    let err = mt.create_request(&mt.http).send().await.unwrap_err();
    assert!(err.status().is_none(), "{err}");
    assert_eq!(mt.fake.tokens().len(), 1);

    // Faults on one endpoint apply in the order armed.
    mt.fake.inject(MailtrapOp::List, Fault::status(502));
    mt.fake.inject(MailtrapOp::List, Fault::drop_connection());
    assert_eq!(mt.list().await.unwrap().status(), 502);
    assert!(mt.list().await.is_err());
    assert_eq!(mt.list().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_delayed_answer_times_a_client_out_after_the_service_acted() {
    let mt = Mailtrap::start().await;
    mt.fake
        .inject(MailtrapOp::Create, Fault::delay(Duration::from_secs(5)));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = mt.create_request(&impatient).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(mt.fake.tokens().len(), 1, "the create happened");

    // A status answer can be held back too.
    mt.fake.inject(
        MailtrapOp::List,
        Fault::status(500).delayed(Duration::from_secs(5)),
    );
    let err = impatient
        .get(&mt.base)
        .header("Api-Token", mt.fake.token().expose_secret())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(mt.list().await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_request_log_keeps_bodies_but_not_credentials() {
    let mt = Mailtrap::start().await;
    mt.fake.inject(MailtrapOp::List, Fault::drop_connection());
    let _ = mt.list().await;
    mt.create_request(&mt.http).send().await.unwrap();
    mt.http
        .get(format!("{}/999", mt.base))
        .bearer_auth(mt.fake.token().expose_secret())
        .send()
        .await
        .unwrap();

    let log = mt.fake.requests();
    assert_eq!(log.len(), 3);
    let key = mt.fake.token().expose_secret();
    assert!(!format!("{log:?}").contains(key), "no credential in clear");

    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].operation, Some("list"));
    assert_eq!(log[0].status, None);
    assert!(log[0].faulted);
    assert_eq!(log[0].headers["api-token"], placeholder(mt.fake.token()));

    assert_eq!(log[1].method, "POST");
    assert_eq!(log[1].operation, Some("create"));
    assert_eq!(
        log[1].path,
        format!("/api/accounts/{}/api_tokens", mt.fake.account_id())
    );
    assert_eq!(log[1].body.as_ref().unwrap()["name"], "ci");
    assert_eq!(log[1].status, Some(200));
    assert!(!log[1].faulted);

    assert_eq!(log[2].operation, Some("get"));
    assert_eq!(log[2].status, Some(404));
    // As a cassette writes it: the scheme kept, the credential hidden.
    assert_eq!(
        log[2].headers["authorization"],
        format!("Bearer {}", placeholder(mt.fake.token()))
    );

    mt.fake.clear_requests();
    assert!(mt.fake.requests().is_empty());
}

#[tokio::test]
async fn a_test_can_override_one_endpoint_with_its_own_mock() {
    let unit = UnitFake::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(wiremock::ResponseTemplate::new(418))
        .mount(unit.server())
        .await;
    let url = format!("{}/users/{}/api-tokens", unit.uri(), unit.user_id());
    let http = reqwest::Client::new();
    let get = http.get(&url).send().await.unwrap();
    assert_eq!(get.status(), 418);
    let post = http.post(&url).send().await.unwrap();
    assert_eq!(post.status(), 401, "the rest is still the fake");
}

/// Unit's header is `Authorization: Bearer <token>`: the request log once
/// kept only the placeholder, where a cassette keeps `Bearer <placeholder>`.
/// Both now write it the same way, and a cookie as `[REDACTED]`.
#[tokio::test]
async fn the_unit_fakes_log_keeps_the_scheme_as_a_cassette_does() {
    let unit = UnitFake::start().await;
    let answer = reqwest::Client::new()
        .get(format!(
            "{}/users/{}/api-tokens",
            unit.uri(),
            unit.user_id()
        ))
        .bearer_auth(unit.token().expose_secret())
        .header("cookie", "session=abcdefabcdef0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let log = unit.requests();
    assert_eq!(
        log[0].headers["authorization"],
        format!("Bearer {}", placeholder(unit.token()))
    );
    assert_eq!(log[0].headers["cookie"], "[REDACTED]");
    let shown = format!("{log:?}");
    assert!(!shown.contains(unit.token().expose_secret()));
    assert!(!shown.contains("abcdefabcdef0123456789"));
}
