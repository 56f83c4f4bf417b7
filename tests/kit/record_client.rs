//! Record and replay through this crate's own clients: a `Recorder` in
//! front of each fake captures what a client does, the cassette on disk
//! holds neither a minted secret nor a credential (searched as plain
//! text), and a `Replayer` of that file serves the same calls to a fresh
//! client, which decodes them with placeholders for secrets.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, Expiry, ResourceType};
use api_tokens::testing::{Cassette, MailtrapFake, Recorder, Replayer, UnitFake, placeholder};
use api_tokens::unit::{self, Scope};
use api_tokens::{Error, RetryPolicy};
use chrono::{TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};

/// A fresh directory under the system's temp dir, unique to this test.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "api-tokens-kit-record-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().initial_backoff(Duration::from_millis(10))
}

fn mailtrap_client(base: &str, token: SecretString, account_id: u64) -> mailtrap::Client {
    mailtrap::Client::builder()
        .token(token)
        .account_id(account_id)
        .base_url(base)
        .retry(fast_retries())
        .build()
        .unwrap()
}

fn unit_client(base: &str, token: SecretString) -> unit::Client {
    unit::Client::builder()
        .token(token)
        .base_url(base)
        .retry(fast_retries())
        .build()
        .unwrap()
}

fn mailtrap_request(account_id: u64) -> CreateApiToken {
    CreateApiToken::new("ci").permission(ResourceType::Account, account_id, AccessLevel::Admin)
}

fn unit_request() -> unit::CreateApiToken {
    unit::CreateApiToken::new("ci", [Scope::Customers], Utc::now() + TimeDelta::days(30))
}

/// A credential that is neither the fake's nor anything it minted.
fn stranger() -> SecretString {
    SecretString::from("replaying-client-credential-0000")
}

#[tokio::test]
async fn a_mailtrap_create_through_the_client_is_recorded_redacted_and_replays() {
    let dir = TempDir::new("mailtrap-create");
    let path = dir.file("create.json");
    let fake = MailtrapFake::start().await;
    let recorder = Recorder::start(&fake.uri(), &path).await.unwrap();
    let client = mailtrap_client(&recorder.uri(), fake.token().clone(), fake.account_id());

    let created = client
        .api_tokens()
        .create(mailtrap_request(fake.account_id()))
        .await
        .unwrap();
    // Through the proxy the client got the service's answer unchanged.
    assert_eq!(fake.tokens().len(), 1);
    assert_eq!(
        fake.tokens()[0].secret.expose_secret(),
        created.token.expose_secret()
    );
    let written = recorder.finish().await.unwrap();
    assert_eq!(written.interactions.len(), 1);

    let text = std::fs::read_to_string(&path).unwrap();
    let secret = created.token.expose_secret();
    assert!(!text.contains(secret), "the minted secret reached the disk");
    assert!(
        !text.contains(fake.token().expose_secret()),
        "the auth header value reached the disk"
    );
    let stands_for = placeholder(&created.token);
    assert!(
        stands_for.starts_with(&format!("redacted-{}-", &secret[secret.len() - 4..])),
        "{stands_for}"
    );
    assert!(text.contains(&stands_for), "{text}");
    let cassette = Cassette::parse(&text).unwrap();
    assert_eq!(cassette, written);
    let create = &cassette.interactions[0];
    assert_eq!(
        (create.service.as_str(), create.name.as_str()),
        ("mailtrap", "create 200")
    );
    assert_eq!(
        create.request.headers["api-token"],
        placeholder(fake.token())
    );

    // Replayed to a fresh client that holds no real credential.
    let replayer = Replayer::start(&path).await.unwrap();
    let fresh = mailtrap_client(&replayer.uri(), stranger(), fake.account_id());
    let replayed = fresh
        .api_tokens()
        .create(mailtrap_request(fake.account_id()))
        .await
        .unwrap();
    assert_eq!(replayed.token.expose_secret(), stands_for);
    assert_eq!(replayed.id, created.id);
    assert_eq!(replayed.name, created.name);
    assert_eq!(replayed.last_four, created.last_four);
    assert_eq!(replayed.permissions, created.permissions);
    assert!(replayer.unserved().is_empty());
}

