//! The methods both fakes share, tried once through the generic fake on
//! each dialect.

use std::time::Duration;

use api_tokens::secrecy::{ExposeSecret, SecretString};
use api_tokens::testing::{Dialect, Fake, Fault, MailtrapDialect, MailtrapOp, UnitDialect, UnitOp};

/// What a test asks of any fake, written once against the dialect.
async fn the_shared_methods_act_on_the_fake<D: Dialect>(any: D::Op, first_id: u64) {
    let given = SecretString::from("given-credential");
    let fake = Fake::<D>::builder().token(given.clone()).start().await;
    assert_eq!(fake.token().expose_secret(), "given-credential");
    assert!(fake.uri().starts_with("http://127.0.0.1:"));
    assert_eq!(fake.next_id(), first_id);
    assert!(fake.tokens().is_empty());
    fake.set_next_id(first_id + 10)
        .expect("above every id held");
    assert_eq!(fake.next_id(), first_id + 10);
    assert!(fake.set_next_id(0).is_err());

    let before = fake.now();
    fake.advance_clock(Duration::from_secs(3600));
    assert!(fake.now() - before >= chrono::TimeDelta::seconds(3600));

    fake.inject(any, Fault::status(503));
    fake.expect(any).times(1);
    let answer = reqwest::get(format!("{}/anything", fake.uri()))
        .await
        .expect("the fake answers");
    assert_eq!(answer.status(), 503);
    assert_eq!(fake.requests().len(), 1);
    assert!(fake.requests()[0].faulted);
    fake.verify().expect("one request was expected and came");
    fake.clear_requests();
    assert!(fake.requests().is_empty());
    fake.clear_expectations();
}

#[tokio::test]
async fn both_fakes_share_one_set_of_methods() {
    the_shared_methods_act_on_the_fake::<UnitDialect>(UnitOp::Any, 1).await;
    the_shared_methods_act_on_the_fake::<MailtrapDialect>(MailtrapOp::Any, 12345).await;
}

#[tokio::test]
async fn an_expectation_names_the_service_endpoint() {
    let fake = Fake::<MailtrapDialect>::start().await;
    fake.expect(MailtrapOp::Create);
    let unmet = fake.verify().expect_err("nothing was created");
    assert!(unmet.to_string().contains("MailtrapOp::Create"), "{unmet}");
    fake.clear_expectations();
}

/// Sends `method` to `url` with the header `auth` and a JSON body if any:
/// the status and the JSON answer (null for none).
async fn call(
    method: reqwest::Method,
    url: &str,
    auth: (&str, String),
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .header(auth.0, auth.1);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let answer = request.send().await.expect("the fake answers");
    let status = answer.status().as_u16();
    let bytes = answer.bytes().await.expect("a body");
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

/// A clock advanced as far as a `Duration` goes (further than
/// `DateTime<Utc>` reaches) stays at the last moment it holds: `now()`
/// answers, and so does every endpoint of both fakes, computing expiries
/// from it.
#[tokio::test]
async fn a_clock_advanced_beyond_the_last_date_stays_there_and_the_fakes_answer() {
    use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed, UnitFake, UnitTokenSeed};
    use chrono::{DateTime, SubsecRound, Utc};
    use reqwest::Method;
    use serde_json::json;

    let end = DateTime::<Utc>::MAX_UTC.trunc_subsecs(3);

    let mt = MailtrapFake::start().await;
    let before = mt.insert_token(MailtrapTokenSeed::new("before"));
    mt.advance_clock(Duration::from_secs(400 * 365 * 86_400 * 1000));
    mt.advance_clock(Duration::MAX);
    assert_eq!(mt.now(), end);
    let key = || ("api-token", mt.token().expose_secret().to_owned());
    let base = format!("{}/api/api_tokens", mt.uri());
    let (status, listed) = call(Method::GET, &base, key(), None).await;
    assert_eq!((status, listed.as_array().map(Vec::len)), (200, Some(1)));
    // Left without an expiry, a token gets the default lifetime: to the end.
    let (status, created) = call(
        Method::POST,
        &base,
        key(),
        Some(json!({"name": "late", "resources": [
            {"resource_type": "account", "resource_id": mt.account_id(), "access_level": 100}]})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert!(created["expires_at"].is_string(), "{created}");
    // A token that never expires is reset; its grace ends at the end.
    let (status, reset) = call(
        Method::POST,
        &format!("{base}/{}/reset", before.id),
        key(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{reset}");
    let (status, _) = call(Method::GET, &format!("{base}/{}", reset["id"]), key(), None).await;
    assert_eq!(status, 200);
    let (status, _) = call(
        Method::DELETE,
        &format!("{base}/{}", created["id"]),
        key(),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let held = mt.tokens();
    assert_eq!(held.len(), 2);
    assert_eq!((held[0].id, held[0].expires_at), (before.id, Some(end)));

    let unit = UnitFake::start().await;
    let seeded = unit.insert_token(UnitTokenSeed::new("seeded"));
    unit.advance_clock(Duration::MAX);
    assert_eq!(unit.now(), end);
    // A seed's default expiration (30 days on) stops at the end too.
    assert_eq!(
        unit.insert_token(UnitTokenSeed::new("late")).expiration,
        end
    );
    let bearer = || {
        (
            "authorization",
            format!("Bearer {}", unit.token().expose_secret()),
        )
    };
    let base = format!("{}/users/{}/api-tokens", unit.uri(), unit.user_id());
    let (status, listed) = call(Method::GET, &base, bearer(), None).await;
    assert_eq!(
        (status, listed["data"].as_array().map(Vec::len)),
        (200, Some(2))
    );
    // No expiration can be in the future any more: 400, not a panic.
    let (status, refused) = call(
        Method::POST,
        &base,
        bearer(),
        Some(json!({"data": {"type": "apiToken", "attributes": {
            "description": "x", "scope": "customers",
            "expiration": "9999-12-31T23:59:59.999Z"}}})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    let (status, _) = call(
        Method::DELETE,
        &format!("{base}/{}", seeded.id),
        bearer(),
        None,
    )
    .await;
    assert_eq!(status, 200);
}
