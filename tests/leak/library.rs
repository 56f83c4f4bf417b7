//! `api_tokens::leak` against the fakes: a leaked secret alone is
//! identified, verified, revoked or deleted, proved refused, with an
//! evidence record that holds no secret; what it cannot tie to exactly
//! one of our tokens is left untouched.

use crate::lifecycle_support;

use std::sync::{Arc, Mutex};

use api_tokens::RetryPolicy;
use api_tokens::leak::{self, Action, IdentifiedBy, LeakError, Liveness, Response};
use api_tokens::lifecycle::MailtrapLifecycle;
use api_tokens::lifecycle::sink::{self, SecretMeta};
use api_tokens::mailtrap::{AccessLevel, ResourceType};
use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed, UnitFake, UnitTokenSeed};
use api_tokens::unit::Scope;
use lifecycle_support::{mailtrap, mailtrap_accepts, unit, unit_accepts};
use secrecy::{ExposeSecret, SecretString};

fn no_secret_in(evidence: &leak::Evidence, secret: &str) -> String {
    let json = serde_json::to_string(evidence).expect("json");
    assert!(!json.contains(secret), "{json}");
    assert!(!format!("{evidence:?}").contains(secret));
    json
}

#[tokio::test]
async fn a_leaked_unit_secret_is_identified_revoked_and_proved_refused() {
    let (fake, life) = unit().await;
    let leaked = fake.insert_token(UnitTokenSeed::new("CI deploy").scopes([Scope::Customers]));
    let other = fake.insert_token(UnitTokenSeed::new("Billing"));
    let secret = leaked.secret.clone();

    let evidence = leak::respond_unit(&life, &secret, &Response::new())
        .await
        .expect("respond");

    assert_eq!(evidence.service, "unit");
    assert_eq!(evidence.token_id, leaked.id.as_str());
    assert_eq!(evidence.token_name.as_deref(), Some("CI deploy"));
    assert_eq!(evidence.identified_by, IdentifiedBy::UnitPayload);
    assert_eq!(evidence.live_before, Liveness::Accepted);
    assert_eq!(evidence.action, Action::Revoked);
    assert!(evidence.refused_after);
    assert_eq!(evidence.fingerprint, leak::fingerprint(&secret));
    assert!(evidence.fingerprint.starts_with("sha256:"));
    let json = no_secret_in(&evidence, secret.expose_secret());
    assert!(json.contains("\"action\":\"revoked\""), "{json}");
    // The other token is untouched and still works.
    let left: Vec<_> = fake.tokens().into_iter().map(|t| t.id).collect();
    assert_eq!(left, std::slice::from_ref(&other.id));
    assert!(unit_accepts(&life, other.secret.expose_secret()).await);
}

#[tokio::test]
async fn a_leaked_mailtrap_secret_is_identified_deleted_and_proved_refused() {
    let (fake, life) = mailtrap().await;
    let account = fake.account_id();
    let leaked = fake.insert_token(MailtrapTokenSeed::new("CI deploy").permission(
        ResourceType::Account,
        account,
        AccessLevel::Admin,
    ));
    let other = fake.insert_token(MailtrapTokenSeed::new("Billing").secret(SecretString::from(
        "0123456789abcdef0123456789ab0000".to_owned(),
    )));
    let secret = leaked.secret.clone();
    assert_ne!(
        leaked.last_4_digits(),
        "0000",
        "the seeds' secrets differ at the end"
    );

    let evidence = leak::respond_mailtrap(&life, &secret, &Response::new())
        .await
        .expect("respond");

    assert_eq!(evidence.service, "mailtrap");
    assert_eq!(evidence.token_id, leaked.id.to_string());
    // The only token with its last four, and among those it lists itself.
    assert_eq!(evidence.identified_by, IdentifiedBy::LastFourAndOwnList);
    assert_eq!(evidence.live_before, Liveness::Accepted);
    assert_eq!(evidence.action, Action::Deleted);
    assert!(evidence.refused_after);
    no_secret_in(&evidence, secret.expose_secret());
    let left: Vec<_> = fake.tokens().into_iter().map(|t| t.id).collect();
    assert_eq!(left, [other.id]);
    assert!(mailtrap_accepts(&life, other.secret.expose_secret()).await);
}

