//! A [`Permission`] written as text, `TYPE:ID:LEVEL`: what the command
//! line's `--permission` and a tokens file's `permissions` hold.

use std::str::FromStr;

use super::model::{AccessLevel, Permission, ResourceId, ResourceType};
use crate::error::{Error, Result};

/// What the refusals add: the form a permission takes.
const FORM: &str = "give TYPE:ID:LEVEL, as account:3229:admin or sandbox:17:viewer";

impl FromStr for Permission {
    type Err = Error;

    /// Reads `TYPE:ID:LEVEL`, as `account:3229:admin` or `sandbox:17:10`:
    /// a resource type Mailtrap accepts (its former names `inbox` and
    /// `sending_domain` read as `sandbox` and `domain`), a resource id (a
    /// positive integer, or any other text for a resource named so) and a
    /// level Mailtrap accepts (`admin`, `viewer`, or their numbers 100 and
    /// 10). Blanks around each part are dropped. This is the text of a
    /// permission to send, so a typo is refused here, never sent; the
    /// types and levels Mailtrap answers with are kept whatever they are
    /// ([`ResourceType::Other`], [`AccessLevel::Other`]).
    ///
    /// ```
    /// use api_tokens::mailtrap::{AccessLevel, Permission, ResourceType};
    ///
    /// let p: Permission = "account:3229:admin".parse()?;
    /// assert_eq!(p, Permission::new(ResourceType::Account, 3229, AccessLevel::Admin));
    /// assert!("account:0:admin".parse::<Permission>().is_err());
    /// assert!("acount:3229:admin".parse::<Permission>().is_err());
    /// assert!("account:3229:50".parse::<Permission>().is_err());
    /// # Ok::<(), api_tokens::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] (field `permission`) saying which part is wrong:
    /// not three parts separated by `:`, a resource type Mailtrap does not
    /// accept, an empty resource id or the id 0 (no resource has it), a
    /// level that is none of the above.
    fn from_str(text: &str) -> Result<Permission> {
        parse(text).map_err(|reason| Error::invalid("permission", reason))
    }
}

/// [`Permission::from_str`]'s reading, refusing with the reason alone.
pub(crate) fn parse(text: &str) -> std::result::Result<Permission, String> {
    let mut parts = text.split(':');
    let (Some(kind), Some(id), Some(level), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("not three parts separated by `:`; {FORM}"));
    };
    let (kind, id, level) = (kind.trim(), id.trim(), level.trim());
    if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(format!(
            "the resource type{} must be lower-case letters and `_` (account, project, \
             sandbox, domain, billing, …); {FORM}",
            short(kind)
        ));
    }
    if id.is_empty() {
        return Err(format!("the resource id is empty; {FORM}"));
    }
    // What is sent must be what Mailtrap accepts, so that a typo never
    // reaches it (what it answers may hold types and levels this version
    // does not know, and those are kept).
    let Some(kind) = ResourceType::known(kind) else {
        return Err(format!(
            "the resource type{} is not one Mailtrap accepts (account, project, sandbox, \
             domain, billing, organization, email_campaign_permission_scope, \
             email_template); {FORM}",
            short(kind)
        ));
    };
    let level = match level {
        "admin" => AccessLevel::Admin,
        "viewer" => AccessLevel::Viewer,
        number => match number.parse::<i64>().map(AccessLevel::from_code) {
            Ok(level @ (AccessLevel::Admin | AccessLevel::Viewer)) => level,
            _ => {
                return Err(format!(
                    "the level{} must be admin, viewer or their numbers (100, 10), the levels \
                     Mailtrap accepts; {FORM}",
                    short(number)
                ));
            }
        },
    };
    let id = match id.parse::<u64>() {
        Ok(0) => return Err(format!("the resource id must not be 0; {FORM}")),
        Ok(n) => ResourceId::from(n),
        Err(_) => ResourceId::from(id),
    };
    Ok(Permission::new(kind, id, level))
}

/// A short part of a value, quoted after a space; a long one (a secret
/// pasted by mistake?) is not repeated.
fn short(part: &str) -> String {
    if part.chars().count() <= 12 && part.chars().all(|c| c.is_ascii_graphic()) {
        format!(" `{part}`")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_part_is_named() {
        let cases = [
            ("account:3229", "not three parts"),
            ("a:1:admin:x", "not three parts"),
            ("Account:1:admin", "the resource type `Account`"),
            (":1:admin", "the resource type `` must"),
            ("account::admin", "the resource id is empty"),
            ("account: :admin", "the resource id is empty"),
            ("account:0:admin", "the resource id must not be 0"),
            ("account:00:viewer", "the resource id must not be 0"),
            ("account:3229:root", "the level `root`"),
            (
                "acount:3229:admin",
                "the resource type `acount` is not one Mailtrap accepts",
            ),
            (
                "account:3229:50",
                "the level `50` must be admin, viewer or their numbers",
            ),
            ("account:1:a-very-long-level-text", "the level must"),
        ];
        for (text, says) in cases {
            let Err(Error::Invalid { field, reason }) = text.parse::<Permission>() else {
                panic!("{text} was read");
            };
            assert_eq!(field, "permission", "{text}");
            assert!(reason.contains(says), "{text}: {reason}");
            assert!(reason.ends_with(FORM), "{text}: {reason}");
        }
    }
}
