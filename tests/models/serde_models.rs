//! Every public model of both dialects through serde: each round-trips in
//! the service's wire shape; a minted token's secret is written only when
//! asked for by name; old Mailtrap resource names read as the new ones; and
//! decoding refuses what would otherwise be read wrong or silently
//! defaulted (an array where an object belongs, an empty secret, an id that
//! is empty, not a number or 0).

use std::collections::BTreeMap;
use std::fmt::Debug;

use api_tokens::secrecy::{ExposeSecret, SecretString};
use api_tokens::{Error, mailtrap, unit};
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const UNIT_SECRET: &str = "v2.public.FAKE-SERDE-SECRET-not-real.sig";
const MAILTRAP_SECRET: &str = "FAKE0serde0secret0not0real0s3r4";

/// Serializes `value`, checks the JSON is `wire`, reads it back and checks
/// it equals `value`.
#[track_caller]
fn round_trip<T>(value: &T, wire: Value)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let written = serde_json::to_value(value).expect("serialize");
    assert_eq!(written, wire, "wire shape of {value:?}");
    let text = serde_json::to_string(value).expect("serialize to text");
    let back: T = serde_json::from_str(&text).expect("deserialize");
    assert_eq!(&back, value, "round trip through {text}");
}

/// Decodes `wire` as a `T` and expects a refusal whose message says `says`.
#[track_caller]
fn refused<T: DeserializeOwned + Debug>(wire: &str, says: &str) {
    match serde_json::from_str::<T>(wire) {
        Ok(v) => panic!("{wire} decoded as {v:?}"),
        Err(e) => assert!(e.to_string().contains(says), "{wire}: `{e}` lacks `{says}`"),
    }
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + chrono::Duration::milliseconds(ms.into())
}

// ------------------------------------------------------------------ Unit

fn unit_token() -> unit::ApiToken {
    let mut t = unit::ApiToken::new("19".parse().unwrap(), at(2026, 7, 1, 8, 51, 9, 108));
    t.description = Some("CI deploy".into());
    t.expiration = Some(at(2027, 1, 15, 12, 0, 0, 0));
    t.source_ips = vec![
        "192.168.1.1".parse().unwrap(),
        "10.0.0.0/8".parse().unwrap(),
        "2001:db8::1".parse().unwrap(),
    ];
    t
}

#[test]
fn unit_api_token_round_trips_as_a_json_api_resource() {
    round_trip(
        &unit_token(),
        json!({"type": "apiToken", "id": "19", "attributes": {
            "createdAt": "2026-07-01T08:51:09.108Z",
            "description": "CI deploy",
            "expiration": "2027-01-15T12:00:00.000Z",
            "sourceIp": "192.168.1.1,10.0.0.0/8,2001:db8::1"
        }}),
    );
    // Only what the service always sends: the optional fields are left out.
    let bare = unit::ApiToken::new("7".parse().unwrap(), at(2026, 1, 2, 3, 4, 5, 0));
    round_trip(
        &bare,
        json!({"type": "apiToken", "id": "7", "attributes": {"createdAt": "2026-01-02T03:04:05.000Z"}}),
    );
}

#[test]
fn unit_new_api_token_round_trips_with_its_secret_only_on_request() {
    let new = unit::NewApiToken::new(unit_token(), SecretString::from(UNIT_SECRET));
    // Dereferences to the listed token.
    assert_eq!(new.id, unit_token().id);
    assert_eq!(new.details, unit_token());

    // Without the opt-in: exactly the listed token's shape.
    let without = serde_json::to_value(&new).unwrap();
    assert_eq!(without, serde_json::to_value(unit_token()).unwrap());
    assert!(!without.to_string().contains(UNIT_SECRET));
    // ... which cannot be read back as a minted token: it has no secret.
    refused::<unit::NewApiToken>(&without.to_string(), "secret");

    // With it: the create answer's shape, `attributes.token` included.
    let with = serde_json::to_value(new.with_secret()).unwrap();
    assert_eq!(with["attributes"]["token"], UNIT_SECRET);
    let mut expected = without.clone();
    expected["attributes"]["token"] = json!(UNIT_SECRET);
    assert_eq!(with, expected);
    let back: unit::NewApiToken = serde_json::from_value(with).unwrap();
    assert_eq!(back, new);
    assert_eq!(back.token.expose_secret(), UNIT_SECRET);
    // The opt-in view never shows the secret either.
    assert!(!format!("{:?}", new.with_secret()).contains(UNIT_SECRET));
}

