//! Embedded fixtures: every file parses, lookup by name, mounting on wiremock.

use std::collections::{BTreeMap, BTreeSet};

use api_tokens::testing::{self, Fixture, FixtureResponse, KitError};
use wiremock::MockServer;

#[test]
fn every_embedded_file_is_a_valid_fixture() {
    let files = testing::embedded_files();
    assert!(
        files.iter().any(|(path, _)| path.starts_with("kit/")),
        "the kit's own fixtures are embedded: {:?}",
        files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for (path, text) in files {
        assert!(path.ends_with(".json"), "{path}");
        let parsed = Fixture::parse(text).or_else(|_| {
            api_tokens::testing::Cassette::parse(text).map(|c| c.interactions[0].clone())
        });
        assert!(parsed.is_ok(), "fixtures/{path}: {}", parsed.unwrap_err());
    }
    let all = testing::fixtures().expect("every embedded fixture parses");
    assert!(all.len() >= files.len());
}

#[test]
fn embedded_fixture_names_are_unique() {
    let mut seen = BTreeSet::new();
    for fixture in testing::fixtures().unwrap() {
        let key = format!("{} {}", fixture.service, fixture.name).to_lowercase();
        assert!(seen.insert(key.clone()), "two fixtures are called `{key}`");
    }
}

#[test]
fn every_fixture_is_found_by_its_own_name() {
    for fixture in testing::fixtures().unwrap() {
        let found = Fixture::get(&fixture.service, &fixture.name).unwrap();
        assert_eq!(found, fixture);
    }
}

#[test]
fn lookup_by_file_stem_folder_or_name() {
    let by_name = testing::fixture("unit sample list 200").unwrap();
    let by_stem = Fixture::get("unit", "sample_list_200").unwrap();
    let by_folder = testing::fixture("kit/sample_list_200").unwrap();
    let sloppy = testing::fixture("  Unit   Sample-List 200 ").unwrap();
    assert_eq!(by_name, by_stem);
    assert_eq!(by_name, by_folder);
    assert_eq!(by_name, sloppy);
    assert_eq!(by_name.service, "unit");
    assert_eq!(by_name.request.method, "GET");
    assert_eq!(by_name.request.path, "/users/2/api-tokens");
    assert_eq!(by_name.request.headers["authorization"], "[REDACTED]");
    assert_eq!(by_name.response.status, 200);
    assert_eq!(
        by_name.response.body.as_ref().unwrap()["data"][0]["id"],
        "21"
    );

    let html = Fixture::get("mailtrap", "sample gateway 502").unwrap();
    assert!(html.response.body.is_none());
    assert!(
        html.response
            .body_text
            .as_deref()
            .unwrap()
            .contains("<title>502")
    );
}

#[test]
fn an_unknown_name_is_an_error_listing_the_known_ones() {
    let err = testing::fixture("unit create 999").unwrap_err();
    match &err {
        KitError::UnknownFixture { query, known } => {
            assert_eq!(query, "unit create 999");
            assert!(
                known.iter().any(|k| k == "unit sample list 200"),
                "{known:?}"
            );
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("unit sample list 200"));
    // The service is part of the name: a Unit fixture is not a Mailtrap one.
    assert!(Fixture::get("mailtrap", "sample list 200").is_err());
}

#[test]
fn invalid_fixture_text_is_refused_with_the_place() {
    let err = Fixture::parse(
        r#"{"service":"unit","name":"x","request":{"method":"GET"},"response":{"status":200}}"#,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("request"), "{text}");
    assert!(text.contains("path"), "{text}");
}

#[tokio::test]
async fn a_fixture_mounts_in_one_line() {
    let server = MockServer::start().await;
    testing::fixture("unit sample list 200")
        .unwrap()
        .mount(&server)
        .await;

    let http = reqwest::Client::new();
    let answer = http
        .get(format!("{}/users/2/api-tokens", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/vnd.api+json");
    assert_eq!(answer.headers()["x-request-id"], "req-sample-1");
    let body: serde_json::Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!(
        body["data"][0]["attributes"]["description"],
        "Production token"
    );

    // Another method or path is not this fixture.
    let other = http
        .post(format!("{}/users/2/api-tokens", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn a_text_fixture_answers_verbatim_and_matches_its_query() {
    let server = MockServer::start().await;
    let fixture = Fixture::get("mailtrap", "sample gateway 502").unwrap();
    fixture.mock().expect(1).mount(&server).await;

    let http = reqwest::Client::new();
    let without_query = http
        .get(format!("{}/api/accounts/3229/api_tokens", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        without_query.status(),
        404,
        "the fixture's query is required"
    );

    let answer = http
        .get(format!(
            "{}/api/accounts/3229/api_tokens?page=2",
            server.uri()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 502);
    assert_eq!(answer.headers()["content-type"], "text/html");
    assert_eq!(
        answer.text().await.unwrap(),
        fixture.response.body_text.unwrap()
    );
}

#[tokio::test]
async fn a_no_body_fixture_answers_no_body() {
    let fixture = Fixture::parse(
        r#"{"service":"mailtrap","name":"delete 204",
            "request":{"method":"DELETE","path":"/api/accounts/1/api_tokens/5"},
            "response":{"status":204,"body":null}}"#,
    )
    .unwrap();
    let server = MockServer::start().await;
    fixture.mount(&server).await;
    let answer = reqwest::Client::new()
        .delete(format!("{}/api/accounts/1/api_tokens/5", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    assert!(answer.headers().get("content-type").is_none());
    assert!(answer.bytes().await.unwrap().is_empty());
}

#[test]
fn body_text_is_written_instead_of_body() {
    let response = FixtureResponse {
        status: 502,
        headers: BTreeMap::new(),
        body: None,
        body_text: Some("<html>".into()),
    };
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"status": 502, "body_text": "<html>"})
    );
    let none = FixtureResponse {
        body_text: None,
        ..response
    };
    let json = serde_json::to_value(&none).unwrap();
    assert_eq!(json, serde_json::json!({"status": 502, "body": null}));
}

#[test]
fn check_refuses_bad_parts() {
    let good = r#"{"service":"unit","name":"x","request":{"method":"GET","path":"/a"},"response":{"status":200}}"#;
    assert!(Fixture::parse(good).is_ok());
    for bad in [
        good.replace("\"/a\"", "\"a\""),
        good.replace("200", "1000"),
        good.replace("\"GET\"", "\"G ET\""),
        good.replace("\"unit\"", "\"\""),
        good.replace(
            "{\"status\":200}",
            "{\"status\":200,\"body\":1,\"body_text\":\"x\"}",
        ),
        good.replace(
            "{\"status\":200}",
            "{\"status\":200,\"headers\":{\"X-A\":\"b\"}}",
        ),
        good.replace("\"status\":200", "\"status\":\"200\""),
        good.replace("\"request\"", "\"req\""),
    ] {
        let err = Fixture::parse(&bad).unwrap_err();
        assert!(
            matches!(err, KitError::InvalidFixture { .. }),
            "{bad}: {err}"
        );
    }
}

/// Issue 5: "a user's test can mount \"unit create 201\" or \"mailtrap 422
/// base\" in one line": an error outcome answers to its status without
/// the word `error`, and that short name leads to no other fixture.
#[test]
fn the_names_of_issue_5_resolve_and_every_short_error_name_is_its_own() {
    assert_eq!(
        testing::fixture("mailtrap 422 base").unwrap(),
        testing::fixture("mailtrap error 422 base").unwrap()
    );
    assert_eq!(
        testing::fixture("unit create 201").unwrap().response.status,
        201
    );
    let mut short = 0;
    for fixture in testing::fixtures().unwrap() {
        let Some(status) = fixture.name.strip_prefix("error ") else {
            continue;
        };
        let found = Fixture::get(&fixture.service, status).unwrap();
        assert_eq!(found, fixture, "{} {status}", fixture.service);
        short += 1;
    }
    assert!(short >= 10, "{short} error fixtures");
    // The service stays part of the name.
    assert!(Fixture::get("mailtrap", "400").is_err());
}

/// Contract l.161-163 / l.327-329: a reset answers the new token named
/// `<name> <new id>` ("My API Token" → "My API Token 12346"). The shipped
/// reset fixture resets the token of the create fixture, and answers as
/// the service (and the Mailtrap fake) names it.
#[tokio::test]
async fn the_mailtrap_reset_fixture_names_the_new_token_as_the_service_does() {
    let created = testing::fixture("mailtrap create 200").unwrap();
    let reset = testing::fixture("mailtrap reset 200").unwrap();
    let created = created.response.body.unwrap();
    let answer = reset.response.body.clone().unwrap();
    assert_eq!(
        reset.request.path,
        format!("/api/accounts/3229/api_tokens/{}/reset", created["id"])
    );
    let name = created["name"].as_str().unwrap();
    assert_eq!(answer["name"], format!("{name} {}", answer["id"]));

    // The fake, given the same token, answers the same name.
    let fake = api_tokens::testing::MailtrapFake::start().await;
    let seeded = fake.insert_token(api_tokens::testing::MailtrapTokenSeed::new(name));
    assert_eq!(serde_json::json!(seeded.id.get()), created["id"]);
    let client = crate::kit_support::mailtrap_client(&fake, fake.token());
    let new = client
        .api_tokens()
        .reset(seeded.id, api_tokens::mailtrap::Expiry::Never)
        .await
        .unwrap();
    assert_eq!(serde_json::json!(new.id.get()), answer["id"]);
    assert_eq!(new.name, answer["name"].as_str().unwrap());
}
