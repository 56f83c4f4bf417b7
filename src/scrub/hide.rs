//! How a kind of writer hides secrets ([`Hider`]), and the two walks every
//! writer shares: over free text ([`hide_text`]: fields, pairs, known
//! secrets) and over a decoded JSON value ([`hide_value`]).

use secrecy::zeroize::Zeroize;
use serde_json::{Map, Value};

use super::decode::{decode, unescape};
use super::fields::hide_secret_fields;
use super::names::{is_secret_list_name, is_secret_name};
use super::pairs::hide_secret_pairs;

/// How a kind of writer hides secrets: what stands for a value found under
/// a secret's name, and how known secrets are found and replaced.
pub(crate) trait Hider {
    /// What stands for `value`, found under a secret's name (decoded).
    fn stand_in(&self, value: &str) -> String;
    /// `text` with every known secret replaced, or `None` when it holds
    /// none.
    fn hide_known(&self, text: &str) -> Option<String>;
}

/// What stands for a hidden secret in an error.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// Whether a value is already a stand-in: the [`REDACTED`] of an error or
/// a recording's `redacted…` placeholder.
fn is_hidden(value: &str) -> bool {
    value == REDACTED || value.starts_with("redacted")
}

/// `text` with the values under secret names hidden (in any JSON it holds,
/// however it is cut or wrapped, and in every `key=value`, `key: value`,
/// HTML field and auth scheme it quotes) and every known secret replaced;
/// `None` when it holds none of them.
pub(crate) fn hide_text(hider: &impl Hider, text: &str) -> Option<String> {
    let mut fields = hide_secret_fields(text, |raw| {
        let mut decoded = unescape(raw).into_owned();
        let shown = hider.stand_in(&decoded);
        decoded.zeroize();
        shown
    });
    let pairs = hide_secret_pairs(fields.as_deref().unwrap_or(text), |raw| {
        let mut decoded = decode(raw);
        // A value already hidden stays as it is: hiding twice (a form body
        // whose values a recording has replaced) changes nothing.
        let kept = is_hidden(&decoded);
        let shown = (!kept).then(|| hider.stand_in(&decoded));
        decoded.zeroize();
        shown
    });
    if pairs.is_some() {
        if let Some(fields) = &mut fields {
            fields.zeroize();
        }
    }
    let hidden = pairs.or(fields);
    let known = hider.hide_known(hidden.as_deref().unwrap_or(text));
    if known.is_some() {
        if let Some(mut hidden) = hidden {
            hidden.zeroize();
        }
        return known;
    }
    hidden
}

/// Hides secrets in a decoded JSON value, in place: every value under a
/// secret's name, every plain item of a list under a plural one
/// (`tokens`), and in every string and every object key, the values under
/// secret names of any JSON it holds and every known secret. Says whether
/// anything changed.
pub(crate) fn hide_value(hider: &impl Hider, value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            let old = std::mem::take(map);
            for (key, mut item) in old {
                changed |= if is_secret_name(&key) {
                    hide_leaves(hider, &mut item)
                } else if is_secret_list_name(&key) {
                    match &mut item {
                        Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
                            let hidden = match item {
                                Value::String(_) | Value::Number(_) => hide_leaves(hider, item),
                                _ => hide_value(hider, item),
                            };
                            changed | hidden
                        }),
                        Value::String(_) | Value::Number(_) => hide_leaves(hider, &mut item),
                        _ => hide_value(hider, &mut item),
                    }
                } else {
                    hide_value(hider, &mut item)
                };
                changed |= insert_hiding_key(hider, map, key, item);
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| hide_value(hider, item) | changed),
        Value::String(text) => match hide_text(hider, text) {
            Some(hidden) => {
                text.zeroize();
                *text = hidden;
                true
            }
            None => false,
        },
        // A number written the way a known secret is (a numeric token).
        Value::Number(n) => match hider.hide_known(&n.to_string()) {
            Some(hidden) => {
                *value = Value::String(hidden);
                true
            }
            None => false,
        },
        Value::Bool(_) | Value::Null => false,
    }
}

/// Inserts `value` under `key` with the secrets in `key` hidden (see
/// [`insert_unique`]). Says whether hiding changed the key.
fn insert_hiding_key(
    hider: &impl Hider,
    map: &mut Map<String, Value>,
    mut key: String,
    value: Value,
) -> bool {
    let hidden = hide_text(hider, &key);
    let changed = hidden.is_some();
    if let Some(hidden) = hidden {
        key.zeroize();
        key = hidden;
    }
    insert_unique(map, key, value);
    changed
}

/// Inserts under `key`, or under `key#2`, `key#3`, … when two keys hid to
/// the same text: no member is lost.
fn insert_unique(map: &mut Map<String, Value>, key: String, value: Value) {
    if !map.contains_key(&key) {
        map.insert(key, value);
        return;
    }
    let mut n = 2;
    while map.contains_key(&format!("{key}#{n}")) {
        n += 1;
    }
    map.insert(format!("{key}#{n}"), value);
}

/// Every string and number in `value`, however deep, replaced by its stand-in;
/// keys are kept but searched for known secrets.
fn hide_leaves(hider: &impl Hider, value: &mut Value) -> bool {
    match value {
        Value::String(text) => {
            let shown = hider.stand_in(text);
            text.zeroize();
            *text = shown;
            true
        }
        Value::Number(n) => {
            *value = Value::String(hider.stand_in(&n.to_string()));
            true
        }
        Value::Object(map) => {
            let mut changed = false;
            let old = std::mem::take(map);
            for (key, mut item) in old {
                changed |= hide_leaves(hider, &mut item);
                changed |= insert_hiding_key(hider, map, key, item);
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| hide_leaves(hider, item) | changed),
        Value::Bool(_) | Value::Null => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose stand-ins tell values apart, as a recording's do.
    struct Placeholders;

    impl Hider for Placeholders {
        fn stand_in(&self, value: &str) -> String {
            format!("redacted-{}", value.len())
        }

        fn hide_known(&self, _text: &str) -> Option<String> {
            None
        }
    }

    #[test]
    fn hiding_twice_changes_nothing_more() {
        let text = "user=ann&password=e3r4-long-enough&note=token: abcdefgh";
        let once = hide_text(&Placeholders, text).expect("hidden");
        assert_eq!(once, "user=ann&password=redacted-16&note=token: redacted-8");
        assert_eq!(hide_text(&Placeholders, &once), None);
    }
}