#[test]
fn unit_create_api_token_round_trips_as_the_request_resource() {
    let request = unit::CreateApiToken::new(
        "CI deploy",
        [
            unit::Scope::Customers,
            unit::Scope::CardsWrite,
            unit::Scope::Other("loans-write".into()),
        ],
        at(2030, 7, 1, 13, 47, 17, 123),
    )
    .source_ips([
        "192.168.1.1".parse().unwrap(),
        "10.0.0.0/8".parse().unwrap(),
    ])
    .resources([
        unit::ResourceRestriction::cards(["10001", "10002"]),
        unit::ResourceRestriction::accounts([10005_u64]),
    ]);
    round_trip(
        &request,
        json!({"type": "apiToken", "attributes": {
            "description": "CI deploy",
            "scope": "customers cards-write loans-write",
            "expiration": "2030-07-01T13:47:17.123Z",
            "sourceIp": "192.168.1.1,10.0.0.0/8",
            "resources": [
                {"type": "card", "ids": ["10001", "10002"]},
                {"type": "account", "ids": ["10005"]}
            ]
        }}),
    );
    let minimal =
        unit::CreateApiToken::new("x", [unit::Scope::Customers], at(2030, 1, 1, 0, 0, 0, 0));
    round_trip(
        &minimal,
        json!({"type": "apiToken", "attributes": {
            "description": "x", "scope": "customers", "expiration": "2030-01-01T00:00:00.000Z"
        }}),
    );
}

#[test]
fn unit_scope_round_trips_as_its_word() {
    for scope in unit::Scope::KNOWN {
        round_trip(scope, json!(scope.as_str()));
    }
    round_trip(
        &unit::Scope::PaymentsWriteAchDebit,
        json!("payments-write-ach-debit"),
    );
    round_trip(&unit::Scope::Other("loans".into()), json!("loans"));
}

#[test]
fn unit_source_ip_round_trips_as_text() {
    let cases = [
        (
            unit::SourceIp::Addr("192.168.1.1".parse().unwrap()),
            "192.168.1.1",
        ),
        (
            unit::SourceIp::Addr("2001:db8::7".parse().unwrap()),
            "2001:db8::7",
        ),
        (
            unit::SourceIp::Net("10.0.0.0/24".parse().unwrap()),
            "10.0.0.0/24",
        ),
        (
            unit::SourceIp::Net("2001:db8::/32".parse().unwrap()),
            "2001:db8::/32",
        ),
        (unit::SourceIp::Unparsed("office-vpn".into()), "office-vpn"),
    ];
    for (ip, text) in cases {
        round_trip(&ip, json!(text));
    }
    // `FromStr` takes an address or a range, and nothing else.
    assert!(matches!(
        "10.0.0.0/8".parse::<unit::SourceIp>(),
        Ok(unit::SourceIp::Net(_))
    ));
    assert!(matches!(
        " 10.0.0.1 ".parse::<unit::SourceIp>(),
        Ok(unit::SourceIp::Addr(_))
    ));
    assert!(matches!(
        "office-vpn".parse::<unit::SourceIp>(),
        Err(Error::Invalid {
            field: "source_ip",
            ..
        })
    ));
    assert!("10.0.0.0/33".parse::<unit::SourceIp>().is_err());
    let net: ipnet::IpNet = "10.0.0.0/8".parse().unwrap();
    assert_eq!(unit::SourceIp::from(net), "10.0.0.0/8".parse().unwrap());
    let addr: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    assert_eq!(unit::SourceIp::from(addr).addr(), Some(addr));
}

