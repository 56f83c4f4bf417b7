//! Rate limits on the fakes, in real time: Mailtrap's per credential with
//! its headers on every answer, Unit's per client with its JSON:API 429.
//! Windows are short (a second or so) to keep the suite quick.

use std::time::Duration;

use api_tokens::mailtrap::{self, AccessLevel, ResourceType};
use api_tokens::testing::{Fault, MailtrapFake, MailtrapOp, MailtrapTokenSeed, UnitFake};
use api_tokens::unit;
use api_tokens::{Error, Pacing, RateLimit, RetryPolicy};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const WINDOW: Duration = Duration::from_millis(1000);

struct Answer {
    status: u16,
    limit: Option<String>,
    remaining: Option<String>,
    retry_after: Option<String>,
    body: Value,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let answer = request.send().await.unwrap();
    let header = |name: &str| {
        answer
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (limit, remaining, retry_after) = (
        header("x-ratelimit-limit"),
        header("x-ratelimit-remaining"),
        header("retry-after"),
    );
    let status = answer.status().as_u16();
    let bytes = answer.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    Answer {
        status,
        limit,
        remaining,
        retry_after,
        body,
    }
}

fn list(fake: &MailtrapFake, key: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .get(format!("{}/api/api_tokens", fake.uri()))
        .header("Api-Token", key)
}

#[tokio::test]
async fn mailtrap_counts_per_credential_with_its_headers_on_every_answer() {
    let fake = MailtrapFake::builder().rate_limit(3, WINDOW).start().await;
    let other = fake.insert_token(MailtrapTokenSeed::new("other"));
    let key = fake.token().expose_secret().to_owned();

    let mut remaining = Vec::new();
    for _ in 0..3 {
        let answer = send(list(&fake, &key)).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.limit.as_deref(), Some("3"));
        assert!(answer.retry_after.is_none());
        remaining.push(answer.remaining.unwrap());
    }
    assert_eq!(remaining, ["2", "1", "0"]);

    let refused = send(list(&fake, &key)).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body, json!({"errors": "Rate limit exceeded"}));
    assert_eq!(refused.limit.as_deref(), Some("3"));
    assert_eq!(refused.remaining.as_deref(), Some("0"));
    assert_eq!(refused.retry_after.as_deref(), Some("1"));

    // Another credential has its own window; an error answer carries the
    // headers too.
    let answer = send(list(&fake, other.secret.expose_secret())).await;
    assert_eq!(
        (answer.status, answer.remaining.as_deref()),
        (200, Some("2"))
    );
    let missing = send(
        reqwest::Client::new()
            .get(format!("{}/api/api_tokens/999", fake.uri()))
            .header("Api-Token", other.secret.expose_secret()),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.remaining.as_deref(), Some("1"));
    let unknown = send(list(&fake, "not-a-token")).await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.limit.as_deref(), Some("3"));

    // A fault's answer carries them as well, counted like any request.
    fake.inject(MailtrapOp::List, Fault::status(503));
    let faulted = send(list(&fake, other.secret.expose_secret())).await;
    assert_eq!(faulted.status, 503);
    assert_eq!(faulted.remaining.as_deref(), Some("0"));

    // Refused requests do not count: once the window has passed, the full
    // allowance is back.
    tokio::time::sleep(WINDOW + Duration::from_millis(100)).await;
    let statuses = [
        send(list(&fake, &key)).await.status,
        send(list(&fake, &key)).await.status,
        send(list(&fake, &key)).await.status,
        send(list(&fake, &key)).await.status,
    ];
    assert_eq!(statuses, [200, 200, 200, 429]);

    let log = fake.requests();
    assert_eq!(log.iter().filter(|r| r.rate_limited).count(), 2);
    assert!(
        log.iter()
            .filter(|r| r.rate_limited)
            .all(|r| r.status == Some(429) && !r.faulted)
    );

    // Lifted, no headers at all.
    fake.clear_rate_limit();
    let free = send(list(&fake, &key)).await;
    assert_eq!(free.status, 200);
    assert!(free.limit.is_none() && free.remaining.is_none());
}

