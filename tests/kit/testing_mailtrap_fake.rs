//! The Mailtrap fake behaves as Mailtrap's account API tokens do, driven
//! with plain HTTP.

use std::time::Duration;

use api_tokens::mailtrap::{AccessLevel, ResourceId, ResourceType, TokenId};
use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed, ResetRule};
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
    let id = token_id(&created["id"]);
    let secret = created["token"].as_str().unwrap().to_owned();
    assert_eq!(created["name"], "CI deploy");
    assert_eq!(created["last_4_digits"], &secret[secret.len() - 4..]);
    assert_eq!(created["created_by"], "owner@example.com");
    // No `expires_at` asked: the service's default lifetime, one year.
    let expires: DateTime<Utc> = created["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires - mt.now() > TimeDelta::days(364), "{expires}");
    assert!(expires - mt.now() <= TimeDelta::days(365), "{expires}");
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
    assert_eq!(token_id(&got["id"]), id);
    assert!(got.get("token").is_none());

    // Reset: a new id and secret; the old token expires in 12 hours.
    let (status, reset) = http
        .call(Method::POST, &format!("{one}/reset"), auth(), None)
        .await;
    assert_eq!(status, 200);
    let new_id = token_id(&reset["id"]);
    let new_secret = reset["token"].as_str().unwrap().to_owned();
    assert_ne!(new_id, id);
    assert_ne!(new_secret, secret);
    assert_eq!(reset["name"], format!("CI deploy {new_id}"));
    // No body: the default lifetime again, a year from the reset.
    let renewed: DateTime<Utc> = reset["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(renewed - mt.now() > TimeDelta::days(364), "{renewed}");
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
    let fresh = mt.insert_token(MailtrapTokenSeed::new("seeded").permission(
        ResourceType::Project,
        "p-1",
        AccessLevel::Viewer,
    ));
    assert_eq!(
        fresh.permissions[0].resource_id,
        ResourceId::Str("p-1".into())
    );
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

// ---- the account-free form ----

/// The base of the account-free form: the account is the caller's own.
fn account_free(fake: &MailtrapFake) -> String {
    format!("{}/api/api_tokens", fake.uri())
}

#[tokio::test]
async fn the_account_free_paths_serve_every_operation_on_the_same_tokens() {
    let mt = MailtrapFake::start().await;
    let http = Http::new(&mt);
    let free = account_free(&mt);
    let key = mt.token().expose_secret().to_owned();
    let auth = || Auth::Header(&key);

    // Create without an account; seen under both forms.
    let (status, created) = http
        .call(Method::POST, &free, auth(), Some(&create_body(&mt, "free")))
        .await;
    assert_eq!(status, 200, "{created}");
    let id = token_id(&created["id"]);
    assert!(created["token"].is_string());
    let (_, scoped_list) = http.call(Method::GET, &http.base, auth(), None).await;
    let (status, free_list) = http.call(Method::GET, &free, auth(), None).await;
    assert_eq!(status, 200);
    assert_eq!(free_list, scoped_list);
    assert_eq!(token_id(&free_list[0]["id"]), id);
    assert!(free_list[0].get("token").is_none());

    // Get, reset (with the optional expiry body) and delete, account-free.
    let one = format!("{free}/{id}");
    let (status, got) = http.call(Method::GET, &one, auth(), None).await;
    assert_eq!((status, &got["name"]), (200, &json!("free")));
    let at = (mt.now() + TimeDelta::days(10)).to_rfc3339();
    let (status, reset) = http
        .call(
            Method::POST,
            &format!("{one}/reset"),
            auth(),
            Some(&json!({ "expires_at": at })),
        )
        .await;
    assert_eq!(status, 200, "{reset}");
    let new_id = token_id(&reset["id"]);
    assert_eq!(reset["name"], format!("free {new_id}"));
    let new_expiry: DateTime<Utc> = reset["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        new_expiry.timestamp(),
        at.parse::<DateTime<Utc>>().unwrap().timestamp()
    );
    let (status, body) = http.call(Method::DELETE, &one, auth(), None).await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, body) = http.call(Method::GET, &one, auth(), None).await;
    assert_eq!((status, body), (404, json!({"error": "Not Found"})));
    let ids: Vec<TokenId> = mt.tokens().iter().map(|t| t.id).collect();
    assert_eq!(ids, [new_id]);

    // Ids and paths the service does not have.
    for bad in [
        format!("{free}/abc"),
        format!("{free}/0"),
        format!("{free}/{new_id}/x"),
    ] {
        let (status, _) = http.call(Method::GET, &bad, auth(), None).await;
        assert_eq!(status, 404, "{bad}");
    }

    // Each request reached the endpoint its method and path name.
    let ops: Vec<Option<&str>> = mt.requests().iter().map(|r| r.operation).collect();
    assert_eq!(
        ops,
        [
            Some("create"),
            Some("list"),
            Some("list"),
            Some("get"),
            Some("reset"),
            Some("delete"),
            Some("get"),
            Some("get"),
            Some("get"),
            None,
        ]
    );
    assert!(mt.requests()[0].path == "/api/api_tokens");
}

#[tokio::test]
async fn a_minted_secret_works_on_every_endpoint_of_both_forms_until_deleted() {
    let mt = MailtrapFake::start().await;
    let http = Http::new(&mt);
    let free = account_free(&mt);
    let key = mt.token().expose_secret().to_owned();
    let (_, created) = http
        .call(
            Method::POST,
            &http.base,
            Auth::Header(&key),
            Some(&create_body(&mt, "minted")),
        )
        .await;
    let minted = created["token"].as_str().unwrap().to_owned();

    for base in [&http.base, &free] {
        let (status, made) = http
            .call(
                Method::POST,
                base,
                Auth::Bearer(&minted),
                Some(&create_body(&mt, "child")),
            )
            .await;
        assert_eq!(status, 200, "{base}");
        assert_eq!(made["created_by"], "minted");
        let child = made["id"].as_u64().unwrap();
        let (status, _) = http
            .call(Method::GET, base, Auth::Header(&minted), None)
            .await;
        assert_eq!(status, 200);
        let one = format!("{base}/{child}");
        let (status, _) = http
            .call(Method::GET, &one, Auth::Header(&minted), None)
            .await;
        assert_eq!(status, 200);
        let (status, reset) = http
            .call(
                Method::POST,
                &format!("{one}/reset"),
                Auth::Header(&minted),
                None,
            )
            .await;
        assert_eq!(status, 200);
        // The secret a reset mints is a credential too, in both forms.
        let renewed = reset["token"].as_str().unwrap().to_owned();
        for other in [&http.base, &free] {
            let (status, _) = http
                .call(Method::GET, other, Auth::Header(&renewed), None)
                .await;
            assert_eq!(status, 200);
        }
        let (status, _) = http
            .call(
                Method::DELETE,
                &format!("{base}/{}", reset["id"]),
                Auth::Header(&minted),
                None,
            )
            .await;
        assert_eq!(status, 204);
        let (status, body) = http
            .call(Method::GET, base, Auth::Header(&renewed), None)
            .await;
        assert_eq!(
            (status, body),
            (401, json!({"error": "Incorrect API token"})),
            "a deleted token's secret"
        );
    }

    // Deleted, the minted secret is refused on every endpoint of both forms.
    let own = format!("{}/{}", http.base, created["id"]);
    let (status, _) = http
        .call(Method::DELETE, &own, Auth::Header(&key), None)
        .await;
    assert_eq!(status, 204);
    for base in [&http.base, &free] {
        let one = format!("{base}/{}", created["id"]);
        for (method, url) in [
            (Method::GET, base.clone()),
            (Method::POST, base.clone()),
            (Method::GET, one.clone()),
            (Method::DELETE, one.clone()),
            (Method::POST, format!("{one}/reset")),
        ] {
            let (status, body) = http
                .call(
                    method.clone(),
                    &url,
                    Auth::Header(&minted),
                    Some(&create_body(&mt, "x")),
                )
                .await;
            assert_eq!(
                (status, body),
                (401, json!({"error": "Incorrect API token"})),
                "{method} {url}"
            );
        }
    }
    let (status, _) = http
        .call(Method::GET, &free, Auth::Header("unknown"), None)
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_expired_token_and_a_reset_one_past_its_grace_are_refused_as_credentials() {
    let mt = MailtrapFake::start().await;
    let http = Http::new(&mt);
    let free = account_free(&mt);
    let key = mt.token().expose_secret().to_owned();
    let short =
        mt.insert_token(MailtrapTokenSeed::new("short").expires_at(mt.now() + TimeDelta::hours(1)));
    let reset_me = mt.insert_token(MailtrapTokenSeed::new("reset me"));
    let (status, reset) = http
        .call(
            Method::POST,
            &format!("{free}/{}/reset", reset_me.id),
            Auth::Header(&key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let renewed = reset["token"].as_str().unwrap().to_owned();
    let old = reset_me.secret.expose_secret().to_owned();
    let short_secret = short.secret.expose_secret().to_owned();

    let status_with = |secret: String| {
        let http = &http;
        let free = free.clone();
        async move {
            http.call(Method::GET, &free, Auth::Header(&secret), None)
                .await
                .0
        }
    };
    assert_eq!(
        status_with(old.clone()).await,
        200,
        "the old secret, in its grace"
    );
    assert_eq!(status_with(short_secret.clone()).await, 200);

    mt.advance_clock(Duration::from_secs(3600 + 1));
    assert_eq!(status_with(short_secret).await, 401, "expired");
    assert_eq!(
        status_with(old.clone()).await,
        200,
        "11 hours of grace left"
    );

    mt.advance_clock(Duration::from_secs(11 * 3600 - 120));
    assert_eq!(
        status_with(old.clone()).await,
        200,
        "a minute of grace left"
    );
    mt.advance_clock(Duration::from_secs(120));
    assert_eq!(status_with(old).await, 401, "the grace is over");
    assert_eq!(status_with(renewed).await, 200, "the new secret lives on");
}

// ---- resource types ----

#[tokio::test]
async fn old_and_new_resource_names_are_kept_as_given() {
    let mt = MailtrapFake::start().await;
    let http = Http::new(&mt);
    let key = mt.token().expose_secret().to_owned();
    let old = mt.insert_token(
        MailtrapTokenSeed::new("old names")
            .raw_permission("inbox", 11, 100)
            .raw_permission("sending_domain", 12, 10),
    );
    let new = mt.insert_token(
        MailtrapTokenSeed::new("new names")
            .permission(ResourceType::Sandbox, 11, AccessLevel::Admin)
            .permission(ResourceType::Domain, 12, AccessLevel::Viewer),
    );
    assert_eq!(old.wire_resource_types(), ["inbox", "sending_domain"]);
    assert_eq!(new.wire_resource_types(), ["sandbox", "domain"]);
    // Typed, the old names read as the client decodes them.
    assert_eq!(old.permissions, new.permissions);
    assert_eq!(old.permissions[0].resource_type, ResourceType::Sandbox);

    // Listed and got as stored, under both forms.
    let (_, list) = http
        .call(Method::GET, &account_free(&mt), Auth::Header(&key), None)
        .await;
    let types = |token: &Value| -> Vec<String> {
        token["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["resource_type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(types(&list[0]), ["inbox", "sending_domain"]);
    assert_eq!(types(&list[1]), ["sandbox", "domain"]);
    let (_, got) = http
        .call(
            Method::GET,
            &format!("{}/{}", http.base, old.id),
            Auth::Header(&key),
            None,
        )
        .await;
    assert_eq!(
        got["resources"],
        json!([
            {"resource_type": "inbox", "resource_id": 11, "access_level": 100},
            {"resource_type": "sending_domain", "resource_id": 12, "access_level": 10}
        ])
    );
    // A reset keeps them as they were.
    let (_, reset) = http
        .call(
            Method::POST,
            &format!("{}/{}/reset", http.base, old.id),
            Auth::Header(&key),
            None,
        )
        .await;
    assert_eq!(reset["resources"], got["resources"]);
    assert!(
        new.permissions
            .iter()
            .all(|p| matches!(p.access_level, AccessLevel::Admin | AccessLevel::Viewer))
    );

    // Create takes every name of the contract's enum, and nothing else.
    for kind in [
        "account",
        "project",
        "sandbox",
        "domain",
        "billing",
        "organization",
        "email_campaign_permission_scope",
        "email_template",
        "inbox",
        "sending_domain",
    ] {
        let body = json!({"name": kind, "resources": [
            {"resource_type": kind, "resource_id": 7, "access_level": 10}]});
        let (status, made) = http
            .call(Method::POST, &http.base, Auth::Header(&key), Some(&body))
            .await;
        assert_eq!(status, 200, "{kind}: {made}");
        assert_eq!(made["resources"][0]["resource_type"], kind);
    }
    let body = json!({"name": "n", "resources": [
        {"resource_type": "mailbox", "resource_id": 7, "access_level": 10}]});
    let (status, answer) = http
        .call(Method::POST, &http.base, Auth::Header(&key), Some(&body))
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        answer["errors"]["resources"],
        json!(["resource_type is not included in the list"])
    );
}

// ---- reset rules ----

/// Resets `id` under the account-free form; `(status, body)`.
async fn reset(
    http: &Http,
    fake: &MailtrapFake,
    id: impl std::fmt::Display,
    body: Option<&Value>,
) -> (u16, Value) {
    let key = fake.token().expose_secret().to_owned();
    http.call(
        Method::POST,
        &format!("{}/{id}/reset", account_free(fake)),
        Auth::Header(&key),
        body,
    )
    .await
}

fn base_error(message: &str) -> Value {
    json!({"errors": {"base": [message]}})
}

#[tokio::test]
async fn the_current_rule_refuses_a_token_already_reset_or_expired_and_nothing_else() {
    let mt = MailtrapFake::start().await;
    let http = Http::new(&mt);
    let never = mt.insert_token(MailtrapTokenSeed::new("never"));
    let later =
        mt.insert_token(MailtrapTokenSeed::new("later").expires_at(mt.now() + TimeDelta::hours(2)));
    let gone =
        mt.insert_token(MailtrapTokenSeed::new("gone").expires_at(mt.now() - TimeDelta::hours(1)));

    // A token that will expire can be reset; its grace never outlives it.
    let (status, renewed) = reset(&http, &mt, later.id, None).await;
    assert_eq!(status, 200, "{renewed}");
    let held = mt.tokens();
    let old = held.iter().find(|t| t.id == later.id).unwrap();
    assert_eq!(old.expires_at, later.expires_at, "2 h is sooner than 12 h");
    assert_eq!(old.replaced_by, Some(token_id(&renewed["id"])));

    // Already reset: 422, even though it still works in its grace period.
    let (status, body) = reset(&http, &mt, later.id, None).await;
    assert_eq!(
        (status, body),
        (422, base_error("This token has already been reset"))
    );

    // Expired: 422.
    let (status, body) = reset(&http, &mt, gone.id, None).await;
    assert_eq!(
        (status, body),
        (422, base_error("An expired token cannot be reset"))
    );

    // A token that never expires: reset, then refused as already reset.
    let (status, _) = reset(&http, &mt, never.id, None).await;
    assert_eq!(status, 200);
    let (status, body) = reset(&http, &mt, never.id, None).await;
    assert_eq!(
        (status, body),
        (422, base_error("This token has already been reset"))
    );

    // The new token of a reset can itself be reset, and a missing one is 404.
    let (status, again) = reset(&http, &mt, renewed["id"].as_u64().unwrap(), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        again["name"],
        format!("later {} {}", renewed["id"], again["id"])
    );
    let (status, _) = reset(&http, &mt, 999_999, None).await;
    assert_eq!(status, 404);
    assert_eq!(mt.tokens().len(), 6, "three seeded, three minted by resets");
}

#[tokio::test]
async fn the_published_rule_refuses_any_token_with_an_expiration() {
    let mt = MailtrapFake::builder()
        .reset_rule(ResetRule::Published)
        .start()
        .await;
    let http = Http::new(&mt);
    let never = mt.insert_token(MailtrapTokenSeed::new("never"));
    let later =
        mt.insert_token(MailtrapTokenSeed::new("later").expires_at(mt.now() + TimeDelta::days(30)));
    let published = base_error("Only a token without an expiration can be reset");

    let (status, body) = reset(&http, &mt, later.id, None).await;
    assert_eq!((status, body), (422, published.clone()));
    let (status, renewed) = reset(&http, &mt, never.id, Some(&json!({ "expires_at": null }))).await;
    assert_eq!(status, 200);
    let (status, body) = reset(&http, &mt, never.id, None).await;
    assert_eq!(
        (status, body),
        (422, published.clone()),
        "reset: it now expires"
    );

    // A reset with an expiry gives a token that this rule will not reset.
    let at = (mt.now() + TimeDelta::days(7)).to_rfc3339();
    let fresh = renewed["id"].as_u64().unwrap();
    let (status, dated) = reset(&http, &mt, fresh, Some(&json!({ "expires_at": at }))).await;
    assert_eq!(status, 200);
    let (status, body) = reset(&http, &mt, dated["id"].as_u64().unwrap(), None).await;
    assert_eq!((status, body), (422, published.clone()));

    // A reset that asks for no expiry gets the default lifetime: this
    // rule will not reset that token either.
    let never_again = mt.insert_token(MailtrapTokenSeed::new("never again"));
    let (status, defaulted) = reset(&http, &mt, never_again.id, None).await;
    assert_eq!(status, 200);
    assert_ne!(defaulted["expires_at"], Value::Null);
    let (status, body) = reset(&http, &mt, defaulted["id"].as_u64().unwrap(), None).await;
    assert_eq!((status, body), (422, published.clone()));

    // Switched back at run time, the current rule applies.
    mt.set_reset_rule(ResetRule::Current);
    let (status, _) = reset(&http, &mt, later.id, None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn reset_takes_an_optional_expiry_body() {
    let mt = MailtrapFake::start().await;
    let http = Http::new(&mt);
    let seed = |name: &str| mt.insert_token(MailtrapTokenSeed::new(name)).id;

    // No body or an empty object: the service's default lifetime, one
    // year (as the contract describes the body; its example answer
    // predates the default). `null`: never expires.
    for (name, body) in [("none", None), ("empty", Some(json!({})))] {
        let before = mt.now();
        let (status, renewed) = reset(&http, &mt, seed(name), body.as_ref()).await;
        assert_eq!(status, 200, "{name}");
        let got: DateTime<Utc> = renewed["expires_at"].as_str().unwrap().parse().unwrap();
        let lifetime = got - before;
        assert!(
            lifetime >= TimeDelta::days(365)
                && lifetime < TimeDelta::days(365) + TimeDelta::minutes(1),
            "{name}: {got}"
        );
    }
    let (status, renewed) = reset(
        &http,
        &mt,
        seed("null"),
        Some(&json!({ "expires_at": null })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(renewed["expires_at"], Value::Null);
    let at = mt.now() + TimeDelta::days(3);
    let (status, renewed) = reset(
        &http,
        &mt,
        seed("dated"),
        Some(&json!({"expires_at": at.to_rfc3339()})),
    )
    .await;
    assert_eq!(status, 200);
    let got: DateTime<Utc> = renewed["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(got.timestamp(), at.timestamp());

    // Refused, and nothing changes: a past expiry, a field reset does not
    // take, a body that is not an object.
    let before = mt.tokens().len();
    let id = seed("refused");
    let past = (mt.now() - TimeDelta::days(1)).to_rfc3339();
    let (status, body) = reset(&http, &mt, id, Some(&json!({ "expires_at": past }))).await;
    assert_eq!(
        (status, body),
        (
            422,
            json!({"errors": {"expires_at": ["must be in the future"]}})
        )
    );
    let (status, body) = reset(&http, &mt, id, Some(&json!({"name": "x"}))).await;
    assert_eq!(
        (status, body),
        (
            422,
            json!({"errors": {"name": ["is not a permitted attribute"]}})
        )
    );
    let (status, _) = reset(&http, &mt, id, Some(&json!([1]))).await;
    assert_eq!(status, 422);
    assert_eq!(mt.tokens().len(), before + 1, "only the seeded one");
    assert!(
        mt.tokens()
            .iter()
            .all(|t| t.id != id || t.replaced_by.is_none())
    );
}

/// A token id as the fake wrote it, decoded as the client decodes it.
fn token_id(id: &Value) -> TokenId {
    serde_json::from_value(id.clone()).unwrap()
}

/// Sends `body` to `url` with the fake's own key and the content type
/// given (none for `None`): the status and the JSON answer.
async fn post_as(
    mt: &MailtrapFake,
    url: &str,
    content_type: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("api-token", mt.token().expose_secret())
        .body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    let bytes = answer.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// Contract l.48-53 / l.216-221: the create body is `application/json`. As
/// a Rails service, the fake reads a body as parameters only when it is
/// declared JSON: anything else is a create with no name and no
/// permissions (422, nothing minted), and a reset without a body.
#[tokio::test]
async fn a_body_not_declared_json_is_no_parameters() {
    let unparsed = json!({"errors": {
        "base": ["No permissions selected. Please choose at least one."],
        "name": ["can't be blank"],
    }});
    for free in [false, true] {
        let mt = MailtrapFake::start().await;
        let create = create_body(&mt, "typed").to_string();
        let base = if free {
            account_free(&mt)
        } else {
            Http::new(&mt).base
        };
        for content_type in [None, Some("text/plain"), Some("application/xml")] {
            let (status, body) = post_as(&mt, &base, content_type, &create).await;
            assert_eq!((status, &body), (422, &unparsed), "{content_type:?}");
        }
        assert!(mt.tokens().is_empty(), "nothing minted");
        for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
            let (status, body) = post_as(&mt, &base, Some(content_type), &create).await;
            assert_eq!(status, 200, "{content_type}: {body}");
        }

        // A reset: an expiry sent as text is not read; neither is garbage.
        for (content_type, body) in [
            (Some("text/plain"), r#"{"expires_at": null}"#),
            (None, r#"{"expires_at": null}"#),
            (Some("text/plain"), "{\"expires_at\": "),
        ] {
            let id = mt.insert_token(MailtrapTokenSeed::new("to reset")).id;
            let before = mt.now();
            let (status, renewed) =
                post_as(&mt, &format!("{base}/{id}/reset"), content_type, body).await;
            assert_eq!(status, 200, "{content_type:?} {body}: {renewed}");
            let got: DateTime<Utc> = renewed["expires_at"].as_str().unwrap().parse().unwrap();
            assert!(got - before >= TimeDelta::days(365), "the default lifetime");
        }
        // Declared JSON, it is read.
        let id = mt.insert_token(MailtrapTokenSeed::new("to reset")).id;
        let (status, renewed) = post_as(
            &mt,
            &format!("{base}/{id}/reset"),
            Some("application/json"),
            r#"{"expires_at": null}"#,
        )
        .await;
        assert_eq!((status, &renewed["expires_at"]), (200, &Value::Null));
    }
}
