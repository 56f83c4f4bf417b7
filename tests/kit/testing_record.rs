//! Recording through the proxy redacts every secret before it reaches the
//! disk, and the cassette replays.

use std::path::PathBuf;

use api_tokens::testing::{
    Cassette, KitError, MailtrapFake, Recorder, Replayer, UnitFake, placeholder,
};
use chrono::{TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

fn cassette_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cassettes");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[tokio::test]
async fn a_mailtrap_create_is_recorded_without_secrets_and_replays() {
    let upstream = MailtrapFake::start().await;
    let path = cassette_path("mailtrap-create");
    let recorder = Recorder::start(&upstream.uri(), &path).await.unwrap();
    let key = upstream.token().expose_secret().to_owned();
    let endpoint = format!("/api/accounts/{}/api_tokens", upstream.account_id());
    let body = json!({"name": "ci", "resources": [
        {"resource_type": "account", "resource_id": upstream.account_id(), "access_level": 100}]});
    let http = reqwest::Client::new();

    // Through the proxy, the client sees the service's answer unchanged.
    let answer = http
        .post(format!("{}{endpoint}", recorder.uri()))
        .header("Api-Token", &key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let created = json_of(&answer.bytes().await.unwrap());
    let minted = upstream.tokens()[0].secret.clone();
    assert_eq!(created["token"], minted.expose_secret());

    let answer = http
        .get(format!("{}{endpoint}", recorder.uri()))
        .header("Api-Token", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let wrong = http
        .get(format!("{}{endpoint}", recorder.uri()))
        .header("Api-Token", "a-wrong-key-of-some-length")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(recorder.cassette().interactions.len(), 3);
    let written = recorder.finish().await.unwrap();

    // The file, read as plain text, holds no secret.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains(minted.expose_secret()),
        "the minted secret leaked"
    );
    assert!(!text.contains(&key), "the auth header value leaked");
    assert!(!text.contains("a-wrong-key-of-some-length"));
    assert!(text.contains(&placeholder(&minted)));

    // It is a cassette in the fixture format.
    let cassette = Cassette::parse(&text).unwrap();
    assert_eq!(cassette, written);
    let names: Vec<&str> = cassette
        .interactions
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["create 200", "list 200", "list 401"]);
    let create = &cassette.interactions[0];
    assert_eq!(create.service, "mailtrap");
    assert_eq!(create.request.method, "POST");
    assert_eq!(create.request.path, endpoint);
    assert_eq!(
        create.request.headers["api-token"],
        placeholder(upstream.token())
    );
    assert_eq!(create.request.body.as_ref().unwrap(), &body);
    assert_eq!(create.response.status, 200);
    let recorded = create.response.body.as_ref().unwrap();
    assert_eq!(recorded["token"], placeholder(&minted));
    assert_eq!(recorded["last_4_digits"], created["last_4_digits"]);
    assert_eq!(recorded["id"], created["id"]);
    assert!(!create.response.headers.contains_key("content-length"));

    // Replayed, the create answers again, with the placeholder for a secret.
    let replayer = Replayer::start(&path).await.unwrap();
    let answer = http
        .post(format!("{}{endpoint}", replayer.uri()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let replayed = json_of(&answer.bytes().await.unwrap());
    assert_eq!(replayed["token"], placeholder(&minted));
    assert_eq!(replayed["id"], created["id"]);

    // Interactions of one endpoint come back in recorded order, each once.
    let list = || http.get(format!("{}{endpoint}", replayer.uri())).send();
    assert_eq!(list().await.unwrap().status(), 200);
    assert_eq!(list().await.unwrap().status(), 401);
    assert!(replayer.unserved().is_empty());
    let exhausted = list().await.unwrap();
    assert_eq!(exhausted.status(), 501);
    assert!(
        exhausted
            .text()
            .await
            .unwrap()
            .contains("no recorded interaction")
    );
}

#[tokio::test]
async fn a_unit_create_is_recorded_without_secrets_and_replays() {
    let upstream = UnitFake::start().await;
    let path = cassette_path("unit-create");
    let recorder = Recorder::start(&upstream.uri(), &path).await.unwrap();
    let key = upstream.token().expose_secret().to_owned();
    let endpoint = format!("/users/{}/api-tokens", upstream.user_id());
    let expiration = (Utc::now() + TimeDelta::days(10))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let body = json!({"data": {"type": "apiToken", "attributes": {
        "description": "ci", "scope": "customers", "expiration": expiration}}});
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{}{endpoint}", recorder.uri()))
        .bearer_auth(&key)
        .header("content-type", "application/vnd.api+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    assert_eq!(answer.headers()["content-type"], "application/vnd.api+json");
    let created = json_of(&answer.bytes().await.unwrap());
    let minted = upstream.tokens()[0].secret.clone();

    // The minted secret, used as a credential later, is redacted there too.
    let answer = http
        .get(format!(
            "{}{endpoint}?note={}",
            recorder.uri(),
            minted.expose_secret()
        ))
        .bearer_auth(minted.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    recorder.finish().await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(minted.expose_secret()));
    assert!(!text.contains(&key));
    let cassette = Cassette::load(&path).unwrap();
    assert_eq!(cassette.interactions[0].name, "create 201");
    assert_eq!(cassette.interactions[0].service, "unit");
    assert_eq!(
        cassette.interactions[0].request.headers["authorization"],
        format!("Bearer {}", placeholder(upstream.token()))
    );
    assert_eq!(
        cassette.interactions[1].request.headers["authorization"],
        format!("Bearer {}", placeholder(&minted))
    );
    assert_eq!(
        cassette.interactions[1].request.path,
        format!("{endpoint}?note={}", placeholder(&minted))
    );

    let replayer = Replayer::from_cassette(cassette).await;
    let answer = http
        .post(format!("{}{endpoint}", replayer.uri()))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    assert_eq!(answer.headers()["content-type"], "application/vnd.api+json");
    let replayed = json_of(&answer.bytes().await.unwrap());
    assert_eq!(
        replayed["data"]["attributes"]["token"],
        placeholder(&minted)
    );
    assert_eq!(replayed["data"]["id"], created["data"]["id"]);
    assert_eq!(replayer.unserved().len(), 1);
}

#[tokio::test]
async fn the_recorder_refuses_plain_http_off_loopback_and_bad_paths() {
    let path = cassette_path("refused");
    for upstream in [
        "http://example.com",
        "https://user:pw@example.com",
        "ftp://127.0.0.1",
    ] {
        let err = Recorder::start(upstream, &path).await.unwrap_err();
        assert!(matches!(err, KitError::Recorder(_)), "{upstream}: {err}");
    }
    let unwritable = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-such-dir/x/cassette.json");
    let err = Recorder::start("https://example.com", &unwritable)
        .await
        .unwrap_err();
    assert!(matches!(err, KitError::Io { .. }), "{err}");
    let err = Replayer::start(&unwritable).await.unwrap_err();
    assert!(matches!(err, KitError::Io { .. }), "{err}");
}

#[tokio::test]
async fn an_unreachable_upstream_answers_502_and_records_nothing() {
    // A loopback port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = cassette_path("unreachable");
    let recorder = Recorder::start(&format!("http://127.0.0.1:{port}"), &path)
        .await
        .unwrap();
    let answer = reqwest::Client::new()
        .get(format!("{}/users/2/api-tokens", recorder.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 502);
    let cassette = recorder.finish().await.unwrap();
    assert!(cassette.interactions.is_empty());
    assert_eq!(Cassette::load(&path).unwrap(), cassette);
}

/// Secrets in shapes the JSON reader cannot take (a body that is not valid
/// JSON, a list of plain tokens, a short key in a query string or a form)
/// never reach the disk either.
#[tokio::test]
async fn secrets_in_odd_shapes_never_reach_the_disk() {
    use wiremock::matchers::path as at;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let upstream = MockServer::start().await;
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    for (route, body) in [
        // A byte-order mark before the document.
        (
            "/bom",
            "\u{feff}{\"token\":\"BOMSECRET-0123456789\"}".to_owned(),
        ),
        // Nested deeper than a JSON reader goes.
        (
            "/deep",
            format!(r#"{{"token":"DEEPSECRET-0123456789","x":{deep}}}"#),
        ),
        // Cut short.
        (
            "/cut",
            r#"{"id":1,"token":"CUTSECRET-0123456789"#.to_owned(),
        ),
        // A list of plain tokens.
        (
            "/list",
            r#"{"tokens":["LISTSECRET-0123456789"]}"#.to_owned(),
        ),
    ] {
        Mock::given(at(route))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&upstream)
            .await;
    }
    Mock::given(at("/short"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&upstream)
        .await;

    let path = cassette_path("odd-shapes");
    let recorder = Recorder::start(&upstream.uri(), &path).await.unwrap();
    let http = reqwest::Client::new();
    for route in [
        "/bom",
        "/deep",
        "/cut",
        "/list",
        "/short?api_key=q1w2&page=2",
    ] {
        http.get(format!("{}{route}", recorder.uri()))
            .send()
            .await
            .unwrap();
    }
    http.post(format!("{}/short", recorder.uri()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("user=ann&password=e3r4")
        .send()
        .await
        .unwrap();
    recorder.finish().await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    for secret in [
        "BOMSECRET",
        "DEEPSECRET",
        "CUTSECRET",
        "LISTSECRET",
        "q1w2",
        "e3r4",
    ] {
        assert!(!text.contains(secret), "{secret} written: {text}");
    }
    let cassette = Cassette::parse(&text).unwrap();
    let paths: Vec<&str> = cassette
        .interactions
        .iter()
        .map(|i| i.request.path.as_str())
        .collect();
    // Too short to search for or to hint at: hidden where found, plainly.
    assert_eq!(paths[4], "/short?api_key=redacted&page=2");
    assert_eq!(
        cassette.interactions[5].request.body,
        Some(Value::String("user=ann&password=redacted".into()))
    );
    let hidden = |s: &str| placeholder(&SecretString::from(s));
    assert_eq!(
        cassette.interactions[3].response.body,
        Some(json!({"tokens": [hidden("LISTSECRET-0123456789")]}))
    );
    assert_eq!(
        cassette.interactions[2].response.body_text,
        Some(format!(
            r#"{{"id":1,"token":"{}""#,
            hidden("CUTSECRET-0123456789")
        ))
    );
}

/// `text` with its JSON escapes read, leniently (an invalid escape is kept
/// as written), and with the characters a reader does not see removed.
fn readable(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            let simple = match chars[i + 1] {
                '/' => Some('/'),
                '"' => Some('"'),
                '\\' => Some('\\'),
                _ => None,
            };
            if let Some(c) = simple {
                out.push(c);
                i += 2;
                continue;
            }
            if chars[i + 1] == 'u' && i + 6 <= chars.len() {
                let hex: String = chars[i + 2..i + 6].iter().collect();
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(c);
                    i += 6;
                    continue;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out.chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .collect()
}

/// Whether `secret` is in `text` as written, decoded as JSON (every string
/// and key), or read through escapes and invisible characters.
fn holds(text: &str, secret: &str) -> bool {
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
            Value::Object(map) => map.iter().for_each(|(k, v)| {
                out.push(k.clone());
                strings(v, out);
            }),
            _ => {}
        }
    }
    let mut all = vec![text.to_owned()];
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        strings(&v, &mut all);
    }
    all.iter().any(|s| {
        s.contains(secret)
            || readable(s).contains(secret)
            || readable(&readable(s)).contains(secret)
    })
}

/// A secret used as a JSON object key, and escaped forms of a secret in a
/// body kept as text, never reach the disk: keys are redacted like values,
/// and text bodies are searched in every escaped form.
#[tokio::test]
async fn secrets_as_keys_and_escaped_in_text_never_reach_the_disk() {
    use wiremock::matchers::path as at;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let key = "mt/Abc+def=ghi-0123x7k9";
    let upstream = MockServer::start().await;
    // The caller's credential as an object key (a session map).
    Mock::given(at("/keys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sessions": {key: {"ok": true}},
            "seen_by": [{key: 1}]
        })))
        .mount(&upstream)
        .await;
    // The credential JSON-escaped in pages that are not JSON.
    for (route, page) in [
        (
            "/slash",
            r#"<pre>{"seen":"mt\/Abc+def=ghi-0123x7k9"}</pre>"#.to_owned(),
        ),
        (
            "/plus",
            r#"<pre>{"seen":"mt/Abc\u002Bdef=ghi-0123x7k9"</pre>"#.to_owned(),
        ),
        (
            "/any",
            r#"{"seen":"\u006d\u0074\u002f\u0041bc+def=ghi-0123x7k9"#.to_owned(),
        ),
        (
            "/split",
            "<title>mt/Abc+def=\u{0}ghi-0123\u{7f}x7k9</title>".to_owned(),
        ),
    ] {
        Mock::given(at(route))
            .respond_with(ResponseTemplate::new(502).set_body_string(page))
            .mount(&upstream)
            .await;
    }

    let path = cassette_path("keys-and-escapes");
    let recorder = Recorder::start(&upstream.uri(), &path).await.unwrap();
    let http = reqwest::Client::new();
    for route in ["/keys", "/slash", "/plus", "/any", "/split"] {
        http.get(format!("{}{route}", recorder.uri()))
            .header("Api-Token", key)
            .send()
            .await
            .unwrap();
    }
    recorder.finish().await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !holds(&text, key),
        "the credential reached the disk: {text}"
    );
    let cassette = Cassette::parse(&text).unwrap();
    let stands_for = placeholder(&SecretString::from(key));
    let keys = cassette.interactions[0].response.body.as_ref().unwrap();
    assert_eq!(keys["sessions"][&stands_for]["ok"], true, "{keys}");
    assert_eq!(keys["seen_by"][0][&stands_for], 1, "{keys}");
    for (i, route) in ["/slash", "/plus", "/any", "/split"].iter().enumerate() {
        let body = cassette.interactions[i + 1].response.body_text.as_deref();
        assert!(
            body.is_some_and(|b| b.contains(&stands_for)),
            "{route}: {body:?}"
        );
    }
}
