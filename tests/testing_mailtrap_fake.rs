//! The Mailtrap fake behaves as Mailtrap's account API tokens do, driven
//! with plain HTTP.

use std::time::Duration;

use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

enum Auth<'a> {
    Header(&'a str),
    Bearer(&'a str),
    None,
}

struct Http {
    http: reqwest::Client,
    base: String,
}

impl Http {
    fn new(fake: &MailtrapFake) -> Http {
        Http {
            http: reqwest::Client::new(),
            base: format!(
                "{}/api/accounts/{}/api_tokens",
                fake.uri(),
                fake.account_id()
            ),
        }
    }

    async fn call(
        &self,
        method: Method,
        url: &str,
        auth: Auth<'_>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, url);
        request = match auth {
            Auth::Header(token) => request.header("Api-Token", token),
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::None => request,
        };
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        if status != 204 {
            assert!(
                answer.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json"),
                "{status}"
            );
        }
        let bytes = answer.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, body)
    }
}

fn create_body(fake: &MailtrapFake, name: &str) -> Value {
    json!({"name": name, "resources": [
        {"resource_type": "account", "resource_id": fake.account_id(), "access_level": 100}
    ]})
}

#[tokio::test]
async fn create_list_get_reset_delete_both_list() {
    let mt = MailtrapFake::start().await;
    let http = Http::new(&mt);
    let key = mt.token().expose_secret().to_owned();
    let auth = || Auth::Header(&key);

    // Create: 200 with the secret once.
    let (status, created) = http
        .call(
            Method::POST,
            &http.base,
            auth(),
            Some(&create_body(&mt, "CI deploy")),
        )
        .await;
    assert_eq!(status, 200);
    let id = created["id"].as_u64().unwrap();
    let secret = created["token"].as_str().unwrap().to_owned();
    assert_eq!(created["name"], "CI deploy");
    assert_eq!(created["last_4_digits"], &secret[secret.len() - 4..]);
    assert_eq!(created["created_by"], "owner@example.com");
    assert_eq!(created["expires_at"], Value::Null);
    assert_eq!(
        created["resources"],
        json!([{"resource_type": "account", "resource_id": mt.account_id(), "access_level": 100}])
    );
    let held = mt.tokens();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, id);
    assert_eq!(held[0].secret.expose_secret(), secret);
    assert_eq!(held[0].last_4_digits(), &secret[secret.len() - 4..]);

    // List and get: never the secret.
    let (status, list) = http.call(Method::GET, &http.base, auth(), None).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("token").is_none());
    assert!(!list.to_string().contains(&secret));
    let one = format!("{}/{id}", http.base);
    let (status, got) = http.call(Method::GET, &one, auth(), None).await;
    assert_eq!(status, 200);
    assert_eq!(got["id"], id);
    assert!(got.get("token").is_none());

    // Reset: a new id and secret; the old token expires in 12 hours.
    let (status, reset) = http
        .call(Method::POST, &format!("{one}/reset"), auth(), None)
        .await;
    assert_eq!(status, 200);
    let new_id = reset["id"].as_u64().unwrap();
    let new_secret = reset["token"].as_str().unwrap().to_owned();
    assert_ne!(new_id, id);
    assert_ne!(new_secret, secret);
    assert_eq!(reset["name"], format!("CI deploy {new_id}"));
    assert_eq!(reset["expires_at"], Value::Null);
    assert_eq!(reset["resources"], created["resources"]);
    let held = mt.tokens();
    assert_eq!(held.len(), 2);
    let old = held.iter().find(|t| t.id == id).unwrap();
    let expiry = old.expires_at.expect("the old token now expires");
    let grace = expiry - mt.now();
    assert!(
        grace > TimeDelta::hours(11) && grace <= TimeDelta::hours(12),
        "{grace}"
    );
    let (_, got) = http.call(Method::GET, &one, auth(), None).await;
    let listed_expiry: DateTime<Utc> = got["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(listed_expiry.timestamp(), expiry.timestamp());

    // A token that already expires cannot be reset again.
    let (status, refused) = http
        .call(Method::POST, &format!("{one}/reset"), auth(), None)
        .await;
    assert_eq!(status, 422);
    assert!(refused["errors"]["base"][0].is_string());
    assert_eq!(mt.tokens().len(), 2);

    // Delete both: 204 with no body, then 404.
    for token in [id, new_id] {
        let url = format!("{}/{token}", http.base);
        let (status, body) = http.call(Method::DELETE, &url, auth(), None).await;
        assert_eq!((status, body), (204, Value::Null));
        let (status, body) = http.call(Method::GET, &url, auth(), None).await;
        assert_eq!((status, body), (404, json!({"error": "Not Found"})));
        let (status, _) = http.call(Method::DELETE, &url, auth(), None).await;
        assert_eq!(status, 404);
    }
    let (_, list) = http.call(Method::GET, &http.base, auth(), None).await;
    assert_eq!(list, json!([]));
    assert!(mt.tokens().is_empty());
}

