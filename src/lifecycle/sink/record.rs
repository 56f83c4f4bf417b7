//! [`SecretRecord`]: the JSON record of a token's secret that the stores
//! which keep more than the secret write (AWS Secrets Manager, feature
//! `aws`; Vault and OpenBao KV v2, feature `vault`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::secret_sink::{SecretMeta, SecretSink, SinkError, async_trait};
use crate::error::Service;
use crate::lifecycle::marker::Marker;
use crate::lifecycle::token_ref::service_serde;

/// Keys of a [`SecretRecord`]'s JSON that its attributes may not take.
const RESERVED: [&str; 5] = ["token", "service", "token_id", "name", "expires_at"];

/// One version of a secret as `SecretsManagerSink`
/// (feature `aws`) and `VaultKvSink` (feature `vault`)
/// write it: the JSON
/// object `{"token", "service", "token_id", "name", "expires_at"}`, plus the
/// [attributes](SecretMeta::with_attribute) a rotation needs to mint the
/// token again (for Unit: `user_id`, `scopes`, `source_ips`,
/// `lifetime_secs`) as further top-level keys.
///
/// Its `Debug` shows `token` redacted; [`SecretRecord::to_json`] is the only
/// way out for the secret.
///
/// ```
/// use api_tokens::Service;
/// use api_tokens::lifecycle::sink::SecretRecord;
///
/// let json = r#"{"token":"v2.public.abc","service":"unit","token_id":"42",
///               "name":"CI deploy","expires_at":null,"user_id":"2"}"#;
/// let record = SecretRecord::from_json(json)?;
/// assert_eq!(record.service, Service::Unit);
/// assert_eq!(record.token_id, "42");
/// assert_eq!(record.attributes["user_id"], serde_json::json!("2"));
/// assert!(!format!("{record:?}").contains("v2.public.abc"));
/// # Ok::<(), api_tokens::lifecycle::sink::SinkError>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SecretRecord {
    /// The token's secret; an empty or blank one is refused when a record
    /// is read, as a malformed record.
    #[serde(serialize_with = "expose", deserialize_with = "non_blank_secret")]
    pub token: SecretString,
    /// The service the token lives on (`"unit"` or `"mailtrap"`).
    #[serde(with = "service_serde")]
    pub service: Service,
    /// The token's id on its service, in decimal.
    pub token_id: String,
    /// Its description (Unit) or name (Mailtrap) without the marker.
    pub name: Option<String>,
    /// When it expires (RFC 3339), `None` when it does not or is unknown.
    pub expires_at: Option<DateTime<Utc>>,
    /// What a rotation needs to mint the token again, by key.
    #[serde(flatten)]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

fn expose<S: serde::Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

/// What a read record's blank `token` is refused with; [`describe_json_error`]
/// says it by this text.
const BLANK_TOKEN: &str = "empty or blank: a record holds the token's secret";

/// A record's `token`: a string that is not empty or only whitespace (a
/// record that holds no secret is malformed, never a token to rotate).
fn non_blank_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
    let secret = SecretString::deserialize(d)?;
    if secret.expose_secret().trim().is_empty() {
        return Err(serde::de::Error::custom(BLANK_TOKEN));
    }
    Ok(secret)
}

impl SecretRecord {
    /// The record of `secret`, the value of the token `meta` describes. The
    /// name is stored without its marker.
    pub fn new(secret: &SecretString, meta: &SecretMeta) -> SecretRecord {
        SecretRecord {
            token: secret.clone(),
            service: meta.service(),
            token_id: meta.id().to_owned(),
            name: meta
                .name()
                .map(|n| record_label(meta.service(), meta.id(), n).to_owned()),
            expires_at: meta.expires_at(),
            attributes: meta
                .attributes()
                .iter()
                .filter(|(k, _)| !RESERVED.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The metadata this record describes (its attributes included).
    pub fn meta(&self) -> SecretMeta {
        let mut meta =
            SecretMeta::new(self.service, self.token_id.clone()).with_expires_at(self.expires_at);
        if let Some(name) = &self.name {
            meta = meta.with_name(name.clone());
        }
        for (k, v) in &self.attributes {
            meta = meta.with_attribute(k.clone(), v.clone());
        }
        meta
    }

    /// Reads a record from a version's `SecretString`.
    ///
    /// # Errors
    ///
    /// [`SinkError::Other`] saying which field is missing or malformed;
    /// the message never quotes the text.
    pub fn from_json(text: &str) -> Result<SecretRecord, SinkError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            SinkError::other(
                "secret store",
                format!(
                    "the secret's value is not a token record (at `{}`: {}); expected \
                     {{\"token\", \"service\", \"token_id\", \"name\", \"expires_at\"}}",
                    e.path(),
                    describe_json_error(e.inner())
                ),
            )
        })
    }

    /// The record as the JSON text stored in a version. It holds the secret:
    /// hand it only to the store.
    pub fn to_json(&self) -> SecretString {
        // Serializing a map of strings and JSON values cannot fail.
        SecretString::from(serde_json::to_string(self).unwrap_or_default())
    }

    /// The `ClientRequestToken` (version id) of this record's version:
    /// derived from the service, the token id and the secret, so that a
    /// retried write of the same token names the same version and Secrets
    /// Manager keeps it once. 64 hexadecimal digits of a SHA-256 that cannot
    /// be turned back into the secret.
    pub fn version_id(&self) -> String {
        version_id(self.service, &self.token_id, &self.token)
    }
}

