//! The four steps of an AWS Secrets Manager rotation function for a secret
//! that holds a [`SecretRecord`] (feature `aws`); the binary
//! `api-tokens-aws-rotation` runs them on the Lambda runtime.
//!
//! Secrets Manager calls the function with `{"SecretId",
//! "ClientRequestToken", "Step"}`; the token is the id of the version being
//! rotated in, and makes each step idempotent:
//!
//! | step | does | called again |
//! | --- | --- | --- |
//! | `createSecret` | mints the replacement of the token `AWSCURRENT` names (tagged with a marker derived from the request token) and puts its record as version `ClientRequestToken`, labelled `AWSPENDING` | does nothing once the version exists; after a crash between the mint and the put, removes the token the marker finds (its secret was lost) and mints again |
//! | `setSecret` | nothing: Unit and Mailtrap mint the credential themselves at `createSecret` | nothing |
//! | `testSecret` | a call made with the pending secret | the same call |
//! | `finishSecret` | moves `AWSCURRENT` to the version, removing it from the version the record was minted to replace (a compare-and-set), then retires the old token: Unit revoke; Mailtrap delete, or nothing when the new token came from a reset whose grace period is left to run | retires the old token again (already gone counts as done) |
//!
//! When another rotation made a different version current first,
//! `finishSecret` removes its own token, takes `AWSPENDING` off its
//! version, and fails as superseded: `AWSCURRENT` never moves back to an
//! older token.

use std::fmt;

use aws_sdk_secretsmanager::Client;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::secrets_manager::{
    AWSCURRENT, AWSPENDING, At, Moved, ReadError, Secret, SecretsManagerError, Versions,
};
use crate::error::{Error, Service};
use crate::lifecycle::engine::{Lifecycle, TokenService};
use crate::lifecycle::mailtrap::MailtrapLifecycle;
use crate::lifecycle::marker::Marker;
use crate::lifecycle::mint::{MintIntoError, Ops, Unstored};
use crate::lifecycle::sink::record::{SecretRecord, describe_json_error};
use crate::lifecycle::sink::secret_sink::{SecretMeta, SecretSink, SinkError, async_trait};
use crate::lifecycle::unit::UnitLifecycle;
use crate::mailtrap::{self, Expiry};
use crate::unit::{self, ResourceRestriction, ResourceType, Scope, SourceIp, UserId};

/// A step of a rotation, as Secrets Manager names it in `"Step"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RotationStep {
    /// `createSecret`: mint the new token, put it as `AWSPENDING`.
    #[serde(rename = "createSecret")]
    CreateSecret,
    /// `setSecret`: nothing to do for these services.
    #[serde(rename = "setSecret")]
    SetSecret,
    /// `testSecret`: a call made with the pending secret.
    #[serde(rename = "testSecret")]
    TestSecret,
    /// `finishSecret`: make it current, retire the old token.
    #[serde(rename = "finishSecret")]
    FinishSecret,
}

impl fmt::Display for RotationStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RotationStep::CreateSecret => "createSecret",
            RotationStep::SetSecret => "setSecret",
            RotationStep::TestSecret => "testSecret",
            RotationStep::FinishSecret => "finishSecret",
        })
    }
}

/// The event Secrets Manager sends a rotation function.
///
/// ```
/// use api_tokens::aws::rotation_function::{RotationEvent, RotationStep};
///
/// let event: RotationEvent = serde_json::from_str(
///     r#"{"SecretId":"ci/unit","ClientRequestToken":"7f0c3a52-5b6e-4d43-9a3e-2d1b0c9e8f71","Step":"createSecret"}"#,
/// )?;
/// assert_eq!(event.step, RotationStep::CreateSecret);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RotationEvent {
    /// The secret's name or ARN.
    #[serde(rename = "SecretId")]
    pub secret_id: String,
    /// The id of the version being rotated in.
    #[serde(rename = "ClientRequestToken")]
    pub client_request_token: String,
    /// The step.
    #[serde(rename = "Step")]
    pub step: RotationStep,
}

impl RotationEvent {
    /// Reads the event the runtime hands the function, and checks it is
    /// one Secrets Manager sends: `SecretId` a name or ARN (1 to 2048
    /// visible ASCII characters), `ClientRequestToken` a version id (32 to
    /// 64 of them), `Step` one of the four steps.
    ///
    /// ```
    /// use api_tokens::aws::rotation_function::{FailureKind, RotationEvent};
    ///
    /// let event = RotationEvent::from_value(serde_json::json!({
    ///     "SecretId": "ci/unit",
    ///     "ClientRequestToken": "7f0c3a52-5b6e-4d43-9a3e-2d1b0c9e8f71",
    ///     "Step": "createSecret",
    /// }))?;
    /// assert_eq!(event.secret_id, "ci/unit");
    /// let err = RotationEvent::from_value(serde_json::json!({"Records": []})).unwrap_err();
    /// assert_eq!(err.kind(), FailureKind::InvalidEvent);
    /// # Ok::<(), api_tokens::aws::rotation_function::EventError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// An [`EventError`] (kind [`FailureKind::InvalidEvent`]) naming the
    /// field that is missing or malformed; it never quotes the event.
    pub fn from_value(value: serde_json::Value) -> Result<RotationEvent, EventError> {
        let event: RotationEvent = serde_path_to_error::deserialize(value).map_err(|e| {
            EventError::new(format!(
                "at `{}`: {}",
                e.path(),
                describe_json_error(e.inner())
            ))
        })?;
        event.check()?;
        Ok(event)
    }

    /// Whether the event's names can be what Secrets Manager sends: they
    /// reach requests and errors.
    fn check(&self) -> Result<(), EventError> {
        let visible = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
        if self.secret_id.is_empty() || self.secret_id.len() > 2048 || !visible(&self.secret_id) {
            return Err(EventError::new(
                "its SecretId is not a secret's name or ARN (1 to 2048 visible ASCII characters)",
            ));
        }
        if !is_version_id(&self.client_request_token) {
            return Err(EventError::new(
                "its ClientRequestToken is not a version id (32 to 64 visible ASCII characters)",
            ));
        }
        Ok(())
    }

    /// An event.
    pub fn new(
        secret_id: impl Into<String>,
        client_request_token: impl Into<String>,
        step: RotationStep,
    ) -> RotationEvent {
        RotationEvent {
            secret_id: secret_id.into(),
            client_request_token: client_request_token.into(),
            step,
        }
    }
}