/// With `replace` and a sink, the sink holds a working replacement before
/// the leaked token is gone.
#[tokio::test]
async fn a_replacement_is_stored_before_the_leaked_unit_token_is_revoked() {
    let (fake, life) = unit().await;
    let leaked = fake.insert_token(UnitTokenSeed::new("CI deploy").scopes([Scope::Customers]));
    let stored: Arc<Mutex<Vec<(SecretString, bool)>>> = Arc::default();
    let seen = Arc::clone(&stored);
    let fake_ref = &fake;
    let leaked_id = leaked.id.clone();
    let sink = sink::from_fn(move |secret: SecretString, _meta: SecretMeta| {
        let leaked_listed = fake_ref.tokens().iter().any(|t| t.id == leaked_id);
        seen.lock().expect("lock").push((secret, leaked_listed));
        async { Ok(()) }
    });

    let evidence = leak::respond_unit(
        &life,
        &leaked.secret,
        &Response::new().store_in(&sink).replace(),
    )
    .await
    .expect("respond");

    assert_eq!(evidence.action, Action::ReplacedThenRemoved);
    assert!(evidence.refused_after);
    let replacement = evidence.replacement.clone().expect("replacement");
    let stored = stored.lock().expect("lock").clone();
    let [(secret, leaked_listed)] = stored.as_slice() else {
        panic!("one secret stored, not {}", stored.len())
    };
    assert!(
        leaked_listed,
        "stored while the leaked token was still listed"
    );
    assert!(unit_accepts(&life, secret.expose_secret()).await);
    let left: Vec<_> = fake
        .tokens()
        .into_iter()
        .map(|t| t.id.as_str().to_owned())
        .collect();
    assert_eq!(left, [replacement.id]);
    no_secret_in(&evidence, secret.expose_secret());
    no_secret_in(&evidence, leaked.secret.expose_secret());
}

/// Without `replace`, the leaked Mailtrap token dies first; the
/// replacement, minted after, has its permissions and works.
#[tokio::test]
async fn without_replace_the_leaked_mailtrap_token_dies_first() {
    let (fake, life) = mailtrap().await;
    let account = fake.account_id();
    let leaked = fake.insert_token(MailtrapTokenSeed::new("CI deploy").permission(
        ResourceType::Account,
        account,
        AccessLevel::Admin,
    ));
    let stored: Arc<Mutex<Vec<(SecretString, bool)>>> = Arc::default();
    let seen = Arc::clone(&stored);
    let fake_ref = &fake;
    let leaked_id = leaked.id;
    let sink = sink::from_fn(move |secret: SecretString, _meta: SecretMeta| {
        let leaked_listed = fake_ref.tokens().iter().any(|t| t.id == leaked_id);
        seen.lock().expect("lock").push((secret, leaked_listed));
        async { Ok(()) }
    });

    let evidence = leak::respond_mailtrap(&life, &leaked.secret, &Response::new().store_in(&sink))
        .await
        .expect("respond");

    assert_eq!(evidence.action, Action::RemovedThenReplaced);
    assert!(evidence.refused_after);
    let stored = stored.lock().expect("lock").clone();
    let [(secret, leaked_listed)] = stored.as_slice() else {
        panic!("one secret stored, not {}", stored.len())
    };
    assert!(
        !leaked_listed,
        "the leaked token was deleted before the replacement"
    );
    assert!(mailtrap_accepts(&life, secret.expose_secret()).await);
    let tokens = fake.tokens();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].permissions, leaked.permissions);
    assert_eq!(
        evidence.replacement.as_ref().map(|r| r.id.clone()),
        Some(tokens[0].id.to_string())
    );
}

