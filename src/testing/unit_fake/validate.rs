//! The checks Unit makes of a create document, every error collected.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use crate::unit::{ResourceRestriction, Scope, SourceIp};

use super::errors::invalid;

const KNOWN_ATTRIBUTES: [&str; 5] = [
    "description",
    "scope",
    "expiration",
    "sourceIp",
    "resources",
];

pub(crate) struct CheckedCreate {
    pub(crate) description: String,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) expiration: DateTime<Utc>,
    pub(crate) source_ips: Vec<SourceIp>,
    pub(crate) resources: Option<Vec<ResourceRestriction>>,
}

/// Checks a create document as Unit does, collecting every error.
pub(crate) fn check_create(body: &Value, now: DateTime<Utc>) -> Result<CheckedCreate, Vec<Value>> {
    let mut found = Vec::new();
    let Some(top) = body.as_object() else {
        return Err(vec![invalid("The document must be a JSON object", "")]);
    };
    for key in top.keys().filter(|k| *k != "data") {
        found.push(invalid(
            &format!("Unknown member `{key}`"),
            &format!("/{key}"),
        ));
    }
    let Some(data) = top.get("data").and_then(Value::as_object) else {
        found.push(invalid("`data` is required and must be an object", "/data"));
        return Err(found);
    };
    for key in data.keys().filter(|k| *k != "type" && *k != "attributes") {
        found.push(invalid(
            &format!("Unknown member `{key}`"),
            &format!("/data/{key}"),
        ));
    }
    if data.get("type").and_then(Value::as_str) != Some("apiToken") {
        found.push(invalid("`type` must be `apiToken`", "/data/type"));
    }
    let Some(attributes) = data.get("attributes").and_then(Value::as_object) else {
        found.push(invalid(
            "`attributes` is required and must be an object",
            "/data/attributes",
        ));
        return Err(found);
    };
    for key in attributes
        .keys()
        .filter(|k| !KNOWN_ATTRIBUTES.contains(&k.as_str()))
    {
        found.push(invalid(
            &format!("Unknown attribute `{key}`"),
            &format!("/data/attributes/{key}"),
        ));
    }

    let description = match attributes.get("description").and_then(Value::as_str) {
        Some(d) if !d.trim().is_empty() => Some(d.to_owned()),
        _ => {
            found.push(invalid(
                "`description` is required and must be a non-empty string",
                "/data/attributes/description",
            ));
            None
        }
    };

    let scopes = match attributes.get("scope").and_then(Value::as_str) {
        Some(s) if is_scope_list(s) => s
            .split(' ')
            .map(str::parse::<Scope>)
            .collect::<Result<Vec<_>, _>>()
            .ok(),
        _ => {
            found.push(invalid(
                "`scope` is required: scopes of lower-case letters and `-`, separated by single spaces",
                "/data/attributes/scope",
            ));
            None
        }
    };

    let expiration = match attributes
        .get("expiration")
        .and_then(Value::as_str)
        .map(parse_expiration)
    {
        Some(Some(at)) if at > now => Some(at),
        Some(Some(_)) => {
            found.push(invalid(
                "`expiration` must be in the future",
                "/data/attributes/expiration",
            ));
            None
        }
        _ => {
            found.push(invalid(
                "`expiration` is required, written YYYY-MM-DDTHH:MM:SS.mmmZ",
                "/data/attributes/expiration",
            ));
            None
        }
    };

    let source_ips = match attributes.get("sourceIp") {
        None => Vec::new(),
        Some(Value::String(ips)) if is_ip_list(ips) => SourceIp::parse_list(ips),
        Some(_) => {
            found.push(invalid(
                "`sourceIp` must be IP addresses separated by commas, no spaces allowed",
                "/data/attributes/sourceIp",
            ));
            Vec::new()
        }
    };

    let resources = match attributes.get("resources") {
        None => None,
        Some(resources) => {
            let before = found.len();
            check_resources(resources, &mut found);
            if found.len() > before {
                None
            } else {
                match serde_json::from_value::<Vec<ResourceRestriction>>(resources.clone()) {
                    Ok(list) => Some(list),
                    Err(_) => {
                        found.push(invalid(
                            "`resources` must be restrictions to cards or accounts",
                            "/data/attributes/resources",
                        ));
                        None
                    }
                }
            }
        }
    };

    match (description, scopes, expiration) {
        (Some(description), Some(scopes), Some(expiration)) if found.is_empty() => {
            Ok(CheckedCreate {
                description,
                scopes,
                expiration,
                source_ips,
                resources,
            })
        }
        _ => Err(found),
    }
}