#[test]
fn unit_resource_restriction_and_type_round_trip() {
    round_trip(
        &unit::ResourceRestriction::cards(["1", "2"]),
        json!({"type": "card", "ids": ["1", "2"]}),
    );
    round_trip(
        &unit::ResourceRestriction::accounts([10005_u64]),
        json!({"type": "account", "ids": ["10005"]}),
    );
    round_trip(
        &unit::ResourceRestriction::new(unit::ResourceType::Other("loan".into()), [3_u64]),
        json!({"type": "loan", "ids": ["3"]}),
    );
    round_trip(&unit::ResourceType::Card, json!("card"));
    round_trip(&unit::ResourceType::Account, json!("account"));
    round_trip(&unit::ResourceType::Other("loan".into()), json!("loan"));
    refused::<unit::ResourceRestriction>(r#"["card", ["1"]]"#, "a JSON object");
}

#[test]
fn unit_json_api_error_round_trips_with_source_meta_and_extra_members() {
    let wire = json!({
        "status": "422", "title": "Invalid value", "code": "invalid",
        "detail": "expiration must be a date in the future",
        "details": "the year is 2022",
        "source": {"pointer": "/data/attributes/expiration"},
        "meta": {"supportId": "c7d1f2e3-1111-4a2b-9c3d-000000000422"},
        "links": {"about": "https://unit.co/docs/api/org-api-tokens"}
    });
    let error: unit::JsonApiError = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(error.status.as_deref(), Some("422"));
    assert_eq!(error.title.as_deref(), Some("Invalid value"));
    assert_eq!(error.code.as_deref(), Some("invalid"));
    assert_eq!(
        error.detail.as_deref(),
        Some("expiration must be a date in the future")
    );
    assert_eq!(error.details.as_deref(), Some("the year is 2022"));
    assert_eq!(
        error.source_pointer.as_deref(),
        Some("/data/attributes/expiration")
    );
    assert_eq!(
        error.support_id.as_deref(),
        Some("c7d1f2e3-1111-4a2b-9c3d-000000000422")
    );
    assert_eq!(
        error.extra,
        BTreeMap::from([(
            "links".to_owned(),
            json!({"about": "https://unit.co/docs/api/org-api-tokens"})
        )])
    );
    round_trip(&error, wire);
    round_trip(&unit::JsonApiError::default(), json!({}));
}

#[test]
fn unit_ids_round_trip_as_strings_and_refuse_numbers() {
    let user: unit::UserId = "2".parse().unwrap();
    round_trip(&user, json!("2"));
    let token = unit::TokenId::try_from(19_u64).unwrap();
    round_trip(&token, json!("19"));
    // JSON:API ids are strings: a number is a mis-typed answer.
    assert!(serde_json::from_str::<unit::TokenId>("19").is_err());
    assert!(serde_json::from_str::<unit::UserId>("2").is_err());
}

#[test]
fn unit_ids_refuse_empty_non_numeric_and_zero() {
    for bad in [
        r#""""#, r#""abc""#, r#""0""#, r#""01""#, r#"" 2""#, r#""-1""#, "0", "-1",
    ] {
        refused::<unit::TokenId>(bad, "token id");
        refused::<unit::UserId>(bad, "user id");
    }
    for id in [json!(""), json!("abc"), json!(null)] {
        let mut doc = serde_json::to_value(unit_token()).unwrap();
        doc["id"] = id.clone();
        assert!(
            serde_json::from_value::<unit::ApiToken>(doc).is_err(),
            "id {id} accepted"
        );
    }
}

/// Unit writes its dates with milliseconds and `Z`, and so does the
/// crate, whatever precision the value holds (Unit keeps milliseconds).
#[test]
fn unit_dates_are_written_as_unit_writes_them() {
    let mut t = unit::ApiToken::new("7".parse().unwrap(), at(2021, 7, 1, 8, 51, 9, 0));
    t.expiration = Some(at(2021, 7, 1, 13, 47, 17, 0) + chrono::Duration::microseconds(999));
    let written = serde_json::to_value(&t).unwrap();
    assert_eq!(
        written["attributes"]["createdAt"],
        "2021-07-01T08:51:09.000Z"
    );
    assert_eq!(
        written["attributes"]["expiration"],
        "2021-07-01T13:47:17.000Z"
    );
    let new = unit::NewApiToken::new(t, SecretString::from(UNIT_SECRET));
    let with = serde_json::to_value(new.with_secret()).unwrap();
    assert_eq!(with["attributes"]["createdAt"], "2021-07-01T08:51:09.000Z");
    assert_eq!(with["attributes"]["expiration"], "2021-07-01T13:47:17.000Z");
}

/// `null` where Unit leaves a member out is refused, naming the member;
/// left out, the member keeps its meaning.
#[test]
fn unit_null_members_are_refused_by_name() {
    for member in ["expiration", "sourceIp", "description"] {
        let mut doc = serde_json::to_value(unit_token()).unwrap();
        doc["attributes"][member] = json!(null);
        refused::<unit::ApiToken>(&doc.to_string(), member);
        doc["attributes"]["token"] = json!(UNIT_SECRET);
        refused::<unit::NewApiToken>(&doc.to_string(), member);
        let mut doc = serde_json::to_value(unit_token()).unwrap();
        doc["attributes"].as_object_mut().unwrap().remove(member);
        serde_json::from_value::<unit::ApiToken>(doc).expect("a member left out");
    }
}

#[test]
fn unit_decoding_refuses_an_array_where_an_object_belongs() {
    // A derived struct would read an array by position.
    refused::<unit::ApiToken>(
        r#"["apiToken", "19", {"createdAt": "2026-07-01T08:51:09.108Z"}]"#,
        "a JSON object",
    );
    refused::<unit::ApiToken>(
        r#"{"type": "apiToken", "id": "19", "attributes": ["2026-07-01T08:51:09.108Z"]}"#,
        "a JSON object",
    );
    refused::<unit::NewApiToken>(
        r#"["apiToken", "19", {"createdAt": "2026-07-01T08:51:09.108Z", "token": "x"}]"#,
        "a JSON object",
    );
    refused::<unit::CreateApiToken>(
        r#"["apiToken", ["x", "customers", "2030"]]"#,
        "a JSON object",
    );
}

#[test]
fn unit_decoding_refuses_an_empty_secret() {
    let mut doc = serde_json::to_value(
        unit::NewApiToken::new(unit_token(), SecretString::from(UNIT_SECRET)).with_secret(),
    )
    .unwrap();
    // Empty, or what no token can be sent with (and would reach a
    // terminal or a file as it is): an escape sequence, a line break.
    for empty in [
        json!(""),
        json!("   "),
        json!(null),
        json!("v2.public.ab\u{1b}[31mc"),
        json!("v2.public.abc\nEVIL=1"),
    ] {
        doc["attributes"]["token"] = empty.clone();
        assert!(
            serde_json::from_value::<unit::NewApiToken>(doc.clone()).is_err(),
            "secret {empty} accepted"
        );
    }
}

/// A Unit list answer that is an array of arrays (`{"data": [[]]}` or the
/// bare `[[]]`) is a decode error through the client, not an empty list.
#[tokio::test]
async fn a_unit_list_of_arrays_is_a_decode_error() {
    for body in [
        json!([[]]),
        json!({"data": [[]]}),
        json!({"data": [["apiToken", "19"]]}),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(body.to_string(), "application/vnd.api+json"),
            )
            .mount(&server)
            .await;
        let client = unit::Client::builder()
            .token("v2.public.FAKE-KEY.sig")
            .base_url(server.uri())
            .build()
            .unwrap();
        let err = client
            .org_api_tokens("2".parse().unwrap())
            .list()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Decode { status: 200, .. }),
            "{body}: {err:?}"
        );
    }
}

