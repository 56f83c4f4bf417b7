//! Secrets in each service's real format, as the fakes mint them, so that
//! what reads a secret's shape (the [`leak`](crate::leak) response, a
//! secret scanner's rules) can be tested against the fakes.
//!
//! - Unit: a PASETO `v2.public.` token: base64url (no padding) of a JSON
//!   message naming the user and the token, followed by 64 bytes in the
//!   place of the Ed25519 signature (random: the fake signs nothing).
//! - Mailtrap: 32 lowercase hexadecimal characters.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use serde_json::json;

use super::engine;

/// The length of a PASETO v2 signature (Ed25519), which ends the payload.
pub(crate) const SIGNATURE_BYTES: usize = 64;

/// A Unit Org API token secret naming `user_id` and `token_id`, with the
/// scopes `scope` (space-separated, as Unit writes them) in its payload.
pub(crate) fn unit_secret(user_id: &str, token_id: &str, scope: &str) -> SecretString {
    let message = json!({
        "role": "org",
        "userId": user_id,
        "sub": user_id,
        "tokenId": token_id,
        "scope": scope,
        "nonce": engine::random_string(b"0123456789abcdef", 16),
    });
    let mut payload = message.to_string().into_bytes();
    engine::seeded();
    payload.extend((0..SIGNATURE_BYTES).map(|_| fastrand::u8(..)));
    SecretString::from(format!("v2.public.{}", URL_SAFE_NO_PAD.encode(payload)))
}

/// A Mailtrap API token secret: 32 lowercase hexadecimal characters.
pub(crate) fn mailtrap_secret() -> SecretString {
    SecretString::from(engine::random_string(b"0123456789abcdef", 32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_unit_secret_carries_a_payload_that_decodes() {
        let secret = unit_secret("2", "17", "customers");
        let body = secret
            .expose_secret()
            .strip_prefix("v2.public.")
            .expect("prefix");
        let bytes = URL_SAFE_NO_PAD.decode(body).expect("base64url");
        let message = &bytes[..bytes.len() - SIGNATURE_BYTES];
        let claims: serde_json::Value = serde_json::from_slice(message).expect("json");
        assert_eq!(claims["userId"], "2");
        assert_eq!(claims["tokenId"], "17");
    }

    #[test]
    fn a_mailtrap_secret_is_32_lowercase_hex() {
        let secret = mailtrap_secret();
        let text = secret.expose_secret();
        assert_eq!(text.len(), 32);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
}