/// Two tokens with the same last four that the secret cannot tell apart:
/// none is deleted and both are named.
#[tokio::test]
async fn mailtrap_tokens_sharing_the_last_four_are_named_and_left_alone() {
    let (fake, life) = mailtrap().await;
    let first = fake.insert_token(MailtrapTokenSeed::new("First").secret(SecretString::from(
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaa1234".to_owned(),
    )));
    let second = fake.insert_token(MailtrapTokenSeed::new("Second").secret(SecretString::from(
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbb1234".to_owned(),
    )));

    let err = leak::respond_mailtrap(&life, &first.secret, &Response::new())
        .await
        .expect_err("ambiguous");

    let LeakError::Ambiguous { candidates, .. } = &err else {
        panic!("{err:?}")
    };
    let named: Vec<_> = candidates.iter().map(|c| c.id.clone()).collect();
    assert_eq!(named, [first.id.to_string(), second.id.to_string()]);
    assert!(err.is_unmatched());
    assert!(
        !err.to_string().contains(first.secret.expose_secret()),
        "{err}"
    );
    assert_eq!(fake.tokens().len(), 2);
}

/// A random 32-hex string and a malformed `v2.public.` string match none
/// of our tokens: nothing is touched, and no request but lists is sent.
#[tokio::test]
async fn secrets_that_match_none_of_ours_touch_nothing() {
    let (unit_fake, unit_life) = unit().await;
    unit_fake.insert_token(UnitTokenSeed::new("CI deploy"));
    let (mt_fake, mt_life) = mailtrap().await;
    mt_fake.insert_token(MailtrapTokenSeed::new("CI deploy"));
    let hex = SecretString::from("f00dfeedf00dfeedf00dfeedf00dfeed".to_owned());
    let malformed = SecretString::from("v2.public.eyJ1c2VySWQiOiIyIn0.broken".to_owned());

    for secret in [&hex, &malformed] {
        for err in [
            leak::respond_unit(&unit_life, secret, &Response::new()).await,
            leak::respond_mailtrap(&mt_life, secret, &Response::new()).await,
        ]
        .into_iter()
        .map(|r| r.expect_err("no match"))
        {
            assert!(matches!(err, LeakError::NoMatch { .. }), "{err:?}");
            assert!(!err.to_string().contains(secret.expose_secret()), "{err}");
        }
    }
    assert_eq!(unit_fake.tokens().len(), 1);
    assert_eq!(mt_fake.tokens().len(), 1);
    let methods: Vec<String> = unit_fake
        .requests()
        .iter()
        .chain(mt_fake.requests().iter())
        .map(|r| r.method.clone())
        .collect();
    assert!(methods.iter().all(|m| m == "GET"), "{methods:?}");
}

/// A Unit token whose payload names another user is not ours: nothing
/// is revoked, even though a token of ours has the same id.
#[tokio::test]
async fn a_unit_payload_naming_another_user_touches_nothing() {
    let (fake, life) = unit().await;
    let ours = fake.insert_token(UnitTokenSeed::new("CI deploy"));
    let other_fake = UnitFake::builder()
        .user_id("990".parse().expect("user id"))
        .start()
        .await;
    let theirs = other_fake.insert_token(UnitTokenSeed::new("Elsewhere"));
    assert_eq!(ours.id, theirs.id, "the same id on two users");
    assert_ne!(other_fake.user_id(), fake.user_id());

    let err = leak::respond_unit(&life, &theirs.secret, &Response::new())
        .await
        .expect_err("not ours");
    assert!(err.is_unmatched(), "{err:?}");
    assert_eq!(fake.tokens().len(), 1);
}