#[tokio::test]
async fn a_refused_request_is_not_acted_on() {
    let fake = MailtrapFake::start().await;
    fake.rate_limit(1, Duration::from_secs(60));
    let client = mailtrap::Client::builder()
        .token(fake.token().clone())
        .account_id(fake.account_id())
        .base_url(fake.uri())
        // These tests are about the fake's limit: the client must meet it.
        .pacing(Pacing::off())
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let request = || {
        mailtrap::CreateApiToken::new("ci").permission(
            ResourceType::Account,
            fake.account_id(),
            AccessLevel::Admin,
        )
    };
    client.api_tokens().create(request()).await.unwrap();
    let err = client.api_tokens().create(request()).await.unwrap_err();
    let Error::RateLimited { retry_after, error } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    // The oldest accepted request leaves the window in a minute.
    let wait = retry_after.expect("Retry-After");
    assert!(
        wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    assert_eq!(error.rate_limit, Some(RateLimit::new(Some(1), Some(0))));
    assert_eq!(fake.tokens().len(), 1, "the refused create minted nothing");
}

#[tokio::test]
async fn a_client_that_honours_retry_after_gets_through() {
    let fake = MailtrapFake::builder().rate_limit(2, WINDOW).start().await;
    let client = mailtrap::Client::builder()
        .token(fake.token().clone())
        .account_id(fake.account_id())
        .base_url(fake.uri())
        // These tests are about the fake's limit: the client must meet it.
        .pacing(Pacing::off())
        .build()
        .unwrap();
    for _ in 0..3 {
        assert!(client.api_tokens().list().await.is_ok());
    }
    assert_eq!(client.stats().retries, 1, "one 429, waited out");
    assert_eq!(client.stats().requests, 4);
    assert_eq!(
        client.last_rate_limit(),
        Some(RateLimit::new(Some(2), Some(1)))
    );
    let limited: Vec<bool> = fake.requests().iter().map(|r| r.rate_limited).collect();
    assert_eq!(limited, [false, false, true, false]);
}

#[tokio::test]
async fn unit_counts_every_request_together_and_answers_its_json_api_429() {
    let fake = UnitFake::builder().rate_limit(2, WINDOW).start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/users/{}/api-tokens", fake.uri(), fake.user_id());
    let with = |key: &str| http.get(&url).bearer_auth(key);

    let first = send(with(fake.token().expose_secret())).await;
    assert_eq!(first.status, 200);
    assert!(
        first.limit.is_none() && first.remaining.is_none(),
        "Unit sends none"
    );
    // A wrong credential counts against the same client.
    assert_eq!(send(with("wrong")).await.status, 401);
    let refused = send(with(fake.token().expose_secret())).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["errors"][0]["status"], "429");
    assert_eq!(refused.body["errors"][0]["title"], "Too Many Requests");
    assert!(refused.retry_after.is_none() && refused.limit.is_none());

    // Through the client: a typed rate-limit error, no wait to honour.
    let client = unit::Client::builder()
        .token(fake.token().clone())
        .base_url(fake.uri())
        // These tests are about the fake's limit: the client must meet it.
        .pacing(Pacing::off())
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = client
        .org_api_tokens(fake.user_id())
        .list()
        .await
        .unwrap_err();
    let Error::RateLimited { retry_after, error } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    assert_eq!(*retry_after, None);
    assert_eq!(error.status, 429);
    assert_eq!(error.rate_limit, None);

    // The window slides: once it has passed, the client is through.
    tokio::time::sleep(WINDOW + Duration::from_millis(100)).await;
    assert!(client.org_api_tokens(fake.user_id()).list().await.is_ok());
    let limited: Vec<bool> = fake.requests().iter().map(|r| r.rate_limited).collect();
    assert_eq!(limited, [false, false, true, true, false]);
}

/// The README's own fault, `Fault::status(429).retry_after(1)`, on a
/// client paced by default: the 429 carries `X-Ratelimit-Remaining: 0`,
/// which once held the retry for a whole 10 s window, past the pause asked
/// for, `max_retry_after` and `max_elapsed`. Each call now ends within
/// `max_retry_after + max_elapsed + 1 s`, and the retry goes when the
/// service said.
#[tokio::test]
async fn a_retry_after_of_one_second_costs_about_one_second() {
    let fake = MailtrapFake::start().await;
    let policy = RetryPolicy::default()
        .max_retry_after(Duration::from_secs(2))
        .max_elapsed(Duration::from_secs(3));
    let bound = policy.max_retry_after + policy.max_elapsed + Duration::from_secs(1);
    let client = mailtrap::Client::builder()
        .token(fake.token().clone())
        .account_id(fake.account_id())
        .base_url(fake.uri())
        .retry(policy)
        .build()
        .unwrap();
    for round in 0..2 {
        fake.inject(MailtrapOp::List, Fault::status(429).retry_after(1));
        let started = std::time::Instant::now();
        client.api_tokens().list().await.unwrap();
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(1), "round {round}: {took:?}");
        assert!(
            took < Duration::from_millis(1900),
            "round {round}: {took:?}"
        );
        assert!(took <= bound, "round {round}: {took:?}");
        // The call after it is not held back either.
        let started = std::time::Instant::now();
        client.api_tokens().list().await.unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "round {round}"
        );
    }
    assert_eq!(client.stats().retries, 2);
}

/// `max_elapsed`: "no wait is started that would end later than this".
/// A retry whose slot under the client's own limit comes later is not
/// made: the call ends with the answer it had, instead of waiting a whole
/// window for the slot.
#[tokio::test]
async fn a_retry_does_not_wait_for_a_slot_past_max_elapsed() {
    let fake = MailtrapFake::start().await;
    let client = mailtrap::Client::builder()
        .token(fake.token().clone())
        .account_id(fake.account_id())
        .base_url(fake.uri())
        .pacing(Pacing::limit(1, Duration::from_secs(10)))
        .retry(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(10))
                .max_elapsed(Duration::from_secs(2)),
        )
        .build()
        .unwrap();
    fake.inject(MailtrapOp::List, Fault::status(503));
    let started = std::time::Instant::now();
    let err = client.api_tokens().list().await.unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "{took:?}");
    let Error::Api(api) = &err else {
        panic!("expected the 503, got {err:?}");
    };
    assert_eq!(api.status, 503);
    assert_eq!(err.attempts(), Some(1));
    assert_eq!(fake.requests().len(), 1, "no retry was sent");
}

