//! Seeds and held tokens in the crate's types: a seed made from a client's
//! create request holds what that request asked for, a held token converts
//! to the client's model and compares with it by `==` (both ways), and a
//! Mailtrap permission seeded under an older resource name stays on the
//! wire as stored while reading as the client decodes it.

use std::net::{IpAddr, Ipv4Addr};

use api_tokens::mailtrap::{self, AccessLevel, Expiry, Permission, ResourceId, ResourceType};
use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed, UnitFake, UnitTokenSeed};
use api_tokens::unit::{self, ResourceRestriction, Scope, SourceIp};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};

fn unit_client(fake: &UnitFake) -> unit::Client {
    unit::Client::builder()
        .token(fake.token().clone())
        .base_url(fake.uri())
        .build()
        .unwrap()
}

fn mailtrap_client(fake: &MailtrapFake) -> mailtrap::Client {
    mailtrap::Client::builder()
        .token(fake.token().clone())
        .account_id(fake.account_id())
        .base_url(fake.uri())
        .build()
        .unwrap()
}

/// A moment with nanoseconds, as `Utc::now()` gives, which the wire cannot
/// carry.
fn odd_moment(days: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(2_000_000_000 + days * 86_400, 123_456_789).unwrap()
}

#[tokio::test]
async fn a_unit_seed_from_a_create_request_holds_what_it_asked_for() {
    let fake = UnitFake::start().await;
    let expiration = Utc::now() + TimeDelta::days(30);
    let request = unit::CreateApiToken::new(
        "CI deploy",
        [Scope::Customers, Scope::CardsWrite],
        expiration,
    )
    .source_ip(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1)))
    .source_ips(["10.0.0.0/8".parse::<SourceIp>().unwrap()])
    .resources([ResourceRestriction::cards([7_u64, 8])]);
    let secret = SecretString::from("v2.public.seeded-secret-of-the-test");
    let held = fake.insert_token(UnitTokenSeed::from(&request).secret(secret.clone()));

    assert_eq!(held.description, request.description());
    assert_eq!(held.scopes, request.scopes());
    assert_eq!(held.source_ips, request.allowed_ips());
    assert_eq!(held.resources.as_deref(), request.restrictions());
    assert_eq!(held.expiration, expiration.trunc_subsecs(3));
    assert_eq!(held.secret.expose_secret(), secret.expose_secret());
    assert_eq!(fake.tokens().len(), 1);

    // Listed through the client, it is the held token, both ways round.
    let client = unit_client(&fake);
    let listed = client.org_api_tokens(fake.user_id()).list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0], unit::ApiToken::from(&held));
    assert_eq!(held, listed[0]);
    assert_eq!(listed[0], held);

    // The seeded secret is a credential of the fake.
    let as_seeded = client.with_token(secret).unwrap();
    assert_eq!(
        as_seeded
            .org_api_tokens(fake.user_id())
            .list()
            .await
            .unwrap(),
        listed
    );
}

#[tokio::test]
async fn a_unit_token_created_through_the_client_equals_the_held_one() {
    let fake = UnitFake::start().await;
    let client = unit_client(&fake);
    let tokens = client.org_api_tokens(fake.user_id());
    let created = tokens
        .create(
            unit::CreateApiToken::new("ci", [Scope::Accounts], odd_moment(1))
                .source_ip(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))),
        )
        .await
        .unwrap();
    let held = fake.tokens();
    assert_eq!(held[0].id, created.id);
    assert_eq!(held[0], created.details);
    assert_eq!(unit::NewApiToken::from(&held[0]), created);
    assert_eq!(held[0].scopes, [Scope::Accounts]);
    // A field that differs makes them unequal.
    let mut other = created.without_secret();
    other.description = Some("another".into());
    assert_ne!(held[0], other);
    let mut other = created.without_secret();
    other.source_ips.clear();
    assert_ne!(held[0], other);
}

#[tokio::test]
async fn unit_seed_defaults_and_times_as_the_wire_writes_them() {
    let fake = UnitFake::start().await;
    let held = fake.insert_token(UnitTokenSeed::new("plain").expiration(odd_moment(2)));
    assert_eq!(held.scopes, [Scope::Customers]);
    assert!(held.source_ips.is_empty());
    assert_eq!(held.resources, None);
    assert_eq!(held.expiration, odd_moment(2).trunc_subsecs(3));
    assert_eq!(held.created_at, held.created_at.trunc_subsecs(3));
    let listed = unit_client(&fake)
        .org_api_tokens(fake.user_id())
        .list()
        .await
        .unwrap();
    assert_eq!(listed[0].expiration, Some(held.expiration));
    assert_eq!(listed[0].created_at, held.created_at);
    assert_eq!(held, listed[0]);
}

