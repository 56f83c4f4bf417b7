//! The one lifecycle engine: [`Lifecycle<S>`] over a [`TokenService`].
//!
//! Every rule of a token's life (mint exactly once, hand the secret to a
//! sink or remove the token, reconcile, rotate from a store) is written
//! here once, for any service. A service says only what differs: its ids,
//! its token model, its create request, its plan, how a token is retired,
//! how a secret is proved, what a record holds, and the middle of its
//! rotation (Unit creates; Mailtrap resets or creates).

use std::fmt;
use std::future::Future;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::SecretString;

use super::marker::Marker;
use super::mint::{self, Fresh, Listed, MintIntoError, Minted, Ops, TokenKey, WithAttributes};
use super::race::{Race, Writer};
use super::reconcile::{self, Reconcile};
use super::rotate::{Left, RotateError, Rotation, Step};
use super::sink::SecretSink;
use super::token_ref::TokenRef;
use crate::error::{Result, Service};

pub(crate) mod sealed {
    /// Only this crate's services implement [`TokenService`](super::TokenService).
    pub trait Sealed {}
}

/// A service whose tokens the lifecycle manages: [`Unit`](super::Unit) or
/// [`Mailtrap`](super::Mailtrap). Sealed: the lifecycle's guarantees rest
/// on what each service was seen to do, so no other type implements it.
///
/// Its associated types name the service's own model, so that ids and
/// requests keep their types through the lifecycle; they are erased (to a
/// [`TokenRef`]) only in reports that mix services.
///
/// The methods marked hidden are what the engine calls; use the
/// lifecycle's verbs instead.
pub trait TokenService: sealed::Sealed + Sized + Send + Sync + 'static {
    /// Which service this is.
    const SERVICE: Service;
    /// The name of the create request's field that carries the label and
    /// its marker (`description` on Unit, `name` on Mailtrap).
    const LABEL_FIELD: &'static str;
    /// The service's client.
    type Client: Clone + fmt::Debug + Send + Sync;
    /// The handle of the tokens a lifecycle manages (one Unit user's, one
    /// Mailtrap account's).
    type Tokens: Clone + fmt::Debug + Send + Sync;
    /// A token's id.
    type Id: TokenKey + FromStr;
    /// A token as the service lists it.
    type Token: Clone + fmt::Debug + Send + Sync;
    /// A create request.
    type Create: Clone + fmt::Debug + Send + Sync;
    /// A new token with its secret, as a create answers it.
    type New: Fresh<Id = Self::Id> + fmt::Debug + Send + Sync;
    /// What a rotation is asked to do.
    type Plan: Clone + fmt::Debug + Send + Sync;

    #[doc(hidden)]
    /// The label of a create request (without a marker).
    fn label(request: &Self::Create) -> &str;

    #[doc(hidden)]
    /// `request` with its label field set to `text`.
    fn labelled(request: &Self::Create, text: String) -> Self::Create;

    #[doc(hidden)]
    /// One create.
    fn create(
        tokens: &Self::Tokens,
        request: Self::Create,
    ) -> impl Future<Output = Result<Self::New>> + Send;

    #[doc(hidden)]
    /// Every token.
    fn list(tokens: &Self::Tokens) -> impl Future<Output = Result<Vec<Self::Token>>> + Send;

    #[doc(hidden)]
    /// A listed token as the lifecycle's rules read it.
    fn listed(token: Self::Token) -> Listed<Self::Id>;

    #[doc(hidden)]
    /// A new token's details, without its secret.
    fn details(new: &Self::New) -> Self::Token;

    #[doc(hidden)]
    /// A listed token's id.
    fn id_of(token: &Self::Token) -> &Self::Id;

    #[doc(hidden)]
    /// How old a listed token is, when that can be known (`typed` is the
    /// whole list it came in).
    fn age(token: &Self::Token, typed: &[Self::Token], now: DateTime<Utc>) -> Option<TimeDelta>;

    #[doc(hidden)]
    /// Revokes or deletes a token; one already gone counts as retired.
    fn retire(tokens: &Self::Tokens, id: &Self::Id) -> impl Future<Output = Result<()>> + Send;

    #[doc(hidden)]
    /// The tokens listed by a call made with `secret` instead of the
    /// client's own token: what proves a secret accepted or refused.
    fn list_as(
        life: &Lifecycle<Self>,
        secret: &SecretString,
    ) -> impl Future<Output = Result<Vec<Self::Token>>> + Send;

    #[doc(hidden)]
    /// What the record of a token minted from `request` holds besides
    /// its id, name and expiry, so that a rotation from a store can mint
    /// it again.
    fn record_attributes(
        tokens: &Self::Tokens,
        request: &Self::Create,
    ) -> Vec<(&'static str, serde_json::Value)>;

    #[doc(hidden)]
    /// Whether a rotation from a store names the new record as the old
    /// one (the new token's own name differs from its label).
    const RECORD_KEEPS_NAME: bool;

    #[doc(hidden)]
    /// `plan` as a store's record of the new token must state it before
    /// the rotation runs.
    fn plan_for_record(
        life: &Lifecycle<Self>,
        old: &Self::Id,
        plan: &Self::Plan,
    ) -> impl Future<Output = Result<Self::Plan>> + Send;

    #[doc(hidden)]
    /// The rotation as the service allows it: see
    /// [`Lifecycle::rotate`].
    fn rotate(
        life: &Lifecycle<Self>,
        old: &Self::Id,
        plan: &Self::Plan,
        sink: &dyn SecretSink,
    ) -> impl Future<Output = std::result::Result<Rotation, RotateError>> + Send;
}

