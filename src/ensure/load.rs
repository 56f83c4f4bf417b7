//! Reading a tokens file: TOML through the `toml` crate, every value
//! checked, every error pointing at its file, line and key.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{Datelike, Months, TimeDelta, Utc};
use serde::Deserialize;
use toml::Spanned;

use crate::lifecycle::{Marker, SinkSpec};
use crate::mailtrap::{MAX_LIFETIME_MONTHS, MAX_NAME_CHARS, parse_permission};
use crate::unit::{Scope, SourceIp, UserId};

use super::duration;
use super::entry::{Expires, MailtrapEntry, RotateRules, UnitEntry};
use super::namespace;

/// What is wrong in a tokens file: where (file, line, key) and what.
///
/// Its `Display` is one line, `FILE:LINE: key `KEY`: MESSAGE`. It never
/// quotes a long value of the file (a secret pasted by mistake stays out of
/// it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.line_text())]
#[non_exhaustive]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// The line (from 1), when known.
    pub line: Option<usize>,
    /// The key at fault, when known (`permissions`, `secret_to`, …).
    pub key: Option<String>,
    /// What is wrong, and what would be accepted.
    pub message: String,
}

impl FileError {
    fn line_text(&self) -> String {
        let mut out = self.path.display().to_string();
        if let Some(line) = self.line {
            out.push_str(&format!(":{line}"));
        }
        out.push_str(": ");
        if let Some(key) = &self.key {
            out.push_str(&format!("key `{key}`: "));
        }
        out.push_str(&self.message);
        out
    }
}

/// Why a tokens file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read the tokens file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid tokens file.
    #[error(transparent)]
    Invalid(#[from] FileError),
}

/// A tokens file, loaded and checked: the Mailtrap and Unit tokens it asks
/// for, in the file's order. It holds no secret.
///
/// ```
/// use api_tokens::ensure::TokensFile;
///
/// let file = TokensFile::parse("tokens.toml", r#"
/// [[mailtrap]]
/// name = "ci-deploy"
/// permissions = ["account:3229:admin"]
/// expires = "never"
/// rotate_after = "30d"
/// secret_to = "file:/run/secrets/mt"
///
/// [[unit]]
/// description = "ci-deploy"
/// scopes = ["customers", "accounts"]
/// lifetime = "90d"
/// rotate_before_expiry = "14d"
/// secret_to = "env-file:/run/ci/.env:UNIT_API_TOKEN"
/// "#)?;
/// assert_eq!(file.mailtrap()[0].accounts(), [3229]);
/// assert_eq!(file.unit()[0].lifetime, chrono::Duration::days(90));
///
/// let err = TokensFile::parse("tokens.toml", "[[unit]]\ndescription = \"x\"\ncolour = \"red\"\n")
///     .unwrap_err();
/// assert_eq!(err.line, Some(3));
/// assert_eq!(err.key.as_deref(), Some("colour"));
/// # Ok::<(), api_tokens::ensure::FileError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokensFile {
    path: PathBuf,
    namespace: Option<String>,
    mailtrap: Vec<MailtrapEntry>,
    unit: Vec<UnitEntry>,
}