/// A store that keeps a [`SecretRecord`] and can say which one is current:
/// what [`UnitLifecycle::rotate_from`](crate::lifecycle::UnitLifecycle::rotate_from)
/// and [`MailtrapLifecycle::rotate_from`](crate::lifecycle::MailtrapLifecycle::rotate_from)
/// need to rotate the token the store names. Implemented by
/// `SecretsManagerSink` (feature `aws`) and
/// `VaultKvSink` (feature `vault`); a store of your
/// own implements it to be rotated from as well.
///
/// The read should be the base of the store's compare-and-set, so that a
/// rotation that read an older record than another run stored is refused
/// with [`SinkError::Superseded`].
#[async_trait]
pub trait RecordStore: SecretSink {
    /// The record the store holds as current; `None` when it holds none.
    ///
    /// # Errors
    ///
    /// A [`SinkError`] when the store cannot be read or its current value
    /// is not a record.
    async fn record(&self) -> Result<Option<SecretRecord>, SinkError>;

    /// The record the current one replaced (Secrets Manager's
    /// `AWSPREVIOUS`, the KV secret's version before the current one);
    /// `None` when there is none, or the store keeps no history (the
    /// default). A rotation named by the id of a token whose record was
    /// replaced tells by it a rotation run again (the previous record
    /// names that id) from a wrong id.
    ///
    /// # Errors
    ///
    /// As [`record`](Self::record).
    async fn previous_record(&self) -> Result<Option<SecretRecord>, SinkError> {
        Ok(None)
    }
}

/// What a store read of its secret before storing, `B` (its
/// [`Default`] meaning nothing read yet): the base of the store's
/// compare-and-set.
#[derive(Debug, Default)]
pub(crate) struct CasBase<B>(std::sync::Mutex<B>);

impl<B: Clone + PartialEq + Default> CasBase<B> {
    /// The base read so far (nothing read yet when the lock was poisoned).
    pub(crate) fn get(&self) -> B {
        self.0.lock().map(|b| b.clone()).unwrap_or_default()
    }

    /// Sets the base; with `only_if_unread`, only when nothing was read yet
    /// (a later read must not move the base of a write under way).
    pub(crate) fn set(&self, base: B, only_if_unread: bool) {
        if let Ok(mut b) = self.0.lock() {
            if !only_if_unread || *b == B::default() {
                *b = base;
            }
        }
    }
}

/// Says what kind of JSON error it is, without its text when that may
/// quote the input: only a missing field is named.
pub(crate) fn describe_json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if let Some(rest) = text.strip_prefix("missing field `") {
        if let Some((field, _)) = rest.split_once('`') {
            return format!("missing field `{field}`");
        }
    }
    if text.starts_with(BLANK_TOKEN) {
        return BLANK_TOKEN.to_owned();
    }
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "missing or of the wrong type",
        serde_json::error::Category::Eof => "cut short",
    }
    .to_owned()
}

/// The version id of the record of `secret`, token `id` of `service`.
fn version_id(service: Service, id: &str, secret: &SecretString) -> String {
    let mut hash = Sha256::new();
    hash.update(b"api-tokens secret version\0");
    hash.update(service_serde::name(service).as_bytes());
    hash.update(b"\0");
    hash.update(id.as_bytes());
    hash.update(b"\0");
    hash.update(secret.expose_secret().as_bytes());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The label of `name`, the name of token `id` of `service`: without the
/// markers that end it and, for Mailtrap, without the id a reset appends
/// (`"<old name> <new id>"`), the token's own or one that follows a
/// marker. Other trailing numbers are the user's and stay.
fn record_label<'a>(service: Service, id: &str, name: &'a str) -> &'a str {
    let mut label = name.trim();
    if service == Service::Mailtrap {
        if let Some(rest) = label.strip_suffix(id).and_then(|r| r.strip_suffix(' ')) {
            label = rest;
        }
    }
    loop {
        let before = label;
        label = Marker::label(label);
        if service == Service::Mailtrap {
            if let Some((rest, number)) = label.rsplit_once(' ') {
                if !number.is_empty()
                    && number.bytes().all(|b| b.is_ascii_digit())
                    && Marker::find(rest).is_some()
                {
                    label = rest;
                }
            }
        }
        if label.len() == before.len() {
            return label;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record whose `token` is empty or only whitespace is malformed,
    /// refused naming the field, wherever a record is read (the text of a
    /// version, or a record inside a store's answer).
    #[test]
    fn a_record_with_a_blank_token_is_malformed() {
        for blank in ["", " ", "\\t\\n ", "\\u00a0"] {
            let json = format!(
                r#"{{"token":"{blank}","service":"unit","token_id":"42","name":"CI deploy","expires_at":null}}"#
            );
            let err = SecretRecord::from_json(&json).unwrap_err().to_string();
            assert!(err.contains("`token`"), "{blank:?}: {err}");
            assert!(err.contains("empty or blank"), "{blank:?}: {err}");
            assert!(
                serde_json::from_str::<SecretRecord>(&json).is_err(),
                "{blank:?}"
            );
        }
        let record = SecretRecord::from_json(
            r#"{"token":"v2.public.x","service":"unit","token_id":"42","name":"CI deploy","expires_at":null}"#,
        )
        .unwrap();
        assert_eq!(record.token.expose_secret(), "v2.public.x");
    }

    #[test]
    fn version_id_depends_on_the_secret_and_fits_aws_limits() {
        let a = version_id(Service::Mailtrap, "7", &SecretString::from("one"));
        let b = version_id(Service::Mailtrap, "7", &SecretString::from("two"));
        assert_ne!(a, b);
        assert!((32..=64).contains(&a.len()));
        assert!(!a.contains("one"));
    }
}
