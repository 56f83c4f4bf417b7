//! Faults aimed at the n-th call, at the calls after the first n, at one
//! credential, or at the requests a predicate picks out, driven through
//! this crate's clients with retries off so that every call is one request.

use crate::kit_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_tokens::mailtrap::{self, AccessLevel, Expiry, ResourceType};
use api_tokens::testing::{
    Fault, IdOrder, ListLag, LoggedRequest, MailtrapFake, MailtrapOp, MailtrapTokenSeed,
    RequestView, UnitFake, UnitOp,
};
use api_tokens::unit::{self, CreateApiToken, Scope};
use api_tokens::{Error, RetryPolicy};
use chrono::{TimeDelta, Utc};
use kit_support::{mailtrap_client, unit_client};
use secrecy::{ExposeSecret, SecretString};

fn mailtrap_request(fake: &MailtrapFake, name: &str) -> mailtrap::CreateApiToken {
    mailtrap::CreateApiToken::new(name).permission(
        ResourceType::Account,
        fake.account_id(),
        AccessLevel::Admin,
    )
}

fn unit_request(description: &str) -> CreateApiToken {
    CreateApiToken::new(
        description,
        [Scope::Customers],
        Utc::now() + TimeDelta::days(30),
    )
}

/// `(status, faulted)` of each logged request.
fn statuses(log: &[LoggedRequest]) -> Vec<(Option<u16>, bool)> {
    log.iter().map(|r| (r.status, r.faulted)).collect()
}

const OK: (Option<u16>, bool) = (Some(200), false);

#[tokio::test]
async fn nth_hits_only_the_nth_call_and_times_extends_it() {
    let fake = UnitFake::start().await;
    let client = unit_client(&fake, fake.token());
    let tokens = client.org_api_tokens(fake.user_id());
    fake.inject(UnitOp::List, Fault::status(503).nth(3));
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        outcomes.push(tokens.list().await.map_err(|e| e.status()));
    }
    assert_eq!(
        outcomes,
        [
            Ok(vec![]),
            Ok(vec![]),
            Err(Some(503)),
            Ok(vec![]),
            Ok(vec![])
        ]
    );
    assert_eq!(
        statuses(&fake.requests()),
        [OK, OK, (Some(503), true), OK, OK]
    );

    // `.nth(2).times(2)`: the second and third calls.
    let mt = MailtrapFake::start().await;
    let client = mailtrap_client(&mt, mt.token());
    let created = client
        .api_tokens()
        .create(mailtrap_request(&mt, "target"))
        .await
        .unwrap();
    mt.clear_requests();
    mt.inject(MailtrapOp::Get, Fault::status(502).nth(2).times(2));
    for _ in 0..4 {
        let _ = client.api_tokens().get(created.id).await;
    }
    assert_eq!(
        statuses(&mt.requests()),
        [OK, (Some(502), true), (Some(502), true), OK]
    );
}

#[tokio::test]
async fn after_lets_the_first_n_calls_pass() {
    let mt = MailtrapFake::start().await;
    let client = mailtrap_client(&mt, mt.token());
    mt.inject(MailtrapOp::List, Fault::drop_connection().after(2).times(2));
    let mut dropped = Vec::new();
    for _ in 0..5 {
        let outcome = client.api_tokens().list().await;
        dropped.push(matches!(outcome, Err(Error::Transport { .. })));
    }
    assert_eq!(dropped, [false, false, true, true, false]);
    assert_eq!(
        statuses(&mt.requests()),
        [OK, OK, (None, true), (None, true), OK]
    );

    // `after(0)` is the next call; `nth(0)` reads as `nth(1)`.
    mt.inject(MailtrapOp::List, Fault::status(500).after(0));
    assert_eq!(
        client.api_tokens().list().await.unwrap_err().status(),
        Some(500)
    );
    mt.inject(MailtrapOp::List, Fault::status(501).nth(0));
    assert_eq!(
        client.api_tokens().list().await.unwrap_err().status(),
        Some(501)
    );
    assert!(client.api_tokens().list().await.is_ok());
}

