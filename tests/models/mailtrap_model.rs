//! Mailtrap's permission model: resource types decoded from any text serde
//! hands over, enums that keep unknown values, resource ids that keep their
//! JSON type, and a permission read from its `TYPE:ID:LEVEL` text.

use api_tokens::mailtrap::{AccessLevel, Permission, ResourceId, ResourceType};

#[test]
fn resource_types_decode_from_borrowed_escaped_and_owned_text() {
    let decode = |json: &str| serde_json::from_str::<ResourceType>(json);
    assert_eq!(decode(r#""account""#).unwrap(), ResourceType::Account);
    // An escape makes serde_json hand over its own buffer, not the input.
    assert_eq!(decode(r#""inb\u006fx""#).unwrap(), ResourceType::Sandbox);
    assert_eq!(
        decode(r#""galaxy""#).unwrap(),
        ResourceType::Other("galaxy".into())
    );
    assert!(decode("7").is_err());
    assert!(decode("null").is_err());
    let owned = serde_json::from_value::<ResourceType>(serde_json::json!("sending_domain"));
    assert_eq!(owned.unwrap(), ResourceType::Domain);
}

#[test]
fn enums_round_trip_and_keep_unknown_values() {
    for name in [
        "account",
        "project",
        "sandbox",
        "domain",
        "billing",
        "organization",
        "email_campaign_permission_scope",
        "email_template",
        "mailbox",
    ] {
        let t: ResourceType = serde_json::from_str(&format!("\"{name}\"")).unwrap();
        assert_eq!(t.as_str(), name);
        assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{name}\""));
    }
    // The old names decode as the new ones, and are sent as the new.
    for (old, new) in [
        ("inbox", ResourceType::Sandbox),
        ("sending_domain", ResourceType::Domain),
    ] {
        let t: ResourceType = serde_json::from_str(&format!("\"{old}\"")).unwrap();
        assert_eq!(t, new);
        assert_ne!(serde_json::to_string(&t).unwrap(), format!("\"{old}\""));
    }
    assert_eq!(
        ResourceType::from(String::from("mailbox")),
        ResourceType::Other("mailbox".into())
    );
    let l: AccessLevel = serde_json::from_str("50").unwrap();
    assert_eq!(l, AccessLevel::Other(50));
    assert_eq!(serde_json::to_string(&AccessLevel::Admin).unwrap(), "100");
}

#[test]
fn resource_ids_keep_their_json_type() {
    let p: Permission =
        serde_json::from_str(r#"{"resource_type":"domain","resource_id":"abc","access_level":10}"#)
            .unwrap();
    assert_eq!(p.resource_id, ResourceId::Str("abc".into()));
    assert_eq!(
        serde_json::to_value(Permission::new("account", 7, AccessLevel::Viewer)).unwrap(),
        serde_json::json!({"resource_type":"account","resource_id":7,"access_level":10})
    );
    assert!(serde_json::from_str::<ResourceId>("-4").is_err());
    assert!(serde_json::from_str::<ResourceId>("1.5").is_err());
}

#[test]
fn every_part_of_a_permission_text_is_read() {
    let cases = [
        (
            "account:3229:admin",
            Permission::new(ResourceType::Account, 3229, AccessLevel::Admin),
        ),
        (
            " sandbox : 17 : viewer ",
            Permission::new(ResourceType::Sandbox, 17, AccessLevel::Viewer),
        ),
        (
            "project:p-1:10",
            Permission::new(ResourceType::Project, "p-1", AccessLevel::Viewer),
        ),
        (
            "inbox:7:100",
            Permission::new(ResourceType::Sandbox, 7, AccessLevel::Admin),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(text.parse::<Permission>().unwrap(), want, "{text}");
    }
    // What Mailtrap would refuse is refused here, never sent: a type or a
    // level it does not accept (the auditor's `acount`, a level 50).
    for text in ["acount:3229:admin", "account:3229:50", "galaxy:1:viewer"] {
        assert!(text.parse::<Permission>().is_err(), "{text}");
    }
}

/// A level is any integer the service writes: one beyond 16 bits or below
/// zero is an unknown level kept as given when read from JSON, and written
/// back as it came. The `TYPE:ID:LEVEL` text is what will be sent: it
/// takes only the levels Mailtrap accepts, so a typo never reaches it.
#[test]
fn access_levels_of_any_integer_are_kept() {
    for code in [70_000_i64, -3, 0, i64::MAX, i64::MIN] {
        let level: AccessLevel = serde_json::from_str(&code.to_string()).unwrap();
        assert_eq!(level, AccessLevel::Other(code));
        assert_eq!(level, AccessLevel::from_code(code));
        assert_eq!(level.code(), code);
        assert_eq!(serde_json::to_string(&level).unwrap(), code.to_string());
        let text = format!("account:3229:{code}").parse::<Permission>();
        assert!(text.is_err(), "{code} is no level Mailtrap accepts");
    }
    assert_eq!(AccessLevel::from_code(10), AccessLevel::Viewer);
    assert_eq!(AccessLevel::from_code(100), AccessLevel::Admin);
    assert_eq!(AccessLevel::from(100_u16), AccessLevel::Admin);
    // Not an integer, or beyond 64 signed bits: refused, not rounded.
    for bad in ["1.5", "\"10\"", "null", "9223372036854775808"] {
        assert!(serde_json::from_str::<AccessLevel>(bad).is_err(), "{bad}");
    }
}
