//! The ids of Unit's users and Org API tokens: positive integers, checked
//! when an id is made.

use std::fmt;
use std::str::FromStr;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Whether `s` is an id as Unit writes them: a positive integer in decimal,
/// without sign, spaces or leading zeros (`^[1-9][0-9]*$`).
#[inline]
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'1'..=b'9')) && bytes.all(|b| b.is_ascii_digit())
}

/// Checks one id before it is made.
pub(super) fn check_identifier(field: &'static str, what: &str, value: &str) -> Result<()> {
    if is_identifier(value) {
        Ok(())
    } else if value.is_empty() {
        Err(Error::invalid(
            field,
            format!("the {what} is empty; Unit ids are positive integers such as `2`"),
        ))
    } else {
        Err(Error::invalid(
            field,
            format!(
                "`{}` is not a valid {what}; Unit ids are positive integers written in digits \
                 without sign, spaces or leading zeros (such as `2`)",
                value.escape_debug()
            ),
        ))
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        /// Ordered as numbers (Unit numbers its records in increasing
        /// order): `9` before `10`.
        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                // Digits without leading zeros: the shorter is the smaller.
                (self.0.len(), &self.0).cmp(&(other.0.len(), &other.0))
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl $name {
            /// The id as Unit writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// An id from its digits.
            ///
            /// # Errors
            ///
            /// [`Error::Invalid`] unless `id` is a positive integer written
            /// in digits, without sign, spaces or leading zeros.
            pub fn new(id: impl Into<String>) -> Result<Self> {
                let id = id.into();
                check_identifier($field, $what, &id)?;
                Ok($name(id))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<u64> for $name {
            type Error = Error;
            /// Refuses 0.
            fn try_from(id: u64) -> Result<Self> {
                $name::new(id.to_string())
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(id: &str) -> Result<Self> {
                $name::new(id)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(id: String) -> Result<Self> {
                $name::new(id)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(id: &str) -> Result<Self> {
                $name::new(id)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl<'de> Deserialize<'de> for $name {
            /// A JSON:API id: a string of digits; anything else (a number,
            /// empty, `0`, not digits) is refused.
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                crate::json::read_str(d, concat!("a ", $what, ": a string of digits"), |v| {
                    if is_identifier(v) {
                        Ok($name(v.to_owned()))
                    } else {
                        Err(concat!("not a valid ", $what, " (a positive integer)"))
                    }
                })
            }
        }
    };
}

string_id!(
    /// The id of a Unit user, the owner of Org API tokens: a positive
    /// integer, checked when the id is made, so that an id in hand is
    /// always one Unit could have written.
    ///
    /// ```
    /// use api_tokens::unit::UserId;
    ///
    /// let id: UserId = "2".parse()?;
    /// assert_eq!(id, UserId::try_from(2)?);
    /// assert_eq!(id.as_str(), "2");
    /// assert!(UserId::try_from(0).is_err());
    /// assert!("02".parse::<UserId>().is_err());
    /// # Ok::<(), api_tokens::Error>(())
    /// ```
    UserId,
    "user_id",
    "user id"
);

string_id!(
    /// The id of an Org API token. JSON:API ids are strings; Unit's are
    /// positive integers, which is checked when the id is made.
    ///
    /// ```
    /// use api_tokens::unit::TokenId;
    ///
    /// let id: TokenId = "19".parse()?;
    /// assert_eq!(id, "19");
    /// assert_eq!(id.to_string(), "19");
    /// assert!("".parse::<TokenId>().is_err());
    /// # Ok::<(), api_tokens::Error>(())
    /// ```
    TokenId,
    "token_id",
    "token id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["1", "2", "19", "10005", "18446744073709551616"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "0", "01", "-1", "+1", " 1", "1 ", "1.0", "a", "１"] {
            assert!(!is_identifier(bad), "{bad:?}");
        }
    }
}