#[tokio::test]
async fn a_fault_counts_every_call_from_when_it_is_armed_and_earlier_faults_come_first() {
    let unit = UnitFake::start().await;
    let client = unit_client(&unit, unit.token());
    let tokens = client.org_api_tokens(unit.user_id());
    let status_of = |r: Result<Vec<unit::ApiToken>, Error>| r.err().and_then(|e| e.status());

    // The second call is counted by the aimed fault though the first fault
    // shaped the first.
    unit.inject(UnitOp::List, Fault::status(500));
    unit.inject(UnitOp::List, Fault::status(502).nth(2));
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(status_of(tokens.list().await));
    }
    assert_eq!(seen, [Some(500), Some(502), None]);

    // When both want the same call, the one armed first has it; the aimed
    // one takes the next call no earlier fault takes.
    unit.inject(UnitOp::List, Fault::status(500).times(2));
    unit.inject(UnitOp::List, Fault::status(502).nth(2));
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(status_of(tokens.list().await));
    }
    assert_eq!(seen, [Some(500), Some(500), Some(502), None]);

    // Calls to other endpoints are not counted.
    unit.inject(UnitOp::List, Fault::status(503).nth(2));
    tokens.create(unit_request("not a list")).await.unwrap();
    assert!(tokens.list().await.is_ok());
    assert_eq!(status_of(tokens.list().await), Some(503));
}

#[tokio::test]
async fn a_call_answered_by_a_test_mock_is_not_counted() {
    let unit = UnitFake::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(wiremock::ResponseTemplate::new(418))
        .up_to_n_times(1)
        .mount(unit.server())
        .await;
    unit.inject(UnitOp::List, Fault::status(503).nth(2));
    let client = unit_client(&unit, unit.token());
    let tokens = client.org_api_tokens(unit.user_id());
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(tokens.list().await.err().and_then(|e| e.status()));
    }
    assert_eq!(seen, [Some(418), None, Some(503), None]);
    assert_eq!(
        unit.requests().len(),
        3,
        "the mock's call never reached the fake"
    );
}

/// The rotation a user wants to test: mint a new secret, probe it, and
/// keep the old credential if the probe fails.
#[tokio::test]
async fn the_new_secret_fails_its_probe_while_the_old_credential_still_works() {
    let mt = MailtrapFake::start().await;
    let owner = mailtrap_client(&mt, mt.token());
    let created = owner
        .api_tokens()
        .create(mailtrap_request(&mt, "deployer"))
        .await
        .unwrap();
    let old = mailtrap_client(&mt, &created.token);

    let rotated = old
        .api_tokens()
        .reset(created.id, Expiry::ServerDefault)
        .await
        .unwrap();
    mt.inject(
        MailtrapOp::List,
        Fault::status(401).when_token(&rotated.token),
    );
    let new = mailtrap_client(&mt, &rotated.token);
    let probe = new.api_tokens().list().await.unwrap_err();
    assert!(matches!(probe, Error::Unauthorized(_)), "{probe:?}");
    assert_eq!(probe.messages(), ["Incorrect API token"]);

    // The old credential and the fake's own still work, on the probed
    // endpoint and the others.
    assert_eq!(old.api_tokens().list().await.unwrap().len(), 2);
    assert!(old.api_tokens().get(rotated.id).await.is_ok());
    assert!(owner.api_tokens().list().await.is_ok());
    // The fault was used up: a second probe with the new secret passes.
    assert!(new.api_tokens().list().await.is_ok());
    let log = mt.requests();
    let faulted: Vec<_> = log.iter().filter(|r| r.faulted).collect();
    assert_eq!(faulted.len(), 1);
    assert_eq!(faulted[0].operation, Some("list"));
    assert_eq!(faulted[0].status, Some(401));

    // The same with Unit: a minted token's probe fails every time, the
    // fake's own token keeps listing.
    let unit = UnitFake::start().await;
    let admin = unit_client(&unit, unit.token());
    let minted = admin
        .org_api_tokens(unit.user_id())
        .create(unit_request("rotated"))
        .await
        .unwrap();
    unit.inject(
        UnitOp::Any,
        Fault::status(401).when_token(&minted.token).times(3),
    );
    let probe = unit_client(&unit, &minted.token);
    for _ in 0..3 {
        let err = probe
            .org_api_tokens(unit.user_id())
            .list()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
        assert_eq!(
            admin
                .org_api_tokens(unit.user_id())
                .list()
                .await
                .unwrap()
                .len(),
            1
        );
    }
    assert!(probe.org_api_tokens(unit.user_id()).list().await.is_ok());
}

