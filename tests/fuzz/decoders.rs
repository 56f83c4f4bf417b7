//! In-process fuzz of both dialects' success decoders: hostile answers are
//! typed errors, never a panic and never a silent success.
//!
//! Each property starts from a well-formed answer and breaks it one way:
//! an object replaced by an array of its values (read by position, serde's
//! default for derived structs), a field of the wrong JSON type, an empty
//! secret, an impossible id, a cut body, or arbitrary bytes. A bounded
//! number of cases runs in `cargo test`; set `API_TOKENS_FUZZ_CASES` for a
//! longer run (CI runs 100,000).

use crate::fuzz_support;

use api_tokens::decode_hooks as decode;
use fuzz_support::runner;
use proptest::prelude::*;
use serde_json::{Value, json};

fn unit_token(id: &str, secret: Option<&str>) -> Value {
    let mut attributes = json!({
        "createdAt": "2026-05-01T09:13:23.211Z",
        "description": "Production token",
        "expiration": "2027-05-01T09:13:23.124Z",
        "sourceIp": "192.168.1.1,10.0.0.0/8"
    });
    if let Some(secret) = secret {
        attributes["token"] = json!(secret);
    }
    json!({"id": id, "type": "apiToken", "attributes": attributes})
}

fn mailtrap_token(id: u64, secret: Option<&str>) -> Value {
    let mut t = json!({
        "id": id,
        "name": "CI deploy",
        "last_4_digits": "x7k9",
        "created_by": "ops@example.com",
        "expires_at": "2027-05-01T09:13:23Z",
        "resources": [{"resource_type": "account", "resource_id": 3229, "access_level": 100}]
    });
    if let Some(secret) = secret {
        t["token"] = json!(secret);
    }
    t
}

/// The documents each decoder accepts, and the decoder.
type Decoder = fn(&[u8]) -> Result<(), api_tokens::Error>;

fn subjects() -> Vec<(&'static str, Value, Decoder)> {
    vec![
        (
            "unit list",
            json!({"data": [unit_token("21", None), unit_token("22", None)]}),
            |b| decode::unit_list(b).map(drop),
        ),
        (
            "unit create",
            json!({"data": unit_token("19", Some("v2.public.abcDEF123.sig"))}),
            |b| decode::unit_created(b).map(drop),
        ),
        (
            "unit revoke",
            json!({"data": unit_token("19", None)}),
            |b| decode::unit_revoked(b).map(drop),
        ),
        (
            "mailtrap list",
            json!([mailtrap_token(12345, None), mailtrap_token(12346, None)]),
            |b| decode::mailtrap_list(b).map(drop),
        ),
        ("mailtrap get", mailtrap_token(12345, None), |b| {
            decode::mailtrap_token(b).map(drop)
        }),
        (
            "mailtrap create",
            mailtrap_token(12345, Some("f0e1d2c3b4a5968778695a4b3c2d1e0fq2w3")),
            |b| decode::mailtrap_created(b).map(drop),
        ),
    ]
}

