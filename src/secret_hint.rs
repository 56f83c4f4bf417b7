//! What a secret's shape says about it: a hint, never enough to act on.

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

/// The prefix of a PASETO version 2 public (signed, not encrypted) token,
/// which Unit's Org API tokens are.
pub const UNIT_PREFIX: &str = "v2.public.";

/// The length of a PASETO v2 signature (Ed25519), which ends the payload.
const SIGNATURE_BYTES: usize = 64;

/// The length of a Mailtrap API token: hexadecimal characters.
pub const MAILTRAP_LEN: usize = 32;

/// What a secret's format says, before any service is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hint {
    /// A Unit Org API token: what its signed payload names.
    Unit(UnitClaims),
    /// A Mailtrap API token: its last four characters, which Mailtrap lists.
    Mailtrap {
        /// The secret's last four characters (not secret: Mailtrap lists them).
        last_four: String,
    },
}

/// What the payload of a Unit token names. The signature is not checked
/// (Unit's key is not public): each field is a hint, confirmed against
/// Unit's own list and with a call made with the secret.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct UnitClaims {
    /// The user the token belongs to (`userId`, else `sub`).
    pub user_id: Option<String>,
    /// The token's id (`tokenId`, else `jti`).
    pub token_id: Option<String>,
    /// Its scopes, space-separated, as Unit writes them (`scope`).
    pub scope: Option<String>,
    /// When it expires (`exp`), as written.
    pub expiration: Option<String>,
}

/// Reads what a secret's format says about it: `None` when the secret is
/// in neither service's format (not 32 hexadecimal characters, nor
/// `v2.public.` followed by base64url of a JSON object and a 64-byte
/// signature).
///
/// A Unit token is base64url characters and dots only (so it can go in an
/// HTTP header), and the ids its payload names are Unit ids (digits, as
/// [`unit::TokenId`](crate::unit::TokenId) and
/// [`unit::UserId`](crate::unit::UserId) parse them): `userId`/`user_id`
/// and `tokenId`/`token_id` holding anything else make it no Unit token;
/// the generic PASETO claims `sub` and `jti` are taken only when they are
/// Unit ids. So no text of a payload but Unit ids reaches a message.
pub fn hint(secret: &SecretString) -> Option<Hint> {
    let text = secret.expose_secret().trim();
    if let Some(body) = text.strip_prefix(UNIT_PREFIX) {
        if !body.bytes().all(is_token_byte) {
            return None;
        }
        return unit_claims(body).map(Hint::Unit);
    }
    if text.len() == MAILTRAP_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let last_four = text[MAILTRAP_LEN - 4..].to_ascii_lowercase();
        return Some(Hint::Mailtrap { last_four });
    }
    None
}

/// Whether `b` may be in a `v2.public.` token's body: base64url (with its
/// padding) and the dots between payload and footer.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'=')
}