/// The lifecycle of one set of a service's tokens (a Unit user's, a
/// Mailtrap account's): an exactly-once [`mint`](Lifecycle::mint), a
/// [`mint_into`](Lifecycle::mint_into) a sink,
/// [`reconcile`](Lifecycle::reconcile), [`rotate`](Lifecycle::rotate) and
/// [`rotate_from`](Lifecycle::rotate_from) a store, written once for both
/// services. [`UnitLifecycle`](super::UnitLifecycle) and
/// [`MailtrapLifecycle`](super::MailtrapLifecycle) name the two. Cheap to
/// clone.
///
/// ```
/// use api_tokens::lifecycle::{Lifecycle, Mailtrap, Unit};
/// # use api_tokens::lifecycle::TokenService;
/// fn service_of<S: TokenService>(_: &Lifecycle<S>) -> api_tokens::Service {
///     S::SERVICE
/// }
/// # fn check(u: &Lifecycle<Unit>, m: &Lifecycle<Mailtrap>) {
/// # assert_eq!(service_of(u), api_tokens::Service::Unit);
/// # assert_eq!(service_of(m), api_tokens::Service::Mailtrap);
/// # }
/// ```
pub struct Lifecycle<S: TokenService> {
    pub(super) client: S::Client,
    pub(super) tokens: S::Tokens,
}

impl<S: TokenService> Clone for Lifecycle<S> {
    fn clone(&self) -> Self {
        Lifecycle {
            client: self.client.clone(),
            tokens: self.tokens.clone(),
        }
    }
}

impl<S: TokenService> fmt::Debug for Lifecycle<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifecycle")
            .field("service", &S::SERVICE)
            .field("client", &self.client)
            .field("tokens", &self.tokens)
            .finish()
    }
}

impl<S: TokenService> Lifecycle<S> {
    /// The client.
    pub fn client(&self) -> &S::Client {
        &self.client
    }

    /// The tokens this lifecycle manages, for single calls (the service's
    /// own verbs).
    pub fn tokens(&self) -> &S::Tokens {
        &self.tokens
    }