#[tokio::test]
async fn a_unit_create_through_the_client_is_recorded_redacted_and_replays() {
    let dir = TempDir::new("unit-create");
    let path = dir.file("create.json");
    let fake = UnitFake::start().await;
    let recorder = Recorder::start(&fake.uri(), &path).await.unwrap();
    let client = unit_client(&recorder.uri(), fake.token().clone());
    let tokens = client.org_api_tokens(fake.user_id());

    let created = tokens.create(unit_request()).await.unwrap();
    // The minted secret used as a credential through the proxy, and a
    // wrong credential: neither may reach the disk either.
    let worker = unit_client(&recorder.uri(), created.token.clone());
    let listed = worker.org_api_tokens(fake.user_id()).list().await.unwrap();
    assert_eq!(listed, [created.without_secret()]);
    let wrong = SecretString::from("v2.public.wrong-credential-for-the-fake.sig");
    let refused = unit_client(&recorder.uri(), wrong.clone())
        .org_api_tokens(fake.user_id())
        .list()
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Unauthorized(_)), "{refused:?}");
    recorder.finish().await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    for (what, leaked) in [
        ("the minted secret", created.token.expose_secret()),
        ("the fake's credential", fake.token().expose_secret()),
        ("the wrong credential", wrong.expose_secret()),
    ] {
        assert!(!text.contains(leaked), "{what} reached the disk");
    }
    assert!(text.contains(&placeholder(&created.token)));
    let cassette = Cassette::load(&path).unwrap();
    let names: Vec<&str> = cassette
        .interactions
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["create 201", "list 200", "list 401"]);

    // Replayed in the same order to a fresh client.
    let replayer = Replayer::start(&path).await.unwrap();
    let fresh = unit_client(&replayer.uri(), stranger());
    let tokens = fresh.org_api_tokens(fake.user_id());
    let replayed = tokens.create(unit_request()).await.unwrap();
    assert_eq!(replayed.token.expose_secret(), placeholder(&created.token));
    assert_eq!(replayed.id, created.id);
    assert_eq!(replayed.expiration, created.expiration);
    assert_eq!(tokens.list().await.unwrap(), listed);
    let err = tokens.list().await.unwrap_err();
    let Error::Unauthorized(api) = &err else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert_eq!(api.messages, refused.messages());
    assert!(replayer.unserved().is_empty());
}

/// What a Mailtrap lifecycle produced, secrets included as the client saw
/// them.
#[derive(Debug, PartialEq)]
struct Seen {
    ids: Vec<u64>,
    names: Vec<String>,
    secrets: Vec<String>,
    listed_before: usize,
    listed_after: usize,
    second_reset: Vec<String>,
}

/// Create, list, get, reset, reset the old one again, delete both, list.
async fn lifecycle(client: &mailtrap::Client) -> Seen {
    let tokens = client.api_tokens();
    let created = tokens
        .create(
            mailtrap_request(client.account_id().expect("an account-scoped client"))
                .expires(Expiry::Never),
        )
        .await
        .unwrap();
    let listed_before = tokens.list().await.unwrap().len();
    let got = tokens.get(created.id).await.unwrap();
    assert_eq!(got, created.without_secret());
    let reset = tokens
        .reset(created.id, Expiry::ServerDefault)
        .await
        .unwrap();
    let second = tokens
        .reset(created.id, Expiry::ServerDefault)
        .await
        .unwrap_err();
    assert_eq!(second.status(), Some(422));
    tokens.delete(created.id).await.unwrap();
    tokens.delete(reset.id).await.unwrap();
    let listed_after = tokens.list().await.unwrap().len();
    Seen {
        ids: vec![created.id.get(), reset.id.get()],
        names: vec![created.name.clone(), reset.name.clone()],
        secrets: vec![
            created.token.expose_secret().to_owned(),
            reset.token.expose_secret().to_owned(),
        ],
        listed_before,
        listed_after,
        second_reset: second.messages().to_vec(),
    }
}