/// What kind of failure a [`RotationFunctionError`] is. Its
/// [name](FailureKind::as_str) is stable: the binary reports it as the
/// invocation's `errorType`, by which CloudWatch alarms and metric filters
/// select failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// `Superseded`: another rotation made a newer version current first;
    /// this one removed its own token and left the secret as the other
    /// made it. Nothing to repair.
    Superseded,
    /// `InvalidRecord`: a version of the secret is not a token record
    /// (not JSON, binary, a field missing or malformed, a blank `token`),
    /// names no scopes or one Unit does not know, names a token that is
    /// gone, or was not written by `createSecret`.
    /// Nothing was minted; the secret needs repair.
    InvalidRecord,
    /// `MissingVersion`: the step names a version the secret does not
    /// have (`createSecret` did not run with this token).
    MissingVersion,
    /// `ServiceError`: a call to Unit or Mailtrap failed.
    ServiceError,
    /// `TestFailed`: at `testSecret`, the call made with the pending
    /// secret failed.
    TestFailed,
    /// `StoreError`: a call to Secrets Manager failed (access denied, not
    /// found, throttled, network).
    StoreError,
    /// `ConfigurationError`: the function lacks what the record needs: the
    /// service's credential, or a user for a Unit record that names none;
    /// or its configuration is malformed (the binary: a variable that does
    /// not parse, a URL refused, a credential's secret that cannot be
    /// read), which fails every invocation until it is fixed.
    ConfigurationError,
    /// `InvalidEvent`: the invocation's event is not a Secrets Manager
    /// rotation event (not an object; `SecretId`, `ClientRequestToken` or
    /// `Step` missing or malformed). Nothing was read or changed.
    InvalidEvent,
}

impl FailureKind {
    /// The kind's stable name, such as `"Superseded"`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Superseded => "Superseded",
            FailureKind::InvalidRecord => "InvalidRecord",
            FailureKind::MissingVersion => "MissingVersion",
            FailureKind::ServiceError => "ServiceError",
            FailureKind::TestFailed => "TestFailed",
            FailureKind::StoreError => "StoreError",
            FailureKind::ConfigurationError => "ConfigurationError",
            FailureKind::InvalidEvent => "InvalidEvent",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An invocation's event that is not a Secrets Manager rotation event,
/// from [`RotationEvent::from_value`]: its [`kind`](Self::kind) is
/// [`FailureKind::InvalidEvent`]. It says what is wrong and never quotes
/// the event.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "the event is not a Secrets Manager rotation event ({reason}); expected \
     {{\"SecretId\", \"ClientRequestToken\", \"Step\"}} with Step one of createSecret, \
     setSecret, testSecret, finishSecret"
)]
pub struct EventError {
    reason: String,
}

impl EventError {
    fn new(reason: impl Into<String>) -> EventError {
        EventError {
            reason: reason.into(),
        }
    }

    /// [`FailureKind::InvalidEvent`].
    pub fn kind(&self) -> FailureKind {
        FailureKind::InvalidEvent
    }
}

/// Why a step failed. It names the step, the secret and the version
/// (escaped), and never holds a secret; its [`kind`](Self::kind) sorts it
/// for alarms.
#[derive(Debug, thiserror::Error)]
#[error("{step} of {} (version {}): {message}", escaped(.secret), escaped(.version))]
pub struct RotationFunctionError {
    step: RotationStep,
    secret: String,
    version: String,
    message: String,
    kind: FailureKind,
}

impl RotationFunctionError {
    /// A [`ConfigurationError`](FailureKind::ConfigurationError) of the
    /// step `event` asks for: the function could not be set up, as
    /// `message` says (a malformed variable, an unreadable credential).
    /// `message` must not hold a secret.
    pub fn configuration(event: &RotationEvent, message: impl Into<String>) -> Self {
        Ctx { event }.fail(FailureKind::ConfigurationError, message)
    }

    /// The step that failed.
    pub fn step(&self) -> RotationStep {
        self.step
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// Whether another rotation made a newer version current first: this
    /// one removed its own token and left the secret as the other made it.
    pub fn is_superseded(&self) -> bool {
        self.kind == FailureKind::Superseded
    }
}

/// The record keys a pending version adds: the token it replaces and the
/// version that was current when it was minted (the compare-and-set's
/// base), and how to retire the old token.
const REPLACES: &str = "replaces_token_id";
const REPLACES_VERSION: &str = "replaces_version";
const RETIRE: &str = "retire_old";

/// How a Mailtrap rotation mints its new token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MailtrapMethod {
    /// A new token with the old one's permissions; the old one is deleted
    /// at `finishSecret`. The default.
    #[default]
    CreateAndDelete,
    /// A reset: Mailtrap mints the new token and lets the old one work for
    /// its 12-hour grace period, which `finishSecret` leaves to run. When
    /// the reset is refused (the token was reset already), a create is
    /// made instead and the old token is deleted.
    ResetForGrace,
}

/// A rotation function: the store's client and the services' credentials.
///
/// ```no_run
/// use api_tokens::aws::rotation_function::{RotationEvent, RotationFunction, RotationStep};
/// # async fn run(store: aws_sdk_secretsmanager::Client, unit: api_tokens::unit::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let function = RotationFunction::new(store).unit(unit, Some("2".parse()?));
/// let said = function
///     .handle(&RotationEvent::new("ci/unit", "7f0c3a52-5b6e-4d43-9a3e-2d1b0c9e8f71", RotationStep::CreateSecret))
///     .await?;
/// println!("{said}");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RotationFunction {
    store: Client,
    unit: Option<(unit::Client, Option<UserId>)>,
    mailtrap: Option<MailtrapLifecycle>,
    mailtrap_method: MailtrapMethod,
}

/// A step's context, to build its errors.
struct Ctx<'a> {
    event: &'a RotationEvent,
}

impl Ctx<'_> {
    fn fail(&self, kind: FailureKind, message: impl Into<String>) -> RotationFunctionError {
        RotationFunctionError {
            step: self.event.step,
            secret: self.event.secret_id.clone(),
            version: self.event.client_request_token.clone(),
            message: message.into(),
            kind,
        }
    }

    fn invalid(&self, message: impl Into<String>) -> RotationFunctionError {
        self.fail(FailureKind::InvalidRecord, message)
    }

    fn store(&self, e: SecretsManagerError) -> RotationFunctionError {
        self.fail(FailureKind::StoreError, e.to_string())
    }

    fn secret(&self) -> &str {
        &self.event.secret_id
    }

    fn token(&self) -> &str {
        &self.event.client_request_token
    }
}

/// The 8 characters of `0-9a-z` that a marker of the rotation to version
/// `token` carries: a restarted `createSecret` finds its token by them.
fn nonce_of(token: &str) -> String {
    const BASE36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let hash = Sha256::new()
        .chain_update(b"api-tokens rotation\0")
        .chain_update(token.as_bytes())
        .finalize();
    hash.iter()
        .take(8)
        .map(|b| char::from(BASE36[usize::from(*b) % BASE36.len()]))
        .collect()
}