#[tokio::test]
async fn a_mailtrap_seed_from_a_create_request_holds_what_it_asked_for() {
    let fake = MailtrapFake::start().await;
    let request = mailtrap::CreateApiToken::new("CI deploy")
        .permission(ResourceType::Account, fake.account_id(), AccessLevel::Admin)
        .permission(ResourceType::Domain, "d-1f2e", AccessLevel::Viewer)
        .expires(Expiry::At(odd_moment(3)));
    let held = fake.insert_token(MailtrapTokenSeed::from(&request));
    assert_eq!(held.name, request.name());
    assert_eq!(held.permissions, request.permissions());
    assert_eq!(held.expires_at, Some(odd_moment(3).trunc_subsecs(3)));
    assert_eq!(held.replaced_by, None);
    assert_eq!(held.wire_resource_types(), ["account", "domain"]);

    let client = mailtrap_client(&fake);
    let fetched = client.api_tokens().get(held.id).await.unwrap();
    assert_eq!(fetched, mailtrap::ApiToken::from(&held));
    assert_eq!(held, fetched);
    assert_eq!(fetched, held);
    assert_eq!(client.api_tokens().list().await.unwrap(), [fetched]);
}

#[tokio::test]
async fn mailtrap_expiry_never_seeds_a_token_that_never_expires_and_server_default_the_fakes_default()
 {
    let fake = MailtrapFake::start().await;
    let never = fake.insert_token(MailtrapTokenSeed::new("n").expires(Expiry::Never));
    assert_eq!(never.expires_at, None);
    assert_eq!(
        fake.insert_token(MailtrapTokenSeed::new("plain"))
            .expires_at,
        None
    );
    // Left to the service: its default lifetime, one year unless the fake
    // is told otherwise.
    let now = fake.now();
    let defaulted = fake.insert_token(MailtrapTokenSeed::new("n").expires(Expiry::ServerDefault));
    let lifetime = defaulted.expires_at.expect("the default lifetime") - now;
    assert!(
        lifetime >= TimeDelta::days(365) && lifetime < TimeDelta::days(365) + TimeDelta::minutes(1),
        "{lifetime}"
    );
    fake.set_default_expiry(None);
    let before = fake.insert_token(MailtrapTokenSeed::new("n").expires(Expiry::ServerDefault));
    assert_eq!(before.expires_at, None, "as before the rollout");
    let dated = fake.insert_token(MailtrapTokenSeed::new("d").expires_at(odd_moment(4)));
    assert_eq!(dated.expires_at, Some(odd_moment(4).trunc_subsecs(3)));
    // Without permissions, admin on the fake's account.
    assert_eq!(
        dated.permissions,
        [Permission::new(
            ResourceType::Account,
            fake.account_id(),
            AccessLevel::Admin
        )]
    );
}

#[tokio::test]
async fn a_mailtrap_token_created_and_reset_through_the_client_equals_the_held_ones() {
    let fake = MailtrapFake::start().await;
    let client = mailtrap_client(&fake);
    let created = client
        .api_tokens()
        .create(mailtrap::CreateApiToken::new("ci").permission(
            ResourceType::Project,
            "p-1",
            AccessLevel::Viewer,
        ))
        .await
        .unwrap();
    let reset = client
        .api_tokens()
        .reset(created.id, Expiry::Never)
        .await
        .unwrap();
    let held = fake.tokens();
    let old = held.iter().find(|t| t.id == created.id).unwrap();
    let new = held.iter().find(|t| t.id == reset.id).unwrap();
    assert_eq!(old.replaced_by, Some(reset.id));
    assert_eq!(mailtrap::NewApiToken::from(new), reset);
    assert_eq!(
        new.permissions[0].resource_id,
        ResourceId::Str("p-1".into())
    );
    // The old token, listed now, carries the end of its grace period.
    let listed = client.api_tokens().get(created.id).await.unwrap();
    assert!(listed.expires_at.is_some());
    assert_eq!(*old, listed);
    assert_ne!(*old, created.details, "its expiry changed with the reset");
}

#[tokio::test]
async fn an_older_resource_name_stays_on_the_wire_and_reads_typed() {
    let fake = MailtrapFake::start().await;
    let held = fake.insert_token(
        MailtrapTokenSeed::new("legacy")
            .raw_permission("inbox", 11, 100)
            .raw_permission("sending_domain", "d-9", 10),
    );
    assert_eq!(held.wire_resource_types(), ["inbox", "sending_domain"]);
    assert_eq!(
        held.permissions,
        [
            Permission::new(ResourceType::Sandbox, 11, AccessLevel::Admin),
            Permission::new(ResourceType::Domain, "d-9", AccessLevel::Viewer),
        ]
    );
    // The client decodes the old names as the typed view says.
    let fetched = mailtrap_client(&fake)
        .api_tokens()
        .get(held.id)
        .await
        .unwrap();
    assert_eq!(fetched.permissions, held.permissions);
    assert_eq!(held, fetched);
    // A reset keeps the names as stored.
    let reset = mailtrap_client(&fake)
        .api_tokens()
        .reset(held.id, Expiry::ServerDefault)
        .await
        .unwrap();
    let new = fake
        .tokens()
        .into_iter()
        .find(|t| t.id == reset.id)
        .unwrap();
    assert_eq!(new.wire_resource_types(), ["inbox", "sending_domain"]);
    assert_eq!(reset.permissions, held.permissions);
}
