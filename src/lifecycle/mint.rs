//! Mint exactly once: a create tagged with a [`Marker`], reconciled by
//! listing when its answer is lost.

use std::future::Future;

use secrecy::SecretString;

use super::marker::Marker;
use super::token_ref::TokenRef;
use crate::error::{Error, Result, Service};

/// How many creates one exactly-once mint sends at most: each create whose
/// answer is lost is found and removed before the next is sent.
pub const MAX_MINTS: u32 = 3;

/// A token minted exactly once: the dialect's new token with its secret
/// (`token`), the marker it carries, and the tokens removed on the way
/// (those minted by creates whose answers were lost).
///
/// Its `Debug` never shows the secret (the dialects' `NewApiToken` redact
/// it).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Minted<T> {
    /// The new token: from [`mint`](super::Lifecycle::mint), with its
    /// secret, shown this once (store it now); from
    /// [`mint_stored`](super::Lifecycle::mint_stored), its details only,
    /// the secret being in the sink.
    pub token: T,
    /// The marker at the end of its description (Unit) or name
    /// (Mailtrap).
    pub marker: Marker,
    /// How many creates were sent (1 unless answers were lost).
    pub attempts: u32,
    /// Tokens minted by earlier creates of this call whose answers were
    /// lost, found by their markers and removed.
    pub removed: Vec<TokenRef>,
    /// The markers of earlier creates of this call whose answers were lost
    /// and whose tokens were not listed, neither at once nor once this
    /// call's token was minted: most likely never made, but a create still
    /// under way at the service may yet make one, which
    /// [`Reconcile::marker`](super::Reconcile::marker) (`api-tokens
    /// reconcile --marker`) removes. Empty unless answers were lost.
    pub unconfirmed: Vec<Marker>,
}

/// What a token id is to the lifecycle: ordered as the service numbers
/// its tokens (in increasing order, so a lower id is an older token),
/// shown, compared and sent across tasks.
pub trait TokenKey: Clone + Eq + Ord + std::fmt::Display + std::fmt::Debug + Send + Sync {}

impl<T: Clone + Eq + Ord + std::fmt::Display + std::fmt::Debug + Send + Sync> TokenKey for T {}

/// A token as the lifecycle sees any service's list: its id (the
/// service's own type: ids are erased only in reports), the text that may
/// carry a marker, and its expiry.
#[derive(Debug, Clone)]
pub struct Listed<I = String> {
    pub id: I,
    pub text: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl<I: TokenKey> Listed<I> {
    /// The marker that ends its description or name, if any (a checked
    /// one, or one of release 0.2.0).
    pub fn marker(&self) -> Option<Marker> {
        Marker::find(&self.text)
    }

    /// The marker that ends its description or name when it carries a
    /// valid check: the only markers swept by age or taken for a
    /// rotation's replacement.
    pub fn checked_marker(&self) -> Option<Marker> {
        self.marker().filter(Marker::is_checked)
    }

    pub fn to_ref(&self, service: Service) -> TokenRef {
        TokenRef::new(service, self.id.to_string(), Some(self.text.clone()))
    }
}

/// What the lifecycle needs of a service beyond its create.
pub(crate) trait Ops: Sync {
    const SERVICE: Service;
    /// The service's token id.
    type Id: TokenKey;

    /// Every token, as listed.
    fn list_all(&self) -> impl Future<Output = Result<Vec<Listed<Self::Id>>>> + Send;

    /// Revokes or deletes a token; one already gone counts as removed.
    fn remove(&self, id: &Self::Id) -> impl Future<Output = Result<()>> + Send;

    /// Proves that `secret` is accepted: a call made with it is answered
    /// (a 403 counts, since the secret was recognised).
    fn probe(&self, secret: &SecretString) -> impl Future<Output = Result<()>> + Send;
}

/// A new token as a create or reset answers it, for the lifecycle.
pub trait Fresh {
    /// The service's token id.
    type Id: TokenKey;
    fn id(&self) -> &Self::Id;
    fn text(&self) -> &str;
    fn secret(&self) -> &SecretString;
    fn expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>>;
}

impl Fresh for crate::unit::NewApiToken {
    type Id = crate::unit::TokenId;
    fn id(&self) -> &Self::Id {
        &self.id
    }
    fn text(&self) -> &str {
        self.description.as_deref().unwrap_or("")
    }
    fn secret(&self) -> &SecretString {
        &self.token
    }
    fn expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.expiration
    }
}

impl Fresh for crate::mailtrap::NewApiToken {
    type Id = crate::mailtrap::TokenId;
    fn id(&self) -> &Self::Id {
        &self.id
    }
    fn text(&self) -> &str {
        &self.name
    }
    fn secret(&self) -> &SecretString {
        &self.token
    }
    fn expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.expires_at
    }
}