/// The marker, made now, of the token minted for version `token` to
/// replace token `old`.
fn marker_for(token: &str, old: &str) -> Result<Marker, Error> {
    let mut secs = Utc::now().timestamp().max(0).unsigned_abs();
    let mut time = Vec::new();
    loop {
        time.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(secs % 36) as usize]);
        secs /= 36;
        if secs == 0 {
            break;
        }
    }
    time.reverse();
    let time = String::from_utf8_lossy(&time).into_owned();
    format!("[at:{time}-{} from:{old}]", nonce_of(token)).parse()
}

/// Whether `text` carries the marker of the rotation to version `token`.
fn carries_marker_of(text: &str, token: &str) -> bool {
    Marker::find(text).is_some_and(|m| {
        m.to_string()
            .split_once('-')
            .is_some_and(|(_, rest)| rest.starts_with(&nonce_of(token)))
    })
}

impl RotationFunction {
    /// A function on the secrets `store` reaches, with no service's
    /// credentials yet.
    pub fn new(store: Client) -> RotationFunction {
        RotationFunction {
            store,
            unit: None,
            mailtrap: None,
            mailtrap_method: MailtrapMethod::default(),
        }
    }

    /// Rotates Unit tokens through `client`, for the user a record names,
    /// or `default_user` when it names none.
    #[must_use]
    pub fn unit(mut self, client: unit::Client, default_user: Option<UserId>) -> RotationFunction {
        self.unit = Some((client, default_user));
        self
    }

    /// Rotates Mailtrap tokens through `client`.
    #[must_use]
    pub fn mailtrap(mut self, client: mailtrap::Client) -> RotationFunction {
        self.mailtrap = Some(MailtrapLifecycle::new(client));
        self
    }

    /// How Mailtrap tokens are minted and retired.
    #[must_use]
    pub fn mailtrap_method(mut self, method: MailtrapMethod) -> RotationFunction {
        self.mailtrap_method = method;
        self
    }

    /// Runs one step and says what it did.
    ///
    /// # Errors
    ///
    /// A [`RotationFunctionError`] naming the step, the secret and what
    /// failed: a call to Secrets Manager (with its request id), to the
    /// service, a record that cannot be read, missing credentials, a
    /// superseded rotation ([`RotationFunctionError::is_superseded`]), or
    /// an event whose `SecretId` or `ClientRequestToken` Secrets Manager
    /// could not have sent ([`FailureKind::InvalidEvent`], before any
    /// request).
    pub async fn handle(&self, event: &RotationEvent) -> Result<String, RotationFunctionError> {
        let cx = Ctx { event };
        event
            .check()
            .map_err(|e| cx.fail(FailureKind::InvalidEvent, e.to_string()))?;
        let versions = self.versions(&cx).await?;
        if event.step != RotationStep::CreateSecret
            && versions.labels_of(cx.token()).is_empty()
            && self.record_of(&cx, cx.token()).await.is_err()
        {
            return Err(cx.fail(
                FailureKind::MissingVersion,
                "the secret has no such version: run createSecret first",
            ));
        }
        match event.step {
            RotationStep::CreateSecret => self.create_secret(&cx, &versions).await,
            RotationStep::SetSecret => Ok(format!(
                "setSecret of {}: nothing to do, the service minted the credential at createSecret",
                cx.secret()
            )),
            RotationStep::TestSecret => self.test_secret(&cx).await,
            RotationStep::FinishSecret => self.finish_secret(&cx, &versions).await,
        }
    }

