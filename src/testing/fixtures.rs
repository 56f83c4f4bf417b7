//! Fixtures: one recorded interaction per endpoint outcome, embedded in the
//! library when it is built and found by name. The format is documented in
//! the `testing` module.

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

use super::error::KitError;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
}

/// One interaction in the
/// [fixture format](index.html#fixture-and-cassette-format): what was
/// sent and what the service answered. Both the embedded fixtures and the
/// interactions of a [`Cassette`] have this shape.
///
/// ```
/// use api_tokens::testing::Fixture;
///
/// let fixture = Fixture::parse(r#"{
///     "service": "mailtrap",
///     "name": "delete 204",
///     "request": { "method": "DELETE", "path": "/api/accounts/1/api_tokens/5" },
///     "response": { "status": 204, "body": null }
/// }"#).unwrap();
/// assert_eq!(fixture.response.status, 204);
/// assert!(fixture.response.body.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fixture {
    /// `unit` or `mailtrap`.
    pub service: String,
    /// What the interaction shows, e.g. `create 201`.
    pub name: String,
    /// What was sent.
    pub request: FixtureRequest,
    /// What the service answered.
    pub response: FixtureResponse,
}

/// The request half of a [`Fixture`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixtureRequest {
    /// The HTTP method, upper case.
    pub method: String,
    /// The path below the base URL, with the query string if there was one.
    pub path: String,
    /// Lower-case header names to values; a credential only as its
    /// [`placeholder`](fn.placeholder.html) (or `[REDACTED]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The JSON body, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// The response half of a [`Fixture`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FixtureResponse {
    /// The HTTP status.
    pub status: u16,
    /// Lower-case header names to values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The JSON body; `None` for no body at all (written as `null`).
    #[serde(default)]
    pub body: Option<Value>,
    /// A body that is not JSON, kept verbatim (written instead of `body`).
    #[serde(default)]
    pub body_text: Option<String>,
}

impl Serialize for FixtureResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut len = 2;
        if !self.headers.is_empty() {
            len += 1;
        }
        let mut s = serializer.serialize_struct("FixtureResponse", len)?;
        s.serialize_field("status", &self.status)?;
        if !self.headers.is_empty() {
            s.serialize_field("headers", &self.headers)?;
        }
        match &self.body_text {
            Some(text) => s.serialize_field("body_text", text)?,
            None => s.serialize_field("body", &self.body)?,
        }
        s.end()
    }
}

/// A recording: interactions in the order they happened, written as
/// `{"interactions": [ … ]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cassette {
    /// The interactions, oldest first.
    pub interactions: Vec<Fixture>,
}

