//! The Unit fake behaves as Unit's Org API tokens do, driven with plain HTTP.

use std::time::Duration;

use api_tokens::testing::{RevokeAnswer, UnitFake, UnitTokenSeed};
use api_tokens::unit::{Scope, SourceIp};
use chrono::{TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

const JSON_API: &str = "application/vnd.api+json";

struct Http {
    http: reqwest::Client,
    base: String,
}

impl Http {
    fn new(fake: &UnitFake) -> Http {
        Http {
            http: reqwest::Client::new(),
            base: format!("{}/users/{}/api-tokens", fake.uri(), fake.user_id()),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        suffix: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, String, Value) {
        let mut request = self.http.request(method, format!("{}{suffix}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", JSON_API)
                .body(body.to_string());
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let content_type = answer
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = answer.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, content_type, body)
    }
}

fn in_days(days: i64) -> String {
    (Utc::now() + TimeDelta::days(days))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn create_body(description: &str) -> Value {
    json!({"data": {"type": "apiToken", "attributes": {
        "description": description,
        "scope": "customers applications",
        "expiration": in_days(30),
    }}})
}

fn single_error(body: &Value) -> &Value {
    let errors = body["errors"]
        .as_array()
        .expect("a JSON:API error document");
    assert!(!errors.is_empty());
    &errors[0]
}

#[tokio::test]
async fn create_list_revoke_list() {
    let unit = UnitFake::start().await;
    let http = Http::new(&unit);
    let key = unit.token().expose_secret().to_owned();
    assert!(unit.tokens().is_empty());

    // Create: 201, the secret once.
    let (status, content_type, created) = http
        .call(
            reqwest::Method::POST,
            "",
            Some(&key),
            Some(&create_body("CI deploy")),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(content_type, JSON_API);
    let data = &created["data"];
    assert_eq!(data["type"], "apiToken");
    assert_eq!(data["attributes"]["description"], "CI deploy");
    let secret = data["attributes"]["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("v2.public."));
    let held = unit.tokens();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, data["id"].as_str().unwrap());
    assert_eq!(held[0].secret.expose_secret(), secret);
    assert_eq!(held[0].scopes, [Scope::Customers, Scope::Applications]);
    assert!(
        !format!("{:?}", held[0]).contains(&secret),
        "a held token's Debug hides its secret"
    );

    // A second create mints another id and another secret.
    let (_, _, second) = http
        .call(
            reqwest::Method::POST,
            "",
            Some(&key),
            Some(&create_body("Reporting")),
        )
        .await;
    assert_ne!(second["data"]["id"], data["id"]);
    assert_ne!(
        second["data"]["attributes"]["token"].as_str().unwrap(),
        secret
    );

    // List: both, never a secret.
    let (status, content_type, list) = http.call(reqwest::Method::GET, "", Some(&key), None).await;
    assert_eq!((status, content_type.as_str()), (200, JSON_API));
    let listed = list["data"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|t| t["attributes"].get("token").is_none())
    );
    assert!(!list.to_string().contains(&secret));
    assert_eq!(
        listed[0]["attributes"]["createdAt"].as_str().unwrap().len(),
        24
    );

    // Revoke: 200 with the token (no secret), then it is gone.
    let id = data["id"].as_str().unwrap().to_owned();
    let (status, _, revoked) = http
        .call(reqwest::Method::DELETE, &format!("/{id}"), Some(&key), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(revoked["data"]["id"], id.as_str());
    assert!(revoked["data"]["attributes"].get("token").is_none());
    assert_eq!(unit.tokens().len(), 1);

    let (status, _, again) = http
        .call(reqwest::Method::DELETE, &format!("/{id}"), Some(&key), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(single_error(&again)["status"], "404");

    let (_, _, list) = http.call(reqwest::Method::GET, "", Some(&key), None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["attributes"]["description"], "Reporting");
}

#[tokio::test]
async fn wrong_or_missing_credentials_answer_401_json_api() {
    let unit = UnitFake::start().await;
    let http = Http::new(&unit);
    for token in [None, Some("v2.public.not-the-right-one")] {
        for (method, body) in [
            (reqwest::Method::GET, None),
            (reqwest::Method::POST, Some(create_body("x"))),
        ] {
            let (status, content_type, body) = http.call(method, "", token, body.as_ref()).await;
            assert_eq!(status, 401);
            assert_eq!(content_type, JSON_API);
            let error = single_error(&body);
            assert_eq!(error["status"], "401");
            assert_eq!(error["title"], "Unauthorized");
        }
    }
    assert!(unit.tokens().is_empty(), "nothing was created");
}

#[tokio::test]
async fn invalid_bodies_answer_400_with_pointers() {
    let unit = UnitFake::start().await;
    let http = Http::new(&unit);
    let key = unit.token().expose_secret().to_owned();
    let attrs = |patch: Value| {
        let mut body = create_body("ok");
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body["data"]["attributes"]
                    .as_object_mut()
                    .unwrap()
                    .remove(k);
            } else {
                body["data"]["attributes"][k] = v.clone();
            }
        }
        body
    };
    let cases = [
        (
            attrs(json!({"description": null})),
            "/data/attributes/description",
        ),
        (
            attrs(json!({"description": ""})),
            "/data/attributes/description",
        ),
        (
            attrs(json!({"scope": "customers  applications"})),
            "/data/attributes/scope",
        ),
        (
            attrs(json!({"scope": "Customers"})),
            "/data/attributes/scope",
        ),
        (attrs(json!({"scope": null})), "/data/attributes/scope"),
        (
            attrs(json!({"expiration": "2030-07-01T13:47:17Z"})),
            "/data/attributes/expiration",
        ),
        (
            attrs(json!({"expiration": "2030-07-01T13:47:17.000+00:00"})),
            "/data/attributes/expiration",
        ),
        (
            attrs(json!({"expiration": "2020-07-01T13:47:17.000Z"})),
            "/data/attributes/expiration",
        ),
        (
            attrs(json!({"expiration": null})),
            "/data/attributes/expiration",
        ),
        (
            attrs(json!({"sourceIp": "192.168.1.1, 192.168.1.2"})),
            "/data/attributes/sourceIp",
        ),
        (attrs(json!({"color": "blue"})), "/data/attributes/color"),
        (
            attrs(json!({"resources": []})),
            "/data/attributes/resources",
        ),
        (
            attrs(json!({"resources": [{"type": "vault", "ids": ["1"]}]})),
            "/data/attributes/resources/0/type",
        ),
        (
            json!({"data": {"type": "token", "attributes": {}}}),
            "/data/type",
        ),
        (json!({"data": {"type": "apiToken"}}), "/data/attributes"),
        (json!({"meta": {}}), "/data"),
    ];
    for (body, pointer) in cases {
        let (status, content_type, answer) = http
            .call(reqwest::Method::POST, "", Some(&key), Some(&body))
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(content_type, JSON_API);
        let errors = answer["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["source"]["pointer"] == pointer && e["status"] == "400"),
            "{body} → {answer}"
        );
    }
    // Several mistakes are reported together.
    let (_, _, answer) = http
        .call(
            reqwest::Method::POST,
            "",
            Some(&key),
            Some(&attrs(json!({"description": "", "scope": "A"}))),
        )
        .await;
    assert_eq!(answer["errors"].as_array().unwrap().len(), 2);

    // Not JSON at all.
    let answer = reqwest::Client::new()
        .post(&http.base)
        .bearer_auth(&key)
        .header("content-type", JSON_API)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    // Not a JSON content type.
    let answer = reqwest::Client::new()
        .post(&http.base)
        .bearer_auth(&key)
        .header("content-type", "text/plain")
        .body(create_body("x").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 415);
    assert!(unit.tokens().is_empty(), "no invalid create minted a token");

    // The optional members, well formed, are accepted and kept.
    let body = attrs(
        json!({"sourceIp": "192.168.1.1,10.0.0.1", "resources": [{"type": "account", "ids": ["10001"]}]}),
    );
    let (status, _, created) = http
        .call(reqwest::Method::POST, "", Some(&key), Some(&body))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["data"]["attributes"]["sourceIp"],
        "192.168.1.1,10.0.0.1"
    );
    assert_eq!(
        unit.tokens()[0].source_ips,
        SourceIp::parse_list("192.168.1.1,10.0.0.1")
    );
}

#[tokio::test]
async fn another_user_unknown_paths_and_methods() {
    let unit = UnitFake::start().await;
    let key = unit.token().expose_secret().to_owned();
    let http = reqwest::Client::new();
    let other_user = http
        .get(format!("{}/users/999/api-tokens", unit.uri()))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(other_user.status(), 404);
    let body: Value = serde_json::from_slice(&other_user.bytes().await.unwrap()).unwrap();
    assert_eq!(body["errors"][0]["status"], "404");

    let unknown = http
        .get(format!("{}/nothing/here", unit.uri()))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let put = http
        .put(format!(
            "{}/users/{}/api-tokens",
            unit.uri(),
            unit.user_id()
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 405);
}

#[tokio::test]
async fn minted_tokens_work_until_revoked_or_expired() {
    let unit = UnitFake::builder()
        .user_id("77".parse().unwrap())
        .token(SecretString::from("v2.public.chosen-by-the-test-0000"))
        .start()
        .await;
    assert_eq!(unit.user_id(), "77");
    let http = Http::new(&unit);
    let (_, _, created) = http
        .call(
            reqwest::Method::POST,
            "",
            Some("v2.public.chosen-by-the-test-0000"),
            Some(&create_body("child")),
        )
        .await;
    let child = created["data"]["attributes"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = created["data"]["id"].as_str().unwrap().to_owned();

    let (status, _, _) = http
        .call(reqwest::Method::GET, "", Some(&child), None)
        .await;
    assert_eq!(status, 200, "a minted token is a credential");

    let (status, _, _) = http
        .call(
            reqwest::Method::DELETE,
            &format!("/{id}"),
            Some(&child),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = http
        .call(reqwest::Method::GET, "", Some(&child), None)
        .await;
    assert_eq!(status, 401, "a revoked token no longer works");

    // A seeded token stops working once the fake's clock passes its expiration.
    let seeded = unit.insert_token(
        UnitTokenSeed::new("short-lived").expiration(Utc::now() + TimeDelta::hours(1)),
    );
    let seeded_secret = seeded.secret.expose_secret().to_owned();
    let (status, _, list) = http
        .call(reqwest::Method::GET, "", Some(&seeded_secret), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["data"][0]["attributes"]["description"], "short-lived");
    unit.advance_clock(Duration::from_secs(2 * 3600));
    let (status, _, _) = http
        .call(reqwest::Method::GET, "", Some(&seeded_secret), None)
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn revoke_answers_in_each_documented_shape() {
    let unit = UnitFake::start().await;
    let http = Http::new(&unit);
    let key = unit.token().expose_secret().to_owned();
    for (answer, status, body) in [
        (RevokeAnswer::Token, 200, None),
        (RevokeAnswer::Null, 200, Some(json!({"data": null}))),
        (RevokeAnswer::NoContent, 204, Some(Value::Null)),
    ] {
        let token = unit.insert_token(UnitTokenSeed::new("to revoke"));
        unit.set_revoke_answer(answer);
        let (got_status, _, got) = http
            .call(
                reqwest::Method::DELETE,
                &format!("/{}", token.id),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(got_status, status, "{answer:?}");
        match body {
            Some(body) => assert_eq!(got, body),
            None => assert_eq!(got["data"]["id"], token.id.as_str()),
        }
        assert!(unit.tokens().iter().all(|t| t.id != token.id));
    }
}

/// The claims of a Unit secret the fake minted: the JSON payload between
/// `v2.public.` and the 64-byte signature.
fn claims(secret: &SecretString) -> Value {
    use base64::Engine as _;
    let body = secret
        .expose_secret()
        .strip_prefix("v2.public.")
        .expect("a v2.public. token");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .expect("base64url");
    serde_json::from_slice(&bytes[..bytes.len() - 64]).expect("a JSON payload")
}

/// The fake's own credential is an Org token of its user, as Unit's
/// example payload is (contract: `{"role":"org","userId":"2"}`), naming no
/// token; a credential the builder is given stays as given.
#[tokio::test]
async fn the_fakes_own_token_names_its_user() {
    use api_tokens::leak::{Hint, hint};

    for fake in [
        UnitFake::start().await,
        UnitFake::builder()
            .user_id("990".parse().unwrap())
            .start()
            .await,
    ] {
        let own = claims(fake.token());
        assert_eq!(own["role"], "org");
        assert_eq!(own["userId"], fake.user_id().as_str(), "{own}");
        assert_eq!(own["sub"], fake.user_id().as_str(), "{own}");
        let Some(Hint::Unit(read)) = hint(fake.token()) else {
            panic!("not read as a Unit token: {own}");
        };
        assert_eq!(read.user_id.as_deref(), Some(fake.user_id().as_str()));
        assert_eq!(read.token_id, None, "the fake's own token is no held token");
        // Minted tokens name the user and themselves, as before.
        let minted = fake.insert_token(UnitTokenSeed::new("minted"));
        assert_eq!(claims(&minted.secret)["userId"], fake.user_id().as_str());
        assert_eq!(claims(&minted.secret)["tokenId"], minted.id.as_str());
        // And the own token is still a credential.
        let listed = unit_list_status(&fake).await;
        assert_eq!(listed, 200);
    }
    let given = SecretString::from("given-credential".to_owned());
    let fake = UnitFake::builder().token(given).start().await;
    assert_eq!(fake.token().expose_secret(), "given-credential");
}

async fn unit_list_status(fake: &UnitFake) -> u16 {
    reqwest::Client::new()
        .get(format!(
            "{}/users/{}/api-tokens",
            fake.uri(),
            fake.user_id()
        ))
        .bearer_auth(fake.token().expose_secret())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