/// Contract l.518-522: Mailtrap allows 150 requests per 10 seconds per
/// token, and "Responses carry X-Ratelimit-Limit and X-Ratelimit-Remaining":
/// a Mailtrap fake reports that limit from the start, counted per token,
/// on every answer, without refusing past it; a Unit fake reports none.
#[tokio::test]
async fn a_default_mailtrap_fake_reports_the_services_limit_on_every_answer() {
    let fake = MailtrapFake::start().await;
    let key = fake.token().expose_secret().to_owned();
    let first = send(list(&fake, &key)).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.limit.as_deref(), Some("150"));
    assert_eq!(first.remaining.as_deref(), Some("149"));
    let created = send(
        reqwest::Client::new()
            .post(format!("{}/api/api_tokens", fake.uri()))
            .header("Api-Token", &key)
            .header("content-type", "application/json")
            .body(
                json!({"name": "rl", "resources": [{"resource_type": "account",
                    "resource_id": fake.account_id(), "access_level": 100}]})
                .to_string(),
            ),
    )
    .await;
    assert_eq!(created.status, 200);
    assert_eq!(created.remaining.as_deref(), Some("148"));
    // Errors carry them too: a 401 counts against the credential presented.
    let wrong = send(list(&fake, "not-a-token")).await;
    assert_eq!(
        (wrong.status, wrong.remaining.as_deref()),
        (401, Some("149"))
    );
    // Another token has its own count.
    let other = fake.insert_token(MailtrapTokenSeed::new("other"));
    let theirs = send(list(&fake, other.secret.expose_secret())).await;
    assert_eq!(theirs.remaining.as_deref(), Some("149"));

    // Past the limit the fake still answers, saying nothing is left; a
    // request past it does not count (the service would have refused it).
    // (Whether all fall in one window depends on the machine's speed.)
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    let mut remaining = Vec::new();
    for _ in 0..152 {
        let answer = send(
            http.get(format!("{}/api/api_tokens", fake.uri()))
                .header("Api-Token", &key),
        )
        .await;
        assert_eq!(answer.status, 200);
        remaining.push(answer.remaining.unwrap().parse::<u32>().unwrap());
    }
    assert!(remaining.iter().all(|r| *r <= 147));
    if started.elapsed() < Duration::from_secs(9) {
        assert_eq!(remaining[..3], [147, 146, 145]);
        assert_eq!(remaining[146..], [1, 0, 0, 0, 0, 0]);
    }
    assert!(fake.requests().iter().all(|r| !r.rate_limited));

    // Through the client: what the last answer said.
    let client = mailtrap::Client::builder()
        .token(other.secret.clone())
        .account_id(fake.account_id())
        .base_url(fake.uri())
        .build()
        .unwrap();
    client.api_tokens().list().await.unwrap();
    assert_eq!(
        client.last_rate_limit(),
        Some(RateLimit::new(Some(150), Some(148)))
    );

    // Enforced when asked, as the service does: the limit's 429.
    fake.rate_limit(3, Duration::from_secs(60));
    for _ in 0..3 {
        assert_eq!(send(list(&fake, &key)).await.status, 200);
    }
    let refused = send(list(&fake, &key)).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body, json!({"errors": "Rate limit exceeded"}));
    assert_eq!(refused.remaining.as_deref(), Some("0"));

    // Lifted: no headers, no 429.
    fake.clear_rate_limit();
    let lifted = send(list(&fake, &key)).await;
    assert_eq!(lifted.status, 200);
    assert!(lifted.limit.is_none() && lifted.remaining.is_none());

    // Unit documents no such headers; its fake sends none.
    let unit = UnitFake::start().await;
    let answer = send(
        reqwest::Client::new()
            .get(format!(
                "{}/users/{}/api-tokens",
                unit.uri(),
                unit.user_id()
            ))
            .bearer_auth(unit.token().expose_secret()),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert!(answer.limit.is_none() && answer.remaining.is_none());
}

/// An injected 429 says nothing is left, as the service's own 429 does,
/// whatever the count.
#[tokio::test]
async fn an_injected_429_says_nothing_is_left() {
    let fake = MailtrapFake::start().await;
    let key = fake.token().expose_secret().to_owned();
    fake.inject(MailtrapOp::List, Fault::status(429));
    let refused = send(list(&fake, &key)).await;
    assert_eq!(refused.status, 429);
    assert_eq!(
        (refused.limit.as_deref(), refused.remaining.as_deref()),
        (Some("150"), Some("0"))
    );
    let next = send(list(&fake, &key)).await;
    assert_eq!(next.remaining.as_deref(), Some("148"), "the 429 counted");
}