#[tokio::test]
async fn a_recorded_mailtrap_lifecycle_replays_into_the_same_test() {
    let dir = TempDir::new("mailtrap-lifecycle");
    let path = dir.file("lifecycle.json");
    let fake = MailtrapFake::start().await;
    let recorder = Recorder::start(&fake.uri(), &path).await.unwrap();
    let live = lifecycle(&mailtrap_client(
        &recorder.uri(),
        fake.token().clone(),
        fake.account_id(),
    ))
    .await;
    let cassette = recorder.finish().await.unwrap();
    assert_eq!(cassette.interactions.len(), 8);
    assert!(fake.tokens().is_empty());

    let text = std::fs::read_to_string(&path).unwrap();
    for secret in &live.secrets {
        assert!(!text.contains(secret.as_str()), "a minted secret leaked");
    }
    assert!(!text.contains(fake.token().expose_secret()));

    // The same test, run against the cassette, sees the same lifecycle with
    // placeholders for the secrets.
    let replayer = Replayer::start(&path).await.unwrap();
    let replayed = lifecycle(&mailtrap_client(
        &replayer.uri(),
        stranger(),
        fake.account_id(),
    ))
    .await;
    let expected = Seen {
        secrets: live
            .secrets
            .iter()
            .map(|s| placeholder(&SecretString::from(s.as_str())))
            .collect(),
        ..live
    };
    assert_eq!(replayed, expected);
    assert_eq!(replayed.second_reset, ["This token has already been reset"]);
    assert!(replayer.unserved().is_empty());
}

/// Lists through a fresh Mailtrap client holding `token`.
async fn mailtrap_list(
    base: &str,
    token: &SecretString,
    account_id: u64,
) -> Result<Vec<mailtrap::ApiToken>, Error> {
    mailtrap_client(base, token.clone(), account_id)
        .api_tokens()
        .list()
        .await
}

/// The rotation check of a real job: create a token, see that a wrong
/// credential is refused and that the new secret works. Recorded, the new
/// secret becomes its placeholder everywhere; replayed, the placeholder
/// returned by the create works as the credential it stands for, and each
/// credential gets the answers recorded for it, whatever the order.
#[tokio::test]
async fn a_mailtrap_probe_with_the_new_secret_replays_with_its_placeholder() {
    let dir = TempDir::new("mailtrap-probe");
    let path = dir.file("rotation.json");
    let fake = MailtrapFake::start().await;
    let account = fake.account_id();
    let recorder = Recorder::start(&fake.uri(), &path).await.unwrap();
    let admin = mailtrap_client(&recorder.uri(), fake.token().clone(), account);
    let created = admin
        .api_tokens()
        .create(mailtrap_request(account))
        .await
        .unwrap();
    let wrong = SecretString::from("mailtrap-wrong-credential-0000");
    let refused = mailtrap_list(&recorder.uri(), &wrong, account)
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Unauthorized(_)), "{refused:?}");
    let probed = mailtrap_list(&recorder.uri(), &created.token, account)
        .await
        .unwrap();
    assert_eq!(probed, [created.without_secret()]);
    recorder.finish().await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    for (what, leaked) in [
        ("the new secret", created.token.expose_secret()),
        ("the fake's credential", fake.token().expose_secret()),
        ("the wrong credential", wrong.expose_secret()),
    ] {
        assert!(!text.contains(leaked), "{what} reached the disk");
    }
    let cassette = Cassette::parse(&text).unwrap();
    let credentials: Vec<&str> = cassette
        .interactions
        .iter()
        .map(|i| i.request.headers["api-token"].as_str())
        .collect();
    assert_eq!(
        credentials,
        [
            placeholder(fake.token()),
            placeholder(&wrong),
            placeholder(&created.token)
        ]
    );

    // Replayed: the create returns the placeholder, which the crate takes as
    // a token; the probe made with it is served the answer the new secret
    // got, not the refusal recorded earlier on the same endpoint.
    let replayer = Replayer::start(&path).await.unwrap();
    let again = mailtrap_client(&replayer.uri(), stranger(), account)
        .api_tokens()
        .create(mailtrap_request(account))
        .await
        .unwrap();
    assert_eq!(again.token.expose_secret(), placeholder(&created.token));
    let replayed = mailtrap_list(&replayer.uri(), &again.token, account)
        .await
        .unwrap();
    assert_eq!(replayed, probed);
    // The wrong credential still gets its own answer.
    let err = mailtrap_list(&replayer.uri(), &wrong, account)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    assert_eq!(err.messages(), refused.messages());
    assert!(replayer.unserved().is_empty());
    // Nothing is left for the new secret: the replayer says so.
    let none = mailtrap_list(&replayer.uri(), &again.token, account)
        .await
        .unwrap_err();
    assert_eq!(none.status(), Some(501), "{none:?}");
}

