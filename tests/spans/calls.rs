//! What a user's `tracing` subscriber sees: one span per call, named
//! `api_tokens.call`, with the service, the operation, the method, the path
//! template, the attempts, the status, the elapsed and paced time; each
//! retry an event inside that span; and no secret anywhere, neither the
//! caller's token nor a minted one, in any field or formatted line.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use api_tokens::{Error, Pacing, RetryPolicy, mailtrap, unit};
use chrono::Utc;
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const UNIT_KEY: &str = "v2.public.FAKE-TRACING-CALLER-KEY.sig";
const UNIT_MINTED: &str = "v2.public.FAKE-TRACING-MINTED-SECRET.sig";
const MAILTRAP_KEY: &str = "FAKE0tracing0caller0key0k3y9";
const MAILTRAP_MINTED: &str = "FAKE0tracing0minted0secret0m1n7";
const SECRETS: [&str; 4] = [UNIT_KEY, UNIT_MINTED, MAILTRAP_KEY, MAILTRAP_MINTED];

// ------------------------------------------------------------- capturing

/// One event as captured: its target, level and fields.
#[derive(Debug, Clone)]
struct EventRec {
    target: String,
    fields: BTreeMap<String, String>,
}

/// One span as captured, with the events recorded inside it.
#[derive(Debug, Clone)]
struct SpanRec {
    name: String,
    fields: BTreeMap<String, String>,
    events: Vec<EventRec>,
    closed: bool,
}

#[derive(Default)]
struct State {
    spans: Vec<SpanRec>,
    open: BTreeMap<u64, usize>,
    /// Events outside any span.
    loose: Vec<EventRec>,
}

/// A `Layer` that keeps every span and event with its fields as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<State>>);

impl Capture {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The spans named `api_tokens.call`, in the order they began.
    fn calls(&self) -> Vec<SpanRec> {
        self.state()
            .spans
            .iter()
            .filter(|s| s.name == "api_tokens.call")
            .cloned()
            .collect()
    }