impl TokensFile {
    /// Reads and checks the file at `path`. Nothing is sent anywhere.
    ///
    /// # Errors
    ///
    /// [`LoadError::Read`] when it cannot be read; [`LoadError::Invalid`]
    /// for any fault [`parse`](Self::parse) finds.
    pub fn load(path: impl AsRef<Path>) -> Result<TokensFile, LoadError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.to_owned(),
            source,
        })?;
        Ok(TokensFile::parse(path, &text)?)
    }

    /// Checks `text`, the content of the file at `path` (used in messages
    /// only).
    ///
    /// # Errors
    ///
    /// A [`FileError`] for TOML that does not parse, an unknown key, a
    /// missing one, a key given twice, a duplicate name in one account (or
    /// description for the same user), a permission, address, user id,
    /// duration or sink spec that does not parse, a scope Unit does not
    /// know, a name or description with a control character or ending with
    /// something shaped like a marker or a namespace tag, a `namespace`
    /// that is not 1 to 40 of `a-z 0-9 - _ .`, a lifetime or expiry the
    /// service would refuse, a `rotate_before_expiry` not shorter than the
    /// lifetime (every new token would be due at once), two entries
    /// writing to the same sink, and more than one entry printing its
    /// secret (`-`). The command line refuses the same values.
    pub fn parse(path: impl AsRef<Path>, text: &str) -> Result<TokensFile, FileError> {
        let path = path.as_ref().to_owned();
        let at = Locator { path: &path, text };
        let raw: RawFile = toml::from_str(text).map_err(|e| at.toml(&e))?;
        let namespace = match &raw.namespace {
            Some(v) => match namespace::refusal(v.get_ref()) {
                Some(why) => return Err(at.at(v, "namespace", why)),
                None => Some(v.get_ref().clone()),
            },
            None => None,
        };
        let ns = namespace.as_deref();
        let mut mailtrap = Vec::new();
        let mut sinks: HashMap<SinkSpec, usize> = HashMap::new();
        let mut stdout: Option<usize> = None;
        // A name is a token's in one account: the same name in two
        // accounts names two tokens. `None`: the default client's account.
        let mut names: HashMap<(Option<u64>, String), usize> = HashMap::new();
        for entry in raw.mailtrap {
            let line = at.line(entry.span());
            let entry = mailtrap_entry(&at, line, entry.into_inner(), ns)?;
            let accounts = entry.accounts();
            let places: Vec<Option<u64>> = if accounts.is_empty() {
                vec![None]
            } else {
                accounts.into_iter().map(Some).collect()
            };
            for place in places {
                if let Some(first) = names.insert((place, entry.name.clone()), line) {
                    let whose = place.map_or_else(
                        || "the default account".to_owned(),
                        |id| format!("account {id}"),
                    );
                    return Err(at.fail(
                        Some(line),
                        "name",
                        format!(
                            "a second Mailtrap entry named `{}` in {whose}; the first is on line \
                             {first}",
                            entry.name
                        ),
                    ));
                }
            }
            unique_sink(&at, &mut sinks, &mut stdout, &entry.secret_to, line)?;
            mailtrap.push(entry);
        }
        let mut unit = Vec::new();
        let mut descriptions: HashMap<(Option<UserId>, String), usize> = HashMap::new();
        for entry in raw.unit {
            let line = at.line(entry.span());
            let entry = unit_entry(&at, line, entry.into_inner())?;
            let key = (entry.user_id.clone(), entry.description.clone());
            if let Some(first) = descriptions.insert(key, line) {
                return Err(at.fail(
                    Some(line),
                    "description",
                    format!(
                        "a second Unit entry with the description `{}` for the same user; the \
                         first is on line {first}",
                        entry.description
                    ),
                ));
            }
            unique_sink(&at, &mut sinks, &mut stdout, &entry.secret_to, line)?;
            unit.push(entry);
        }
        Ok(TokensFile {
            path,
            namespace,
            mailtrap,
            unit,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's `namespace`, if it gives one: every token it mints
    /// carries it after its label (`ci-deploy [ns:payments]`), and only
    /// tokens in it can be the file's orphans.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The text a token of this file carries on the service before the
    /// crate's marker: `label` followed by the file's namespace tag, if
    /// any (`ci-deploy [ns:payments]`).
    pub fn service_label(&self, label: &str) -> String {
        namespace::tag(label, self.namespace())
    }

    /// The `[[mailtrap]]` entries, in the file's order.
    pub fn mailtrap(&self) -> &[MailtrapEntry] {
        &self.mailtrap
    }

    /// The `[[unit]]` entries, in the file's order.
    pub fn unit(&self) -> &[UnitEntry] {
        &self.unit
    }

    /// Every Mailtrap account the entries name, once each, in the file's
    /// order.
    pub fn mailtrap_accounts(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for id in self.mailtrap.iter().flat_map(MailtrapEntry::accounts) {
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }

    /// Whether an entry names no account (its token lives in the default
    /// Mailtrap client's account).
    pub fn needs_default_mailtrap(&self) -> bool {
        self.mailtrap.iter().any(|e| e.accounts().is_empty())
    }

    /// Whether an entry leaves out `user_id` (its token belongs to the
    /// default Unit user).
    pub fn needs_default_unit_user(&self) -> bool {
        self.unit.iter().any(|e| e.user_id.is_none())
    }
}

/// Two entries may not write to the same place, standard output
/// included: two secrets printed at once would come out in no known order
/// and unlabeled. A `file:` sink must not name a directory (or a path
/// under a file): what the spec alone can tell is refused here, before
/// any request.
fn unique_sink(
    at: &Locator<'_>,
    sinks: &mut HashMap<SinkSpec, usize>,
    stdout: &mut Option<usize>,
    spec: &SinkSpec,
    line: usize,
) -> Result<(), FileError> {
    if *spec == SinkSpec::Stdout {
        return match stdout.replace(line) {
            Some(first) => Err(at.fail(
                Some(line),
                "secret_to",
                format!(
                    "the entry on line {first} prints its secret to standard output (`-`) \
                     already; at most one entry may, so that the secret printed is known: give \
                     the others a file:, env-file: or aws-sm: sink"
                ),
            )),
            None => Ok(()),
        };
    }
    // A file a `file:` sink replaces whole holds no other secret: an
    // `env-file:` sink on the same file would be overwritten, and would
    // overwrite it, at every apply.
    let file_of = |s: &SinkSpec| match s {
        SinkSpec::File(path) => Some((path.clone(), true)),
        SinkSpec::EnvFile { path, .. } => Some((path.clone(), false)),
        _ => None,
    };
    if let Some((path, whole)) = file_of(spec) {
        let clash = sinks.iter().find_map(|(other, first)| {
            let (other_path, other_whole) = file_of(other)?;
            (other_path == path && (whole || other_whole)).then_some(*first)
        });
        if let Some(first) = clash {
            return Err(at.fail(
                Some(line),
                "secret_to",
                format!(
                    "the entry on line {first} writes its secret to the same file, and a \
                     `file:` sink replaces the whole file; give each token a file of its own \
                     (several `env-file:` sinks may share one file, each with its own variable)"
                ),
            ));
        }
    }
    match sinks.insert(spec.clone(), line) {
        Some(first) => Err(at.fail(
            Some(line),
            "secret_to",
            format!("the entry on line {first} writes its secret to the same place; give each token a sink of its own"),
        )),
        None => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    namespace: Option<Spanned<String>>,
    #[serde(default)]
    mailtrap: Vec<Spanned<RawMailtrap>>,
    #[serde(default)]
    unit: Vec<Spanned<RawUnit>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMailtrap {
    name: Spanned<String>,
    permissions: Spanned<Vec<Spanned<String>>>,
    expires: Option<Spanned<String>>,
    rotate_after: Option<Spanned<String>>,
    rotate_before_expiry: Option<Spanned<String>>,
    secret_to: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnit {
    description: Spanned<String>,
    user_id: Option<Spanned<RawUserId>>,
    scopes: Spanned<Vec<Spanned<String>>>,
    lifetime: Spanned<String>,
    source_ips: Option<Spanned<Vec<Spanned<String>>>>,
    rotate_after: Option<Spanned<String>>,
    rotate_before_expiry: Option<Spanned<String>>,
    secret_to: Spanned<String>,
}

/// A `user_id` as written: `2` or `"2"`; anything else is kept to be
/// refused with the rule (not serde's "did not match any variant").
#[derive(Deserialize)]
#[serde(untagged)]
enum RawUserId {
    Number(i64),
    Text(String),
    Other(serde::de::IgnoredAny),
}

impl RawUserId {
    fn text(&self) -> String {
        match self {
            RawUserId::Number(n) => n.to_string(),
            RawUserId::Text(t) => t.trim().to_owned(),
            RawUserId::Other(_) => "a value that is neither a number nor a string".to_owned(),
        }
    }
}

/// Turns spans into lines and builds errors.
struct Locator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        let before = self.text.get(..end).unwrap_or(self.text);
        before.bytes().filter(|b| *b == b'\n').count() + 1
    }

    /// The key of the `key = value` line whose value starts at `at`.
    fn key_before(&self, at: usize) -> Option<String> {
        let before = self.text.get(..at)?;
        let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
        let (key, _) = line.split_once('=')?;
        let key = key.trim().trim_matches('"').trim();
        let plain = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        plain.then(|| key.to_owned())
    }

    /// The key a span covers exactly, as TOML points at a duplicate key.
    fn key_spanned(&self, span: Range<usize>) -> Option<String> {
        let key = self.text.get(span)?.trim().trim_matches('"').trim();
        let plain = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        plain.then(|| key.to_owned())
    }

    fn fail(&self, line: Option<usize>, key: &str, message: impl Into<String>) -> FileError {
        FileError {
            path: self.path.to_owned(),
            line,
            key: Some(key.to_owned()),
            message: message.into(),
        }
    }

    fn at<T>(&self, value: &Spanned<T>, key: &str, message: impl Into<String>) -> FileError {
        self.fail(Some(self.line(value.span())), key, message)
    }

    fn toml(&self, e: &toml::de::Error) -> FileError {
        let message = without_quoted_strings(e.message().trim());
        FileError {
            path: self.path.to_owned(),
            line: e.span().map(|s| self.line(s)),
            key: quoted_key(&message)
                .or_else(|| {
                    // TOML points a duplicate key's error at the key (any
                    // other error at a value, which is never shown).
                    e.span()
                        .filter(|_| message.starts_with("duplicate key"))
                        .and_then(|s| self.key_spanned(s))
                })
                .or_else(|| e.span().and_then(|s| self.key_before(s.start))),
            message,
        }
    }
}

/// The key a serde or TOML message names: ``unknown field `x` ``,
/// ``missing field `x` ``, ``duplicate key `x` ``.
fn quoted_key(message: &str) -> Option<String> {
    for lead in ["field `", "key `"] {
        if let Some(start) = message.find(lead) {
            let rest = &message[start + lead.len()..];
            if let Some(end) = rest.find('`') {
                return Some(rest[..end].to_owned());
            }
        }
    }
    None
}

/// serde's messages quote a string value (`invalid type: string "…"`): a
/// secret pasted in the wrong place would be echoed; they become `a string`.
fn without_quoted_strings(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(start) = rest.find("string \"") {
        out.push_str(&rest[..start]);
        out.push_str("a string");
        let after = &rest[start + "string \"".len()..];
        rest = match after.find('"') {
            Some(end) => &after[end + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// A short value quoted in a message; a long one is not repeated.
fn shown(value: &str) -> String {
    if value.chars().count() <= 40 && !value.chars().any(char::is_control) {
        format!("`{}`", value)
    } else {
        "the value".to_owned()
    }
}

/// Reads every item of the list under `key` with `parse`, in order; an
/// empty list is refused with `empty`, the first item `parse` refuses
/// stops the reading.
fn non_empty_list<T>(
    at: &Locator<'_>,
    list: &Spanned<Vec<Spanned<String>>>,
    key: &str,
    empty: &str,
    parse: impl Fn(&Spanned<String>) -> Result<T, FileError>,
) -> Result<Vec<T>, FileError> {
    if list.get_ref().is_empty() {
        return Err(at.at(list, key, empty));
    }
    list.get_ref().iter().map(parse).collect()
}

fn label(at: &Locator<'_>, value: &Spanned<String>, key: &str) -> Result<String, FileError> {
    let text = value.get_ref().trim();
    if text.is_empty() {
        return Err(at.at(value, key, "is empty; give the token's label"));
    }
    if text.chars().any(char::is_control) {
        return Err(at.at(value, key, "holds a control character"));
    }
    if Marker::looks_like_marker(text) {
        return Err(at.at(
            value,
            key,
            "ends with something shaped like a marker (`[at:…]`); give the label alone, the \
             marker is added on the service",
        ));
    }
    if namespace::looks_tagged(text) {
        return Err(at.at(
            value,
            key,
            "ends with something shaped like a namespace tag (`[ns:…]`); give the label alone \
             and the file's `namespace` key",
        ));
    }
    Ok(text.to_owned())
}

fn span_duration(
    at: &Locator<'_>,
    value: &Option<Spanned<String>>,
    key: &str,
) -> Result<Option<TimeDelta>, FileError> {
    value
        .as_ref()
        .map(|v| duration::parse(v.get_ref()).map_err(|e| at.at(v, key, e)))
        .transpose()
}

/// The rotation rules `rotate_after` and `rotate_before_expiry` of an
/// entry. When its new tokens live a known span (`lifetime`: the span and
/// the key that sets it), `rotate_before_expiry` must be shorter, or every
/// new token would be due at once.
fn rotate_rules(
    at: &Locator<'_>,
    after: &Option<Spanned<String>>,
    before_expiry: &Option<Spanned<String>>,
    lifetime: Option<(TimeDelta, &str)>,
) -> Result<RotateRules, FileError> {
    let rotate = RotateRules {
        after: span_duration(at, after, "rotate_after")?,
        before_expiry: span_duration(at, before_expiry, "rotate_before_expiry")?,
    };
    if let (Some(before), Some(v), Some((span, key))) =
        (rotate.before_expiry, before_expiry, lifetime)
    {
        if before >= span {
            return Err(at.at(
                v,
                "rotate_before_expiry",
                format!(
                    "{} is not shorter than `{key}` ({}): every new token would be due at once",
                    duration::show(before),
                    duration::show(span)
                ),
            ));
        }
    }
    Ok(rotate)
}

fn sink(at: &Locator<'_>, value: &Spanned<String>) -> Result<SinkSpec, FileError> {
    SinkSpec::from_str(value.get_ref()).map_err(|e| at.at(value, "secret_to", e.to_string()))
}

fn mailtrap_entry(
    at: &Locator<'_>,
    line: usize,
    raw: RawMailtrap,
    ns: Option<&str>,
) -> Result<MailtrapEntry, FileError> {
    let name = label(at, &raw.name, "name")?;
    let room = MAX_NAME_CHARS.saturating_sub(
        Marker::replacing(&u64::MAX.to_string())
            .to_string()
            .chars()
            .count()
            + 1
            + namespace::tag_chars(ns),
    );
    if name.chars().count() > room {
        return Err(at.at(
            &raw.name,
            "name",
            format!("is longer than {room} characters: with its marker (and namespace) it would pass Mailtrap's limit of {MAX_NAME_CHARS}"),
        ));
    }
    let permissions = non_empty_list(
        at,
        &raw.permissions,
        "permissions",
        "is empty; Mailtrap refuses a token without permissions: give at least one TYPE:ID:LEVEL",
        |p| parse_permission(p.get_ref()).map_err(|e| at.at(p, "permissions", e)),
    )?;
    let expires = match &raw.expires {
        None => Expires::Default,
        Some(v) => match v.get_ref().trim() {
            "never" => Expires::Never,
            "default" => Expires::Default,
            other => Expires::After(duration::parse(other).map_err(|e| {
                at.at(
                    v,
                    "expires",
                    format!("expected `never`, `default` or a duration: {e}"),
                )
            })?),
        },
    };
    if let (Expires::After(span), Some(v)) = (expires, &raw.expires) {
        let now = Utc::now();
        let limit = now
            .checked_add_months(Months::new(MAX_LIFETIME_MONTHS))
            .unwrap_or(now);
        if now.checked_add_signed(span).is_none_or(|at| at > limit) {
            return Err(at.at(
                v,
                "expires",
                format!(
                    "{} is more than Mailtrap accepts ({} months from the mint)",
                    duration::show(span),
                    MAX_LIFETIME_MONTHS
                ),
            ));
        }
    }
    let lifetime = match expires {
        Expires::After(span) => Some((span, "expires")),
        _ => None,
    };
    let rotate = rotate_rules(at, &raw.rotate_after, &raw.rotate_before_expiry, lifetime)?;
    Ok(MailtrapEntry {
        name,
        permissions,
        expires,
        rotate,
        secret_to: sink(at, &raw.secret_to)?,
        line,
    })
}

fn unit_entry(at: &Locator<'_>, line: usize, raw: RawUnit) -> Result<UnitEntry, FileError> {
    let description = label(at, &raw.description, "description")?;
    let user_id = raw
        .user_id
        .as_ref()
        .map(|v| {
            let text = v.get_ref().text();
            text.parse::<UserId>().map_err(|_| {
                at.at(
                    v,
                    "user_id",
                    format!(
                        "{} is not a user id; Unit's user ids are positive integers (2 or \"2\")",
                        shown(&text)
                    ),
                )
            })
        })
        .transpose()?;
    let scopes = non_empty_list(
        at,
        &raw.scopes,
        "scopes",
        "is empty; give at least one scope, as customers",
        |s| {
            Scope::known(s.get_ref()).map_err(|e| match e {
                crate::Error::Invalid { reason, .. } => at.at(s, "scopes", reason),
                other => at.at(s, "scopes", other.to_string()),
            })
        },
    )?;
    let lifetime =
        duration::parse(raw.lifetime.get_ref()).map_err(|e| at.at(&raw.lifetime, "lifetime", e))?;
    let now = Utc::now();
    if now
        .checked_add_signed(lifetime)
        .is_none_or(|end| end.year() > 9999)
    {
        return Err(at.at(
            &raw.lifetime,
            "lifetime",
            format!(
                "{} is more than Unit's expiration can say (a date before the year 10000)",
                duration::show(lifetime)
            ),
        ));
    }
    let mut source_ips = Vec::new();
    if let Some(list) = &raw.source_ips {
        for ip in list.get_ref() {
            let parsed = ip.get_ref().trim().parse::<SourceIp>().map_err(|_| {
                at.at(
                    ip,
                    "source_ips",
                    format!(
                        "{} is neither an IP address nor a CIDR range (as 10.0.0.0/8)",
                        shown(ip.get_ref())
                    ),
                )
            })?;
            source_ips.push(parsed);
        }
    }
    let rotate = rotate_rules(
        at,
        &raw.rotate_after,
        &raw.rotate_before_expiry,
        Some((lifetime, "lifetime")),
    )?;
    Ok(UnitEntry {
        description,
        user_id,
        scopes,
        lifetime,
        source_ips,
        rotate,
        secret_to: sink(at, &raw.secret_to)?,
        line,
    })
}

impl fmt::Display for TokensFile {
    /// `tokens.toml (2 Mailtrap, 1 Unit)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} Mailtrap, {} Unit)",
            self.path.display(),
            self.mailtrap.len(),
            self.unit.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings_are_dropped_and_keys_found() {
        assert_eq!(
            without_quoted_strings("invalid type: string \"s3cr3t\", expected a sequence"),
            "invalid type: a string, expected a sequence"
        );
        assert_eq!(
            quoted_key("unknown field `colour`, expected one of"),
            Some("colour".into())
        );
        assert_eq!(
            quoted_key("missing field `secret_to`"),
            Some("secret_to".into())
        );
        assert_eq!(quoted_key("expected `=`"), None);
    }
}