// -------------------------------------------------------------- Mailtrap

fn mailtrap_token() -> mailtrap::ApiToken {
    let mut t = mailtrap::ApiToken::new(mailtrap::TokenId::new(12345).unwrap(), "CI deploy");
    t.last_four = Some("x7k9".into());
    t.created_by = Some("ops@example.com".into());
    t.expires_at = Some(at(2027, 3, 1, 0, 0, 0, 0));
    t.permissions = vec![
        mailtrap::Permission::new(
            mailtrap::ResourceType::Account,
            3229,
            mailtrap::AccessLevel::Admin,
        ),
        mailtrap::Permission::new(
            mailtrap::ResourceType::Domain,
            "d-7f3a9c",
            mailtrap::AccessLevel::Viewer,
        ),
    ];
    t
}

fn mailtrap_wire() -> Value {
    json!({
        "id": 12345, "name": "CI deploy", "last_4_digits": "x7k9",
        "created_by": "ops@example.com", "expires_at": "2027-03-01T00:00:00Z",
        "resources": [
            {"resource_type": "account", "resource_id": 3229, "access_level": 100},
            {"resource_type": "domain", "resource_id": "d-7f3a9c", "access_level": 10}
        ]
    })
}

#[test]
fn mailtrap_api_token_round_trips_in_the_flat_shape() {
    round_trip(&mailtrap_token(), mailtrap_wire());
    let bare = mailtrap::ApiToken::new(mailtrap::TokenId::new(1).unwrap(), "bare");
    round_trip(
        &bare,
        json!({"id": 1, "name": "bare", "last_4_digits": null, "created_by": null,
               "expires_at": null, "resources": []}),
    );
    // What the service may leave out reads as the same.
    let sparse: mailtrap::ApiToken =
        serde_json::from_value(json!({"id": 1, "name": "bare"})).unwrap();
    assert_eq!(sparse, bare);
}