impl Cassette {
    /// Reads and checks a cassette file.
    ///
    /// # Errors
    ///
    /// A [`KitError`] when the file cannot be read or is not a cassette in
    /// the [format](index.html#fixture-and-cassette-format).
    pub fn load(path: impl AsRef<Path>) -> Result<Cassette, KitError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| KitError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        Cassette::parse_named(&text, &path.display().to_string())
    }

    /// Parses and checks a cassette from its JSON text.
    ///
    /// # Errors
    ///
    /// A [`KitError`] when the text is not a cassette in the
    /// [format](index.html#fixture-and-cassette-format).
    pub fn parse(json: &str) -> Result<Cassette, KitError> {
        Cassette::parse_named(json, "<cassette>")
    }

    fn parse_named(json: &str, file: &str) -> Result<Cassette, KitError> {
        let cassette: Cassette = from_json(json, file)?;
        for (i, interaction) in cassette.interactions.iter().enumerate() {
            interaction
                .check()
                .map_err(|reason| invalid(file, format!("interactions[{i}]: {reason}")))?;
        }
        Ok(cassette)
    }

    /// The cassette as pretty JSON, the form written to disk.
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: every map key is a string.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Writes the cassette to `path` (through a temporary file and a rename,
    /// so that a reader never sees half a file).
    ///
    /// # Errors
    ///
    /// A [`KitError`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), KitError> {
        let path = path.as_ref();
        let io = |source| KitError::Io {
            action: "write",
            path: path.to_owned(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, self.to_json()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

impl Fixture {
    /// Parses and checks one fixture from its JSON text.
    ///
    /// # Errors
    ///
    /// A [`KitError`] when the text is not a fixture in the
    /// [format](index.html#fixture-and-cassette-format).
    pub fn parse(json: &str) -> Result<Fixture, KitError> {
        Fixture::parse_named(json, "<fixture>")
    }

    fn parse_named(json: &str, file: &str) -> Result<Fixture, KitError> {
        let fixture: Fixture = from_json(json, file)?;
        fixture.check().map_err(|reason| invalid(file, reason))?;
        Ok(fixture)
    }

    /// The embedded fixture of `service` called `name`.
    ///
    /// The name is the file's stem with `_` read as a space
    /// (`error_422_base.json` is `error 422 base`) or the file's own
    /// `"name"`; an error outcome's name also without its leading `error`
    /// (`422 base`, `401`); case and repeated spaces do not matter.
    ///
    /// ```
    /// use api_tokens::testing::Fixture;
    ///
    /// let err = Fixture::get("unit", "no such fixture").unwrap_err();
    /// assert!(err.to_string().contains("no fixture named"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`KitError::UnknownFixture`] when no fixture has that name.
    pub fn get(service: &str, name: &str) -> Result<Fixture, KitError> {
        fixture(&format!("{service} {name}"))
    }

    /// A wiremock answer with this fixture's status, headers and body.
    ///
    /// Headers that are not valid HTTP are left out, and a status outside
    /// 100..=999 answers 500 (fixtures read with [`Fixture::parse`] or found
    /// by name have neither).
    pub fn respond(&self) -> ResponseTemplate {
        let Ok(status) = StatusCode::from_u16(self.response.status) else {
            return ResponseTemplate::new(StatusCode::INTERNAL_SERVER_ERROR)
                .set_body_bytes(format!("fixture `{}` has an invalid status", self.name));
        };
        let mut template = ResponseTemplate::new(status);
        let mut content_type = None;
        for (name, value) in &self.response.headers {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                continue;
            };
            if name == CONTENT_TYPE {
                content_type = Some(value);
            } else if !is_framing_header(&name) {
                template = template.append_header(name, value);
            }
        }
        let (body, default_type) = match (&self.response.body_text, &self.response.body) {
            (Some(text), _) => (Some(text.clone().into_bytes()), "text/plain; charset=utf-8"),
            (None, Some(json)) => (
                // Serializing a `Value` cannot fail.
                Some(serde_json::to_vec(json).unwrap_or_default()),
                "application/json",
            ),
            (None, None) => (None, ""),
        };
        if let Some(body) = body {
            let content_type =
                content_type.unwrap_or_else(|| HeaderValue::from_static(default_type));
            template = template
                .set_body_bytes(body)
                .insert_header(CONTENT_TYPE, content_type);
        }
        template
    }

    /// A wiremock [`Mock`] matching this fixture's method and path (and
    /// query parameters, when the path has some) and answering
    /// [`Fixture::respond`]. Adjust it (`.expect(1)`, `.up_to_n_times(1)`)
    /// before mounting.
    pub fn mock(&self) -> Mock {
        let (path, query) = match self.request.path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (self.request.path.as_str(), None),
        };
        let query = query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Mock::given(FixtureMatch {
            method: self.request.method.to_ascii_uppercase(),
            path: path.to_owned(),
            query,
        })
        .respond_with(self.respond())
    }

    /// Mounts [`Fixture::mock`] on `server`.
    ///
    /// ```no_run
    /// # async fn f() {
    /// let server = wiremock::MockServer::start().await;
    /// api_tokens::testing::fixture("unit create 201").unwrap().mount(&server).await;
    /// # }
    /// ```
    pub async fn mount(&self, server: &MockServer) {
        self.mock().mount(server).await;
    }

    /// Checks what serde cannot: a method, a path, a status, header names and
    /// values that HTTP accepts, and not both kinds of body.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.service.trim().is_empty() {
            return Err("`service` is empty".into());
        }
        if self.name.trim().is_empty() {
            return Err("`name` is empty".into());
        }
        if reqwest::Method::from_bytes(self.request.method.as_bytes()).is_err()
            || self.request.method.is_empty()
        {
            return Err(format!(
                "request.method `{}` is not an HTTP method",
                self.request.method
            ));
        }
        if !self.request.path.starts_with('/') {
            return Err(format!(
                "request.path `{}` does not start with `/`",
                self.request.path
            ));
        }
        if !(100..=599).contains(&self.response.status) {
            return Err(format!(
                "response.status {} is not an HTTP status",
                self.response.status
            ));
        }
        if self.response.body.is_some() && self.response.body_text.is_some() {
            return Err("response has both `body` and `body_text`".into());
        }
        for (part, headers) in [
            ("request", &self.request.headers),
            ("response", &self.response.headers),
        ] {
            for (name, value) in headers {
                if HeaderName::from_bytes(name.as_bytes()).is_err()
                    || name.bytes().any(|b| b.is_ascii_uppercase())
                {
                    return Err(format!(
                        "{part}.headers: `{name}` is not a lower-case header name"
                    ));
                }
                if HeaderValue::from_str(value).is_err() {
                    return Err(format!("{part}.headers.{name}: not a valid header value"));
                }
            }
        }
        Ok(())
    }
}

fn is_framing_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "content-length" | "transfer-encoding" | "connection" | "keep-alive"
    )
}