    /// Creates a token exactly once: its label (Unit's description,
    /// Mailtrap's name) is tagged with a new [`Marker`]; when the answer
    /// is lost, the token the create may have made is found by its marker
    /// and removed (its secret was lost with the answer), and the create
    /// is sent again, at most [`MAX_MINTS`](super::MAX_MINTS) times. One
    /// call leaves exactly one live token it minted, or none and an error.
    ///
    /// ```
    /// use api_tokens::lifecycle::UnitLifecycle;
    /// use api_tokens::unit::{self, CreateApiToken, Scope};
    /// use chrono::{Duration, Utc};
    /// # use api_tokens::testing::UnitFake;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), api_tokens::Error> {
    /// # let fake = UnitFake::start().await;
    /// # let (key, url) = (fake.token().clone(), fake.uri());
    /// let client = unit::Client::builder().token(key).base_url(url).build()?;
    /// let life = UnitLifecycle::new(client, "2".parse()?);
    /// let minted = life
    ///     .mint(&CreateApiToken::new("CI deploy", [Scope::Customers], Utc::now() + Duration::days(30)))
    ///     .await?;
    /// assert!(minted.token.description.as_deref().unwrap_or("").starts_with("CI deploy [at:"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::Invalid`](crate::Error::Invalid) before any request when the label is empty or
    ///   blank, holds a control character, ends with something shaped like
    ///   a marker ([`Marker::looks_like_marker`]), or (Mailtrap) is longer
    ///   than [`MAX_LABEL_CHARS`](super::MAX_LABEL_CHARS) (200) characters:
    ///   Mailtrap accepts names of 1 to 255 characters, and the marker with
    ///   its space takes up to 55 of them.
    /// - [`Error::Unreconciled`](crate::Error::Unreconciled) when an answer was lost and the list or
    ///   the removal that follows failed: a token carrying the named
    ///   marker may exist ([`Reconcile::marker`] removes it later).
    /// - The cause of the last lost answer when every create lost its
    ///   answer (each token made was removed, so none is left).
    /// - Otherwise as the service's create.
    pub async fn mint(&self, request: &S::Create) -> Result<Minted<S::New>> {
        let label = S::label(request).trim().to_owned();
        mint::check_label(S::SERVICE, S::LABEL_FIELD, &label)?;
        self.mint_marked(request, &label, Marker::new).await
    }

    /// The exactly-once mint of `request` labelled `label`, with markers
    /// from `marker`.
    pub(crate) async fn mint_marked(
        &self,
        request: &S::Create,
        label: &str,
        marker: impl Fn() -> Marker,
    ) -> Result<Minted<S::New>> {
        mint::mint_once(self, label, marker, |tagged| {
            let tagged = S::labelled(request, tagged);
            async move { S::create(&self.tokens, tagged).await }
        })
        .await
    }

    /// Mints a token exactly once, as [`mint`](Self::mint), and hands its
    /// secret straight to `sink`, so that it never passes through the
    /// caller, with the whole record of the token (on Unit: the user,
    /// scopes, source addresses, lifetime and resources a rotation from a
    /// store needs). When the sink fails without writing it, the token is
    /// removed: no token is left whose secret nobody holds.
    ///
    /// # Errors
    ///
    /// [`MintIntoError::Check`] when the sink's
    /// [`check`](SecretSink::check) fails, before any request;
    /// [`MintIntoError::Mint`] as [`mint`](Self::mint);
    /// [`MintIntoError::Store`] when the sink failed, saying what became
    /// of the token.
    pub async fn mint_into(
        &self,
        request: &S::Create,
        sink: &dyn SecretSink,
    ) -> std::result::Result<TokenRef, MintIntoError> {
        self.mint_stored(request, sink)
            .await
            .map(|minted| S::listed(minted.token).to_ref(S::SERVICE))
    }