/// `resources` is a list the contract never writes as `null`: a `null`
/// is refused, naming it, rather than read as a token without permissions.
#[test]
fn mailtrap_null_resources_are_refused() {
    let mut wire = mailtrap_wire();
    wire["resources"] = json!(null);
    refused::<mailtrap::ApiToken>(&wire.to_string(), "resources");
    wire["token"] = json!(MAILTRAP_SECRET);
    refused::<mailtrap::NewApiToken>(&wire.to_string(), "resources");
}

#[test]
fn mailtrap_new_api_token_round_trips_with_its_secret_only_on_request() {
    let new = mailtrap::NewApiToken::new(mailtrap_token(), SecretString::from(MAILTRAP_SECRET));
    assert_eq!(new.id, mailtrap_token().id);
    assert_eq!(new.name, "CI deploy");

    let without = serde_json::to_value(&new).unwrap();
    assert_eq!(without, mailtrap_wire());
    assert!(!without.to_string().contains(MAILTRAP_SECRET));
    refused::<mailtrap::NewApiToken>(&without.to_string(), "token");

    let with = serde_json::to_value(new.with_secret()).unwrap();
    let mut expected = mailtrap_wire();
    expected["token"] = json!(MAILTRAP_SECRET);
    assert_eq!(with, expected);
    let back: mailtrap::NewApiToken = serde_json::from_value(with).unwrap();
    assert_eq!(back, new);
    assert_eq!(back.token.expose_secret(), MAILTRAP_SECRET);
    assert!(!format!("{:?}", new.with_secret()).contains(MAILTRAP_SECRET));
}

#[test]
fn mailtrap_create_api_token_round_trips_as_the_request_body() {
    let when = at(2027, 1, 15, 12, 0, 0, 0);
    let cases = [
        (mailtrap::Expiry::ServerDefault, None),
        (mailtrap::Expiry::Never, Some(json!(null))),
        (
            mailtrap::Expiry::At(when),
            Some(json!("2027-01-15T12:00:00Z")),
        ),
    ];
    for (expiry, wire_expiry) in cases {
        let request = mailtrap::CreateApiToken::new("CI deploy")
            .permission(
                mailtrap::ResourceType::Sandbox,
                1_849_607,
                mailtrap::AccessLevel::Admin,
            )
            .permission(
                mailtrap::ResourceType::Other("mailbox".into()),
                "m-1",
                mailtrap::AccessLevel::Other(30),
            )
            .expires(expiry);
        let mut wire = json!({"name": "CI deploy", "resources": [
            {"resource_type": "sandbox", "resource_id": 1_849_607, "access_level": 100},
            {"resource_type": "mailbox", "resource_id": "m-1", "access_level": 30}
        ]});
        if let Some(e) = wire_expiry {
            wire["expires_at"] = e;
        }
        round_trip(&request, wire);
    }
}