/// Removes every token that carries `marker`, and says which.
pub(crate) async fn remove_marked<O: Ops>(ops: &O, marker: &Marker) -> Result<Vec<TokenRef>> {
    let mut removed = Vec::new();
    for token in ops.list_all().await? {
        if token.marker().as_ref() == Some(marker) {
            ops.remove(&token.id).await?;
            removed.push(token.to_ref(O::SERVICE));
        }
    }
    Ok(removed)
}

/// Refuses, before any request, a label that [`mint`](super::UnitLifecycle::mint)
/// cannot tag: blank, holding a control character (a line break, a tab:
/// the rule a tokens file applies to its labels), shaped like a marker, or
/// (on Mailtrap) longer than
/// [`MAX_LABEL_CHARS`](super::marker::MAX_LABEL_CHARS), so that the label
/// with its marker stays within the 255 characters the service accepts.
pub(crate) fn check_label(service: Service, field: &'static str, label: &str) -> Result<()> {
    if label.trim().is_empty() {
        return Err(Error::invalid(
            field,
            "the label is empty or blank; give the text the token's marker is added to",
        ));
    }
    if label.trim().chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "the label holds a control character (such as a line break); give it on one line",
        ));
    }
    if Marker::looks_like_marker(label) {
        return Err(Error::invalid(
            field,
            "the label ends with something shaped like a marker (`[at:…]`); markers are \
             added by the lifecycle and cannot be given",
        ));
    }
    let chars = label.trim().chars().count();
    if service == Service::Mailtrap && chars > super::marker::MAX_LABEL_CHARS {
        return Err(Error::invalid(
            field,
            format!(
                "the label has {chars} characters; at most {} are accepted, since its marker \
                 takes up to {} of the {} characters Mailtrap accepts in a name",
                super::marker::MAX_LABEL_CHARS,
                super::marker::MAX_MARKER_CHARS + 1,
                crate::mailtrap::MAX_NAME_CHARS
            ),
        ));
    }
    Ok(())
}

