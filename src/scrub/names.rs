//! The one rule that says whether a name (a JSON member, a query or form
//! parameter, a header, an HTML attribute, a `key: value` in text) holds a
//! secret. Every hiding path asks it.

/// Whether a JSON field, query or form parameter, header, HTML field or
/// `key=value` / `key: value` key with this name holds a secret: `token`,
/// `*_token`, `accessToken`, `secret`, `client_secret`, `password`,
/// `passwd`, `pwd`, `pass`, `api_key`, `x-api-key`, `authorization`,
/// `bearer`, `auth`, `cookie`, `credentials`, `session_id`, … The name is
/// compared on its ASCII letters and digits only, lower-cased, so that
/// `API-Key`, `api_key`, `apiKey` and `api%5Fkey` once decoded are one name.
pub(crate) fn is_secret_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    n.ends_with("token")
        || n.contains("secret")
        || n.contains("password")
        || n.contains("passwd")
        || n.contains("passphrase")
        || matches!(n.as_str(), "pwd" | "pass" | "auth")
        || n.ends_with("bearer")
        || n.ends_with("apikey")
        || n.ends_with("privatekey")
        || n.ends_with("accesskey")
        || n.ends_with("sessionid")
        || n.contains("authorization")
        || n.contains("cookie")
        || n.contains("credential")
}

/// Whether a field with this name holds a list of secrets when its items
/// are plain values: `tokens`, `api_keys`, `passwords`, … (a list of
/// objects under such a name is a list of records, whose own fields say
/// what they hold).
pub(crate) fn is_secret_list_name(name: &str) -> bool {
    name.strip_suffix(['s', 'S']).is_some_and(is_secret_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "token",
            "api_token",
            "accessToken",
            "refresh-token",
            "authenticity_token",
            "secret",
            "client_secret",
            "password",
            "current-password",
            "passwd",
            "pwd",
            "pass",
            "auth",
            "Bearer",
            "api_key",
            "api-key",
            "X-Api-Key",
            "Authorization",
            "set-cookie",
            "credentials",
            "session_id",
            "user[password]",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "name",
            "id",
            "value",
            "tokens",
            "token_type",
            "description",
            "author",
            "passage",
            "error",
            "https",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn list_names() {
        for name in ["tokens", "api_keys", "Secrets", "passwords"] {
            assert!(is_secret_list_name(name), "{name}");
        }
        for name in ["ids", "names", "resources", "token"] {
            assert!(!is_secret_list_name(name), "{name}");
        }
    }
}