    /// The calls on the event's secret, shared with the sink.
    fn secret<'a>(&'a self, cx: &'a Ctx<'_>) -> Secret<'a> {
        Secret::new(&self.store, cx.secret())
    }

    async fn versions(&self, cx: &Ctx<'_>) -> Result<Versions, RotationFunctionError> {
        self.secret(cx).versions().await.map_err(|e| cx.store(e))
    }

    /// The record of `version`, or of the version labelled `AWSCURRENT`
    /// when `version` is that label.
    async fn record_of(
        &self,
        cx: &Ctx<'_>,
        version: &str,
    ) -> Result<(String, SecretRecord), RotationFunctionError> {
        let at = if version == AWSCURRENT {
            At::Label(AWSCURRENT)
        } else {
            At::Version(version)
        };
        self.secret(cx).record(at).await.map_err(|e| match e {
            ReadError::Store(e) => cx.store(e),
            ReadError::NotARecord(e) => cx.invalid(e.to_string()),
        })
    }

    fn unit_life(
        &self,
        cx: &Ctx<'_>,
        record: &SecretRecord,
    ) -> Result<UnitLifecycle, RotationFunctionError> {
        let (client, default_user) = self.unit.as_ref().ok_or_else(|| {
            cx.fail(FailureKind::ConfigurationError, "the record is a Unit token's, and no Unit credential is configured (UNIT_API_TOKEN or UNIT_API_TOKEN_SECRET_ARN)")
        })?;
        let user = match record.attributes.get("user_id") {
            Some(v) => v
                .as_str()
                .map(str::to_owned)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
                .and_then(|s| s.parse::<UserId>().ok())
                .ok_or_else(|| cx.invalid("the record's user_id is not a Unit user id"))?,
            None => default_user.clone().ok_or_else(|| {
                cx.fail(
                    FailureKind::ConfigurationError,
                    "the record names no user_id, and UNIT_USER_ID is not set",
                )
            })?,
        };
        Ok(UnitLifecycle::new(client.clone(), user))
    }

    fn mailtrap_life(&self, cx: &Ctx<'_>) -> Result<&MailtrapLifecycle, RotationFunctionError> {
        self.mailtrap.as_ref().ok_or_else(|| {
            cx.fail(FailureKind::ConfigurationError, "the record is a Mailtrap token's, and no Mailtrap credential is configured (MAILTRAP_API_TOKEN or MAILTRAP_API_TOKEN_SECRET_ARN)")
        })
    }

    async fn create_secret(
        &self,
        cx: &Ctx<'_>,
        versions: &Versions,
    ) -> Result<String, RotationFunctionError> {
        if versions
            .labels_of(cx.token())
            .iter()
            .any(|l| l == AWSCURRENT)
        {
            return Ok(format!(
                "createSecret of {}: version {} is already current",
                cx.secret(),
                cx.token()
            ));
        }
        if self.record_of(cx, cx.token()).await.is_ok() {
            return Ok(format!(
                "createSecret of {}: version {} exists already; nothing minted",
                cx.secret(),
                cx.token()
            ));
        }
        let (current_version, current) = self.record_of(cx, AWSCURRENT).await?;
        checked_id(cx, current.service, "token_id", &current.token_id)?;
        let (secret, mut meta, retire) = match current.service {
            Service::Unit => {
                let life = self.unit_life(cx, &current)?;
                let (secret, meta) = self.mint_unit(cx, &life, &current).await?;
                (secret, meta, "revoke")
            }
            Service::Mailtrap => {
                let life = self.mailtrap_life(cx)?;
                self.mint_mailtrap(cx, life, &current).await?
            }
        };
        meta = meta
            .with_attribute(REPLACES, current.token_id.clone())
            .with_attribute(REPLACES_VERSION, current_version)
            .with_attribute(RETIRE, retire);
        for (k, v) in &current.attributes {
            if ![REPLACES, REPLACES_VERSION, RETIRE].contains(&k.as_str()) {
                meta = meta.with_attribute(k.clone(), v.clone());
            }
        }
        let record = SecretRecord::new(&secret, &meta);
        // The engine's store-or-remove: nobody would hold a token whose
        // record could not be put.
        let pending = PendingVersion {
            secret: self.secret(cx),
            version: cx.token(),
            name: cx.secret(),
        };
        let stored = match current.service {
            Service::Unit => {
                self.unit_life(cx, &current)?
                    .store_or_retire_id(&record.token_id, &secret, &meta, &pending)
                    .await
            }
            Service::Mailtrap => {
                self.mailtrap_life(cx)?
                    .store_or_retire_id(&record.token_id, &secret, &meta, &pending)
                    .await
            }
        };
        if let Err(e) = stored {
            let id = &record.token_id;
            return Err(match e {
                MintIntoError::Store {
                    outcome, source, ..
                } => {
                    let err = match source {
                        SinkError::Other { source, .. } => source.to_string(),
                        other => other.to_string(),
                    };
                    let fate = match outcome {
                        Unstored::Removed => format!("the new token {id} was removed"),
                        Unstored::KeptAsWritten => format!("the new token {id} was kept"),
                        _ => format!(
                            "the new token {id} could not be removed: the next createSecret \
                             with this token removes it"
                        ),
                    };
                    cx.fail(FailureKind::StoreError, format!("{err}; {fate}"))
                }
                other => cx.fail(FailureKind::ServiceError, other.to_string()),
            });
        }
        Ok(format!(
            "createSecret of {}: token {} minted to replace {}, put as version {} ({AWSPENDING})",
            cx.secret(),
            record.token_id,
            current.token_id,
            cx.token()
        ))
    }

    /// Removes what an interrupted `createSecret` of this version minted,
    /// then mints the new Unit token.
    async fn mint_unit(
        &self,
        cx: &Ctx<'_>,
        life: &UnitLifecycle,
        current: &SecretRecord,
    ) -> Result<(SecretString, SecretMeta), RotationFunctionError> {
        let (label, request) = unit_request(cx, current)?;
        self.remove_interrupted(cx, life).await?;
        // A record naming a token Unit does not list (gone, or an id of
        // another service) is not a token to replace: nothing is minted.
        let listed = life
            .tokens()
            .list()
            .await
            .map_err(|e| cx.fail(FailureKind::ServiceError, format!("Unit: {e}")))?;
        if !listed.iter().any(|t| t.id.as_str() == current.token_id) {
            return Err(cx.invalid(format!(
                "Unit token {}, which the current version names, is not among the user's \
                 tokens: it is gone, or the record names another service's token",
                shown(&current.token_id)
            )));
        }
        let token = mint_marked(cx, life, current, &label, &request).await?;
        let meta = life.record_meta(&token, &request);
        Ok((token.token.clone(), meta))
    }

    /// Removes what an interrupted `createSecret` of this version minted,
    /// then mints the new Mailtrap token; says how to retire the old one.
    async fn mint_mailtrap(
        &self,
        cx: &Ctx<'_>,
        life: &MailtrapLifecycle,
        current: &SecretRecord,
    ) -> Result<(SecretString, SecretMeta, &'static str), RotationFunctionError> {
        let service = |e: Error| cx.fail(FailureKind::ServiceError, format!("Mailtrap: {e}"));
        let expiry = match expiration(cx, current)? {
            Some(at) => Expiry::At(at),
            None => Expiry::ServerDefault,
        };
        let old_id = current
            .token_id
            .parse::<u64>()
            .ok()
            .and_then(|n| mailtrap::TokenId::new(n).ok())
            .ok_or_else(|| cx.invalid("the record's token_id is not a Mailtrap token id"))?;
        self.remove_interrupted(cx, life).await?;
        let listed = life.list_typed().await.map_err(service)?;
        let Some(old) = listed.iter().find(|t| t.id == old_id) else {
            return Err(cx.invalid(format!(
                "Mailtrap token {old_id}, which the current version names, is gone: there are no permissions to copy"
            )));
        };
        let label = current
            .name
            .clone()
            .unwrap_or_else(|| Marker::label(&old.name).to_owned());
        checked_label(cx, Service::Mailtrap, &label)?;
        if self.mailtrap_method == MailtrapMethod::ResetForGrace {
            match life.tokens().reset(old_id, expiry).await {
                Ok(new) => return Ok((new.token.clone(), mailtrap_meta(&new, label), "grace")),
                // Reset already: a create follows.
                Err(e) if e.status() == Some(422) => {}
                // The reset may have made a token whose secret nobody
                // holds: removed, as a rotation removes its lost resets.
                Err(e) if e.is_outcome_unknown() => {
                    let earlier: Vec<mailtrap::TokenId> = listed.iter().map(|t| t.id).collect();
                    let note = match life.remove_resets_of(old, &earlier).await {
                        Ok(removed) => format!(
                            "{} token(s) the reset made removed; the old token may be in its \
                             grace period, and the next createSecret creates the new token",
                            removed.len()
                        ),
                        Err(r) => format!(
                            "the token the reset may have made could not be looked for ({r}): \
                             look for a token named {} and its id",
                            shown(&old.name)
                        ),
                    };
                    return Err(
                        cx.fail(FailureKind::ServiceError, format!("Mailtrap: {e}; {note}"))
                    );
                }
                Err(e) => return Err(service(e)),
            }
        }
        let request = mailtrap::CreateApiToken::new(label.clone())
            .permissions_from(old.permissions.iter().cloned())
            .expires(expiry);
        let token = mint_marked(cx, life, current, &label, &request).await?;
        Ok((token.token.clone(), mailtrap_meta(&token, label), "delete"))
    }

    /// Removes the tokens an earlier, interrupted `createSecret` of this
    /// version minted: their secrets were never stored.
    async fn remove_interrupted<O: Ops>(
        &self,
        cx: &Ctx<'_>,
        ops: &O,
    ) -> Result<(), RotationFunctionError> {
        let listed = ops
            .list_all()
            .await
            .map_err(|e| cx.fail(FailureKind::ServiceError, format!("{}: {e}", O::SERVICE)))?;
        for token in listed {
            if carries_marker_of(&token.text, cx.token()) {
                tracing::info!(service = %O::SERVICE, token_id = %token.id,
                    "removing a token an interrupted createSecret minted");
                ops.remove(&token.id).await.map_err(|e| {
                    cx.fail(FailureKind::ServiceError, format!("{}: {e}", O::SERVICE))
                })?;
            }
        }
        Ok(())
    }

    async fn remove(
        &self,
        cx: &Ctx<'_>,
        record: &SecretRecord,
        id: &str,
    ) -> Result<(), RotationFunctionError> {
        let result = match record.service {
            Service::Unit => self.unit_life(cx, record)?.retire_id(id).await,
            Service::Mailtrap => self.mailtrap_life(cx)?.retire_id(id).await,
        };
        result.map_err(|e| {
            cx.fail(
                FailureKind::ServiceError,
                format!("{}: {e}", record.service),
            )
        })
    }

    async fn test_secret(&self, cx: &Ctx<'_>) -> Result<String, RotationFunctionError> {
        let (_, pending) = self.record_of(cx, cx.token()).await?;
        checked_id(cx, pending.service, "token_id", &pending.token_id)?;
        let result = match pending.service {
            Service::Unit => self.unit_life(cx, &pending)?.probe(&pending.token).await,
            Service::Mailtrap => self.mailtrap_life(cx)?.probe(&pending.token).await,
        };
        result.map_err(|e| {
            cx.fail(
                FailureKind::TestFailed,
                format!(
                    "{} refused the secret of token {}: {e}",
                    pending.service, pending.token_id
                ),
            )
        })?;
        Ok(format!(
            "testSecret of {}: {} accepted the secret of token {}",
            cx.secret(),
            pending.service,
            pending.token_id
        ))
    }

    async fn finish_secret(
        &self,
        cx: &Ctx<'_>,
        versions: &Versions,
    ) -> Result<String, RotationFunctionError> {
        let (_, pending) = self.record_of(cx, cx.token()).await?;
        // All the record says of the move and the retirement is checked
        // before AWSCURRENT moves.
        let Finish { base, old, retire } = finish_of(cx, &pending)?;
        let current = versions.with(AWSCURRENT);
        if current != Some(cx.token()) {
            let moved = if current == Some(base.as_str()) {
                self.secret(cx)
                    .move_current(Some(&base), cx.token())
                    .await
                    .map_err(|e| cx.store(e))?
            } else {
                Moved::Superseded {
                    current: current.map(str::to_owned),
                }
            };
            if let Moved::Superseded { current } = moved {
                return Err(self.superseded(cx, &pending, current.as_deref()).await);
            }
        }
        self.secret(cx).remove_label(AWSPENDING, cx.token()).await;

        if retire == Retire::Grace {
            return Ok(format!(
                "finishSecret of {}: version {} is current; token {old} is left to its grace period",
                cx.secret(),
                cx.token()
            ));
        }
        self.remove(cx, &pending, &old).await?;
        Ok(format!(
            "finishSecret of {}: version {} (token {}) is current; old token {old} {}",
            cx.secret(),
            cx.token(),
            pending.token_id,
            if pending.service == Service::Unit {
                "revoked"
            } else {
                "deleted"
            }
        ))
    }

    /// Another version became current: removes this rotation's token and
    /// its label, and says so.
    async fn superseded(
        &self,
        cx: &Ctx<'_>,
        pending: &SecretRecord,
        current: Option<&str>,
    ) -> RotationFunctionError {
        self.secret(cx).remove_label(AWSPENDING, cx.token()).await;
        let removed = self.remove(cx, pending, &pending.token_id).await;
        let holder = current.map_or_else(|| "none".to_owned(), escaped);
        cx.fail(FailureKind::Superseded, match removed {
            Ok(()) => format!(
                "superseded: another rotation made version {holder} current first; this rotation's token {} was removed",
                pending.token_id
            ),
            Err(e) => format!(
                "superseded: another rotation made version {holder} current first; this rotation's token {} could not be removed ({e})",
                pending.token_id
            ),
        })
    }
}

