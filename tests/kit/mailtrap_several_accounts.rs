//! The Mailtrap fake with several accounts, driven through the crate's
//! client: each account holds its own tokens, ids are unique across them,
//! the fake's own token reaches every account and a minted token only its
//! own, and a tokens file over two accounts plans and applies through one
//! fake and one pacer.

use crate::kit_support;

use api_tokens::Error;
use api_tokens::ensure::{self, ActionKind, ApplyOptions, Services, TokensFile};
use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, Expiry, ResourceType, TokenId};
use api_tokens::testing::{KitError, MailtrapFake, MailtrapTokenSeed};
use kit_support::mailtrap_client_on;

const BILLING: u64 = 4410;

async fn two_accounts() -> MailtrapFake {
    MailtrapFake::builder()
        .account_name("Main")
        .account(BILLING, "Billing")
        .start()
        .await
}

/// The fake's own token on its own account (the account-free paths).
fn own_client(fake: &MailtrapFake) -> mailtrap::Client {
    mailtrap_client_on(fake, fake.token(), None)
}

fn admin_of(account: u64, name: &str) -> CreateApiToken {
    CreateApiToken::new(name).permission(ResourceType::Account, account, AccessLevel::Admin)
}

#[tokio::test]
async fn each_account_holds_its_own_tokens_with_ids_unique_across_them() {
    let fake = two_accounts().await;
    assert_eq!(fake.account_ids(), [3229, BILLING]);
    let main = own_client(&fake);
    let billing = main.for_account(Some(BILLING)).expect("billing");

    let in_main = main
        .api_tokens()
        .create(admin_of(3229, "main-ci"))
        .await
        .expect("create in main");
    let in_billing = billing
        .api_tokens()
        .create(admin_of(BILLING, "billing-ci"))
        .await
        .expect("create in billing");
    assert_ne!(in_main.id, in_billing.id);

    let names = |list: Vec<mailtrap::ApiToken>| -> Vec<String> {
        list.into_iter().map(|t| t.name).collect()
    };
    assert_eq!(names(main.api_tokens().list().await.unwrap()), ["main-ci"]);
    let scoped_main = main.for_account(Some(3229)).unwrap();
    assert_eq!(
        names(scoped_main.api_tokens().list().await.unwrap()),
        ["main-ci"]
    );
    assert_eq!(
        names(billing.api_tokens().list().await.unwrap()),
        ["billing-ci"]
    );

    // A reset's new token stays in its account.
    let reset = billing
        .api_tokens()
        .reset(in_billing.id, Expiry::ServerDefault)
        .await
        .expect("reset in billing");
    let held = fake.tokens();
    let account_of = |id: TokenId| held.iter().find(|t| t.id == id).map(|t| t.account_id);
    assert_eq!(account_of(in_main.id), Some(3229));
    assert_eq!(account_of(in_billing.id), Some(BILLING));
    assert_eq!(account_of(reset.id), Some(BILLING));
    assert_eq!(billing.api_tokens().list().await.unwrap().len(), 2);
    assert_eq!(main.api_tokens().list().await.unwrap().len(), 1);

    // The fake's own token lists both accounts.
    let accounts = main.accounts().await.expect("accounts");
    let listed: Vec<(u64, &str)> = accounts.iter().map(|a| (a.id, a.name.as_str())).collect();
    assert_eq!(listed, [(3229, "Main"), (BILLING, "Billing")]);
}

