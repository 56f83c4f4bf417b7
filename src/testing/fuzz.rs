//! Entry points to the hiding and recording paths for the crate's own fuzz
//! tests, above both the redactor and the recorder.

/// Entry points to the hiding and recording paths, for the crate's own
/// fuzz tests. Not part of the API: they may change in any release.
#[doc(hidden)]
pub mod __fuzz {
    use bytes::Bytes;
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    use secrecy::SecretString;
    use serde_json::Value;

    use crate::scrub;

    fn secrets(known: &[SecretString]) -> scrub::Secrets {
        match known.split_first() {
            Some((first, rest)) => rest
                .iter()
                .fold(scrub::Secrets::of(first), |secrets, secret| {
                    secrets.with(secret)
                }),
            None => scrub::Secrets::new(),
        }
    }

    /// An error body as an error keeps it, `known` and every value under a
    /// secret's name hidden.
    pub fn hide_in_body(known: &[SecretString], body: &[u8]) -> Vec<u8> {
        secrets(known)
            .hide_in_body(body)
            .unwrap_or_else(|| Bytes::copy_from_slice(body))
            .to_vec()
    }

    /// A decoded JSON value with `known` and every value under a secret's
    /// name hidden; says whether anything changed.
    pub fn hide_in_value(known: &[SecretString], value: &mut Value) -> bool {
        secrets(known).hide_in_value(value)
    }

    /// A header's value as an error keeps it; `None` when it is not a
    /// valid header value or not visible text.
    pub fn hide_in_header(known: &[SecretString], value: &[u8]) -> Option<String> {
        let value = HeaderValue::from_bytes(value).ok()?;
        secrets(known).hide_in_header(&value)
    }

    /// A free text (a message) with `known` hidden.
    pub fn hide_in_text(known: &[SecretString], text: &str) -> String {
        secrets(known).hide_in_text(text).into_owned()
    }

    /// The summary of an error body (already hidden).
    pub fn summarize(text: &str) -> Option<String> {
        scrub::summarize(text)
    }

    /// Text as a summary shows it.
    pub fn normalize(text: &str) -> String {
        scrub::normalize(text)
    }

    fn header_map(pairs: &[(&str, &str)]) -> Option<HeaderMap> {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_str(value).ok()?,
            );
        }
        Some(map)
    }

    /// One interaction as the recorder writes it to a cassette (JSON text);
    /// `None` when a header is not valid HTTP.
    pub fn record(
        method: &str,
        path_and_query: &str,
        request_headers: &[(&str, &str)],
        request_body: &[u8],
        status: u16,
        response_headers: &[(&str, &str)],
        response_body: &[u8],
    ) -> Option<String> {
        let mut secrets = crate::testing::redact::Secrets::default();
        let fixture = crate::testing::record::redacted_interaction(
            &mut secrets,
            method,
            path_and_query,
            &header_map(request_headers)?,
            request_body,
            status,
            &header_map(response_headers)?,
            response_body,
        );
        let cassette = crate::testing::fixtures::Cassette {
            interactions: vec![fixture],
        };
        Some(cassette.to_json())
    }
}