    /// As [`mint_into`](Self::mint_into), giving the new token's details
    /// (without its secret, which is in the sink), its marker and the
    /// tokens the exactly-once create removed on the way.
    ///
    /// ```
    /// use api_tokens::lifecycle::{MailtrapLifecycle, SinkSpec};
    /// use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, ResourceType};
    /// # use api_tokens::testing::MailtrapFake;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = MailtrapFake::start().await;
    /// # let dir = tempfile::tempdir()?;
    /// # let client = mailtrap::Client::builder().token(fake.token().clone()).account_id(3229).base_url(fake.uri()).build()?;
    /// let life = MailtrapLifecycle::new(client);
    /// let sink = SinkSpec::File(dir.path().join("token")).into_sink()?;
    /// let request = CreateApiToken::new("CI deploy")
    ///     .permission(ResourceType::Account, 3229, AccessLevel::Viewer);
    /// let minted = life.mint_stored(&request, &*sink).await?;
    /// assert!(minted.token.name.starts_with("CI deploy [at:"));
    /// assert!(minted.removed.is_empty());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`mint_into`](Self::mint_into).
    pub async fn mint_stored(
        &self,
        request: &S::Create,
        sink: &dyn SecretSink,
    ) -> std::result::Result<Minted<S::Token>, MintIntoError> {
        sink.check().await.map_err(MintIntoError::Check)?;
        let minted = self.mint(request).await?;
        let details = S::details(&minted.token);
        let Minted {
            token,
            marker,
            attempts,
            removed,
            unconfirmed,
        } = minted;
        let unstored = Minted {
            token,
            marker: marker.clone(),
            attempts,
            removed: Vec::new(),
            unconfirmed: Vec::new(),
        };
        mint::store_minted(self, &self.recording(sink, request), unstored).await?;
        Ok(Minted {
            token: details,
            marker,
            attempts,
            removed,
            unconfirmed,
        })
    }

