//! The checks Mailtrap makes of ids, permissions and expiries.

use chrono::{DateTime, Months, TimeDelta, Utc};
use serde_json::Value;

use crate::mailtrap::{ResourceId, ResourceType};

use super::token::{Stored, default_expiry};

pub(crate) const NO_PERMISSIONS: &str = "No permissions selected. Please choose at least one.";

/// A positive integer written in decimal, as Rails routes accept ids.
pub(crate) fn parse_id(s: &str) -> Option<u64> {
    s.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| s.parse::<u64>().ok())
        .flatten()
        .filter(|&id| id >= 1)
}

/// Checks `resources`; an empty or missing list is a `base` error.
pub(crate) fn check_permissions(
    value: Option<&Value>,
    fail: &mut impl FnMut(&str, &str),
) -> Option<Vec<Stored>> {
    let Some(items) = value.and_then(Value::as_array).filter(|a| !a.is_empty()) else {
        fail("base", NO_PERMISSIONS);
        return None;
    };
    let mut permissions = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(item) = item.as_object() else {
            fail("resources", "must be objects");
            ok = false;
            continue;
        };
        for key in item
            .keys()
            .filter(|k| !["resource_type", "resource_id", "access_level"].contains(&k.as_str()))
        {
            fail("resources", &format!("{key} is not a permitted attribute"));
            ok = false;
        }
        let resource_type = item.get("resource_type").and_then(Value::as_str);
        // The service accepts the types the crate knows, by their current
        // names and the older ones it still reads.
        if resource_type.and_then(ResourceType::known).is_none() {
            fail("resources", "resource_type is not included in the list");
            ok = false;
        }
        let resource_id = match item.get("resource_id") {
            Some(Value::Number(n)) => n.as_u64().filter(|&n| n >= 1).map(ResourceId::Int),
            Some(Value::String(s)) if !s.trim().is_empty() => Some(ResourceId::Str(s.clone())),
            _ => None,
        };
        if resource_id.is_none() {
            fail("resources", "resource_id is invalid");
            ok = false;
        }
        let access_level = item
            .get("access_level")
            .and_then(Value::as_u64)
            .filter(|level| matches!(level, 10 | 100))
            .and_then(|level| u16::try_from(level).ok());
        if access_level.is_none() {
            fail("resources", "access_level is not included in the list");
            ok = false;
        }
        if let (Some(resource_type), Some(resource_id), Some(access_level)) =
            (resource_type, resource_id, access_level)
        {
            permissions.push(Stored::raw(resource_type, resource_id, access_level));
        }
    }
    ok.then_some(permissions)
}

/// Checks `expires_at`: absent is the service's default lifetime from
/// `now` (`default`, none for never), `null` is never; a time must be in
/// the future and at most 5 years ahead. `Err` when refused.
pub(crate) fn check_expires_at(
    value: Option<&Value>,
    now: DateTime<Utc>,
    default: Option<TimeDelta>,
    fail: &mut impl FnMut(&str, &str),
) -> Result<Option<DateTime<Utc>>, ()> {
    let raw = match value {
        None => return Ok(default_expiry(now, default)),
        Some(Value::Null) => return Ok(None),
        Some(Value::String(raw)) => raw,
        Some(_) => {
            fail("expires_at", "is invalid");
            return Err(());
        }
    };
    let Ok(at) = DateTime::parse_from_rfc3339(raw).map(|at| at.with_timezone(&Utc)) else {
        fail("expires_at", "is invalid");
        return Err(());
    };
    if at <= now {
        fail("expires_at", "must be in the future");
        return Err(());
    }
    let limit = now
        .checked_add_months(Months::new(60))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if at > limit {
        fail("expires_at", "must be at most 5 years from now");
        return Err(());
    }
    Ok(Some(at))
}

#[cfg(test)]
mod tests {
    use chrono::SubsecRound;
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_are_positive_decimals() {
        assert_eq!(parse_id("12345"), Some(12345));
        for bad in ["0", "-1", "+1", "1e3", "", "abc"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn expiry_window() {
        let now = Utc::now();
        let mut seen = Vec::new();
        let mut fail = |f: &str, m: &str| seen.push(format!("{f}: {m}"));
        // Left out: the service's default lifetime (or never, when the
        // fake is told there is none); `null`: never, whatever the default.
        let year = Some(TimeDelta::days(365));
        assert_eq!(
            check_expires_at(None, now, year, &mut fail),
            Ok(Some((now + TimeDelta::days(365)).trunc_subsecs(3)))
        );
        assert_eq!(check_expires_at(None, now, None, &mut fail), Ok(None));
        assert_eq!(
            check_expires_at(Some(&Value::Null), now, year, &mut fail),
            Ok(None)
        );
        assert_eq!(
            check_expires_at(None, now, Some(TimeDelta::MAX), &mut fail),
            Ok(Some(DateTime::<Utc>::MAX_UTC.trunc_subsecs(3)))
        );
        let soon = now + TimeDelta::days(1);
        assert!(check_expires_at(Some(&json!(soon.to_rfc3339())), now, year, &mut fail).is_ok());
        let past = now - TimeDelta::days(1);
        assert!(check_expires_at(Some(&json!(past.to_rfc3339())), now, year, &mut fail).is_err());
        let far = now + TimeDelta::days(6 * 365);
        assert!(check_expires_at(Some(&json!(far.to_rfc3339())), now, year, &mut fail).is_err());
        assert!(check_expires_at(Some(&json!("tomorrow")), now, year, &mut fail).is_err());
        assert_eq!(seen.len(), 3);
    }
}
