//! Faults injected on the fakes, seen end to end through this crate's
//! clients: what the retry policy repeats (reads on 429, 5xx, dropped
//! connections and timeouts; writes only on 429) and what it never repeats
//! (a create or reset whose answer may have been lost), checked against the
//! fakes' request logs and state.
//!
//! Real time throughout: a `Retry-After: 1` costs one real second, and the
//! backoff is kept to milliseconds.

use std::time::Duration;

use api_tokens::mailtrap::{self, AccessLevel, Expiry, ResourceType};
use api_tokens::testing::{Fault, MailtrapFake, MailtrapOp, UnitFake, UnitOp};
use api_tokens::unit::{self, CreateApiToken, Scope};
use api_tokens::{Error, RateLimit, RetryPolicy};
use chrono::{TimeDelta, Utc};

/// The cause of a create's or reset's failure whose outcome is unknown:
/// the crate says a token may have been minted, and that it did not retry.
fn lost(err: &Error) -> &Error {
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(!err.is_retryable(), "reconcile, do not simply retry");
    match err {
        Error::OutcomeUnknown { cause, .. } => cause,
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().initial_backoff(Duration::from_millis(10))
}

fn unit_client(fake: &UnitFake) -> unit::Client {
    unit::Client::builder()
        .token(fake.token().clone())
        .base_url(fake.uri())
        .retry(fast_retries())
        .build()
        .unwrap()
}

fn mailtrap_client(fake: &MailtrapFake) -> mailtrap::Client {
    mailtrap::Client::builder()
        .token(fake.token().clone())
        .account_id(fake.account_id())
        .base_url(fake.uri())
        .retry(fast_retries())
        .build()
        .unwrap()
}

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

/// `(operation, status, faulted)` of each logged request.
fn log_of(log: &[api_tokens::testing::LoggedRequest]) -> Vec<(&str, Option<u16>, bool)> {
    log.iter()
        .map(|r| (r.operation.unwrap_or("?"), r.status, r.faulted))
        .collect()
}

// ---- 429 with Retry-After, then success ----

#[tokio::test]
async fn unit_create_after_a_429_with_retry_after_succeeds_once_repeated() {
    let fake = UnitFake::start().await;
    fake.inject(UnitOp::Create, Fault::status(429).retry_after(1));
    let client = unit_client(&fake);
    let created = client
        .org_api_tokens(fake.user_id())
        .create(unit_request())
        .await
        .unwrap();
    assert_eq!(client.stats().retries, 1);
    assert_eq!(client.stats().requests, 2);
    assert_eq!(
        log_of(&fake.requests()),
        [("create", Some(429), true), ("create", Some(201), false)]
    );
    let held = fake.tokens();
    assert_eq!(held.len(), 1, "the 429 minted nothing; the repeat one");
    assert_eq!(held[0].id, created.id.as_str());
}

#[tokio::test]
async fn unit_list_after_a_429_with_retry_after_succeeds_once_repeated() {
    let fake = UnitFake::start().await;
    fake.inject(UnitOp::List, Fault::status(429).retry_after(1));
    let client = unit_client(&fake);
    let listed = client.org_api_tokens(fake.user_id()).list().await.unwrap();
    assert!(listed.is_empty());
    assert_eq!(client.stats().retries, 1);
    assert_eq!(
        log_of(&fake.requests()),
        [("list", Some(429), true), ("list", Some(200), false)]
    );
}

#[tokio::test]
async fn mailtrap_create_after_a_429_with_retry_after_succeeds_once_repeated() {
    let fake = MailtrapFake::start().await;
    fake.inject(MailtrapOp::Create, Fault::status(429).retry_after(1));
    let client = mailtrap_client(&fake);
    let created = client
        .api_tokens()
        .create(mailtrap_request(&fake))
        .await
        .unwrap();
    assert_eq!(client.stats().retries, 1);
    assert_eq!(
        log_of(&fake.requests()),
        [("create", Some(429), true), ("create", Some(200), false)]
    );
    let held = fake.tokens();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, created.id);
    // The rate-limit headers the client last saw are the 200's: the
    // fake's own limit, the 429 counted.
    assert_eq!(
        client.last_rate_limit(),
        Some(RateLimit::new(Some(150), Some(148)))
    );
}