/// A Unit token whose payload names its user and expiry but no token id
/// (as Unit's description of the API shows one: the payload, then the
/// signature after a dot): the user's only token expiring at that second
/// is the one, confirmed by Unit's list; two such tokens are ambiguous and
/// both named, nothing touched.
#[tokio::test]
async fn a_unit_payload_without_a_token_id_is_found_by_its_expiry() {
    use api_tokens::chrono::{Duration, SubsecRound, Utc};
    use base64::Engine as _;
    let (fake, life) = unit().await;
    let at = (Utc::now() + Duration::days(30)).trunc_subsecs(0);
    let payload = format!(
        r#"{{"role":"org","userId":"2","exp":"{}"}}"#,
        at.to_rfc3339()
    );
    let secret = SecretString::from(format!(
        "v2.public.{}.signature",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
    ));
    let leaked = fake.insert_token(
        UnitTokenSeed::new("CI deploy")
            .expiration(at)
            .secret(secret.clone()),
    );
    let other = fake.insert_token(UnitTokenSeed::new("Billing").expiration(at + Duration::days(1)));

    let evidence = leak::respond_unit(&life, &secret, &Response::new())
        .await
        .expect("respond");
    assert_eq!(evidence.token_id, leaked.id.as_str());
    assert_eq!(evidence.identified_by, IdentifiedBy::UnitPayloadExpiry);
    assert_eq!(evidence.action, Action::Revoked);
    assert!(evidence.refused_after);
    no_secret_in(&evidence, secret.expose_secret());
    let left: Vec<_> = fake.tokens().into_iter().map(|t| t.id).collect();
    assert_eq!(left, std::slice::from_ref(&other.id));

    // Two tokens expiring at that second: neither is guessed.
    let twin = fake.insert_token(UnitTokenSeed::new("Twin").expiration(at));
    let triplet = fake.insert_token(UnitTokenSeed::new("Triplet").expiration(at));
    let err = leak::respond_unit(&life, &secret, &Response::new())
        .await
        .expect_err("ambiguous");
    let LeakError::Ambiguous { candidates, .. } = &err else {
        panic!("{err:?}")
    };
    let named: Vec<&str> = candidates.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(named, [twin.id.as_str(), triplet.id.as_str()]);
    assert_eq!(fake.tokens().len(), 3, "nothing touched");
}

/// `v2.public.` and base64url (no padding) of `payload`, unsigned.
fn unit_shaped(payload: &str) -> SecretString {
    use base64::Engine as _;
    SecretString::from(format!(
        "v2.public.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
    ))
}

/// A refused secret whose payload names a listed Unit token that has not
/// expired (a forged or corrupted token), or 32 hex characters sharing a
/// listed Mailtrap token's last four, is not that token's: no match,
/// nothing touched. Only a token that has expired is "already refused".
#[tokio::test]
async fn a_refused_secret_of_a_listed_live_token_is_no_match() {
    use api_tokens::chrono::{Duration, Utc};
    let (fake, life) = unit().await;
    let listed = fake.insert_token(UnitTokenSeed::new("CI deploy"));
    let forged = unit_shaped(&format!(
        r#"{{"userId":"{}","tokenId":"{}"}}"#,
        fake.user_id(),
        listed.id
    ));
    let err = leak::respond_unit(&life, &forged, &Response::new())
        .await
        .expect_err("not that token's");
    let LeakError::NoMatch { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("not that token's"), "{reason}");
    assert_eq!(fake.tokens().len(), 1, "nothing touched");

    let (mt_fake, mt_life) = mailtrap().await;
    let kept = mt_fake.insert_token(MailtrapTokenSeed::new("CI deploy"));
    let hex = SecretString::from(format!("{}{}", "0".repeat(28), kept.last_4_digits()));
    assert_ne!(hex.expose_secret(), kept.secret.expose_secret());
    let err = leak::respond_mailtrap(&mt_life, &hex, &Response::new())
        .await
        .expect_err("not that token's");
    assert!(matches!(err, LeakError::NoMatch { .. }), "{err:?}");
    assert_eq!(mt_fake.tokens().len(), 1, "nothing touched");

    // The secret of a token that has expired: refused, and so recorded.
    let expired =
        fake.insert_token(UnitTokenSeed::new("Old").expiration(Utc::now() - Duration::days(1)));
    let evidence = leak::respond_unit(&life, &expired.secret, &Response::new())
        .await
        .expect("already refused");
    assert_eq!(evidence.token_id, expired.id.as_str());
    assert_eq!(evidence.live_before, Liveness::Refused);
    assert_eq!(evidence.action, Action::AlreadyRefused);
}

/// A lifecycle on the Mailtrap fake with no account named: the
/// account-free paths, where each token lists its own account's tokens.
fn account_free(fake: &MailtrapFake) -> MailtrapLifecycle {
    let client = api_tokens::mailtrap::Client::builder()
        .token(fake.token().clone())
        .base_url(fake.uri())
        .retry(RetryPolicy::disabled())
        .build()
        .expect("client");
    MailtrapLifecycle::new(client)
}