/// How `finishSecret` retires the old token, as the pending record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retire {
    /// Unit: revoke it.
    Revoke,
    /// Mailtrap: delete it.
    Delete,
    /// Mailtrap, after a reset: leave it to its grace period.
    Grace,
}

/// What a pending record written by `createSecret` says `finishSecret`
/// does: move `AWSCURRENT` from version `base`, retire token `old` as
/// `retire` says.
struct Finish {
    base: String,
    old: String,
    retire: Retire,
}

/// The pending record's [`Finish`], every part checked: `base` a version
/// id, `old` (and the record's own `token_id`) a token id of its service,
/// `retire_old` a way that service retires a token (its service's default
/// when absent). Anything else is an
/// [`InvalidRecord`](FailureKind::InvalidRecord) failure, never read as
/// nothing to retire.
fn finish_of(cx: &Ctx<'_>, pending: &SecretRecord) -> Result<Finish, RotationFunctionError> {
    let text = |key: &str| pending.attributes.get(key).and_then(|v| v.as_str());
    let base = text(REPLACES_VERSION).ok_or_else(|| {
        cx.invalid("the version was not written by createSecret: it names no version it replaces")
    })?;
    if !is_version_id(base) {
        return Err(cx.invalid(format!(
            "the record's {REPLACES_VERSION} {} is not a version id",
            shown(base)
        )));
    }
    checked_id(cx, pending.service, "token_id", &pending.token_id)?;
    let old = text(REPLACES).ok_or_else(|| {
        cx.invalid(format!(
            "the version was not written by createSecret: it names no {REPLACES}"
        ))
    })?;
    checked_id(cx, pending.service, REPLACES, old)?;
    let retire = match (pending.service, pending.attributes.get(RETIRE)) {
        (Service::Unit, None) => Retire::Revoke,
        (Service::Mailtrap, None) => Retire::Delete,
        (service, Some(value)) => match (service, value.as_str()) {
            (Service::Unit, Some("revoke")) => Retire::Revoke,
            (Service::Mailtrap, Some("delete")) => Retire::Delete,
            (Service::Mailtrap, Some("grace")) => Retire::Grace,
            _ => {
                return Err(cx.invalid(format!(
                    "the record's {RETIRE} is not how a {service} token is retired ({})",
                    if service == Service::Unit {
                        "revoke"
                    } else {
                        "delete or grace"
                    }
                )));
            }
        },
    };
    Ok(Finish {
        base: base.to_owned(),
        old: old.to_owned(),
        retire,
    })
}