#[tokio::test]
async fn a_token_id_of_another_account_is_not_found_there() {
    let fake = two_accounts().await;
    let seeded = fake.insert_token(MailtrapTokenSeed::new("billing-only").account(BILLING));
    let main = own_client(&fake).api_tokens();

    assert!(matches!(main.get(seeded.id).await, Err(Error::NotFound(_))));
    assert!(matches!(
        main.reset(seeded.id, Expiry::ServerDefault).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        main.delete(seeded.id).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(fake.tokens().len(), 1, "nothing was deleted");
    // The seed's default permission is on its own account.
    assert_eq!(seeded.permissions[0].resource_id, BILLING.into());
}

#[tokio::test]
async fn a_minted_token_reaches_its_own_account_only() {
    let fake = two_accounts().await;
    let own = own_client(&fake);
    let billing = own.for_account(Some(BILLING)).unwrap();
    let minted = billing
        .api_tokens()
        .create(admin_of(BILLING, "billing-ci"))
        .await
        .expect("create");

    // Its own account, through the account-free paths and by name.
    let as_minted = own.with_token(minted.token.clone()).expect("client");
    let listed = as_minted.api_tokens().list().await.expect("own list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, minted.id);
    let named = as_minted.for_account(Some(BILLING)).unwrap();
    assert_eq!(named.api_tokens().list().await.unwrap().len(), 1);
    let accounts = as_minted.accounts().await.expect("accounts");
    assert_eq!(accounts.iter().map(|a| a.id).collect::<Vec<_>>(), [BILLING]);
    assert_eq!(
        as_minted.discover_account_id().await.unwrap(),
        Some(BILLING)
    );

    // Not the fake's main account, nor one the fake does not have.
    for other in [3229, 999] {
        let elsewhere = as_minted.for_account(Some(other)).unwrap();
        assert!(
            matches!(
                elsewhere.api_tokens().list().await,
                Err(Error::Forbidden(_))
            ),
            "account {other}"
        );
    }
    // The fake's own token is refused only where the fake has no account.
    assert!(matches!(
        own.for_account(Some(999))
            .unwrap()
            .api_tokens()
            .list()
            .await,
        Err(Error::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_seed_for_an_account_the_fake_lacks_is_refused() {
    let fake = MailtrapFake::start().await;
    let refused = fake.insert_token_with_id(
        TokenId::new(7).unwrap(),
        MailtrapTokenSeed::new("lost").account(4242),
    );
    match refused {
        Err(KitError::Seed(message)) => assert!(message.contains("4242"), "{message}"),
        other => panic!("not refused: {other:?}"),
    }
    assert!(fake.tokens().is_empty());
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fake.insert_token(MailtrapTokenSeed::new("lost").account(4242))
    }));
    assert!(panicked.is_err());
    assert!(fake.tokens().is_empty());
}

#[tokio::test]
async fn a_tokens_file_over_two_accounts_runs_on_one_fake_and_one_pacer() {
    let fake = two_accounts().await;
    let dir = tempfile::tempdir().expect("dir");
    let sink = |name: &str| dir.path().join(name).display().to_string();
    let text = format!(
        "[[mailtrap]]\nname = \"main-ci\"\npermissions = [\"account:3229:admin\"]\n\
         secret_to = \"file:{}\"\n\n\
         [[mailtrap]]\nname = \"billing-ci\"\npermissions = [\"account:{BILLING}:viewer\"]\n\
         secret_to = \"file:{}\"\n",
        sink("main.token"),
        sink("billing.token"),
    );
    let file = TokensFile::parse(dir.path().join("tokens.toml"), &text).expect("file");
    let base = own_client(&fake);
    let services = Services::new()
        .mailtrap_account(3229, base.for_account(Some(3229)).unwrap())
        .mailtrap_account(BILLING, base.for_account(Some(BILLING)).unwrap());

    let plan = ensure::plan(&file, &services).await.expect("plan");
    assert_eq!(plan.list_calls(), 2, "one list per account");
    assert!(plan.actions().iter().all(|a| a.kind == ActionKind::Create));
    let report = ensure::apply(&file, &services, &plan, &ApplyOptions::new()).await;
    assert_eq!(report.failed().count(), 0);

    let held = fake.tokens();
    let in_account = |account: u64| -> Vec<&str> {
        held.iter()
            .filter(|t| t.account_id == account)
            .map(|t| t.name.as_str())
            .collect()
    };
    assert_eq!(in_account(3229).len(), 1);
    assert!(in_account(3229)[0].starts_with("main-ci"));
    assert_eq!(in_account(BILLING).len(), 1);
    assert!(in_account(BILLING)[0].starts_with("billing-ci"));
    // Every call of both accounts went through the one client's counters.
    let requests = fake.requests().len() as u64;
    assert_eq!(base.stats().requests, requests);

    let again = ensure::plan(&file, &services).await.expect("plan");
    assert!(!again.has_pending(true));
}

#[tokio::test]
async fn an_account_added_again_keeps_one_place_and_the_last_name() {
    let fake = MailtrapFake::builder()
        .account(BILLING, "Old name")
        .account(3229, "Renamed main")
        .account(BILLING, "Billing")
        .start()
        .await;
    assert_eq!(fake.account_ids(), [3229, BILLING]);
    let listed = own_client(&fake).accounts().await.expect("accounts");
    let names: Vec<&str> = listed.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Renamed main", "Billing"]);
}