    /// Every name, field and value captured, as one text.
    fn all_text(&self) -> String {
        let state = self.state();
        let mut out = String::new();
        let events = state
            .spans
            .iter()
            .flat_map(|s| {
                out.push_str(&format!("{} {:?}\n", s.name, s.fields));
                s.events.iter()
            })
            .chain(&state.loose)
            .map(|e| format!("{} {:?}\n", e.target, e.fields))
            .collect::<String>();
        out + &events
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl<S> Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut state = self.state();
        state.spans.push(SpanRec {
            name: attrs.metadata().name().to_owned(),
            fields,
            events: Vec::new(),
            closed: false,
        });
        let index = state.spans.len() - 1;
        state.open.insert(id.into_u64(), index);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut state = self.state();
        if let Some(&i) = state.open.get(&id.into_u64()) {
            values.record(&mut Fields(&mut state.spans[i].fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let rec = EventRec {
            target: event.metadata().target().to_owned(),
            fields,
        };
        let span = ctx.event_span(event).map(|s| s.id().into_u64());
        let mut state = self.state();
        match span.and_then(|id| state.open.get(&id).copied()) {
            Some(i) => state.spans[i].events.push(rec),
            None => state.loose.push(rec),
        }
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        let mut state = self.state();
        if let Some(i) = state.open.remove(&id.into_u64()) {
            state.spans[i].closed = true;
        }
    }
}

/// Everything the `fmt` layer prints, kept in memory.
#[derive(Clone, Default)]
struct Printed(Arc<Mutex<Vec<u8>>>);

impl Printed {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8(bytes).expect("UTF-8 log")
    }
}

impl io::Write for Printed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Printed {
    type Writer = Printed;
    fn make_writer(&'a self) -> Printed {
        self.clone()
    }
}

/// Installs a capturing subscriber (every level, with a `fmt` layer that
/// prints every span's fields when it closes) on this thread until the
/// guard drops.
fn capture() -> (Capture, Printed, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let printed = Printed::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone()).with(
        tracing_subscriber::fmt::layer()
            .with_writer(printed.clone())
            .with_ansi(false)
            .with_span_events(FmtSpan::CLOSE)
            .with_target(true),
    );
    let guard = tracing::subscriber::set_default(subscriber);
    (capture, printed, guard)
}

// -------------------------------------------------------------- checking

/// Asserts the fields every call span has.
#[track_caller]
fn assert_call(
    span: &SpanRec,
    service: &str,
    operation: &str,
    verb: &str,
    template: &str,
    attempts: u32,
    status: u16,
) {
    let f = &span.fields;
    let what = format!("{operation}: {f:?}");
    assert!(span.closed, "{what}: the span was not closed");
    assert_eq!(
        f.get("service").map(String::as_str),
        Some(service),
        "{what}"
    );
    assert_eq!(
        f.get("operation").map(String::as_str),
        Some(operation),
        "{what}"
    );
    assert_eq!(f.get("method").map(String::as_str), Some(verb), "{what}");
    assert_eq!(f.get("path").map(String::as_str), Some(template), "{what}");
    assert_eq!(
        f.get("attempts").map(String::as_str),
        Some(attempts.to_string().as_str()),
        "{what}"
    );
    assert_eq!(
        f.get("status").map(String::as_str),
        Some(status.to_string().as_str()),
        "{what}"
    );
    for number in ["elapsed_ms", "paced_ms"] {
        let value = f
            .get(number)
            .unwrap_or_else(|| panic!("{what}: no {number}"));
        assert!(value.parse::<u64>().is_ok(), "{what}: {number} = {value}");
    }
    // Retries are events inside the span, one per repeat, and the only
    // events that name the retry target.
    let retries: Vec<&EventRec> = span
        .events
        .iter()
        .filter(|e| e.target == "api_tokens::retry")
        .collect();
    assert_eq!(
        retries.len() as u32,
        attempts - 1,
        "{what}: {:?}",
        span.events
    );
    for (n, retry) in retries.iter().enumerate() {
        assert_eq!(
            retry.fields.get("attempt").map(String::as_str),
            Some((n + 1).to_string().as_str()),
            "{what}"
        );
        assert!(retry.fields.contains_key("delay_ms"), "{what}");
        assert!(retry.fields.contains_key("reason"), "{what}");
    }
}

/// No secret in anything captured or printed.
#[track_caller]
fn assert_no_secret(capture: &Capture, printed: &Printed) {
    let captured = capture.all_text();
    let printed = printed.text();
    assert!(!printed.is_empty(), "the fmt layer printed nothing");
    for secret in SECRETS {
        assert!(!captured.contains(secret), "captured: {captured}");
        assert!(!printed.contains(secret), "printed: {printed}");
    }
    // Nor a recognisable part of one.
    for part in [
        "TRACING-CALLER",
        "TRACING-MINTED",
        "0caller0key",
        "0minted0secret",
    ] {
        assert!(!captured.contains(part), "captured: {captured}");
        assert!(!printed.contains(part), "printed: {printed}");
    }
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(2))
}

// ------------------------------------------------------------------ Unit

fn unit_attributes(secret: Option<&str>) -> serde_json::Value {
    let mut a = json!({
        "createdAt": "2030-07-01T08:51:09.108Z", "description": "CI deploy",
        "expiration": "2030-10-01T00:00:00.000Z", "sourceIp": "192.168.1.1"
    });
    if let Some(s) = secret {
        a["token"] = json!(s);
    }
    a
}

fn jsonapi(status: u16, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/vnd.api+json")
}

