//! The base URL a client sends to: checked once, when the client is built.

use std::net::IpAddr;

use url::Url;

use crate::error::{Error, Result};

/// Checks a base URL: parsed, `https` unless the host is a loopback
/// address, no credentials, query or fragment; the path is kept as a prefix.
pub(crate) fn parse_base_url(raw: &str) -> Result<Url> {
    let shown = without_userinfo(raw);
    let mut url = Url::parse(raw.trim()).map_err(|e| {
        Error::invalid("base_url", format!("`{shown}` is not an absolute URL: {e}"))
    })?;
    let host = url
        .host_str()
        .ok_or_else(|| Error::invalid("base_url", format!("`{shown}` has no host")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(Error::invalid(
                "base_url",
                format!(
                    "plain http is allowed only to a loopback address (127.0.0.0/8, ::1, localhost); use https for `{host}`"
                ),
            ));
        }
        other => {
            return Err(Error::invalid(
                "base_url",
                format!("scheme `{other}` is not supported; use https"),
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            "base_url",
            "credentials in the URL are refused; give the token to the builder",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(
            "base_url",
            "a query or fragment has no place in a base URL",
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// A URL as it may appear in an error: anything before the last `@`, where
/// a user name and password would be, is left out.
fn without_userinfo(raw: &str) -> String {
    match raw.rfind('@') {
        Some(at) => format!("…{}", &raw[at..]),
        None => raw.to_owned(),
    }
}

/// Whether `host` (a name, an address, or an IPv6 address in brackets) is
/// loopback: 127.0.0.0/8, `::1` or `localhost`.
pub(crate) fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// Whether two URLs share scheme, host and port.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let u = parse_base_url("http://127.0.0.1:9000/prefix").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:9000/prefix/");
        assert!(parse_base_url("http://localhost:1").is_ok());
        assert!(parse_base_url("http://[::1]:1/").is_ok());
        assert!(parse_base_url("http://127.8.9.10/").is_ok());
        assert!(parse_base_url("https://api.s.unit.sh").is_ok());
        for (bad, says) in [
            (
                "http://example.com",
                "plain http is allowed only to a loopback",
            ),
            (
                "http://10.0.0.1",
                "plain http is allowed only to a loopback",
            ),
            ("ftp://127.0.0.1", "scheme `ftp` is not supported"),
            (
                "https://u:p@example.com",
                "credentials in the URL are refused",
            ),
            ("https://example.com/?a=1", "a query or fragment"),
            ("not a url", "is not an absolute URL"),
        ] {
            let Err(Error::Invalid {
                field: "base_url",
                reason,
            }) = parse_base_url(bad)
            else {
                panic!("{bad} was not refused as a base URL");
            };
            assert!(reason.contains(says), "{bad}: {reason}");
        }
    }
}