#[tokio::test]
async fn mailtrap_list_after_a_429_with_retry_after_succeeds_once_repeated() {
    let fake = MailtrapFake::start().await;
    fake.inject(MailtrapOp::List, Fault::status(429).retry_after(1));
    let client = mailtrap_client(&fake);
    assert!(client.api_tokens().list().await.unwrap().is_empty());
    assert_eq!(client.stats().retries, 1);
    assert_eq!(
        log_of(&fake.requests()),
        [("list", Some(429), true), ("list", Some(200), false)]
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_policy_is_returned_not_waited_for() {
    let fake = MailtrapFake::start().await;
    fake.inject(MailtrapOp::List, Fault::status(429).retry_after(120));
    let client = mailtrap_client(&fake);
    let err = client.api_tokens().list().await.unwrap_err();
    let Error::RateLimited { retry_after, error } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    assert_eq!(*retry_after, Some(Duration::from_secs(120)));
    assert_eq!(error.messages, ["Rate limit exceeded"]);
    assert_eq!(error.rate_limit, Some(RateLimit::new(Some(150), Some(0))));
    assert_eq!(client.stats().retries, 0);
    assert_eq!(fake.requests().len(), 1);

    let unit = UnitFake::start().await;
    unit.inject(UnitOp::Create, Fault::status(429).retry_after(120));
    let client = unit_client(&unit);
    let err = client
        .org_api_tokens(unit.user_id())
        .create(unit_request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(120)),
        "{err:?}"
    );
    assert_eq!(unit.requests().len(), 1);
    assert!(unit.tokens().is_empty());
}

// ---- 5xx: writes are not repeated, reads are ----

#[tokio::test]
async fn a_503_on_unit_create_is_not_repeated() {
    let fake = UnitFake::start().await;
    fake.inject(UnitOp::Create, Fault::status(503));
    let client = unit_client(&fake);
    let err = client
        .org_api_tokens(fake.user_id())
        .create(unit_request())
        .await
        .unwrap_err();
    let Error::Api(api) = lost(&err) else {
        panic!("expected Api, got {err:?}");
    };
    assert_eq!(api.status, 503);
    assert_eq!(api.messages, ["Service Unavailable"]);
    let support_id = api.request_id.as_deref().expect("Unit's supportId");
    assert_eq!(support_id.len(), 32);
    assert_eq!(
        err.request_id(),
        Some(support_id),
        "seen through the wrapper"
    );
    assert_eq!(log_of(&fake.requests()), [("create", Some(503), true)]);
    assert_eq!(client.stats().retries, 0);
    assert!(fake.tokens().is_empty(), "a status fault mints nothing");
}

#[tokio::test]
async fn a_503_on_mailtrap_create_and_reset_is_not_repeated() {
    let fake = MailtrapFake::start().await;
    let client = mailtrap_client(&fake);
    fake.inject(MailtrapOp::Create, Fault::status(503));
    let err = client
        .api_tokens()
        .create(mailtrap_request(&fake))
        .await
        .unwrap_err();
    let Error::Api(api) = lost(&err) else {
        panic!("expected Api, got {err:?}");
    };
    assert_eq!(api.status, 503);
    assert_eq!(api.messages, ["Service Unavailable"]);
    assert!(fake.tokens().is_empty());

    let created = client
        .api_tokens()
        .create(mailtrap_request(&fake))
        .await
        .unwrap();
    fake.inject(MailtrapOp::Reset, Fault::status(503));
    let err = client
        .api_tokens()
        .reset(created.id, Expiry::ServerDefault)
        .await
        .unwrap_err();
    assert_eq!(lost(&err).status(), Some(503));
    assert_eq!(err.status(), Some(503));
    assert_eq!(
        log_of(&fake.requests()),
        [
            ("create", Some(503), true),
            ("create", Some(200), false),
            ("reset", Some(503), true),
        ]
    );
    assert_eq!(client.stats().retries, 0);
    let held = fake.tokens();
    assert_eq!(held.len(), 1);
    // A reset would have set the old token's grace period (12 hours);
    // the created token keeps the default year.
    assert_eq!(held[0].id, created.id);
    assert_eq!(
        held[0].expires_at, created.expires_at,
        "the faulted reset did nothing"
    );
    assert!(held[0].replaced_by.is_none());
}

#[tokio::test]
async fn a_503_on_a_read_is_repeated_until_the_policy_gives_up() {
    let unit = UnitFake::start().await;
    unit.inject(UnitOp::List, Fault::status(503));
    let client = unit_client(&unit);
    assert!(client.org_api_tokens(unit.user_id()).list().await.is_ok());
    assert_eq!(client.stats().retries, 1);
    assert_eq!(
        log_of(&unit.requests()),
        [("list", Some(503), true), ("list", Some(200), false)]
    );

    let mt = MailtrapFake::start().await;
    mt.inject(MailtrapOp::Get, Fault::status(502).times(10));
    let client = mailtrap_client(&mt);
    let err = client
        .api_tokens()
        .get(mailtrap::TokenId::new(12345).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(
        client.stats().requests,
        4,
        "the default policy's 4 attempts"
    );
    assert_eq!(client.stats().retries, 3);
    assert_eq!(mt.requests().len(), 4);
    assert!(mt.requests().iter().all(|r| r.status == Some(502)));
}

// ---- answers lost after the service acted ----

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_not_repeated_and_the_token_exists() {
    let unit = UnitFake::start().await;
    unit.inject(UnitOp::Create, Fault::lose_answer());
    let client = unit_client(&unit);
    let err = client
        .org_api_tokens(unit.user_id())
        .create(unit_request())
        .await
        .unwrap_err();
    assert!(
        matches!(lost(&err), Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(log_of(&unit.requests()), [("create", None, true)]);
    assert_eq!(
        unit.tokens().len(),
        1,
        "minted, though the caller never saw it"
    );
    // The caller can find it by listing.
    let listed = client.org_api_tokens(unit.user_id()).list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, unit.tokens()[0].id.as_str());

    let mt = MailtrapFake::start().await;
    let client = mailtrap_client(&mt);
    mt.inject(MailtrapOp::Create, Fault::lose_answer());
    let err = client
        .api_tokens()
        .create(mailtrap_request(&mt))
        .await
        .unwrap_err();
    assert!(
        matches!(lost(&err), Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(mt.tokens().len(), 1);

    // A lost reset: the old token is expiring and a new one exists.
    let old = mt.tokens()[0].id;
    mt.inject(MailtrapOp::Reset, Fault::lose_answer());
    let err = client
        .api_tokens()
        .reset(old, Expiry::ServerDefault)
        .await
        .unwrap_err();
    assert!(
        matches!(lost(&err), Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    let held = mt.tokens();
    assert_eq!(held.len(), 2);
    assert!(held[0].expires_at.is_some());
    assert_eq!(
        log_of(&mt.requests()),
        [("create", None, true), ("reset", None, true)]
    );
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn a_delete_whose_answer_is_lost_is_repeated_and_counts_as_done() {
    // DELETE is idempotent, so the transport repeats it; the repeat finds
    // the token already gone, which the earlier attempt did: success.
    let unit = UnitFake::start().await;
    let client = unit_client(&unit);
    let tokens = client.org_api_tokens(unit.user_id());
    let created = tokens.create(unit_request()).await.unwrap();
    unit.inject(UnitOp::Revoke, Fault::lose_answer());
    let after = tokens.revoke(&created.id).await.unwrap();
    assert!(after.is_none(), "{after:?}");
    assert!(unit.tokens().is_empty());
    assert_eq!(client.stats().retries, 1);
    assert_eq!(
        log_of(&unit.requests())[1..],
        [("revoke", None, true), ("revoke", Some(404), false)]
    );

    let mt = MailtrapFake::start().await;
    let client = mailtrap_client(&mt);
    let created = client
        .api_tokens()
        .create(mailtrap_request(&mt))
        .await
        .unwrap();
    mt.inject(MailtrapOp::Delete, Fault::lose_answer());
    client.api_tokens().delete(created.id).await.unwrap();
    assert!(mt.tokens().is_empty());
    assert_eq!(
        log_of(&mt.requests())[1..],
        [("delete", None, true), ("delete", Some(404), false)]
    );
}

#[tokio::test]
async fn a_delete_of_a_missing_token_is_not_found_when_nothing_was_lost() {
    let mt = MailtrapFake::start().await;
    let client = mailtrap_client(&mt);
    let err = client
        .api_tokens()
        .delete(mailtrap::TokenId::new(999_999).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(client.stats().retries, 0);

    let unit = UnitFake::start().await;
    let client = unit_client(&unit);
    let err = client
        .org_api_tokens(unit.user_id())
        .revoke(&"999999".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

// ---- dropped connections ----

#[tokio::test]
async fn a_dropped_connection_on_list_is_repeated() {
    let unit = UnitFake::start().await;
    let client = unit_client(&unit);
    let tokens = client.org_api_tokens(unit.user_id());
    let created = tokens.create(unit_request()).await.unwrap();
    unit.inject(UnitOp::List, Fault::drop_connection());
    let listed = tokens.list().await.unwrap();
    assert_eq!(listed, [created.without_secret()]);
    assert_eq!(client.stats().retries, 1);
    assert_eq!(
        log_of(&unit.requests())[1..],
        [("list", None, true), ("list", Some(200), false)]
    );

    let mt = MailtrapFake::start().await;
    let client = mailtrap_client(&mt);
    mt.inject(MailtrapOp::List, Fault::drop_connection());
    assert!(client.api_tokens().list().await.unwrap().is_empty());
    assert_eq!(client.stats().retries, 1);
    assert_eq!(
        log_of(&mt.requests()),
        [("list", None, true), ("list", Some(200), false)]
    );
}

#[tokio::test]
async fn a_dropped_connection_on_create_is_not_repeated() {
    let unit = UnitFake::start().await;
    unit.inject(UnitOp::Create, Fault::drop_connection());
    let client = unit_client(&unit);
    let err = client
        .org_api_tokens(unit.user_id())
        .create(unit_request())
        .await
        .unwrap_err();
    assert!(
        matches!(lost(&err), Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(log_of(&unit.requests()), [("create", None, true)]);
    assert!(unit.tokens().is_empty(), "dropped before acting");
    assert_eq!(client.stats().requests, 1);

    let mt = MailtrapFake::start().await;
    mt.inject(MailtrapOp::Create, Fault::drop_connection());
    let client = mailtrap_client(&mt);
    let err = client
        .api_tokens()
        .create(mailtrap_request(&mt))
        .await
        .unwrap_err();
    assert!(
        matches!(lost(&err), Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(log_of(&mt.requests()), [("create", None, true)]);
    assert!(mt.tokens().is_empty());
}

#[tokio::test]
async fn connections_dropped_on_every_attempt_end_in_a_transport_error() {
    let unit = UnitFake::start().await;
    unit.inject(UnitOp::List, Fault::drop_connection().times(10));
    let client = unit_client(&unit);
    let err = client
        .org_api_tokens(unit.user_id())
        .list()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { attempts: 4, .. }),
        "{err:?}"
    );
    assert_eq!(unit.requests().len(), 4);
    // The six faults left still apply, then the fake answers again.
    unit.clear_faults();
    assert!(client.org_api_tokens(unit.user_id()).list().await.is_ok());
}

// ---- slow answers ----

#[tokio::test]
async fn a_slow_answer_times_out_a_create_once_and_a_read_is_repeated() {
    let mt = MailtrapFake::start().await;
    let client = mailtrap::Client::builder()
        .token(mt.token().clone())
        .account_id(mt.account_id())
        .base_url(mt.uri())
        .retry(fast_retries())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    mt.inject(MailtrapOp::Create, Fault::delay(Duration::from_secs(3)));
    let err = client
        .api_tokens()
        .create(mailtrap_request(&mt))
        .await
        .unwrap_err();
    assert!(
        matches!(lost(&err), Error::Timeout { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(mt.tokens().len(), 1, "the service acted on it");

    mt.inject(MailtrapOp::List, Fault::delay(Duration::from_secs(3)));
    let listed = client.api_tokens().list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(client.stats().retries, 1);
    assert_eq!(
        log_of(&mt.requests()),
        [
            ("create", Some(200), true),
            ("list", Some(200), true),
            ("list", Some(200), false),
        ]
    );
}