/// Whether `text` can be a version id (a `ClientRequestToken`): 32 to 64
/// visible ASCII characters.
fn is_version_id(text: &str) -> bool {
    (32..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic())
}

/// Mints `request` once, through the lifecycle, as the token that
/// replaces `current`'s token, labelled `label`: its text carries the
/// marker derived from the version being created, by which a retried
/// `createSecret` finds it.
async fn mint_marked<S: TokenService>(
    cx: &Ctx<'_>,
    life: &Lifecycle<S>,
    current: &SecretRecord,
    label: &str,
    request: &S::Create,
) -> Result<S::New, RotationFunctionError> {
    let service = |e: Error| cx.fail(FailureKind::ServiceError, format!("{}: {e}", S::SERVICE));
    let marker = marker_for(cx.token(), &current.token_id).map_err(|e| {
        cx.invalid(format!(
            "the record's token_id cannot be named in the new token's marker: {e}"
        ))
    })?;
    let minted = life
        .mint_marked(request, label, || marker.clone())
        .await
        .map_err(service)?;
    Ok(minted.token)
}

/// What the record of a new Mailtrap token `new`, labelled `label`, says
/// of it.
fn mailtrap_meta(new: &mailtrap::NewApiToken, label: String) -> SecretMeta {
    SecretMeta::new(Service::Mailtrap, new.id.to_string())
        .with_name(label)
        .with_expires_at(new.expires_at)
}