    /// `sink`, told the record attributes of the token `request` creates
    /// with each secret.
    pub(crate) fn recording<'a>(
        &self,
        sink: &'a dyn SecretSink,
        request: &S::Create,
    ) -> WithAttributes<'a> {
        WithAttributes {
            inner: sink,
            attributes: S::record_attributes(&self.tokens, request),
            name: None,
        }
    }

    /// Removes the tokens `what` selects (carrying markers older than an
    /// age, or named markers; never a token without a marker, never a kept
    /// one) and gives them, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) before any request for an age or a lease longer
    /// than [`MAX_SPAN`](super::MAX_SPAN); the list's or a removal's
    /// failure; tokens removed before it stay removed.
    pub async fn reconcile(&self, what: &Reconcile) -> Result<Vec<TokenRef>> {
        reconcile::run(self, what).await
    }

    /// What [`reconcile`](Self::reconcile) would remove now, oldest first,
    /// by the same rule and from the same list, with nothing removed: a
    /// dry run.
    ///
    /// # Errors
    ///
    /// As [`reconcile`](Self::reconcile), with nothing removed.
    pub async fn reconcile_preview(&self, what: &Reconcile) -> Result<Vec<TokenRef>> {
        reconcile::preview(self, what).await
    }

    /// Replaces token `old` with a new one as `plan` states, with overlap,
    /// in the steps [the module](super) lists: the sink's
    /// [`check`](SecretSink::check) and a list (step 0); a new token,
    /// exactly once, then a list to decide whether this run wins among
    /// concurrent rotations of `old` (step 1); a call made with the new
    /// secret (step 2); the secret handed to `sink`, then a list to confirm
    /// the decision (step 3); only then `old` retired, with the leftovers
    /// of interrupted earlier runs (step 4).
    ///
    /// On Unit the new token is a create marked as replacing `old`; on
    /// Mailtrap a reset, or such a create when the plan asks to
    /// [`recreate`](super::MailtrapPlan::recreate), when another rotation
    /// of `old` is in flight, or when the reset is refused. The module
    /// says what each failure leaves behind, how concurrent rotations end
    /// (exactly one completes; the others remove what they minted and fail
    /// [superseded](RotateError::superseded)), and how a run converges
    /// when it is run again after a crash.
    ///
    /// # Errors
    ///
    /// A [`RotateError`] naming the step, what was left behind ([`Left`])
    /// and the cause. Refused with [`Error::Invalid`](crate::Error::Invalid) at step 0, before
    /// any request: a blank or marker-shaped label in the plan, a lease or
    /// an `if_older_than` longer than [`MAX_SPAN`](super::MAX_SPAN); after
    /// the list: `old` not found with no successor, and (Mailtrap) an
    /// expired `old` with no expiry stated in the plan.
    pub async fn rotate(
        &self,
        old: &S::Id,
        plan: &S::Plan,
        sink: &dyn SecretSink,
    ) -> std::result::Result<Rotation, RotateError> {
        S::rotate(self, old, plan, sink).await
    }

    /// Rotates the token whose record `store` holds as current (AWS's
    /// `AWSCURRENT`, a KV secret's current version): reads its
    /// `token_id`, then [`rotate`](Self::rotate)s it as `plan` states into
    /// `store`, whose new record keeps what the next rotation needs (on
    /// Unit the user, scopes, source addresses and lifetime; on Mailtrap
    /// the record's name, since a reset names its token
    /// `"<old name> <new id>"`).
    ///
    /// The store compares before it sets: when another rotation made a
    /// newer record current first, this run removes the token it minted
    /// and fails at step 3 with a
    /// [`SinkError::Superseded`](super::SinkError::Superseded) cause.
    ///
    /// # Errors
    ///
    /// As [`rotate`](Self::rotate); at step 0 also when the store cannot be
    /// read, holds no record, or holds a record of another service or with
    /// an id that is not the service's.
    #[cfg(any(feature = "aws", feature = "vault"))]
    pub async fn rotate_from<R: super::sink::RecordStore>(
        &self,
        store: &R,
        plan: &S::Plan,
    ) -> std::result::Result<Rotation, RotateError> {
        let (old, record) = stored_id::<S, R>(store).await?;
        let name = if S::RECORD_KEEPS_NAME {
            record.name
        } else {
            None
        };
        self.rotate_named(&old, store, plan, name).await
    }

    /// [`Rotate`](Self::rotate)s token `old` into `store`, whose new record
    /// keeps what [`rotate_from`](Self::rotate_from)'s does: for a rotation
    /// named by its id when the store already holds its successor (the
    /// record labelled `AWSPREVIOUS` names `old`): run again, the rotation
    /// converges on the successor, or yields to a run still going on.
    ///
    /// # Errors
    ///
    /// As [`rotate`](Self::rotate).
    #[cfg(any(feature = "aws", feature = "vault"))]
    pub async fn rotate_into<R: super::sink::RecordStore>(
        &self,
        old: &S::Id,
        store: &R,
        plan: &S::Plan,
    ) -> std::result::Result<Rotation, RotateError> {
        self.rotate_named(old, store, plan, None).await
    }

    /// Rotates `old` into `store`, the new record named `name` when given.
    #[cfg(any(feature = "aws", feature = "vault"))]
    async fn rotate_named<R: super::sink::RecordStore>(
        &self,
        old: &S::Id,
        store: &R,
        plan: &S::Plan,
        name: Option<String>,
    ) -> std::result::Result<Rotation, RotateError> {
        let plan = S::plan_for_record(self, old, plan).await.map_err(|e| {
            RotateError::new(
                S::SERVICE,
                &old.to_string(),
                Step::Inspect,
                Left::Unchanged,
                e,
            )
        })?;
        let sink = WithAttributes {
            inner: store,
            attributes: Vec::new(),
            name,
        };
        self.rotate(old, &plan, &sink).await
    }

    /// Hands the secret of the fresh token a record names by `id` (ids are
    /// text in records) to `sink` as `meta` says; when the sink fails
    /// without writing it, retires the token: the engine's store-or-remove
    /// for a path that stores its own record (the rotation function's
    /// pending version).
    #[cfg(feature = "aws")]
    pub(crate) async fn store_or_retire_id(
        &self,
        id: &str,
        secret: &SecretString,
        meta: &super::sink::SecretMeta,
        sink: &dyn SecretSink,
    ) -> std::result::Result<(), MintIntoError> {
        let id = id.parse::<S::Id>().map_err(|_| {
            crate::Error::invalid(
                "token_id",
                format!("`{}` is not a {} token id", id.escape_debug(), S::SERVICE),
            )
        })?;
        mint::store_or_remove(self, &id, secret, meta, sink).await
    }

    /// Retires the token a record names by `id` (ids are text in
    /// records); one already gone counts as retired.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for an id that is not one
    /// of the service's, before any request; the service's failure.
    #[cfg(feature = "aws")]
    pub(crate) async fn retire_id(&self, id: &str) -> Result<()> {
        let id = id.parse::<S::Id>().map_err(|_| {
            crate::Error::invalid(
                "token_id",
                format!("`{}` is not a {} token id", id.escape_debug(), S::SERVICE),
            )
        })?;
        self.retire(&id).await
    }

    /// Retires token `id` as every path of the lifecycle does (Unit
    /// revokes, Mailtrap deletes); one already gone counts as retired. The
    /// service's own verbs (`revoke`, `delete`) stay on
    /// [`tokens`](Self::tokens).
    ///
    /// ```
    /// use api_tokens::lifecycle::MailtrapLifecycle;
    /// # use api_tokens::testing::MailtrapFake;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), api_tokens::Error> {
    /// # let fake = MailtrapFake::start().await;
    /// # let client = api_tokens::mailtrap::Client::builder().token(fake.token().clone()).account_id(3229).base_url(fake.uri()).build()?;
    /// let life = MailtrapLifecycle::new(client);
    /// # use api_tokens::mailtrap::{AccessLevel, CreateApiToken, ResourceType};
    /// # let request = CreateApiToken::new("CI deploy").permission(ResourceType::Account, 3229, AccessLevel::Viewer);
    /// let id = life.mint(&request).await?.token.id;
    /// life.retire(&id).await?;
    /// life.retire(&id).await?; // gone already: retired
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The service's failure, other than "not found".
    pub async fn retire(&self, id: &S::Id) -> Result<()> {
        S::retire(&self.tokens, id).await
    }

    /// The tokens listed by a call made with `secret`.
    pub(crate) async fn list_as(&self, secret: &SecretString) -> Result<Vec<S::Token>> {
        S::list_as(self, secret).await
    }

    /// Step 0 of a rotation of `old`, the same on every service: the
    /// plan's spans checked, the sink checked, its writer lock taken (held
    /// until the rotation ends: see `race` on dead runs' tokens), and the
    /// tokens listed.
    pub(crate) async fn begin(
        &self,
        old: &S::Id,
        lease: std::time::Duration,
        if_older_than: Option<std::time::Duration>,
        sink: &dyn SecretSink,
    ) -> std::result::Result<Begun<S>, RotateError> {
        let old_id = old.to_string();
        let fail = |e: crate::Error| {
            RotateError::new(S::SERVICE, &old_id, Step::Inspect, Left::Unchanged, e)
        };
        let lease_span = crate::time::checked_span("lease", lease).map_err(fail)?;
        let min_age = if_older_than
            .map(|age| crate::time::checked_span("if_older_than", age))
            .transpose()
            .map_err(fail)?;
        sink.check().await.map_err(|e| {
            RotateError::new(S::SERVICE, &old_id, Step::Inspect, Left::Unchanged, e)
        })?;
        let writer = Writer::take(sink, lease).await;
        let typed = self.list_typed().await.map_err(fail)?;
        let listed = typed.iter().cloned().map(S::listed).collect();
        Ok(Begun {
            lease: lease_span,
            min_age,
            writer,
            typed,
            listed,
            now: Utc::now(),
        })
    }

    /// With a plan's `if_older_than`: the report of a rotation not needed,
    /// when `old` is younger than asked or, `old` already retired, its
    /// newest replacement is.
    pub(crate) fn up_to_date(
        &self,
        old: &S::Id,
        begun: &Begun<S>,
        race: &Race<'_, S::Id>,
    ) -> Option<Rotation> {
        let min_age = begun.min_age?;
        let old_token = begun.old(old);
        let young = match old_token {
            Some(token) => S::age(token, &begun.typed, begun.now)
                .is_some_and(|age| age < min_age)
                .then(|| S::listed(token.clone())),
            None => race.newest_replacement(&begun.listed).filter(|t| {
                t.checked_marker()
                    .is_some_and(|m| m.age(begun.now) < min_age)
            }),
        }?;
        let old_ref = old_token.map_or_else(
            || TokenRef::new(S::SERVICE, old.to_string(), None),
            |t| S::listed(t.clone()).to_ref(S::SERVICE),
        );
        Some(Rotation::up_to_date(
            S::SERVICE,
            old_ref,
            young.to_ref(S::SERVICE),
            young.expires_at,
        ))
    }

    /// Every token, typed.
    pub(crate) async fn list_typed(&self) -> Result<Vec<S::Token>> {
        S::list(&self.tokens).await
    }
}