#[tokio::test]
async fn when_token_combines_with_a_delay_and_with_nth() {
    let mt = MailtrapFake::start().await;
    let owner = mailtrap_client(&mt, mt.token());
    let created = owner
        .api_tokens()
        .create(mailtrap_request(&mt, "slow one"))
        .await
        .unwrap();
    let impatient = mailtrap::Client::builder()
        .token(created.token.clone())
        .account_id(mt.account_id())
        .base_url(mt.uri())
        .retry(RetryPolicy::disabled())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    // Only the minted credential's second list is slow.
    mt.inject(
        MailtrapOp::List,
        Fault::delay(Duration::from_secs(3))
            .when_token(&created.token)
            .nth(2),
    );
    assert!(impatient.api_tokens().list().await.is_ok());
    assert!(
        owner.api_tokens().list().await.is_ok(),
        "not counted: another credential"
    );
    let err = impatient.api_tokens().list().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(impatient.api_tokens().list().await.is_ok());
}

#[tokio::test]
async fn a_predicate_aims_at_the_requests_it_picks_out() {
    let mt = MailtrapFake::start().await;
    let client = mailtrap_client(&mt, mt.token());
    mt.inject(
        MailtrapOp::Create,
        Fault::status(422).when(|r| r.body.as_ref().is_some_and(|body| body["name"] == "doomed")),
    );
    let fine = client
        .api_tokens()
        .create(mailtrap_request(&mt, "fine"))
        .await;
    assert!(fine.is_ok());
    let doomed = client
        .api_tokens()
        .create(mailtrap_request(&mt, "doomed"))
        .await
        .unwrap_err();
    assert_eq!(doomed.status(), Some(422));
    assert_eq!(mt.tokens().len(), 1, "the faulted create minted nothing");
    assert!(
        client
            .api_tokens()
            .create(mailtrap_request(&mt, "doomed"))
            .await
            .is_ok()
    );

    // On every endpoint: lose the answer of a reset only, acting on it.
    mt.inject(
        MailtrapOp::Any,
        Fault::lose_answer().when(|r| r.method == "POST" && r.path.ends_with("/reset")),
    );
    let first = mt.tokens()[0].id;
    assert!(client.api_tokens().list().await.is_ok());
    let err = client
        .api_tokens()
        .reset(first, Expiry::ServerDefault)
        .await
        .unwrap_err();
    // The service acted and the answer was lost: the outcome is unknown.
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(
        matches!(&err, Error::OutcomeUnknown { cause, .. } if matches!(**cause, Error::Transport { .. })),
        "{err:?}"
    );
    assert_eq!(mt.tokens().len(), 3, "the reset happened");
}

#[tokio::test]
async fn a_predicate_sees_no_secret_and_combines_with_after_and_times() {
    let unit = UnitFake::start().await;
    let client = unit_client(&unit, unit.token());
    let tokens = client.org_api_tokens(unit.user_id());
    let seen: Arc<Mutex<Vec<RequestView>>> = Arc::default();
    let record = seen.clone();
    unit.inject(
        UnitOp::Create,
        Fault::drop_connection()
            .when(move |r| {
                record.lock().unwrap().push(r.clone());
                r.body.as_ref().is_some_and(|b| {
                    b["data"]["attributes"]["description"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("drop"))
                })
            })
            .after(1)
            .times(2),
    );
    let mut dropped = Vec::new();
    for description in ["keep", "drop 1", "drop 2", "drop 3", "drop 4", "keep"] {
        let outcome = tokens.create(unit_request(description)).await;
        dropped.push(outcome.is_err());
    }
    // "drop 1" is the one call let pass; "drop 2" and "drop 3" are dropped.
    assert_eq!(dropped, [false, false, true, true, false, false]);
    assert_eq!(unit.tokens().len(), 4);

    let views = seen.lock().unwrap();
    assert!(!views.is_empty());
    for view in views.iter() {
        assert_eq!(view.method, "POST");
        assert_eq!(view.operation, Some("create"));
        assert_eq!(view.path, format!("/users/{}/api-tokens", unit.user_id()));
        let auth = &view.headers["authorization"];
        assert!(auth.contains("redacted-"), "a placeholder: {auth}");
        assert!(!format!("{view:?}").contains(unit.token().expose_secret()));
    }
}

#[test]
fn a_fault_never_shows_its_credential() {
    let secret = SecretString::from("sk-aimed-fault-credential-9f8e7d");
    let fault = Fault::status(401)
        .when_token(&secret)
        .when(|_| true)
        .nth(2)
        .times(3)
        .delayed(Duration::from_millis(5));
    let shown = format!("{fault:?} {fault:#?}");
    assert!(!shown.contains(secret.expose_secret()), "{shown}");
    assert!(shown.contains("[REDACTED]"), "{shown}");
    assert!(shown.contains("skip: 1"), "{shown}");
}