/// The record's `resources`, when the token is restricted to some: a list
/// of `{"type", "ids"}`; an empty or malformed one is refused, never read
/// as no restriction.
fn resources(
    cx: &Ctx<'_>,
    record: &SecretRecord,
) -> Result<Option<Vec<ResourceRestriction>>, RotationFunctionError> {
    let Some(value) = record.attributes.get("resources") else {
        return Ok(None);
    };
    let refused =
        || cx.invalid("the record's resources are not a list of {\"type\", \"ids\"} objects");
    let list = value
        .as_array()
        .filter(|l| !l.is_empty())
        .ok_or_else(refused)?;
    list.iter()
        .map(|item| {
            let kind = item.get("type").and_then(|t| t.as_str());
            let ids = item.get("ids").and_then(|i| i.as_array());
            match (kind, ids) {
                (Some(kind), Some(ids)) if !ids.is_empty() => {
                    let ids = ids
                        .iter()
                        .map(|id| id.as_str().map(str::to_owned).ok_or_else(refused))
                        .collect::<Result<Vec<String>, _>>()?;
                    let kind = match kind.parse::<ResourceType>() {
                        Ok(ResourceType::Other(_)) | Err(_) => {
                            return Err(cx.invalid(format!(
                                "the record's resources name the type {}, which is not one Unit \
                                 knows (card or account)",
                                shown(kind)
                            )));
                        }
                        Ok(kind) => kind,
                    };
                    Ok(ResourceRestriction::new(kind, ids))
                }
                _ => Err(refused()),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The label and the create request of the token that replaces the Unit
/// token of `current`: its user's token with the record's scopes, source
/// addresses, resource restrictions and lifetime. A record without scopes
/// or lifetime, or with a value that is not one, is an
/// [`InvalidRecord`](FailureKind::InvalidRecord) failure: no default is
/// guessed for what the record does not say.
fn unit_request(
    cx: &Ctx<'_>,
    current: &SecretRecord,
) -> Result<(String, unit::CreateApiToken), RotationFunctionError> {
    let scopes = scopes_of(cx, current)?;
    let source_ips: Vec<SourceIp> =
        list_of(cx, current, "source_ips", "addresses or ranges")?.unwrap_or_default();
    let expiration = expiration(cx, current)?.ok_or_else(|| {
            cx.invalid(
                "the record names no lifetime_secs: write it with `api-tokens unit create` or `unit rotate` `--secret-to aws-sm:NAME`, which record it",
            )
        })?;
    let label = current.name.clone().ok_or_else(|| {
        cx.invalid(
            "the record names no name (the token's description): write it with `api-tokens unit create` or `unit rotate` `--secret-to aws-sm:NAME`, which record it",
        )
    })?;
    checked_label(cx, Service::Unit, &label)?;
    let mut request =
        unit::CreateApiToken::new(label.clone(), scopes, expiration).source_ips(source_ips);
    if let Some(resources) = resources(cx, current)? {
        request = request.resources(resources);
    }
    // What the client would refuse (an address, a resource id), refused
    // here as the record's fault, before anything is sent.
    request
        .to_wire(Utc::now())
        .map_err(|e| cx.invalid(format!("the record cannot be sent to Unit: {e}")))?;
    Ok((label, request))
}

/// Whether `label`, the record's `name` (or the old token's name on the
/// service), can label the new token as the lifecycle's own mints require:
/// not blank, on one line, not ending with something shaped like a marker,
/// not too long for Mailtrap. The rotation function mints through
/// `mint_marked`, which does not check it.
fn checked_label(cx: &Ctx<'_>, service: Service, label: &str) -> Result<(), RotationFunctionError> {
    crate::lifecycle::mint::check_label(service, "name", label).map_err(|e| {
        cx.invalid(format!(
            "the record's name cannot label a {service} token: {e}"
        ))
    })
}

/// `id`, the record's `field`, when it is a token id of `service`: it is
/// sent in requests and shown in messages.
fn checked_id<'r>(
    cx: &Ctx<'_>,
    service: Service,
    field: &str,
    id: &'r str,
) -> Result<&'r str, RotationFunctionError> {
    let valid = match service {
        Service::Unit => id.parse::<unit::TokenId>().is_ok(),
        Service::Mailtrap => id.parse::<mailtrap::TokenId>().is_ok(),
    };
    if valid {
        Ok(id)
    } else {
        Err(cx.invalid(format!(
            "the record's {field} {} is not a {service} token id",
            shown(id)
        )))
    }
}

/// The record's `scopes`: a list of scopes this version of the crate
/// knows. A missing or empty list, an item that is not text, or a scope
/// Unit does not know (`Scope`'s parsing keeps unknown names, for what
/// Unit answers; a record is what will be sent) is an
/// [`InvalidRecord`](FailureKind::InvalidRecord) failure, naming the
/// field and the value: nothing is minted with a scope the record
/// misspells.
fn scopes_of(cx: &Ctx<'_>, record: &SecretRecord) -> Result<Vec<Scope>, RotationFunctionError> {
    let scopes = crate::lifecycle::mint::unit_record_scopes(record.attributes.get("scopes"))
        .map_err(|reason| cx.invalid(reason))?;
    if scopes.is_empty() {
        return Err(cx.invalid(
            "the record names no scopes: write it with `api-tokens unit create` or `unit rotate` `--secret-to aws-sm:NAME`, which record them",
        ));
    }
    Ok(scopes)
}

/// `text` (data from a record, the event or a service, never a secret) as
/// an error may show it: escaped, in backquotes, at most 64 characters.
fn shown(text: &str) -> String {
    format!("`{}`", escaped_to(text, 64))
}

/// A name from the event as an error shows it: escaped, at most 2048
/// characters (a valid `SecretId` is shown whole).
fn escaped(text: &str) -> String {
    escaped_to(text, 2048)
}

/// `text`, escaped, its first `max` characters and `…` when it is longer.
fn escaped_to(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// The record's list `key` of `what`, each value parsed from its text;
/// `None` when the record has no such key (or `null`). A value that is not
/// a list, or an item that does not parse, is an
/// [`InvalidRecord`](FailureKind::InvalidRecord) failure: never read as
/// an empty list, which for `source_ips` would mean no restriction.
fn list_of<T: std::str::FromStr>(
    cx: &Ctx<'_>,
    record: &SecretRecord,
    key: &str,
    what: &str,
) -> Result<Option<Vec<T>>, RotationFunctionError> {
    let value = match record.attributes.get(key) {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(value) => value,
    };
    let refused = || cx.invalid(format!("the record's {key} is not a list of {what}"));
    value
        .as_array()
        .ok_or_else(refused)?
        .iter()
        .map(|v| v.as_str().and_then(|s| s.parse().ok()).ok_or_else(refused))
        .collect::<Result<_, _>>()
        .map(Some)
}

/// When a token minted now with the record's `lifetime_secs` expires, when
/// the record has one; a lifetime that is not a positive number of seconds,
/// or too long for a date (network data, checked as a user's span is), is
/// an [`InvalidRecord`](FailureKind::InvalidRecord) failure.
fn expiration(
    cx: &Ctx<'_>,
    record: &SecretRecord,
) -> Result<Option<DateTime<Utc>>, RotationFunctionError> {
    let secs = match record.attributes.get("lifetime_secs") {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(v) => v.as_u64().filter(|s| *s > 0).ok_or_else(|| {
            cx.invalid("the record's lifetime_secs is not a positive number of seconds")
        })?,
    };
    crate::time::checked_span("lifetime_secs", std::time::Duration::from_secs(secs))
        .and_then(|span| crate::time::shifted("lifetime_secs", Utc::now(), span))
        .map(Some)
        .map_err(|e| cx.invalid(format!("the record's lifetime is impossible: {e}")))
}

/// The pending version a `createSecret` puts, as a sink: what the engine
/// stores a fresh token's record in (or removes the token when it cannot).
struct PendingVersion<'a> {
    secret: Secret<'a>,
    version: &'a str,
    name: &'a str,
}

#[async_trait]
impl SecretSink for PendingVersion<'_> {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        self.secret
            .put_pending(&SecretRecord::new(secret, meta), self.version)
            .await
            .map_err(|e| SinkError::other(self.describe(), e))
    }

    fn describe(&self) -> String {
        format!("version {} of aws-sm:{}", self.version, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_of_a_version_are_found_and_others_are_not() {
        let marker = marker_for("7f0c3a52-5b6e-4d43-9a3e-2d1b0c9e8f71", "19").unwrap();
        assert_eq!(marker.replaces(), Some("19"));
        let name = marker.tag("CI deploy");
        assert!(carries_marker_of(
            &name,
            "7f0c3a52-5b6e-4d43-9a3e-2d1b0c9e8f71"
        ));
        assert!(!carries_marker_of(&name, "another-token"));
        assert!(!carries_marker_of(
            &Marker::replacing("19").tag("CI deploy"),
            "7f0c3a52-5b6e-4d43-9a3e-2d1b0c9e8f71"
        ));
        assert!(!carries_marker_of(
            "CI deploy",
            "7f0c3a52-5b6e-4d43-9a3e-2d1b0c9e8f71"
        ));
    }

    fn create_event() -> RotationEvent {
        serde_json::from_str(
            r#"{"SecretId":"ci/unit","ClientRequestToken":"t","Step":"createSecret"}"#,
        )
        .unwrap()
    }

    fn unit_record(extra: &str) -> SecretRecord {
        SecretRecord::from_json(&format!(
            r#"{{"token":"v2.public.x","service":"unit","token_id":"42","name":"CI deploy",
                "user_id":"2","scopes":["customers"],"source_ips":["10.0.0.0/8"]{extra}}}"#
        ))
        .unwrap()
    }

    /// Issue 27, item 4: a Unit record without `lifetime_secs` is refused,
    /// naming the field, not minted again with a lifetime of 90 days.
    #[test]
    fn a_unit_record_without_a_lifetime_is_an_invalid_record() {
        let event = create_event();
        let cx = Ctx { event: &event };
        let err = unit_request(&cx, &unit_record("")).unwrap_err();
        assert_eq!(err.kind, FailureKind::InvalidRecord, "{err}");
        assert!(err.to_string().contains("lifetime_secs"), "{err}");

        let (label, request) =
            unit_request(&cx, &unit_record(r#","lifetime_secs":86400"#)).unwrap();
        assert_eq!(label, "CI deploy");
        let lifetime = request.expiration() - Utc::now();
        assert!((lifetime.num_seconds() - 86_400).abs() <= 5, "{lifetime}");
        assert_eq!(request.allowed_ips().len(), 1);
    }

    /// A record is sent to Unit: a scope it names that Unit does not know
    /// (`customerz`) is refused, naming the field and the value escaped,
    /// never minted; so is an empty list, or an item that is no scope.
    #[test]
    fn an_unknown_scope_in_a_record_is_an_invalid_record() {
        let event = create_event();
        let cx = Ctx { event: &event };
        for (bad, named) in [
            (serde_json::json!(["customerz"]), Some("`customerz`")),
            (serde_json::json!(["customers", "loans"]), Some("`loans`")),
            (
                serde_json::json!(["cust\u{1b}[31m"]),
                Some("`cust\\u{1b}[31m`"),
            ),
            (serde_json::json!(["Customers"]), Some("`Customers`")),
            (serde_json::json!([]), None),
            (serde_json::json!([7]), None),
            (serde_json::json!("customers"), None),
        ] {
            let mut record = unit_record(r#","lifetime_secs":86400"#);
            record.attributes.insert("scopes".to_owned(), bad.clone());
            let err = unit_request(&cx, &record).unwrap_err();
            assert_eq!(err.kind, FailureKind::InvalidRecord, "{bad}: {err}");
            let text = err.to_string();
            assert!(text.contains("scopes"), "{bad}: {text}");
            if let Some(named) = named {
                assert!(text.contains(named), "{bad}: {text}");
            }
            assert!(!text.contains('\u{1b}'), "{bad}: {text}");
            assert!(!text.contains("v2.public.x"), "{bad}: {text}");
        }
        let (_, request) = unit_request(&cx, &unit_record(r#","lifetime_secs":86400"#)).unwrap();
        assert_eq!(request.scopes(), [Scope::Customers]);
    }

    /// An event handed to `handle` whose names Secrets Manager could not
    /// have sent is refused as `InvalidEvent` before any request, and the
    /// error shows them escaped: a line break in a `SecretId` cannot forge
    /// a log line.
    #[tokio::test]
    async fn an_event_secrets_manager_could_not_send_is_refused_escaped() {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let function = RotationFunction::new(Client::from_conf(config));
        let token = "7f0c3a52-5b6e-4d43-9a3e-2d1b0c9e8f71";
        for (secret, version, named) in [
            ("ci/unit\nforged line", token, "SecretId"),
            ("", token, "SecretId"),
            ("ci/unit", "t", "ClientRequestToken"),
            (
                "ci/unit",
                "7f0c3a52-5b6e-4d43-9a3e-2d1b0c9e8f71\u{1b}[2K",
                "ClientRequestToken",
            ),
        ] {
            let event = RotationEvent::new(secret, version, RotationStep::FinishSecret);
            let err = function.handle(&event).await.unwrap_err();
            assert_eq!(err.kind(), FailureKind::InvalidEvent, "{err}");
            let text = err.to_string();
            assert!(text.contains(named), "{text}");
            assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text}");
            assert!(RotationEvent::from_value(serde_json::to_value(&event).unwrap()).is_err());
        }
        let valid = RotationEvent::new("ci/unit", token, RotationStep::CreateSecret);
        let back = RotationEvent::from_value(serde_json::to_value(&valid).unwrap()).unwrap();
        assert_eq!(back, valid);
        let err = RotationEvent::from_value(serde_json::json!({
            "SecretId": "ci/unit", "ClientRequestToken": token, "Step": "s3cr3t-step",
        }))
        .unwrap_err();
        assert_eq!(err.kind(), FailureKind::InvalidEvent);
        assert!(err.to_string().contains("`Step`"), "{err}");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }

    /// The record's name labels the new token: one the lifecycle's own
    /// mints would refuse (none, blank, on two lines, ending with a
    /// marker) is an invalid record, never a token described by its
    /// marker alone or by forged text.
    #[test]
    fn a_name_that_cannot_label_a_token_is_an_invalid_record() {
        let event = create_event();
        let cx = Ctx { event: &event };
        for name in [
            None,
            Some(""),
            Some("   "),
            Some("CI\ndeploy"),
            Some("CI deploy [at:t4k2ab-7f3k9q2m from:41]"),
        ] {
            let mut record = unit_record(r#","lifetime_secs":86400"#);
            record.name = name.map(str::to_owned);
            let err = unit_request(&cx, &record).unwrap_err();
            assert_eq!(err.kind, FailureKind::InvalidRecord, "{name:?}: {err}");
            assert!(err.to_string().contains("name"), "{name:?}: {err}");
        }
    }

    /// A record's resources are sent to Unit: a type Unit does not know,
    /// or an id that is not one, is an invalid record, found before
    /// anything is sent (not a service error after the interrupted run's
    /// tokens were looked for).
    #[test]
    fn resources_unit_would_refuse_are_an_invalid_record() {
        let event = create_event();
        let cx = Ctx { event: &event };
        for (bad, named) in [
            (
                serde_json::json!([{"type": "accountz", "ids": ["10005"]}]),
                "`accountz`",
            ),
            (
                serde_json::json!([{"type": "account", "ids": ["abc"]}]),
                "`abc`",
            ),
            (serde_json::json!([{"type": "card", "ids": ["0"]}]), "`0`"),
        ] {
            let mut record = unit_record(r#","lifetime_secs":86400"#);
            record
                .attributes
                .insert("resources".to_owned(), bad.clone());
            let err = unit_request(&cx, &record).unwrap_err();
            assert_eq!(err.kind, FailureKind::InvalidRecord, "{bad}: {err}");
            assert!(err.to_string().contains(named), "{bad}: {err}");
        }
        let mut record = unit_record(r#","lifetime_secs":86400"#);
        record.attributes.insert(
            "resources".to_owned(),
            serde_json::json!([{"type": "account", "ids": ["10005"]}]),
        );
        assert!(unit_request(&cx, &record).is_ok());
    }

    /// A `source_ips` that is not a list of addresses (network data) is an
    /// invalid record, never read as no restriction; none at all is none.
    #[test]
    fn a_malformed_list_is_an_invalid_record() {
        let event = create_event();
        let cx = Ctx { event: &event };
        for bad in [
            serde_json::json!("10.0.0.0/8"),
            serde_json::json!({"0": "10.0.0.0/8"}),
            serde_json::json!(["not an address"]),
            serde_json::json!([10]),
        ] {
            let mut record = unit_record(r#","lifetime_secs":86400"#);
            record
                .attributes
                .insert("source_ips".to_owned(), bad.clone());
            let err = unit_request(&cx, &record).unwrap_err();
            assert_eq!(err.kind, FailureKind::InvalidRecord, "{bad}: {err}");
            assert!(err.to_string().contains("source_ips"), "{bad}: {err}");
        }
        let mut record = unit_record(r#","lifetime_secs":86400"#);
        record.attributes.remove("source_ips");
        let (_, request) = unit_request(&cx, &record).unwrap();
        assert!(request.allowed_ips().is_empty());
    }

    /// Issue 27, item 5: a lifetime too long for a date (network data)
    /// is an invalid record, never a panic; nor is any other that is not a
    /// positive number of seconds.
    #[test]
    fn an_impossible_lifetime_is_an_invalid_record() {
        let event = create_event();
        let cx = Ctx { event: &event };
        let past_max = (crate::time::MAX_SPAN.num_seconds() + 1).to_string();
        for lifetime in [
            past_max.as_str(),
            "9223372036854775807",
            "18446744073709551615",
            "9223372036854775",
            "0",
            "-1",
            "1.5",
            r#""86400""#,
        ] {
            let record = unit_record(&format!(r#","lifetime_secs":{lifetime}"#));
            let err = std::panic::catch_unwind(|| unit_request(&cx, &record))
                .unwrap_or_else(|_| panic!("{lifetime}: panicked"))
                .unwrap_err();
            assert_eq!(err.kind, FailureKind::InvalidRecord, "{lifetime}: {err}");
            assert!(err.to_string().contains("lifetime"), "{lifetime}: {err}");
            let err = expiration(&cx, &record).unwrap_err();
            assert_eq!(err.kind, FailureKind::InvalidRecord, "{lifetime}: {err}");
        }
    }
}