fn invalid(file: &str, reason: impl Into<String>) -> KitError {
    KitError::InvalidFixture {
        file: file.to_owned(),
        reason: reason.into(),
    }
}

fn from_json<T: serde::de::DeserializeOwned>(json: &str, file: &str) -> Result<T, KitError> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        invalid(file, format!("at `{at}`: {}", e.into_inner()))
    })
}

/// Matches a request on method, exact path and the fixture's query pairs.
struct FixtureMatch {
    method: String,
    path: String,
    query: Vec<(String, String)>,
}

impl Match for FixtureMatch {
    fn matches(&self, request: &Request) -> bool {
        request.method.as_str() == self.method
            && request.url.path() == self.path
            && self.query.iter().all(|wanted| {
                request
                    .url
                    .query_pairs()
                    .any(|(k, v)| k == wanted.0.as_str() && v == wanted.1.as_str())
            })
    }
}

/// The raw fixture files shipped with the crate: each one's path (its
/// service's folder and file name, `mailtrap/error_422_base.json`) and its
/// text. [`fixtures`] parses them.
pub fn embedded_files() -> &'static [(&'static str, &'static str)] {
    embedded::EMBEDDED
}

/// One embedded fixture with the names it answers to.
struct Entry {
    services: Vec<String>,
    names: Vec<String>,
    fixture: Fixture,
}

fn entries() -> Result<Vec<Entry>, KitError> {
    let mut entries = Vec::new();
    for (file, text) in embedded_files() {
        let (dir, stem) = match file.rsplit_once('/') {
            Some((dir, name)) => (Some(dir), name),
            None => (None, *file),
        };
        let stem = stem.strip_suffix(".json").unwrap_or(stem);
        let is_cassette = serde_json::from_str::<Value>(text)
            .map(|v| v.get("interactions").is_some())
            .unwrap_or(false);
        let fixtures = if is_cassette {
            Cassette::parse_named(text, file)?.interactions
        } else {
            vec![Fixture::parse_named(text, file)?]
        };
        for fixture in fixtures {
            let mut services = vec![normalize(&fixture.service)];
            services.extend(dir.map(normalize));
            let mut names = vec![normalize(&fixture.name)];
            if !is_cassette {
                names.push(normalize(stem));
            }
            // An error outcome answers to its status without the word
            // `error` too, as issue 5 names them (`mailtrap 422 base`).
            let short: Vec<String> = names
                .iter()
                .filter_map(|name| name.strip_prefix("error "))
                .map(str::to_owned)
                .collect();
            names.extend(short);
            entries.push(Entry {
                services,
                names,
                fixture,
            });
        }
    }
    Ok(entries)
}

/// Every embedded fixture (the interactions of an embedded cassette count
/// one by one), in file order.
///
/// Fails on the first embedded file that is not in the fixture format,
/// naming it: a broken fixture is never skipped.
///
/// ```
/// for fixture in api_tokens::testing::fixtures().unwrap() {
///     println!("{} {}: {}", fixture.service, fixture.name, fixture.response.status);
/// }
/// ```
///
/// # Errors
///
/// A [`KitError`] when an embedded file is not a fixture.
pub fn fixtures() -> Result<Vec<Fixture>, KitError> {
    Ok(entries()?.into_iter().map(|e| e.fixture).collect())
}

/// The embedded fixture named `"service name"`, e.g. `"unit create 201"`
/// or `"mailtrap error 422 base"` (also `"mailtrap 422 base"`). See
/// [`Fixture::get`] for how names match.
///
/// ```
/// let err = api_tokens::testing::fixture("unit no such thing").unwrap_err();
/// assert!(matches!(err, api_tokens::testing::KitError::UnknownFixture { .. }));
/// ```
///
/// # Errors
///
/// [`KitError::UnknownFixture`] when no fixture matches the query.
pub fn fixture(query: &str) -> Result<Fixture, KitError> {
    let wanted = normalize(query);
    let entries = entries()?;
    let found = entries.iter().find(|entry| {
        entry.services.iter().any(|service| {
            entry
                .names
                .iter()
                .any(|name| format!("{service} {name}") == wanted)
        })
    });
    match found {
        Some(entry) => Ok(entry.fixture.clone()),
        None => Err(KitError::UnknownFixture {
            query: query.to_owned(),
            known: entries
                .iter()
                .map(|e| format!("{} {}", e.fixture.service, e.fixture.name))
                .collect(),
        }),
    }
}

/// Lower case, `_`, `-` and `/` read as spaces, runs of spaces as one.
fn normalize(name: &str) -> String {
    name.to_lowercase()
        .replace(['_', '-', '/'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize() {
        assert_eq!(normalize("Error_422__base"), "error 422 base");
        assert_eq!(normalize(" unit/create-201 "), "unit create 201");
    }
}
