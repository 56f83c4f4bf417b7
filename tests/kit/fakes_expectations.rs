//! Expectations on the fakes, as wiremock's `Mock::expect`: checked on
//! demand with `verify` and when the fake is dropped, with a report that
//! lists what was expected and every request received, never a secret.

use crate::kit_support;

use std::panic::{AssertUnwindSafe, catch_unwind};

use api_tokens::mailtrap::{self, AccessLevel, Expiry, ResourceType};
use api_tokens::testing::{Fault, KitError, MailtrapFake, MailtrapOp, UnitFake, UnitOp};
use api_tokens::unit::{CreateApiToken, Scope};
use chrono::{TimeDelta, Utc};
use kit_support::{mailtrap_client, unit_client};
use secrecy::ExposeSecret;

fn unit_request() -> CreateApiToken {
    CreateApiToken::new("ci", [Scope::Customers], Utc::now() + TimeDelta::days(30))
}

fn mailtrap_request(fake: &MailtrapFake) -> mailtrap::CreateApiToken {
    mailtrap::CreateApiToken::new("ci").permission(
        ResourceType::Account,
        fake.account_id(),
        AccessLevel::Admin,
    )
}

/// The text of a panic's payload.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[tokio::test]
async fn met_expectations_pass_verify_and_the_drop() {
    let fake = UnitFake::start().await;
    let create = fake.expect(UnitOp::Create).times(1);
    fake.expect(UnitOp::List).times(1..=3);
    fake.expect(UnitOp::Revoke).times(0);
    fake.expect(UnitOp::Any).times(2..);
    let at_least_once = fake.expect(UnitOp::List);

    let client = unit_client(&fake, fake.token());
    let tokens = client.org_api_tokens(fake.user_id());
    tokens.create(unit_request()).await.unwrap();
    tokens.list().await.unwrap();
    tokens.list().await.unwrap();

    assert_eq!(create.received(), 1);
    assert_eq!(at_least_once.received(), 2);
    fake.verify().unwrap();
    drop(fake); // checked again here: no panic
}

#[tokio::test]
async fn calls_faulted_or_refused_count_too() {
    let fake = MailtrapFake::start().await;
    let client = mailtrap_client(&fake, fake.token());
    fake.expect(MailtrapOp::Create).times(2);
    fake.expect(MailtrapOp::Get).times(..=1);
    fake.inject(MailtrapOp::Create, Fault::status(503));
    assert!(
        client
            .api_tokens()
            .create(mailtrap_request(&fake))
            .await
            .is_err()
    );
    let created = client
        .api_tokens()
        .create(mailtrap_request(&fake))
        .await
        .unwrap();
    let err = client
        .api_tokens()
        .get(mailtrap::TokenId::new(created.id.get() + 100).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    fake.verify().unwrap();
}

#[tokio::test]
async fn an_unmet_expectation_fails_verify_with_what_arrived() {
    let fake = MailtrapFake::start().await;
    let client = mailtrap_client(&fake, fake.token());
    fake.expect(MailtrapOp::Create).times(1);
    fake.expect(MailtrapOp::Reset).times(1);
    fake.expect(MailtrapOp::List).times(..2);
    let created = client
        .api_tokens()
        .create(mailtrap_request(&fake))
        .await
        .unwrap();
    client.api_tokens().list().await.unwrap();
    client.api_tokens().list().await.unwrap();
    fake.inject(MailtrapOp::Get, Fault::drop_connection());
    let _ = client.api_tokens().get(created.id).await;

    let err = fake.verify().unwrap_err();
    let KitError::Expectations { unmet, received } = &err else {
        panic!("expected Expectations, got {err:?}");
    };
    assert_eq!(
        unmet,
        &[
            "MailtrapOp::Reset: expected exactly 1 call(s), received 0",
            "MailtrapOp::List: expected at most 1 call(s), received 2",
        ]
    );
    let path = format!("/api/accounts/{}/api_tokens", fake.account_id());
    assert_eq!(
        received,
        &[
            format!("POST {path} → 200"),
            format!("GET {path} → 200"),
            format!("GET {path} → 200"),
            format!("GET {path}/{} → connection closed", created.id),
        ]
    );
    let message = err.to_string();
    assert!(message.contains("MailtrapOp::Reset: expected exactly 1 call(s), received 0"));
    assert!(message.contains("requests received (4):"));
    assert!(!message.contains(fake.token().expose_secret()));
    assert!(!message.contains(created.token.expose_secret()));

    // Disarmed, they are not checked again when the fake drops.
    fake.clear_expectations();
    fake.verify().unwrap();
}

#[tokio::test]
async fn an_unmet_expectation_panics_when_the_fake_drops() {
    let fake = UnitFake::start().await;
    fake.expect(UnitOp::Revoke).times(1);
    fake.expect(UnitOp::Create).times(1..=2);
    let client = unit_client(&fake, fake.token());
    let created = client
        .org_api_tokens(fake.user_id())
        .create(unit_request())
        .await
        .unwrap();
    // A query string could carry anything: the report leaves it out.
    let url = format!(
        "{}/users/{}/api-tokens?secret=hush",
        fake.uri(),
        fake.user_id()
    );
    reqwest::Client::new()
        .get(url)
        .bearer_auth(fake.token().expose_secret())
        .send()
        .await
        .unwrap();
    let token = fake.token().clone();
    let user = fake.user_id().to_owned();

    let payload = catch_unwind(AssertUnwindSafe(move || drop(fake))).unwrap_err();
    let message = panic_text(payload);
    assert!(
        message.starts_with("expectations of the fake not met:"),
        "{message}"
    );
    assert!(
        message.contains("UnitOp::Revoke: expected exactly 1 call(s), received 0"),
        "{message}"
    );
    assert!(!message.contains("UnitOp::Create"), "met: {message}");
    assert!(message.contains("requests received (2):"), "{message}");
    assert!(message.contains(&format!("POST /users/{user}/api-tokens → 201")));
    assert!(message.contains(&format!("GET /users/{user}/api-tokens → 200")));
    assert!(!message.contains("hush"), "{message}");
    assert!(!message.contains(token.expose_secret()));
    assert!(!message.contains(created.token.expose_secret()));
}

#[tokio::test]
async fn a_fake_dropped_while_the_thread_panics_does_not_panic_again() {
    let fake = MailtrapFake::start().await;
    fake.expect(MailtrapOp::Delete).times(1);
    // Had the drop panicked during this unwinding, the process would abort.
    let payload = catch_unwind(AssertUnwindSafe(move || {
        let _fake = fake;
        panic!("the test's own failure");
    }))
    .unwrap_err();
    assert_eq!(panic_text(payload), "the test's own failure");
}

#[tokio::test]
async fn an_expectation_counts_both_mailtrap_path_forms() {
    let fake = MailtrapFake::start().await;
    let client = mailtrap_client(&fake, fake.token());
    let reset = fake.expect(MailtrapOp::Reset).times(2);
    let first = client
        .api_tokens()
        .create(mailtrap_request(&fake))
        .await
        .unwrap();
    client
        .api_tokens()
        .reset(first.id, Expiry::ServerDefault)
        .await
        .unwrap();
    let second = client
        .api_tokens()
        .create(mailtrap_request(&fake))
        .await
        .unwrap();
    let answer = reqwest::Client::new()
        .post(format!("{}/api/api_tokens/{}/reset", fake.uri(), second.id))
        .header("Api-Token", fake.token().expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(reset.received(), 2);
    fake.verify().unwrap();
}