impl<S: TokenService> Ops for Lifecycle<S> {
    const SERVICE: Service = S::SERVICE;
    type Id = S::Id;

    async fn list_all(&self) -> Result<Vec<Listed<S::Id>>> {
        Ok(S::list(&self.tokens)
            .await?
            .into_iter()
            .map(S::listed)
            .collect())
    }

    async fn remove(&self, id: &S::Id) -> Result<()> {
        S::retire(&self.tokens, id).await
    }

    /// A call made with `secret` is answered: a 403 counts, since the
    /// secret was recognised.
    async fn probe(&self, secret: &SecretString) -> Result<()> {
        match S::list_as(self, secret).await {
            Ok(_) | Err(crate::Error::Forbidden(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// What step 0 of a rotation read: the plan's spans, the writer lock, the
/// list (typed and as the rules read it) and when.
pub(crate) struct Begun<S: TokenService> {
    pub lease: TimeDelta,
    pub min_age: Option<TimeDelta>,
    pub writer: Writer,
    pub typed: Vec<S::Token>,
    pub listed: Vec<Listed<S::Id>>,
    pub now: DateTime<Utc>,
}

impl<S: TokenService> Begun<S> {
    /// The old token as listed, if it is.
    pub(crate) fn old(&self, old: &S::Id) -> Option<&S::Token> {
        self.typed.iter().find(|t| S::id_of(t) == old)
    }

    /// A race among the rotations of `old`, with `resets` the tokens a
    /// reset of it made (Mailtrap; none on Unit).
    pub(crate) fn race<'a>(
        &'a self,
        old: &'a S::Id,
        resets: super::race::ResetsOf<'a, S::Id>,
    ) -> Race<'a, S::Id> {
        Race {
            old_id: old,
            lease: self.lease,
            now: self.now,
            resets,
            writer: &self.writer,
            before: &self.listed,
        }
    }
}

#[cfg(any(feature = "aws", feature = "vault"))]
/// Reads the record the store holds as current, for a rotation of a token
/// of `service`: its token id, or the [`RotateError`] of step 0.
async fn current_token<S: super::sink::RecordStore + ?Sized>(
    store: &S,
    service: Service,
) -> Result<super::sink::SecretRecord, RotateError> {
    let unknown = "(unknown)";
    let record = match store.record().await {
        Ok(Some(record)) => record,
        Ok(None) => {
            return Err(RotateError::new(
                service,
                unknown,
                Step::Inspect,
                Left::Unchanged,
                crate::Error::invalid(
                    "store",
                    format!(
                        "{} holds no current token record: create the token into it first",
                        store.describe()
                    ),
                ),
            ));
        }
        Err(e) => {
            return Err(RotateError::new(
                service,
                unknown,
                Step::Inspect,
                Left::Unchanged,
                e,
            ));
        }
    };
    if record.service != service {
        return Err(RotateError::new(
            service,
            &record.token_id,
            Step::Inspect,
            Left::Unchanged,
            crate::Error::invalid(
                "store",
                format!(
                    "{} holds a {} token, not a {service} one",
                    store.describe(),
                    record.service
                ),
            ),
        ));
    }
    Ok(record)
}

#[cfg(any(feature = "aws", feature = "vault"))]
/// The id of the token whose record `store` holds as current, and the
/// record; a record that is not the service's, or an id that is not one
/// of its ids (a malformed record: a [`SinkError`], as every other), fails
/// step 0 with nothing changed.
async fn stored_id<S: TokenService, R: super::sink::RecordStore + ?Sized>(
    store: &R,
) -> Result<(S::Id, super::sink::SecretRecord), RotateError> {
    let service = S::SERVICE;
    let record = current_token(store, service).await?;
    let id = record.token_id.parse::<S::Id>().map_err(|_| {
        RotateError::new(
            service,
            &record.token_id,
            Step::Inspect,
            Left::Unchanged,
            super::sink::SinkError::other(
                store.describe(),
                format!("the record's token_id is not a {service} token id"),
            ),
        )
    })?;
    Ok((id, record))
}