/// A list that lags leaves the newest tokens out, for the list calls it is
/// armed for only; the tokens it hides are still there for every other
/// call, and their secrets work.
#[tokio::test]
async fn a_lagging_list_hides_the_newest_tokens_from_lists_only() {
    let fake = UnitFake::start().await;
    let client = unit_client(&fake, fake.token());
    let tokens = client.org_api_tokens(fake.user_id());
    let mut made = Vec::new();
    for n in 0..3 {
        made.push(tokens.create(unit_request(&format!("t{n}"))).await.unwrap());
    }
    // Armed on every endpoint: it still counts lists only.
    fake.inject(
        UnitOp::Any,
        Fault::lagging_list(ListLag::Newest(2)).times(2),
    );
    let revoked = tokens.create(unit_request("t3")).await.unwrap();
    tokens.revoke(&revoked.id).await.unwrap();
    let ids = |list: Vec<unit::ApiToken>| list.into_iter().map(|t| t.id).collect::<Vec<_>>();
    // The newest two creates are t2 and t3; t3 is gone, t2 hidden.
    assert_eq!(
        ids(tokens.list().await.unwrap()),
        [made[0].id.clone(), made[1].id.clone()]
    );
    // A hidden token's secret still works.
    let hidden = unit_client(&fake, &made[2].token);
    assert!(hidden.org_api_tokens(fake.user_id()).list().await.is_ok());
    // That was the second list it counted: it is spent.
    assert_eq!(ids(tokens.list().await.unwrap()).len(), 3);
    let faulted: Vec<bool> = fake.requests().iter().map(|r| r.faulted).collect();
    assert_eq!(
        faulted,
        [false, false, false, false, false, true, true, false]
    );
}

/// A list that lags by a while shows a token once it is older than that.
#[tokio::test]
async fn a_list_lagging_by_a_while_catches_up() {
    let fake = MailtrapFake::start().await;
    let client = mailtrap_client(&fake, fake.token());
    let tokens = client.api_tokens();
    let older = fake.insert_token(MailtrapTokenSeed::new("older"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    fake.inject(
        MailtrapOp::List,
        Fault::lagging_list(ListLag::Within(Duration::from_millis(300))).times(10),
    );
    let new = tokens.create(mailtrap_request(&fake, "new")).await.unwrap();
    let listed: Vec<_> = tokens
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, [older.id]);
    // Found by id, and reset, all the same.
    assert_eq!(tokens.get(new.id).await.unwrap().name, "new");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let listed: Vec<_> = tokens
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, [older.id, new.id]);
}

/// Ids handed out of creation order: a later token, a reset's new one
/// included, may get a lower id than an earlier one; ids stay unique.
#[tokio::test]
async fn ids_can_be_handed_out_of_creation_order() {
    let fake = MailtrapFake::start().await;
    fake.set_id_order(IdOrder::ReversedInBlocks(4));
    assert_eq!(fake.next_id(), 12348);
    let client = mailtrap_client(&fake, fake.token());
    let tokens = client.api_tokens();
    let first = tokens
        .create(mailtrap_request(&fake, "first"))
        .await
        .unwrap();
    let second = tokens
        .create(mailtrap_request(&fake, "second"))
        .await
        .unwrap();
    assert!(second.id < first.id, "{} then {}", first.id, second.id);
    let reset = tokens.reset(first.id, Expiry::Never).await.unwrap();
    assert!(reset.id < second.id, "{} after {}", reset.id, second.id);
    let unit = UnitFake::start().await;
    unit.set_id_order(IdOrder::ShuffledInBlocks(16));
    let life = unit_client(&unit, unit.token());
    let unit_tokens = life.org_api_tokens(unit.user_id());
    let mut ids = Vec::new();
    for n in 0..16 {
        let made = unit_tokens
            .create(unit_request(&format!("u{n}")))
            .await
            .unwrap();
        ids.push(made.id.as_str().parse::<u64>().unwrap());
    }
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=16).collect::<Vec<_>>(), "unique, one block");
    fake.set_id_order(IdOrder::Ascending);
    let later = tokens
        .create(mailtrap_request(&fake, "later"))
        .await
        .unwrap();
    assert!(later.id < first.id, "the block's last reserved id first");
}