/// A Mailtrap secret that lists its own account's tokens, none of them the
/// configured account's, is another account's: no match, nothing touched,
/// even when one of our tokens (the only candidate) shares its last four.
/// Our own token's secret lists itself: identified by last four and own
/// list.
#[tokio::test]
async fn a_mailtrap_secret_of_another_account_is_no_match_even_with_one_candidate() {
    let fake = MailtrapFake::builder()
        .account(4410, "Elsewhere")
        .start()
        .await;
    let life = account_free(&fake);
    let ours = fake.insert_token(
        MailtrapTokenSeed::new("Ours")
            .permission(ResourceType::Account, fake.account_id(), AccessLevel::Admin)
            .secret(SecretString::from(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaa1234".to_owned(),
            )),
    );
    let theirs = fake.insert_token(
        MailtrapTokenSeed::new("Theirs")
            .account(4410)
            .permission(ResourceType::Account, 4410, AccessLevel::Admin)
            .secret(SecretString::from(
                "bbbbbbbbbbbbbbbbbbbbbbbbbbbb1234".to_owned(),
            )),
    );

    let err = leak::respond_mailtrap(&life, &theirs.secret, &Response::new())
        .await
        .expect_err("another account's");
    let LeakError::NoMatch { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("another account"), "{reason}");
    let left: Vec<_> = fake.tokens().into_iter().map(|t| t.id).collect();
    assert_eq!(left, [ours.id, theirs.id], "nothing touched");

    let evidence = leak::respond_mailtrap(&life, &ours.secret, &Response::new())
        .await
        .expect("ours");
    assert_eq!(evidence.token_id, ours.id.to_string());
    assert_eq!(evidence.identified_by, IdentifiedBy::LastFourAndOwnList);
    assert_eq!(evidence.action, Action::Deleted);
    let left: Vec<_> = fake.tokens().into_iter().map(|t| t.id).collect();
    assert_eq!(left, [theirs.id]);
}

/// A secret with surrounding white space (a line read from a file) is the
/// same secret: the calls made with it send it trimmed, as its fingerprint
/// and its format are read.
#[tokio::test]
async fn a_secret_with_a_trailing_newline_is_handled() {
    let (fake, life) = unit().await;
    let leaked = fake.insert_token(UnitTokenSeed::new("CI deploy"));
    let line = SecretString::from(format!("{}\n", leaked.secret.expose_secret()));
    let evidence = leak::respond_unit(&life, &line, &Response::new())
        .await
        .expect("respond");
    assert_eq!(evidence.live_before, Liveness::Accepted);
    assert_eq!(evidence.action, Action::Revoked);
    assert_eq!(evidence.fingerprint, leak::fingerprint(&leaked.secret));
    assert!(fake.tokens().is_empty());
}

/// With no account named on the client, the evidence's owner is the
/// account the leaked token belongs to (its `account` resource).
#[tokio::test]
async fn the_mailtrap_owner_is_the_tokens_account_when_the_client_names_none() {
    let fake = MailtrapFake::start().await;
    let life = account_free(&fake);
    let leaked = fake.insert_token(MailtrapTokenSeed::new("CI deploy").permission(
        ResourceType::Account,
        fake.account_id(),
        AccessLevel::Admin,
    ));
    let evidence = leak::respond_mailtrap(&life, &leaked.secret, &Response::new())
        .await
        .expect("respond");
    assert_eq!(evidence.owner, Some(fake.account_id().to_string()));
    // Named on the client, it is that one.
    let (fake, life) = mailtrap().await;
    let leaked = fake.insert_token(MailtrapTokenSeed::new("CI deploy"));
    let evidence = leak::respond_mailtrap(&life, &leaked.secret, &Response::new())
        .await
        .expect("respond");
    assert_eq!(evidence.owner, Some(fake.account_id().to_string()));
}