#[tokio::test]
async fn bearer_and_minted_tokens_are_credentials_until_they_expire() {
    let mt = MailtrapFake::builder()
        .account_id(42)
        .owner("ops@example.com")
        .token(SecretString::from("0123456789abcdef0123456789abcdef"))
        .start()
        .await;
    let http = Http::new(&mt);
    let (status, created) = http
        .call(
            Method::POST,
            &http.base,
            Auth::Bearer("0123456789abcdef0123456789abcdef"),
            Some(&create_body(&mt, "child")),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(created["created_by"], "ops@example.com");
    let child = created["token"].as_str().unwrap().to_owned();

    // The child creates a grandchild: created_by names the child.
    let (_, grandchild) = http
        .call(
            Method::POST,
            &http.base,
            Auth::Header(&child),
            Some(&create_body(&mt, "grandchild")),
        )
        .await;
    assert_eq!(grandchild["created_by"], "child");

    // Reset the child: its old secret works during the grace period only.
    let reset_url = format!("{}/{}/reset", http.base, created["id"]);
    let (status, _) = http
        .call(Method::POST, &reset_url, Auth::Header(&child), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = http
        .call(Method::GET, &http.base, Auth::Header(&child), None)
        .await;
    assert_eq!(status, 200);
    mt.advance_clock(Duration::from_secs(12 * 3600 + 60));
    let (status, body) = http
        .call(Method::GET, &http.base, Auth::Header(&child), None)
        .await;
    assert_eq!(
        (status, body),
        (401, json!({"error": "Incorrect API token"}))
    );
}

#[tokio::test]
async fn wrong_credentials_and_account_answer_in_mailtrap_shape() {
    let mt = MailtrapFake::start().await;
    let http = Http::new(&mt);
    for auth in [Auth::None, Auth::Header("nope"), Auth::Bearer("nope")] {
        let (status, body) = http
            .call(Method::POST, &http.base, auth, Some(&create_body(&mt, "x")))
            .await;
        assert_eq!(
            (status, body),
            (401, json!({"error": "Incorrect API token"}))
        );
    }
    let key = mt.token().expose_secret().to_owned();
    let other_account = format!("{}/api/accounts/1/api_tokens", mt.uri());
    for method in [Method::GET, Method::POST] {
        let (status, body) = http
            .call(
                method,
                &other_account,
                Auth::Header(&key),
                Some(&create_body(&mt, "x")),
            )
            .await;
        assert_eq!(
            (status, body),
            (403, json!({"errors": "Account access forbidden"}))
        );
    }
    let (status, _) = http
        .call(
            Method::GET,
            &format!("{}/api/accounts/abc/api_tokens", mt.uri()),
            Auth::Header(&key),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = http
        .call(
            Method::GET,
            &format!("{}/not-a-token", http.base),
            Auth::Header(&key),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert!(mt.tokens().is_empty());
}

#[tokio::test]
async fn invalid_bodies_answer_422_base_or_per_field() {
    let mt = MailtrapFake::start().await;
    let http = Http::new(&mt);
    let key = mt.token().expose_secret().to_owned();
    let account = mt.account_id();
    let resource = json!({"resource_type": "account", "resource_id": account, "access_level": 100});
    let in_days = |days: i64| (Utc::now() + TimeDelta::days(days)).to_rfc3339();
    let cases = [
        (json!({"name": "", "resources": [resource]}), "name"),
        (json!({"resources": [resource]}), "name"),
        (
            json!({"name": "x".repeat(256), "resources": [resource]}),
            "name",
        ),
        (json!({"name": "n", "resources": []}), "base"),
        (json!({"name": "n"}), "base"),
        (
            json!({"name": "n", "resources": [resource], "expires_at": in_days(-1)}),
            "expires_at",
        ),
        (
            json!({"name": "n", "resources": [resource], "expires_at": in_days(5 * 366)}),
            "expires_at",
        ),
        (
            json!({"name": "n", "resources": [resource], "expires_at": "soon"}),
            "expires_at",
        ),
        (
            json!({"name": "n", "resources": [{"resource_type": "account", "resource_id": account, "access_level": 50}]}),
            "resources",
        ),
        (
            json!({"name": "n", "resources": [{"resource_type": "galaxy", "resource_id": 1, "access_level": 10}]}),
            "resources",
        ),
        (
            json!({"name": "n", "resources": [resource], "color": "blue"}),
            "color",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = http
            .call(Method::POST, &http.base, Auth::Header(&key), Some(&body))
            .await;
        assert_eq!(status, 422, "{body}");
        let messages = answer["errors"][field]
            .as_array()
            .unwrap_or_else(|| panic!("{body} → {answer}"));
        assert!(messages.iter().all(Value::is_string), "{answer}");
    }
    let (_, answer) = http
        .call(
            Method::POST,
            &http.base,
            Auth::Header(&key),
            Some(&json!({"name": "n", "resources": []})),
        )
        .await;
    assert_eq!(
        answer,
        json!({"errors": {"base": ["No permissions selected. Please choose at least one."]}})
    );
    assert!(mt.tokens().is_empty(), "no invalid create minted a token");

    // A valid expiry and a reset body with its own expiry are accepted.
    let at = in_days(30);
    let (status, created) = http
        .call(
            Method::POST,
            &http.base,
            Auth::Header(&key),
            Some(&json!({"name": "n", "resources": [resource], "expires_at": at})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(created["expires_at"].is_string());
    let fresh = mt.insert_token(MailtrapTokenSeed::new("seeded").permission("project", "p-1", 10));
    assert_eq!(fresh.resources[0].resource_id, json!("p-1"));
    let (status, reset) = http
        .call(
            Method::POST,
            &format!("{}/{}/reset", http.base, fresh.id),
            Auth::Header(&key),
            Some(&json!({"expires_at": at})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(reset["expires_at"].is_string());
    assert_eq!(reset["resources"][0]["resource_id"], "p-1");
    let (status, _) = http
        .call(
            Method::POST,
            &format!("{}/{}/reset", http.base, reset["id"]),
            Auth::Header(&key),
            Some(&json!({"expires_at": in_days(-3)})),
        )
        .await;
    assert_eq!(status, 422);
}