fn check_resources(resources: &Value, found: &mut Vec<Value>) {
    const AT: &str = "/data/attributes/resources";
    let Some(items) = resources.as_array().filter(|a| !a.is_empty()) else {
        found.push(invalid("`resources` must be a non-empty array", AT));
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let at = format!("{AT}/{i}");
        let Some(item) = item.as_object() else {
            found.push(invalid("a resource must be an object", &at));
            continue;
        };
        for key in item.keys().filter(|k| *k != "type" && *k != "ids") {
            found.push(invalid(
                &format!("Unknown member `{key}`"),
                &format!("{at}/{key}"),
            ));
        }
        if !matches!(
            item.get("type").and_then(Value::as_str),
            Some("card" | "account")
        ) {
            found.push(invalid(
                "`type` must be `card` or `account`",
                &format!("{at}/type"),
            ));
        }
        let ids_ok = item
            .get("ids")
            .and_then(Value::as_array)
            .filter(|ids| !ids.is_empty())
            .is_some_and(|ids| ids.iter().all(|id| id.as_str().is_some_and(is_identifier)));
        if !ids_ok {
            found.push(invalid(
                "`ids` must be a non-empty array of ids",
                &format!("{at}/ids"),
            ));
        }
    }
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| ('1'..='9').contains(&c)) && s.bytes().all(|b| b.is_ascii_digit())
}

/// `^[a-z-]+( [a-z-]+)*$`
fn is_scope_list(s: &str) -> bool {
    s.split(' ')
        .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
}

/// `^[^\s,]+(,[^\s,]+)*$`
fn is_ip_list(s: &str) -> bool {
    s.split(',')
        .all(|ip| !ip.is_empty() && !ip.chars().any(char::is_whitespace))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` and nothing else, as a real moment.
fn parse_expiration(s: &str) -> Option<DateTime<Utc>> {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd.dddZ";
    let bytes = s.as_bytes();
    let shaped = bytes.len() == SHAPE.len()
        && bytes.iter().zip(SHAPE).all(|(b, want)| match want {
            b'd' => b.is_ascii_digit(),
            other => b == other,
        });
    if !shaped {
        return None;
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3fZ")
        .ok()
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_shape_is_strict() {
        for (text, accepted) in [
            ("2030-07-01T13:47:17.000Z", true),
            ("2030-07-01T13:47:17Z", false),
            ("2030-07-01T13:47:17.000+00:00", false),
            ("2030-07-01 13:47:17.000Z", false),
            ("2030-13-01T13:47:17.000Z", false),
            ("2030-07-01T13:47:17.0000Z", false),
        ] {
            assert_eq!(parse_expiration(text).is_some(), accepted, "{text}");
        }
    }

    #[test]
    fn scope_and_ip_patterns() {
        assert!(is_scope_list("customers applications cards-write"));
        assert!(!is_scope_list("customers  applications"));
        assert!(!is_scope_list("Customers"));
        assert!(!is_scope_list(""));
        assert!(is_ip_list("192.168.1.1,10.0.0.1"));
        assert!(!is_ip_list("192.168.1.1, 10.0.0.1"));
        assert!(!is_ip_list("192.168.1.1,"));
    }
}