/// Every path to an object inside `v`, the root included.
fn object_paths(v: &Value, at: Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match v {
        Value::Object(o) => {
            out.push(at.clone());
            for (k, child) in o {
                let mut p = at.clone();
                p.push(json!(k));
                object_paths(child, p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let mut p = at.clone();
                p.push(json!(i));
                object_paths(child, p, out);
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |v, step| match step {
        Value::String(k) => &mut v[k.as_str()],
        Value::Number(i) => &mut v[i.as_u64().unwrap_or(0) as usize],
        _ => v,
    })
}

#[test]
fn the_well_formed_answers_decode() {
    for (name, doc, decoder) in subjects() {
        assert!(decoder(doc.to_string().as_bytes()).is_ok(), "{name}");
    }
}

/// Class 7: an object written as an array of its values is never read by
/// position, wherever it stands.
#[test]
fn an_array_in_place_of_any_object_is_refused() {
    let mut checked = 0;
    for (name, doc, decoder) in subjects() {
        let mut paths = Vec::new();
        object_paths(&doc, Vec::new(), &mut paths);
        for path in paths {
            let mut broken = doc.clone();
            let target = at_mut(&mut broken, &path);
            let values: Vec<Value> = target
                .as_object()
                .map(|o| o.values().cloned().collect())
                .unwrap_or_default();
            *target = Value::Array(values);
            assert!(
                decoder(broken.to_string().as_bytes()).is_err(),
                "{name}: an array at {path:?} was accepted"
            );
            checked += 1;
        }
    }
    assert!(checked > 15, "{checked}");
    // The shapes the audit found, as they came.
    assert!(decode::unit_list(b"[[]]").is_err());
    assert!(decode::unit_revoked(b"[]").is_err());
    assert!(decode::mailtrap_token(br#"[12345,"CI deploy"]"#).is_err());
}

/// Class 8: what the crate refuses from its user it refuses from the
/// service.
#[test]
fn empty_secrets_and_impossible_ids_are_refused() {
    for secret in [json!(""), json!("   "), json!(null), json!(12), json!([])] {
        let mut u = json!({"data": unit_token("19", Some("x"))});
        u["data"]["attributes"]["token"] = secret.clone();
        assert!(
            decode::unit_created(u.to_string().as_bytes()).is_err(),
            "{secret}"
        );
        let mut m = mailtrap_token(12345, Some("x"));
        m["token"] = secret.clone();
        assert!(
            decode::mailtrap_created(m.to_string().as_bytes()).is_err(),
            "{secret}"
        );
    }
    for id in [
        json!(""),
        json!("0"),
        json!("abc"),
        json!("01"),
        json!("-1"),
        json!(0),
        json!(-1),
        json!(null),
        json!(1.5),
    ] {
        let mut u = json!({"data": [unit_token("21", None)]});
        u["data"][0]["id"] = id.clone();
        assert!(
            decode::unit_list(u.to_string().as_bytes()).is_err(),
            "unit id {id}"
        );
    }
    for id in [
        json!(0),
        json!(-1),
        json!("12345"),
        json!(9_223_372_036_854_775_808_u64),
        json!(1.5),
        json!(null),
    ] {
        let mut m = mailtrap_token(1, None);
        m["id"] = id.clone();
        assert!(
            decode::mailtrap_token(m.to_string().as_bytes()).is_err(),
            "mailtrap id {id}"
        );
    }
}

/// Every leaf of a well-formed answer, given a value of a JSON type its
/// field never has, is refused; `null` only where the field is optional.
#[test]
fn a_field_of_the_wrong_type_is_refused() {
    let optional = [
        "description",
        "expiration",
        "sourceIp",
        "last_4_digits",
        "created_by",
        "expires_at",
        "resources",
    ];
    for (name, doc, decoder) in subjects() {
        let mut leaves = Vec::new();
        leaf_paths(&doc, Vec::new(), &mut leaves);
        for path in leaves {
            let key = path.last().and_then(Value::as_str).unwrap_or("");
            let original = at_mut(&mut doc.clone(), &path).clone();
            for wrong in [
                json!(true),
                json!({"k": 1}),
                json!(7),
                json!("text"),
                json!(null),
            ] {
                if same_kind(&original, &wrong) {
                    continue;
                }
                if wrong.is_null() && optional.contains(&key) {
                    continue;
                }
                // Numbers where the id is a string of digits, strings where
                // the service writes free text: only a kind that cannot be
                // the field's is asserted.
                if key == "resource_id" && (wrong.is_string() || wrong.is_number()) {
                    continue;
                }
                let mut broken = doc.clone();
                *at_mut(&mut broken, &path) = wrong.clone();
                assert!(
                    decoder(broken.to_string().as_bytes()).is_err(),
                    "{name}: {wrong} at {path:?} was accepted"
                );
            }
        }
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn leaf_paths(v: &Value, at: Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let mut p = at.clone();
                p.push(json!(k));
                leaf_paths(child, p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let mut p = at.clone();
                p.push(json!(i));
                leaf_paths(child, p, out);
            }
        }
        _ => out.push(at),
    }
}

/// Any proper prefix of a well-formed answer is a decode error; arbitrary
/// bytes never panic; unknown members anywhere change nothing.
#[test]
fn cut_garbled_and_extended_answers() {
    let subjects = subjects();
    let mut runner = runner(2_000);
    let strategy = (
        0..subjects.len(),
        any::<prop::sample::Index>(),
        prop::collection::vec(any::<u8>(), 0..256),
        "[a-z_]{1,12}",
    );
    runner
        .run(&strategy, |(which, cut, noise, key)| {
            let (name, doc, decoder) = &subjects[which];
            let text = doc.to_string();
            let at = cut.index(text.len());
            // An empty revoke answer is a 204's: nothing to decode.
            if !(*name == "unit revoke" && at == 0) {
                prop_assert!(
                    decoder(&text.as_bytes()[..at]).is_err(),
                    "{} cut at {}",
                    name,
                    at
                );
            }

            // Garbage: any result, but no panic.
            let _ = decoder(&noise);

            // An unknown member on the outermost object changes nothing.
            if let Value::Object(mut o) = doc.clone() {
                o.insert(
                    format!("x_{key}"),
                    json!({"nested": [1, 2, {"deep": true}]}),
                );
                prop_assert!(decoder(Value::Object(o).to_string().as_bytes()).is_ok());
            }
            Ok(())
        })
        .expect("fuzz");
}

/// Random JSON documents of any shape: a decoder accepts one only when it is
/// shaped like the answer (checked against the field names it must carry).
#[test]
fn random_documents_are_accepted_only_when_well_shaped() {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9 .:-]{0,12}".prop_map(Value::from),
    ];
    let doc = leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("data".to_owned()),
                    Just("id".to_owned()),
                    Just("type".to_owned()),
                    Just("attributes".to_owned()),
                    Just("token".to_owned()),
                    Just("name".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let mut runner = runner(5_000);
    runner
        .run(&doc, |v| {
            let bytes = v.to_string().into_bytes();
            // A Unit answer needs `data` holding `id`, `type` and attributes
            // with `createdAt`: random documents essentially never do.
            if decode::unit_list(&bytes).is_ok() {
                let data = v.get("data").and_then(Value::as_array);
                prop_assert!(data.is_some(), "accepted without a data list: {v}");
                for t in data.into_iter().flatten() {
                    prop_assert_eq!(t.get("type"), Some(&json!("apiToken")));
                }
            }
            if decode::mailtrap_token(&bytes).is_ok() {
                prop_assert!(v.get("id").is_some() && v.get("name").is_some(), "{v}");
            }
            prop_assert!(decode::unit_created(&bytes).is_err() || v.get("data").is_some());
            Ok(())
        })
        .expect("fuzz");
}