/// The exactly-once mint: sends `create` with the name or description
/// `label` tagged with a fresh marker from `new_marker`; when the answer
/// is lost, removes what the create made (found by its marker) and sends
/// it again, at most [`MAX_MINTS`] times; when the answer came but could
/// not be read, removes what the create made and fails with why. Only a token carrying this
/// call's own marker is ever removed: another run's token, in flight or
/// not, is never touched.
pub(crate) async fn mint_once<O, T, F, Fut>(
    ops: &O,
    label: &str,
    new_marker: impl Fn() -> Marker,
    create: F,
) -> Result<Minted<T>>
where
    O: Ops,
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut removed = Vec::new();
    let mut unconfirmed: Vec<Marker> = Vec::new();
    let mut last_cause = None;
    for attempt in 1..=MAX_MINTS {
        let marker = new_marker().bound_to(label);
        match create(marker.tag(label)).await {
            Ok(token) => {
                // A lost create whose token was not listed may have been
                // still under way: look once more now that this one has
                // answered, and remove what appeared.
                if !unconfirmed.is_empty() {
                    if let Ok(listed) = ops.list_all().await {
                        for t in listed {
                            let Some(m) = t.marker() else { continue };
                            if unconfirmed.contains(&m) && ops.remove(&t.id).await.is_ok() {
                                unconfirmed.retain(|u| *u != m);
                                removed.push(t.to_ref(O::SERVICE));
                            }
                        }
                    }
                    for m in &unconfirmed {
                        tracing::warn!(service = %O::SERVICE, marker = %m,
                            "a create whose answer was lost made no token that could be listed; \
                             one may still appear, carrying this marker");
                    }
                }
                return Ok(Minted {
                    token,
                    marker,
                    attempts: attempt,
                    removed,
                    unconfirmed,
                });
            }
            Err(Error::OutcomeUnknown { operation, cause }) => {
                tracing::warn!(
                    service = %O::SERVICE,
                    attempt,
                    %marker,
                    "a create lost its answer; looking for the token it may have minted"
                );
                match remove_marked(ops, &marker).await {
                    Ok(found) => {
                        if unreadable_success(&cause) {
                            // The service answered and its answer could not
                            // be read: it would answer the same again, so
                            // what it made is removed and nothing is sent
                            // again.
                            tracing::warn!(service = %O::SERVICE, removed = found.len(),
                                "a create's answer could not be read; the token it made was \
                                 removed and no other create is sent");
                            return Err(*cause);
                        }
                        if found.is_empty() {
                            unconfirmed.push(marker.clone());
                        }
                        removed.extend(found);
                        last_cause = Some(*cause);
                    }
                    Err(e) => {
                        return Err(Error::Unreconciled {
                            operation,
                            marker: Some(marker.to_string()),
                            cause: Box::new(e),
                        });
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    // Every create lost its answer, and what each made and could be listed
    // was removed. A create whose token could not be listed may still make
    // one: then the outcome is unknown, and the markers say what to look
    // for; otherwise no token is left, which the last cause reports.
    let cause = last_cause.unwrap_or_else(|| Error::invalid("attempts", "no create was sent"));
    if unconfirmed.is_empty() {
        return Err(cause);
    }
    let markers: Vec<String> = unconfirmed.iter().map(ToString::to_string).collect();
    Err(Error::Unreconciled {
        operation: "create",
        marker: Some(markers.join(", ")),
        cause: Box::new(cause),
    })
}

/// Why [`mint_into`](super::UnitLifecycle::mint_into) did not leave a
/// stored secret. Neither variant holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MintIntoError {
    /// The sink's [`check`](super::SecretSink::check) failed before
    /// anything was sent: no token was minted.
    #[error("the secret sink cannot take a secret, so nothing was minted: {0}")]
    Check(#[source] super::sink::SinkError),
    /// The exactly-once create failed: no token was minted, unless the
    /// error is [`Error::Unreconciled`] (a token carrying its marker may
    /// exist).
    #[error(transparent)]
    Mint(#[from] Error),
    /// The token was minted but the sink could not store its secret.
    #[error(
        "{} token {} was minted but its secret could not be stored: {source}; {}",
        .token.service,
        .token.id,
        StoreOutcome(*.outcome)
    )]
    Store {
        /// The token minted.
        token: TokenRef,
        /// What became of it.
        outcome: Unstored,
        /// What the sink said.
        #[source]
        source: super::sink::SinkError,
    },
}

/// What became of a token whose secret a sink could not store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unstored {
    /// It was removed: nothing is left.
    Removed,
    /// The sink reports the secret written despite its error
    /// ([`SinkError::secret_written`](super::sink::SinkError::secret_written)):
    /// the token is kept.
    KeptAsWritten,
    /// Its removal failed: it is an orphan, carrying the token's marker.
    Orphan,
}

struct StoreOutcome(Unstored);

impl std::fmt::Display for StoreOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Unstored::Removed => "the token was removed",
            Unstored::KeptAsWritten => "the sink reports the secret written, so the token was kept",
            Unstored::Orphan => "the token could not be removed and nobody holds its secret",
        })
    }
}

/// Hands a minted token's secret to `sink`; removes the token if the sink
/// fails without writing it.
pub(crate) async fn store_minted<O: Ops, T: Fresh<Id = O::Id>>(
    ops: &O,
    sink: &dyn super::sink::SecretSink,
    minted: Minted<T>,
) -> std::result::Result<TokenRef, MintIntoError> {
    let token = &minted.token;
    let meta = super::sink::SecretMeta::new(O::SERVICE, token.id().to_string())
        .with_name(token.text().to_owned())
        .with_expires_at(token.expires_at());
    store_or_remove(ops, token.id(), token.secret(), &meta, sink).await?;
    Ok(TokenRef::new(
        O::SERVICE,
        token.id().to_string(),
        Some(token.text().to_owned()),
    ))
}

/// Hands the secret of the fresh token `id` to `sink` as `meta` says;
/// when the sink fails without writing it, removes the token (nobody would
/// hold its secret) and says what became of it. The one store-or-remove
/// of every path that mints.
pub(crate) async fn store_or_remove<O: Ops>(
    ops: &O,
    id: &O::Id,
    secret: &SecretString,
    meta: &super::sink::SecretMeta,
    sink: &dyn super::sink::SecretSink,
) -> std::result::Result<(), MintIntoError> {
    let Err(source) = super::sink::store_read_back(sink, secret, meta).await else {
        return Ok(());
    };
    let outcome = if source.secret_written() {
        Unstored::KeptAsWritten
    } else {
        match ops.remove(id).await {
            Ok(()) => Unstored::Removed,
            Err(e) => {
                tracing::warn!(service = %O::SERVICE, token_id = %id, error = %e,
                    "a token whose secret could not be stored could not be removed");
                Unstored::Orphan
            }
        }
    };
    Err(MintIntoError::Store {
        token: TokenRef::new(
            O::SERVICE,
            id.to_string(),
            meta.full_name().map(str::to_owned),
        ),
        outcome,
        source,
    })
}