#[test]
fn mailtrap_permission_and_its_parts_round_trip() {
    round_trip(
        &mailtrap::Permission::new(
            mailtrap::ResourceType::Project,
            4242,
            mailtrap::AccessLevel::Viewer,
        ),
        json!({"resource_type": "project", "resource_id": 4242, "access_level": 10}),
    );
    round_trip(&mailtrap::AccessLevel::Viewer, json!(10));
    round_trip(&mailtrap::AccessLevel::Admin, json!(100));
    round_trip(&mailtrap::AccessLevel::Other(50), json!(50));
    round_trip(&mailtrap::ResourceId::Int(3229), json!(3229));
    round_trip(
        &mailtrap::ResourceId::Str("d-7f3a9c".into()),
        json!("d-7f3a9c"),
    );
    round_trip(&mailtrap::TokenId::new(12345).unwrap(), json!(12345));
    round_trip(&mailtrap::Expiry::ServerDefault, json!("default"));
    round_trip(&mailtrap::Expiry::Never, json!(null));
    round_trip(
        &mailtrap::Expiry::At(at(2027, 1, 15, 12, 0, 0, 0)),
        json!("2027-01-15T12:00:00Z"),
    );
    refused::<mailtrap::ResourceId>("-3", "non-negative integer or a string");
    refused::<mailtrap::Permission>(r#"["account", 3229, 100]"#, "a JSON object");
}

#[test]
fn mailtrap_resource_types_round_trip_and_old_names_read_as_new() {
    use mailtrap::ResourceType as R;
    for (kind, name) in [
        (R::Account, "account"),
        (R::Project, "project"),
        (R::Sandbox, "sandbox"),
        (R::Domain, "domain"),
        (R::Billing, "billing"),
        (R::Organization, "organization"),
        (
            R::EmailCampaignPermissionScope,
            "email_campaign_permission_scope",
        ),
        (R::EmailTemplate, "email_template"),
        (R::Other("billing_profile".into()), "billing_profile"),
    ] {
        round_trip(&kind, json!(name));
        assert_eq!(R::from(name), kind);
    }
    // The names before the 2026-05 renaming read as the new ones, and are
    // written in the new form.
    for (old, new) in [("inbox", R::Sandbox), ("sending_domain", R::Domain)] {
        let read: R = serde_json::from_value(json!(old)).unwrap();
        assert_eq!(read, new);
        assert_eq!(R::from(old), new);
        assert_ne!(serde_json::to_value(&read).unwrap(), json!(old));
    }
    let legacy: mailtrap::ApiToken = serde_json::from_value(json!({
        "id": 7, "name": "legacy", "resources": [
            {"resource_type": "inbox", "resource_id": 1204511, "access_level": 10},
            {"resource_type": "sending_domain", "resource_id": "88210", "access_level": 100}
        ]
    }))
    .unwrap();
    assert_eq!(
        legacy
            .permissions
            .iter()
            .map(|p| &p.resource_type)
            .collect::<Vec<_>>(),
        [&R::Sandbox, &R::Domain]
    );
    assert_eq!(
        serde_json::to_value(&legacy).unwrap()["resources"],
        json!([
            {"resource_type": "sandbox", "resource_id": 1204511, "access_level": 10},
            {"resource_type": "domain", "resource_id": "88210", "access_level": 100}
        ])
    );
}

#[test]
fn mailtrap_decoding_refuses_an_array_for_a_token() {
    refused::<mailtrap::ApiToken>(r#"[12345, "CI deploy"]"#, "a JSON object");
    refused::<mailtrap::ApiToken>(
        r#"[12345, "CI deploy", "x7k9", null, null, []]"#,
        "a JSON object",
    );
    refused::<mailtrap::NewApiToken>(r#"[12345, "CI deploy", "x7k9", "FAKE0s"]"#, "a JSON object");
    refused::<mailtrap::CreateApiToken>(r#"["CI deploy", []]"#, "a JSON object");
}

#[test]
fn mailtrap_decoding_refuses_an_empty_secret_and_id_zero() {
    for empty in [
        json!(""),
        json!(" \t"),
        json!(null),
        json!("0123456789abcdef\u{7}123456789abcde"),
        json!("0123456789abcdef 0123456789abcdef"),
    ] {
        let mut wire = mailtrap_wire();
        wire["token"] = empty.clone();
        assert!(
            serde_json::from_value::<mailtrap::NewApiToken>(wire).is_err(),
            "secret {empty} accepted"
        );
    }
    refused::<mailtrap::TokenId>("0", "not a token id");
    refused::<mailtrap::TokenId>("9223372036854775808", "not a token id");
    refused::<mailtrap::TokenId>("-5", "");
    refused::<mailtrap::TokenId>(r#""12345""#, "");
    let mut wire = mailtrap_wire();
    wire["id"] = json!(0);
    assert!(serde_json::from_value::<mailtrap::ApiToken>(wire.clone()).is_err());
    wire["token"] = json!(MAILTRAP_SECRET);
    assert!(serde_json::from_value::<mailtrap::NewApiToken>(wire).is_err());
}

/// An array where Mailtrap's token belongs is a decode error through the
/// client too, on get and on create.
#[tokio::test]
async fn a_mailtrap_token_that_is_an_array_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([12345, "CI deploy"])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            12345,
            "CI deploy",
            MAILTRAP_SECRET
        ])))
        .mount(&server)
        .await;
    let client = mailtrap::Client::builder()
        .token("FAKE0key")
        .base_url(server.uri())
        .build()
        .unwrap();
    let tokens = client.api_tokens();
    let err = tokens
        .get(mailtrap::TokenId::new(12345).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
    let err = tokens
        .create(mailtrap::CreateApiToken::new("CI deploy").permission(
            mailtrap::ResourceType::Account,
            3229,
            mailtrap::AccessLevel::Admin,
        ))
        .await
        .unwrap_err();
    // A 2xx to a create that cannot be read: the token may exist.
    match &err {
        Error::OutcomeUnknown { cause, .. } => {
            assert!(
                matches!(**cause, Error::Decode { status: 200, .. }),
                "{err:?}"
            )
        }
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains(MAILTRAP_SECRET));
}

// ----------------------------------------------------- the secret opt-in

/// However a minted token is serialized (alone, in a list, inside another
/// value, to any JSON form), the secret is written only through
/// `with_secret()`.
#[test]
fn a_new_api_token_never_writes_its_secret_without_the_opt_in() {
    #[derive(Serialize)]
    struct Stored<'a> {
        unit: &'a unit::NewApiToken,
        mailtrap: &'a [mailtrap::NewApiToken],
    }
    let u = unit::NewApiToken::new(unit_token(), SecretString::from(UNIT_SECRET));
    let m = mailtrap::NewApiToken::new(mailtrap_token(), SecretString::from(MAILTRAP_SECRET));
    let stored = Stored {
        unit: &u,
        mailtrap: std::slice::from_ref(&m),
    };
    for text in [
        serde_json::to_string(&stored).unwrap(),
        serde_json::to_string_pretty(&stored).unwrap(),
        serde_json::to_value(&stored).unwrap().to_string(),
        String::from_utf8(serde_json::to_vec(&stored).unwrap()).unwrap(),
        format!("{:?} {:?} {u} {m}", u, m),
    ] {
        assert!(!text.contains(UNIT_SECRET), "{text}");
        assert!(!text.contains(MAILTRAP_SECRET), "{text}");
    }
    // The opt-in writes it, and only the one asked for.
    let u_with = serde_json::to_string(&u.with_secret()).unwrap();
    assert!(u_with.contains(UNIT_SECRET));
    let m_with = serde_json::to_string(&m.with_secret()).unwrap();
    assert!(m_with.contains(MAILTRAP_SECRET));
    assert!(!m_with.contains(UNIT_SECRET) && !u_with.contains(MAILTRAP_SECRET));
}