/// A Unit payload that names no scopes (as Unit documents one) and no
/// scopes given: with `replace`, refused before any request; without it,
/// the leaked token is revoked first and the error carries the evidence.
#[tokio::test]
async fn a_unit_replacement_without_scopes_is_refused_or_follows_the_revoke() {
    use api_tokens::chrono::{Duration, SubsecRound, Utc};
    let (fake, life) = unit().await;
    let at = (Utc::now() + Duration::days(30)).trunc_subsecs(0);
    let secret = SecretString::from(format!(
        "{}.signature",
        unit_shaped(&format!(
            r#"{{"role":"org","userId":"{}","exp":"{}"}}"#,
            fake.user_id(),
            at.to_rfc3339()
        ))
        .expose_secret()
    ));
    let leaked = fake.insert_token(
        UnitTokenSeed::new("CI deploy")
            .expiration(at)
            .secret(secret.clone()),
    );
    let sink = sink::from_fn(|_: SecretString, _: SecretMeta| async { panic!("nothing to store") });

    let err = leak::respond_unit(&life, &secret, &Response::new().store_in(&sink).replace())
        .await
        .expect_err("unplanned");
    assert!(matches!(err, LeakError::Unplanned { .. }), "{err:?}");
    assert!(fake.requests().is_empty(), "no request");

    let err = leak::respond_unit(&life, &secret, &Response::new().store_in(&sink))
        .await
        .expect_err("unreplaced");
    let LeakError::Unreplaced { evidence, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(evidence.token_id, leaked.id.as_str());
    assert_eq!(evidence.action, Action::Revoked);
    assert!(evidence.refused_after);
    assert!(fake.tokens().is_empty(), "revoked first");
    assert!(!err.to_string().contains(secret.expose_secret()));
}

/// A sink that holds a record (as Secrets Manager and Vault do) of `meta`'s
/// token and takes whatever is stored.
struct Recorded {
    meta: SecretMeta,
    stored: Mutex<usize>,
}

#[sink::async_trait]
impl sink::SecretSink for Recorded {
    async fn store(&self, _: &SecretString, _: &SecretMeta) -> Result<(), sink::SinkError> {
        *self.stored.lock().expect("lock") += 1;
        Ok(())
    }

    async fn current_meta(&self) -> Result<Option<SecretMeta>, sink::SinkError> {
        Ok(Some(self.meta.clone()))
    }
}

/// A leak's replacement never takes the place of the record of another
/// live token, nor of another service's token: nothing is touched.
#[tokio::test]
async fn a_sink_holding_another_live_tokens_record_is_refused() {
    let (fake, life) = mailtrap().await;
    let account = fake.account_id();
    let admin = |name: &str| {
        MailtrapTokenSeed::new(name).permission(ResourceType::Account, account, AccessLevel::Admin)
    };
    let leaked = fake.insert_token(admin("leaked"));
    let other = fake.insert_token(admin("other"));
    for meta in [
        SecretMeta::new(api_tokens::Service::Mailtrap, other.id.to_string()),
        SecretMeta::new(api_tokens::Service::Unit, "42"),
    ] {
        let sink = Recorded {
            meta,
            stored: Mutex::new(0),
        };
        for how in [
            Response::new().store_in(&sink),
            Response::new().store_in(&sink).replace(),
        ] {
            let err = leak::respond_mailtrap(&life, &leaked.secret, &how)
                .await
                .expect_err("refused");
            assert!(matches!(err, LeakError::Unplanned { .. }), "{err:?}");
            assert!(err.to_string().contains("nothing was touched"), "{err}");
            assert!(!err.to_string().contains(leaked.secret.expose_secret()));
            assert_eq!(fake.tokens().len(), 2, "nothing deleted");
            assert_eq!(*sink.stored.lock().expect("lock"), 0);
        }
    }
    // The record of the leaked token itself: its replacement takes its place.
    let sink = Recorded {
        meta: SecretMeta::new(api_tokens::Service::Mailtrap, leaked.id.to_string()),
        stored: Mutex::new(0),
    };
    let evidence = leak::respond_mailtrap(
        &life,
        &leaked.secret,
        &Response::new().store_in(&sink).replace(),
    )
    .await
    .expect("respond");
    assert_eq!(evidence.action, Action::ReplacedThenRemoved);
    assert_eq!(*sink.stored.lock().expect("lock"), 1);
}