#[tokio::test]
async fn unit_calls_are_one_span_each_with_retries_inside_and_no_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/2/api-tokens"))
        .respond_with(jsonapi(
            201,
            json!({"data": {"type": "apiToken", "id": "19", "attributes": unit_attributes(Some(UNIT_MINTED))}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let list =
        json!({"data": [{"type": "apiToken", "id": "19", "attributes": unit_attributes(None)}]});
    // The first list is answered 503 once, then 200: one retry.
    Mock::given(method("GET"))
        .and(path("/users/2/api-tokens"))
        .respond_with(jsonapi(
            503,
            json!({"errors": [{"status": "503", "title": "Unavailable"}]}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/2/api-tokens"))
        .respond_with(jsonapi(200, list))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/users/2/api-tokens/19"))
        .respond_with(jsonapi(
            401,
            json!({"errors": [{"status": "401", "title": "Unauthorized", "detail": format!("bad key {UNIT_KEY}")}]}),
        ))
        .mount(&server)
        .await;

    let (capture, printed, _guard) = capture();
    let client = unit::Client::builder()
        .token(UNIT_KEY)
        .base_url(server.uri())
        .retry(quick_retries())
        .build()
        .expect("client");
    let tokens = client.org_api_tokens("2".parse().expect("user"));

    let created = tokens
        .create(unit::CreateApiToken::new(
            "CI deploy",
            [unit::Scope::Customers],
            Utc::now() + chrono::Duration::days(30),
        ))
        .await
        .expect("create");
    assert_eq!(created.id, "19");
    let retried = tokens.list().await.expect("list after one retry");
    assert_eq!(retried.len(), 1);
    assert_eq!(tokens.list().await.expect("list").len(), 1);
    let err = tokens.revoke(&created.id).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");

    let calls = capture.calls();
    assert_eq!(calls.len(), 4, "one span per call: {calls:#?}");
    let collection = "/users/{userId}/api-tokens";
    assert_call(&calls[0], "Unit", "create", "POST", collection, 1, 201);
    assert_call(&calls[1], "Unit", "list", "GET", collection, 2, 200);
    assert_call(&calls[2], "Unit", "list", "GET", collection, 1, 200);
    assert_call(
        &calls[3],
        "Unit",
        "revoke",
        "DELETE",
        "/users/{userId}/api-tokens/{tokenId}",
        1,
        401,
    );
    // The path is the template: no user or token id in it.
    for span in &calls {
        assert!(!span.fields["path"].contains("/2/"), "{:?}", span.fields);
    }
    // A user's subscriber sees the spans printed with their fields.
    let text = printed.text();
    assert!(text.contains("api_tokens.call"), "{text}");
    assert!(
        text.contains("operation=\"create\"") || text.contains("operation=create"),
        "{text}"
    );
    assert!(text.contains("retrying"), "{text}");
    assert_no_secret(&capture, &printed);
}

#[tokio::test]
async fn a_unit_create_with_an_unknown_outcome_is_one_span_marked_so() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(jsonapi(
            500,
            json!({"errors": [{"status": "500", "title": "Internal"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (capture, printed, _guard) = capture();
    let client = unit::Client::builder()
        .token(UNIT_KEY)
        .base_url(server.uri())
        .retry(quick_retries())
        .build()
        .expect("client");
    let err = client
        .org_api_tokens("2".parse().expect("user"))
        .create(unit::CreateApiToken::new(
            "CI deploy",
            [unit::Scope::Customers],
            Utc::now() + chrono::Duration::days(30),
        ))
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");

    let calls = capture.calls();
    assert_eq!(calls.len(), 1);
    assert_call(
        &calls[0],
        "Unit",
        "create",
        "POST",
        "/users/{userId}/api-tokens",
        1,
        500,
    );
    assert_eq!(
        calls[0].fields.get("outcome_unknown").map(String::as_str),
        Some("true")
    );
    assert_no_secret(&capture, &printed);
}

// -------------------------------------------------------------- Mailtrap

fn mailtrap_token(id: u64, secret: Option<&str>) -> serde_json::Value {
    let mut t = json!({
        "id": id, "name": "CI deploy", "last_4_digits": "m1n7", "created_by": "ops@example.com",
        "expires_at": null,
        "resources": [{"resource_type": "account", "resource_id": 3229, "access_level": 100}]
    });
    if let Some(s) = secret {
        t["token"] = json!(s);
    }
    t
}

/// Create (after a 429), list, reset and a failing get, in one of the two
/// path forms; the spans carry that form's templates.
async fn mailtrap_calls(account: Option<u64>, base: &str, templates: [&str; 3]) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(base))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"error": "Rate limit exceeded"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(base))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(mailtrap_token(12345, Some(MAILTRAP_MINTED))),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(base))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([mailtrap_token(12345, None)])),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{base}/12345/reset")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(mailtrap_token(12346, Some(MAILTRAP_MINTED))),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{base}/99")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "Not Found"})))
        .mount(&server)
        .await;

    let (capture, printed, _guard) = capture();
    let mut builder = mailtrap::Client::builder()
        .token(MAILTRAP_KEY)
        .base_url(server.uri())
        .pacing(Pacing::off())
        .retry(quick_retries());
    if let Some(account) = account {
        builder = builder.account_id(account);
    }
    let client = builder.build().expect("client");
    let tokens = client.api_tokens();

    let new = tokens
        .create(mailtrap::CreateApiToken::new("CI deploy").permission(
            mailtrap::ResourceType::Account,
            3229,
            mailtrap::AccessLevel::Admin,
        ))
        .await
        .expect("create after a 429");
    assert_eq!(tokens.list().await.expect("list").len(), 1);
    let rotated = tokens
        .reset(new.id, mailtrap::Expiry::ServerDefault)
        .await
        .expect("reset");
    assert_eq!(rotated.id.get(), 12346);
    let err = tokens
        .get(mailtrap::TokenId::new(99).expect("id"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");

    let [collection, item, reset] = templates;
    let calls = capture.calls();
    assert_eq!(calls.len(), 4, "one span per call: {calls:#?}");
    assert_call(&calls[0], "Mailtrap", "create", "POST", collection, 2, 200);
    assert_call(&calls[1], "Mailtrap", "list", "GET", collection, 1, 200);
    assert_call(&calls[2], "Mailtrap", "reset", "POST", reset, 1, 200);
    assert_call(&calls[3], "Mailtrap", "get", "GET", item, 1, 404);
    let retry = calls[0]
        .events
        .iter()
        .find(|e| e.target == "api_tokens::retry")
        .expect("the retry event");
    assert_eq!(
        retry.fields.get("reason").map(String::as_str),
        Some("status 429")
    );
    for span in &calls {
        assert!(!span.fields["path"].contains("3229"), "{:?}", span.fields);
        assert!(!span.fields["path"].contains("12345"), "{:?}", span.fields);
    }
    assert_no_secret(&capture, &printed);
}

#[tokio::test]
async fn mailtrap_calls_are_one_span_each_in_the_account_scoped_form() {
    mailtrap_calls(
        Some(3229),
        "/api/accounts/3229/api_tokens",
        [
            "/api/accounts/{account_id}/api_tokens",
            "/api/accounts/{account_id}/api_tokens/{id}",
            "/api/accounts/{account_id}/api_tokens/{id}/reset",
        ],
    )
    .await;
}

#[tokio::test]
async fn mailtrap_calls_are_one_span_each_in_the_account_free_form() {
    mailtrap_calls(
        None,
        "/api/api_tokens",
        [
            "/api/api_tokens",
            "/api/api_tokens/{id}",
            "/api/api_tokens/{id}/reset",
        ],
    )
    .await;
}

/// A call that fails without any answer (nothing listens) is still one
/// span, with its attempts and no status.
#[tokio::test]
async fn a_call_with_no_answer_is_one_span_without_a_status() {
    let (capture, printed, _guard) = capture();
    let client = mailtrap::Client::builder()
        .token(MAILTRAP_KEY)
        .base_url("http://127.0.0.1:9")
        .connect_timeout(Duration::from_millis(200))
        .retry(quick_retries())
        .build()
        .expect("client");
    let err = client.api_tokens().list().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport { attempts: 3, .. } | Error::Timeout { attempts: 3, .. }
        ),
        "{err:?}"
    );
    let calls = capture.calls();
    assert_eq!(calls.len(), 1);
    let f = &calls[0].fields;
    assert_eq!(f.get("attempts").map(String::as_str), Some("3"), "{f:?}");
    assert_eq!(f.get("status"), None, "{f:?}");
    assert_eq!(
        calls[0]
            .events
            .iter()
            .filter(|e| e.target == "api_tokens::retry")
            .count(),
        2
    );
    assert_no_secret(&capture, &printed);
}
