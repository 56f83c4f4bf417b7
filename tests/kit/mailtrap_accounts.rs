//! Mailtrap's account list and the discovery of the caller's account,
//! against the fake: the listed tokens' account permissions first, then
//! `GET /api/accounts`, then none.

use crate::kit_support;

use api_tokens::Error;
use api_tokens::mailtrap::{self, AccessLevel, Account, ResourceType};
use api_tokens::testing::{Fault, MailtrapFake, MailtrapOp, MailtrapTokenSeed};
use kit_support::mailtrap_client_on;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// A client of the fake's own credential, no account named.
fn client(fake: &MailtrapFake) -> mailtrap::Client {
    mailtrap_client_on(fake, fake.token(), None)
}

fn asked_accounts(fake: &MailtrapFake) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.operation == Some("accounts"))
        .count()
}

#[tokio::test]
async fn the_fake_lists_its_account() {
    let fake = MailtrapFake::builder()
        .account_id(4411)
        .account_name("Acme mail")
        .start()
        .await;
    let listed = client(&fake).accounts().await.unwrap();
    assert_eq!(
        listed,
        [Account::new(
            4411,
            "Acme mail",
            vec![AccessLevel::from(1000)]
        )]
    );
    let log = fake.requests();
    assert_eq!(log[0].path, "/api/accounts");
    assert_eq!(log[0].status, Some(200));

    // A secret the fake minted is a credential there too; anything else is not.
    let minted = fake.insert_token(MailtrapTokenSeed::new("ci"));
    let with_minted = client(&fake).with_token(minted.secret.clone()).unwrap();
    assert_eq!(with_minted.accounts().await.unwrap()[0].id, 4411);
    let stranger = client(&fake)
        .with_token("not-a-credential-of-the-fake".into())
        .unwrap();
    assert!(matches!(
        stranger.accounts().await,
        Err(Error::Unauthorized(_))
    ));
}

#[tokio::test]
async fn a_malformed_account_list_is_a_decode_error() {
    let fake = MailtrapFake::start().await;
    Mock::given(method("GET"))
        .and(path("/api/accounts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": 3229, "name": "not in a list", "access_levels": [1000]
        })))
        .mount(fake.server())
        .await;
    let err = client(&fake).accounts().await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn an_account_permission_of_a_listed_token_comes_first() {
    let fake = MailtrapFake::start().await;
    fake.insert_token(MailtrapTokenSeed::new("sender").permission(
        ResourceType::Project,
        7,
        AccessLevel::Admin,
    ));
    // An account other than the one /api/accounts would give, to tell the
    // two paths apart.
    fake.insert_token(MailtrapTokenSeed::new("admin").permission(
        ResourceType::Account,
        9100,
        AccessLevel::Admin,
    ));
    let found = client(&fake).discover_account_id().await.unwrap();
    assert_eq!(found, Some(9100));
    assert_eq!(asked_accounts(&fake), 0, "/api/accounts was not needed");
}

#[tokio::test]
async fn without_an_account_permission_the_account_list_names_it() {
    let fake = MailtrapFake::builder().account_id(5150).start().await;
    fake.insert_token(MailtrapTokenSeed::new("sender").permission(
        ResourceType::Project,
        7,
        AccessLevel::Admin,
    ));
    let found = client(&fake).discover_account_id().await.unwrap();
    assert_eq!(found, Some(5150));
    assert_eq!(asked_accounts(&fake), 1);

    // And the account found works as the client's account.
    let named = mailtrap::Client::builder()
        .token(fake.token().clone())
        .account_id(found.unwrap())
        .base_url(fake.uri())
        .build()
        .unwrap();
    assert_eq!(named.api_tokens().list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_named_account_is_taken_as_it_is() {
    let fake = MailtrapFake::start().await;
    let named = mailtrap::Client::builder()
        .token(fake.token().clone())
        .account_id(77)
        .base_url(fake.uri())
        .build()
        .unwrap();
    assert_eq!(named.discover_account_id().await.unwrap(), Some(77));
    assert!(fake.requests().is_empty(), "nothing was asked");
}

#[tokio::test]
async fn when_nothing_names_an_account_none_is_found() {
    // An empty account list.
    let fake = MailtrapFake::start().await;
    Mock::given(method("GET"))
        .and(path("/api/accounts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(fake.server())
        .await;
    assert_eq!(client(&fake).discover_account_id().await.unwrap(), None);

    // A service without the endpoint (as a mock of the published contract).
    let fake = MailtrapFake::start().await;
    fake.inject(MailtrapOp::Accounts, Fault::status(404));
    assert_eq!(client(&fake).discover_account_id().await.unwrap(), None);
    assert_eq!(asked_accounts(&fake), 1);
}

#[tokio::test]
async fn a_failure_on_the_way_is_the_error() {
    let fake = MailtrapFake::start().await;
    fake.inject(MailtrapOp::Accounts, Fault::status(500));
    let err = client(&fake).discover_account_id().await.unwrap_err();
    assert_eq!(err.status(), Some(500));

    let fake = MailtrapFake::start().await;
    fake.inject(MailtrapOp::List, Fault::status(401));
    let err = client(&fake).discover_account_id().await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    assert_eq!(asked_accounts(&fake), 0);
}