/// A sink that adds attributes to what it is told (and, when `name` is
/// given, names the token so), then hands the secret on: the record then
/// holds what the next rotation needs to mint again, under a stable name.
pub(crate) struct WithAttributes<'a> {
    pub inner: &'a dyn super::sink::SecretSink,
    pub attributes: Vec<(&'static str, serde_json::Value)>,
    pub name: Option<String>,
}

#[super::sink::async_trait]
impl super::sink::SecretSink for WithAttributes<'_> {
    async fn store(
        &self,
        secret: &SecretString,
        meta: &super::sink::SecretMeta,
    ) -> std::result::Result<(), super::sink::SinkError> {
        let mut meta = meta.clone();
        if let Some(name) = &self.name {
            meta = meta.with_name(name.clone());
        }
        for (k, v) in &self.attributes {
            meta = meta.with_attribute(*k, v.clone());
        }
        self.inner.store(secret, &meta).await
    }

    async fn check(&self) -> std::result::Result<(), super::sink::SinkError> {
        self.inner.check().await
    }

    async fn current(&self) -> std::result::Result<Option<SecretString>, super::sink::SinkError> {
        self.inner.current().await
    }

    async fn current_meta(
        &self,
    ) -> std::result::Result<Option<super::sink::SecretMeta>, super::sink::SinkError> {
        self.inner.current_meta().await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn writer_lock(&self) -> Option<super::sink::WriterLock> {
        self.inner.writer_lock()
    }
}

/// The attributes of the record of a Unit token of `user` created by
/// `request`: `user_id`, `scopes`, `source_ips`, `lifetime_secs` (the time
/// from now to the request's expiration, to the nearest second), and
/// `resources` when the token is restricted to some (`[{"type":
/// "account", "ids": ["10005"]}]`), so that the token minted again from
/// the record is the same token.
pub(crate) fn unit_record_attributes(
    user: &crate::unit::UserId,
    request: &crate::unit::CreateApiToken,
) -> Vec<(&'static str, serde_json::Value)> {
    let lifetime = ((request.expiration() - chrono::Utc::now())
        .num_milliseconds()
        .max(0)
        + 500)
        / 1000;
    let resources = request.restrictions().map(|list| {
        list.iter()
            .map(|r| {
                serde_json::json!({
                    "type": r.kind().as_str(),
                    "ids": r.ids(),
                })
            })
            .collect::<serde_json::Value>()
    });
    let strings = |items: Vec<String>| items.into_iter().map(serde_json::Value::from).collect();
    let mut attributes = vec![
        ("user_id", user.to_string().into()),
        (
            "scopes",
            strings(request.scopes().iter().map(ToString::to_string).collect()),
        ),
        (
            "source_ips",
            strings(
                request
                    .allowed_ips()
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            ),
        ),
        ("lifetime_secs", lifetime.into()),
    ];
    attributes.extend(resources.map(|r| ("resources", r)));
    attributes
}

/// The scopes a Unit token's record keeps ([`unit_record_attributes`]'s
/// `scopes`): a list of scopes this version knows. `Err` says why not,
/// `Ok` of an empty list when the record names none: a missing or
/// empty list, an item that is not text, or a scope Unit does not know
/// (`Scope`'s parsing keeps unknown names, for what Unit answers; a
/// record is what will be sent, so a misspelled scope is never minted).
pub(crate) fn unit_record_scopes(
    value: Option<&serde_json::Value>,
) -> std::result::Result<Vec<crate::unit::Scope>, String> {
    let items = match value {
        None | Some(serde_json::Value::Null) => return Ok(Vec::new()),
        Some(value) => value
            .as_array()
            .ok_or("the record's scopes is not a list of scopes")?,
    };
    items
        .iter()
        .map(|item| {
            let text = item
                .as_str()
                .ok_or("the record's scopes is not a list of scopes")?;
            crate::unit::Scope::known(text).map_err(|e| match e {
                Error::Invalid { reason, .. } => format!("the record's scopes: {reason}"),
                other => format!("the record's scopes: {other}"),
            })
        })
        .collect()
}

/// Whether a create's or reset's lost outcome came from a success that
/// could not be read (an answer that was no token), not from an answer
/// that never came: sending the call again would meet the same answer.
pub(crate) fn unreadable_success(cause: &Error) -> bool {
    matches!(cause, Error::Decode { .. })
}

/// What a failed exactly-once create leaves: an orphan when it could not
/// be reconciled, nothing otherwise.
pub(crate) fn left_after_mint(e: &Error) -> super::rotate::Left {
    match e {
        Error::Unreconciled { marker, .. } => super::rotate::Left::Orphan {
            id: None,
            marker: marker.as_deref().and_then(|m| m.parse().ok()),
        },
        _ => super::rotate::Left::Unchanged,
    }
}
