//! The endpoints of both services, read from a method and a path: the one
//! table the fakes route by, name their operations by, and the recorder
//! names its interactions by.

/// The segments of a path, without the leading `/`.
pub(crate) fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').collect()
}

/// The endpoint of Unit's API a request reaches: `create`, `list` or
/// `revoke`.
pub(crate) fn unit(method: &str, path: &str) -> Option<&'static str> {
    match (method, segments(path).as_slice()) {
        ("POST", ["users", _, "api-tokens"]) => Some("create"),
        ("GET", ["users", _, "api-tokens"]) => Some("list"),
        ("DELETE", ["users", _, "api-tokens", _]) => Some("revoke"),
        _ => None,
    }
}

/// Where a Mailtrap path leads: the account named in it (`None` in the
/// account-free form) and the resource.
pub(crate) struct MailtrapRoute<'p> {
    pub account: Option<&'p str>,
    pub target: MailtrapTarget<'p>,
}

/// The resource of a Mailtrap path.
pub(crate) enum MailtrapTarget<'p> {
    /// `/api/accounts`: the caller's accounts.
    Accounts,
    /// `…/api_tokens`.
    Collection,
    /// `…/api_tokens/{id}`.
    Token(&'p str),
    /// `…/api_tokens/{id}/reset`.
    Reset(&'p str),
}

/// Reads a Mailtrap path, in either form:
/// `/api/accounts/{account_id}/api_tokens…` or `/api/api_tokens…`.
pub(crate) fn mailtrap_route(path: &str) -> Option<MailtrapRoute<'_>> {
    let segments = segments(path);
    let (account, rest) = match segments.as_slice() {
        ["api", "accounts"] => {
            return Some(MailtrapRoute {
                account: None,
                target: MailtrapTarget::Accounts,
            });
        }
        ["api", "accounts", account, "api_tokens", rest @ ..] => (Some(*account), rest),
        ["api", "api_tokens", rest @ ..] => (None, rest),
        _ => return None,
    };
    let target = match rest {
        [] => MailtrapTarget::Collection,
        [id] => MailtrapTarget::Token(id),
        [id, "reset"] => MailtrapTarget::Reset(id),
        _ => return None,
    };
    Some(MailtrapRoute { account, target })
}

/// The endpoint of Mailtrap's API a request reaches, in either path form:
/// `accounts`, `list`, `create`, `get`, `delete` or `reset`.
pub(crate) fn mailtrap(method: &str, path: &str) -> Option<&'static str> {
    match (method, mailtrap_route(path)?.target) {
        ("GET", MailtrapTarget::Accounts) => Some("accounts"),
        ("GET", MailtrapTarget::Collection) => Some("list"),
        ("POST", MailtrapTarget::Collection) => Some("create"),
        ("GET", MailtrapTarget::Token(_)) => Some("get"),
        ("DELETE", MailtrapTarget::Token(_)) => Some("delete"),
        ("POST", MailtrapTarget::Reset(_)) => Some("reset"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_services_are_named_by_one_table() {
        assert_eq!(unit("POST", "/users/2/api-tokens"), Some("create"));
        assert_eq!(unit("DELETE", "/users/2/api-tokens/7"), Some("revoke"));
        assert_eq!(unit("PUT", "/users/2/api-tokens"), None);
        assert_eq!(mailtrap("GET", "/api/accounts"), Some("accounts"));
        assert_eq!(
            mailtrap("GET", "/api/accounts/3229/api_tokens"),
            Some("list")
        );
        assert_eq!(mailtrap("POST", "/api/api_tokens/5/reset"), Some("reset"));
        assert_eq!(mailtrap("POST", "/api/accounts"), None);
        assert_eq!(mailtrap("GET", "/api/accounts/3229"), None);
    }
}