/// The claims of a `v2.public.` token's body (after the prefix; a footer,
/// after a further dot, is ignored).
fn unit_claims(body: &str) -> Option<UnitClaims> {
    let payload = body.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .or_else(|_| URL_SAFE.decode(payload))
        .ok()?;
    // PASETO v2.public: the message, then its 64-byte signature, in one
    // base64url part. A token whose part is the message alone (its
    // signature after a further dot, as Unit's description shows one) is
    // read too.
    let signed = bytes
        .len()
        .checked_sub(SIGNATURE_BYTES)
        .and_then(|end| bytes.get(..end))
        .and_then(|message| serde_json::from_slice::<Map<String, Value>>(message).ok());
    let claims = match signed {
        Some(claims) => claims,
        None => serde_json::from_slice::<Map<String, Value>>(&bytes).ok()?,
    };
    let field = |names: &[&str]| {
        names.iter().find_map(|name| match claims.get(*name) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
    };
    // Unit's own names must hold Unit ids; the generic claim counts only
    // when it holds one.
    let id = |own: &[&str], generic: &str, valid: fn(&str) -> bool| match field(own) {
        Some(id) if valid(&id) => Some(Some(id)),
        Some(_) => None,
        None => Some(field(&[generic]).filter(|id| valid(id))),
    };
    Some(UnitClaims {
        user_id: id(&["userId", "user_id"], "sub", |s| {
            s.parse::<crate::unit::UserId>().is_ok()
        })?,
        token_id: id(&["tokenId", "token_id"], "jti", |s| {
            s.parse::<crate::unit::TokenId>().is_ok()
        })?,
        scope: field(&["scope"]),
        expiration: field(&["exp"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn unit(message: &str) -> SecretString {
        let mut bytes = message.as_bytes().to_vec();
        bytes.extend([7u8; SIGNATURE_BYTES]);
        secret(&format!("{UNIT_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    #[test]
    fn a_unit_payload_names_user_and_token() {
        let hint = hint(&unit(
            r#"{"role":"org","userId":"2","jti":17,"scope":"customers"}"#,
        ));
        let Some(Hint::Unit(claims)) = hint else {
            panic!("{hint:?}")
        };
        assert_eq!(claims.user_id.as_deref(), Some("2"));
        assert_eq!(claims.token_id.as_deref(), Some("17"));
        assert_eq!(claims.scope.as_deref(), Some("customers"));
    }

    #[test]
    fn a_unit_payload_before_a_dot_and_its_signature_is_read() {
        // As Unit's description of the API shows a token.
        let hint = hint(&secret(
            "v2.public.eyJyb2xlIjoib3JnIiwidXNlcklkIjoiMiJ9.example-signature",
        ));
        let Some(Hint::Unit(claims)) = hint else {
            panic!("{hint:?}")
        };
        assert_eq!(claims.user_id.as_deref(), Some("2"));
        assert_eq!(claims.token_id, None);
    }

    #[test]
    fn malformed_unit_tokens_are_not_recognised() {
        assert_eq!(hint(&secret("v2.public.not-base64!")), None);
        assert_eq!(hint(&secret("v2.public.")), None);
        // Valid base64url, but neither a JSON object nor one followed by a
        // signature.
        assert_eq!(hint(&secret("v2.public.bm90IGpzb24")), None);
        // A signature's length, but the message is not JSON.
        assert_eq!(hint(&unit("not json")), None);
    }

    /// Characters that cannot go in an HTTP header, or ids that are not
    /// Unit's, make a `v2.public.` string no Unit token: such text is never
    /// sent, nor echoed.
    #[test]
    fn a_unit_token_is_header_safe_and_names_unit_ids() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"userId":"42","tokenId":"2"}"#);
        assert!(hint(&secret(&format!("{UNIT_PREFIX}{payload}.footer"))).is_some());
        for bad in ["foot\u{1}er", "foot er", "foot\u{1b}[31m", "f\u{e9}"] {
            let text = format!("{UNIT_PREFIX}{payload}.{bad}");
            assert_eq!(hint(&secret(&text)), None, "{text:?}");
        }
        for message in [
            r#"{"userId":"42","tokenId":"9\u001b[31mRED"}"#,
            r#"{"userId":"4 2","tokenId":"2"}"#,
            r#"{"user_id":"x","tokenId":"2"}"#,
            r#"{"userId":"42","token_id":"02"}"#,
            r#"{"userId":"42","tokenId":-2}"#,
        ] {
            assert_eq!(hint(&unit(message)), None, "{message}");
        }
        // Generic claims that are no Unit ids are left out.
        let hint = hint(&unit(
            r#"{"sub":"ops@example.com","jti":"a1-b2","userId":"42"}"#,
        ));
        let Some(Hint::Unit(claims)) = hint else {
            panic!("{hint:?}")
        };
        assert_eq!(claims.user_id.as_deref(), Some("42"));
        assert_eq!(claims.token_id, None);
    }

    #[test]
    fn mailtrap_tokens_are_32_hex() {
        let hex = "0123456789abcdef0123456789abCDEF";
        assert_eq!(
            hint(&secret(hex)),
            Some(Hint::Mailtrap {
                last_four: "cdef".into()
            })
        );
        assert_eq!(hint(&secret(&hex[1..])), None);
        assert_eq!(hint(&secret("g123456789abcdef0123456789abcdef")), None);
    }
}