#[tokio::test]
async fn a_unit_probe_with_the_new_secret_replays_with_its_placeholder() {
    let dir = TempDir::new("unit-probe");
    let path = dir.file("rotation.json");
    let fake = UnitFake::start().await;
    let user = fake.user_id();
    let recorder = Recorder::start(&fake.uri(), &path).await.unwrap();
    let created = unit_client(&recorder.uri(), fake.token().clone())
        .org_api_tokens(user.clone())
        .create(unit_request())
        .await
        .unwrap();
    let wrong = SecretString::from("v2.public.unit-wrong-credential.sig");
    let refused = unit_client(&recorder.uri(), wrong.clone())
        .org_api_tokens(user.clone())
        .list()
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Unauthorized(_)), "{refused:?}");
    let probed = unit_client(&recorder.uri(), created.token.clone())
        .org_api_tokens(user.clone())
        .list()
        .await
        .unwrap();
    assert_eq!(probed, [created.without_secret()]);
    recorder.finish().await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    for leaked in [
        created.token.expose_secret(),
        fake.token().expose_secret(),
        wrong.expose_secret(),
    ] {
        assert!(!text.contains(leaked), "a secret reached the disk");
    }
    let cassette = Cassette::parse(&text).unwrap();
    assert_eq!(
        cassette.interactions[2].request.headers["authorization"],
        format!("Bearer {}", placeholder(&created.token))
    );

    let replayer = Replayer::start(&path).await.unwrap();
    let again = unit_client(&replayer.uri(), stranger())
        .org_api_tokens(user.clone())
        .create(unit_request())
        .await
        .unwrap();
    assert_eq!(again.token.expose_secret(), placeholder(&created.token));
    let replayed = unit_client(&replayer.uri(), again.token.clone())
        .org_api_tokens(user.clone())
        .list()
        .await
        .unwrap();
    assert_eq!(replayed, probed);
    let err = unit_client(&replayer.uri(), wrong)
        .org_api_tokens(user.clone())
        .list()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    assert!(replayer.unserved().is_empty());
}

/// A cassette written before placeholders were tokens (`[REDACTED]` auth
/// headers, `[REDACTED…x7k9]` secrets) still loads and replays.
#[tokio::test]
async fn an_older_cassette_still_replays() {
    let cassette = Cassette::parse(
        r#"{"interactions": [{
            "service": "mailtrap", "name": "list 200",
            "request": {"method": "GET", "path": "/api/accounts/7/api_tokens",
                        "headers": {"api-token": "[REDACTED]"}},
            "response": {"status": 200, "headers": {"content-type": "application/json"},
                         "body": [{"id": 5, "name": "ci", "last_4_digits": "x7k9",
                                   "created_by": "ops", "expires_at": null, "resources": []}]}
        }]}"#,
    )
    .unwrap();
    assert_eq!(
        cassette.interactions[0].request.headers["api-token"],
        "[REDACTED]"
    );
    let replayer = Replayer::from_cassette(cassette).await;
    let listed = mailtrap_list(&replayer.uri(), &stranger(), 7)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "ci");
    assert!(replayer.unserved().is_empty());
}
