//! The record a store keeps (`SecretRecord`): its JSON round trip without
//! the marker, a malformed record refused without quoting it, and the label
//! a Mailtrap reset's name is stored under.

use api_tokens::Service;
use api_tokens::lifecycle::Marker;
use api_tokens::lifecycle::sink::{SecretMeta, SecretRecord};
use api_tokens::secrecy::{ExposeSecret, SecretString};

#[test]
fn record_round_trips_without_marker_and_hides_the_secret() {
    let meta = SecretMeta::new(Service::Unit, "42")
        .with_name("CI deploy [at:t4k2ab-7f3k9q2m from:41]")
        .with_attribute("user_id", "2")
        .with_attribute("token", "not this");
    let secret = SecretString::from("v2.public.s3cr3t");
    let record = SecretRecord::new(&secret, &meta);
    assert_eq!(record.name.as_deref(), Some("CI deploy"));
    assert!(!format!("{record:?}").contains("s3cr3t"));
    let json = record.to_json();
    let value: serde_json::Value = serde_json::from_str(json.expose_secret()).unwrap();
    assert_eq!(value["token"], "v2.public.s3cr3t");
    assert_eq!(value["service"], "unit");
    assert_eq!(value["token_id"], "42");
    assert_eq!(value["expires_at"], serde_json::Value::Null);
    assert_eq!(value["user_id"], "2");
    let back = SecretRecord::from_json(json.expose_secret()).unwrap();
    assert_eq!(back.version_id(), record.version_id());
    assert_eq!(
        back.meta().attribute("user_id"),
        Some(&serde_json::json!("2"))
    );
}

#[test]
fn a_malformed_record_is_refused_without_quoting_it() {
    let err = SecretRecord::from_json(r#"{"token":"s3cr3t-value","service":"unit"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("token_id"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
    let err = SecretRecord::from_json("s3cr3t-plain")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("s3cr3t"), "{err}");
}

#[test]
fn a_mailtrap_reset_name_is_stored_as_its_label() {
    let secret = SecretString::from("s");
    let name = |service, id: &str, name: String| {
        SecretRecord::new(&secret, &SecretMeta::new(service, id).with_name(name)).name
    };
    let tagged = Marker::new().tag("CI deploy");
    // A reset of a marked token, then a reset of that one.
    for text in [
        format!("{tagged} 12350"),
        format!("{tagged} 12350 12351"),
        tagged.clone(),
    ] {
        assert_eq!(
            name(Service::Mailtrap, "12351", text.clone()).as_deref(),
            Some("CI deploy"),
            "{text}"
        );
    }
    assert_eq!(
        name(Service::Mailtrap, "7", "Deploy 2024 7".to_owned()).as_deref(),
        Some("Deploy 2024")
    );
    assert_eq!(
        name(Service::Mailtrap, "8", "Deploy 2024".to_owned()).as_deref(),
        Some("Deploy 2024")
    );
    assert_eq!(
        name(Service::Unit, "12", "Deploy 12".to_owned()).as_deref(),
        Some("Deploy 12")
    );
}
