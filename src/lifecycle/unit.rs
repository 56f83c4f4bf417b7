//! The lifecycle on Unit: exactly-once create, reconcile, rotate.

use secrecy::SecretString;

use super::marker::Marker;
use super::mint::{self, Listed, MintIntoError, Minted, Ops};
use super::race::{self, Candidate, Finish, Race};
use super::reconcile::{self, Reconcile};
use super::rotate::{
    Change, Left, OldState, RotateError, Rotation, RotationMethod, Step, UnitPlan,
};
use super::sink::{SecretMeta, SecretSink};
use super::token_ref::TokenRef;
use crate::error::{Error, Result, Service};
use crate::unit::{ApiToken, Client, CreateApiToken, NewApiToken, OrgApiTokens, TokenId, UserId};

/// The lifecycle of one Unit user's Org API tokens: an exactly-once
/// [`mint`](UnitLifecycle::mint), [`reconcile`](UnitLifecycle::reconcile)
/// and [`rotate`](UnitLifecycle::rotate). Cheap to clone.
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
#[derive(Debug, Clone)]
pub struct UnitLifecycle {
    client: Client,
    tokens: OrgApiTokens,
}

impl UnitLifecycle {
    /// The lifecycle of `user_id`'s tokens, through `client`.
    pub fn new(client: Client, user_id: UserId) -> UnitLifecycle {
        let tokens = client.org_api_tokens(user_id);
        UnitLifecycle { client, tokens }
    }

    /// The lifecycle of the user `UNIT_USER_ID`, through a client from
    /// `UNIT_API_TOKEN` and `UNIT_API_URL` (see [`Client::from_env`]).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the variable that is missing or unusable;
    /// nothing is sent.
    pub fn from_env() -> Result<UnitLifecycle> {
        const USER: &str = "UNIT_USER_ID";
        let client = Client::from_env()?;
        let user = std::env::var(USER)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Error::invalid(USER, "the environment variable is not set or empty"))?;
        let user = user.trim().parse::<UserId>().map_err(|_| {
            Error::invalid(
                USER,
                "not a user id; give Unit's id of the user, a positive integer",
            )
        })?;
        Ok(UnitLifecycle::new(client, user))
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The user's tokens, for single calls.
    pub fn tokens(&self) -> &OrgApiTokens {
        &self.tokens
    }

    /// Creates a token exactly once: its description is tagged with a new
    /// [`Marker`]; when the answer is lost, the token the create may have
    /// made is found by its marker and revoked (its secret was lost with
    /// the answer), and the create is sent again, at most
    /// [`MAX_MINTS`](super::MAX_MINTS) times. One call leaves exactly one
    /// live token it minted, or none and an error.
    ///
    /// # Errors
    ///
    /// - [`Error::Unreconciled`] when an answer was lost and the list or
    ///   the revoke that follows failed: a token carrying the named marker
    ///   may exist ([`Reconcile::marker`] removes it later).
    /// - The cause of the last lost answer when every create lost its
    ///   answer (each token made was revoked, so none is left).
    /// - [`Error::Invalid`] before any request when the description (the
    ///   label the marker is added to) is empty or blank, holds a control
    ///   character, or ends with something shaped like a marker ([`Marker::looks_like_marker`]).
    /// - Otherwise as [`OrgApiTokens::create`].
    pub async fn mint(&self, request: &CreateApiToken) -> Result<Minted<NewApiToken>> {
        let label = request.description().trim().to_owned();
        mint::check_label(Service::Unit, "description", &label)?;
        mint::mint_once(self, &label, Marker::new, |tagged| {
            let tagged = request.clone().with_description(tagged);
            async move { self.tokens.create(tagged).await }
        })
        .await
    }

    /// Mints a token exactly once, as [`mint`](Self::mint), and hands its
    /// secret straight to `sink`, so that it never passes through the
    /// caller. When the sink fails without writing it, the token is
    /// revoked: no token is left whose secret nobody holds.
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
        request: &CreateApiToken,
        sink: &dyn SecretSink,
    ) -> std::result::Result<TokenRef, MintIntoError> {
        sink.check().await.map_err(MintIntoError::Check)?;
        let minted = self.mint(request).await?;
        mint::store_minted(self, &self.recording(sink, request), minted).await
    }

    /// Revokes the tokens `what` selects (carrying markers older than an
    /// age, or named markers; never a token without a marker, never a kept
    /// one) and gives them, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] before any request for an age or a lease longer
    /// than [`MAX_SPAN`](super::MAX_SPAN); the list's or a revoke's
    /// failure; tokens revoked before it stay revoked.
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

    /// Replaces token `old` with a new one created as `plan` states, with
    /// overlap, in the steps [the module](super) lists: the sink's
    /// [`check`](SecretSink::check) and a list (step 0); a create, exactly
    /// once and marked as replacing `old`, then a list to decide whether
    /// this run wins among concurrent rotations of `old` (step 1); a call
    /// made with the new secret (step 2); the secret handed to `sink`, then
    /// a list to confirm the decision (step 3); only then `old` revoked,
    /// with the leftovers of interrupted earlier runs (step 4). The module
    /// says what each failure leaves behind.
    ///
    /// Concurrent rotations of `old` are safe: exactly one completes, the
    /// others remove what they minted and fail with
    /// [`RotateError::superseded`] naming the winner (see the module's
    /// "Concurrent rotations").
    ///
    /// Run again after a crash at any step, it converges: when `old` is
    /// already revoked and the sink holds a secret Unit accepts, the
    /// lowest token marked as replacing it is reported
    /// ([`RotationMethod::Resumed`]); otherwise a new token is minted and
    /// the earlier run's tokens are revoked at step 4 once they are older
    /// than the plan's [lease](UnitPlan::lease).
    ///
    /// # Errors
    ///
    /// A [`RotateError`] naming the step, what was left behind
    /// ([`Left`]) and the cause; a blank description in `plan` is refused
    /// with [`Error::Invalid`] before any request, and so is a lease or an
    /// [`if_older_than`](UnitPlan::if_older_than) longer than
    /// [`MAX_SPAN`](super::MAX_SPAN), and `old` not found with no
    /// successor, at step 0.
    ///
    /// With [`if_older_than`](UnitPlan::if_older_than), a token younger
    /// than asked (or, `old` already retired, a newest replacement younger
    /// than asked) is reported up to date ([`RotationMethod::UpToDate`])
    /// with nothing minted.
    pub async fn rotate(
        &self,
        old: &TokenId,
        plan: &UnitPlan,
        sink: &dyn SecretSink,
    ) -> std::result::Result<Rotation, RotateError> {
        let old_id = old.as_str();
        let fail = |step, left, e: Error| RotateError::new(Service::Unit, old_id, step, left, e);
        if let Some(description) = &plan.description {
            mint::check_label(Service::Unit, "description", description)
                .map_err(|e| fail(Step::Inspect, Left::Unchanged, e))?;
        }
        let lease = crate::time::checked_span("lease", plan.lease)
            .map_err(|e| fail(Step::Inspect, Left::Unchanged, e))?;
        let min_age =
            min_age(plan.if_older_than).map_err(|e| fail(Step::Inspect, Left::Unchanged, e))?;
        sink.check().await.map_err(|e| {
            RotateError::new(Service::Unit, old_id, Step::Inspect, Left::Unchanged, e)
        })?;
        // Held until this run ends: see `race` on dead runs' tokens.
        let writer = race::Writer::take(sink, plan.lease).await;
        let typed = self
            .list_typed()
            .await
            .map_err(|e| fail(Step::Inspect, Left::Unchanged, e))?;
        let old_typed = typed.iter().find(|t| t.id == *old);
        let old_ips = old_typed.map(|t| t.source_ips.clone()).unwrap_or_default();
        let old_created = old_typed.map(|t| t.created_at);
        let listed: Vec<Listed> = typed.into_iter().map(listed).collect();
        let race = Race {
            old_id,
            lease,
            now: chrono::Utc::now(),
            resets: &race::no_resets,
            writer: &writer,
        };
        let old_token = listed.iter().find(|t| t.id == old_id);
        if let Some(min_age) = min_age {
            let young = match (old_token, old_created) {
                (Some(token), Some(created)) => {
                    (race.now.signed_duration_since(created) < min_age).then(|| token.clone())
                }
                _ => newest_replacement(&race, &listed).filter(|t| {
                    t.checked_marker()
                        .is_some_and(|m| m.age(race.now) < min_age)
                }),
            };
            if let Some(young) = young {
                let old_ref = old_token.map_or_else(
                    || TokenRef::new(Service::Unit, old_id, None),
                    |t| t.to_ref(Service::Unit),
                );
                return Ok(Rotation::up_to_date(
                    Service::Unit,
                    old_ref,
                    young.to_ref(Service::Unit),
                    young.expires_at,
                ));
            }
        }
        let Some(old_token) = old_token else {
            return race::already_rotated(self, sink, &race, &listed).await;
        };

        let label = match &plan.description {
            Some(d) => d.trim().to_owned(),
            None => fitted_label(&old_token.text),
        };
        let source_ips = plan.source_ips_for(&old_ips);
        let request = plan.request(&label, &source_ips);
        let minted = mint::mint_once(
            self,
            &label,
            || Marker::replacing(old_id).headed_for(writer.tag()),
            |tagged| {
                let tagged = request.clone().with_description(tagged);
                async move { self.tokens.create(tagged).await }
            },
        )
        .await
        .map_err(|e| fail(Step::Mint, left_after_mint(&e), e))?;

        let new = Candidate::of(&minted.token, Some(minted.marker.clone()));
        let mut removed = minted.removed;
        removed.extend(
            race::finish(
                self,
                // The sink is told the whole record of the new token.
                &self.recording(sink, &request),
                Finish {
                    old: old_token,
                    new: &new,
                    race: &race,
                    untouched: Left::Unchanged,
                    retire_old: true,
                    probe: plan.probe,
                },
            )
            .await?,
        );
        Ok(Rotation {
            service: Service::Unit,
            old: old_token.to_ref(Service::Unit),
            new: new.to_ref(Service::Unit),
            expires_at: new.expires_at,
            method: RotationMethod::Create,
            old_state: OldState::Revoked,
            removed,
            fallback: None,
            changes: if source_ips == old_ips {
                Vec::new()
            } else {
                vec![Change::SourceIps {
                    old: old_ips,
                    new: source_ips,
                }]
            },
        })
    }

    /// `plan` with the source addresses stated: the old token's, as Unit
    /// lists them, when the plan keeps them; for a caller that records
    /// what the new token gets before the rotation runs (a store's record).
    ///
    /// # Errors
    ///
    /// The list's failure.
    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    pub(crate) async fn stating_source_ips(
        &self,
        old: &TokenId,
        plan: &UnitPlan,
    ) -> Result<UnitPlan> {
        if plan.source_ips_stated {
            return Ok(plan.clone());
        }
        let listed = self.list_typed().await?;
        let old_ips = listed
            .iter()
            .find(|t| t.id == *old)
            .map(|t| t.source_ips.clone())
            .unwrap_or_default();
        let mut stated = plan.clone().source_ips(old_ips);
        stated.source_ips_stated = true;
        Ok(stated)
    }

    /// Every token, typed.
    pub(crate) async fn list_typed(&self) -> Result<Vec<ApiToken>> {
        self.tokens.list().await
    }
}

/// A plan's `if_older_than`, checked: at most [`MAX_SPAN`](super::MAX_SPAN).
pub(crate) fn min_age(age: Option<std::time::Duration>) -> Result<Option<chrono::TimeDelta>> {
    age.map(|age| crate::time::checked_span("if_older_than", age))
        .transpose()
}

/// The newest replacement of the race's old token in `listed`: the token
/// the last rotation of it minted.
pub(crate) fn newest_replacement(race: &Race<'_>, listed: &[Listed]) -> Option<Listed> {
    race.in_flight(listed, "")
        .into_iter()
        .chain(race.leftovers(listed, ""))
        .max_by_key(Listed::number)
}

/// What a failed exactly-once create leaves: an orphan when it could not
/// be reconciled, nothing otherwise.
pub(crate) fn left_after_mint(e: &Error) -> Left {
    match e {
        Error::Unreconciled { marker, .. } => Left::Orphan {
            id: None,
            marker: marker.as_deref().and_then(|m| m.parse().ok()),
        },
        _ => Left::Unchanged,
    }
}

/// The label of an old token's description: without its markers (a
/// token rotated before carries one, and older releases may have stacked
/// them), or `"rotated"` when nothing else is left.
pub(crate) fn fitted_label(text: &str) -> String {
    let mut label = text.trim();
    while Marker::looks_like_marker(label) {
        match label.rfind('[') {
            Some(i) => label = label[..i].trim_end(),
            None => break,
        }
    }
    if label.is_empty() {
        "rotated".to_owned()
    } else {
        label.to_owned()
    }
}

fn listed(t: ApiToken) -> Listed {
    Listed {
        id: t.id.to_string(),
        text: t.description.unwrap_or_default(),
        expires_at: t.expiration,
    }
}

impl Ops for UnitLifecycle {
    const SERVICE: Service = Service::Unit;

    async fn list_all(&self) -> Result<Vec<Listed>> {
        Ok(self.tokens.list().await?.into_iter().map(listed).collect())
    }

    async fn remove(&self, id: &str) -> Result<()> {
        let id: TokenId = id.parse()?;
        match self.tokens.revoke(&id).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn probe(&self, secret: &SecretString) -> Result<()> {
        let probe = self
            .client
            .with_token(secret.clone())?
            .org_api_tokens(self.tokens.user_id().clone());
        match probe.list().await {
            Ok(_) | Err(Error::Forbidden(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl UnitLifecycle {
    /// The metadata of the record of `new`, the token this lifecycle minted
    /// from `request`: its id, its description, its expiry, and what a
    /// rotation needs to mint it again (`user_id`, `scopes`, `source_ips`,
    /// `lifetime_secs`, and `resources` for a token restricted to some), so
    /// that a record written at creation can be rotated from a store as it
    /// is. Every path of this crate that hands a Unit token's secret to a
    /// sink tells it this much.
    ///
    /// ```
    /// use api_tokens::lifecycle::UnitLifecycle;
    /// use api_tokens::unit::{CreateApiToken, Scope};
    /// # fn meta(life: &UnitLifecycle, new: &api_tokens::unit::NewApiToken) {
    /// # let expiration = new.expiration.unwrap_or_default();
    /// let request = CreateApiToken::new("CI deploy", [Scope::Customers], expiration);
    /// let meta = life.record_meta(new, &request);
    /// assert!(meta.attribute("scopes").is_some());
    /// # }
    /// ```
    pub fn record_meta(
        &self,
        new: &crate::unit::NewApiToken,
        request: &crate::unit::CreateApiToken,
    ) -> SecretMeta {
        let mut meta = SecretMeta::new(Service::Unit, new.id.as_str())
            .with_name(new.description.clone().unwrap_or_default())
            .with_expires_at(new.expiration);
        for (k, v) in mint::unit_record_attributes(self.tokens().user_id(), request) {
            meta = meta.with_attribute(k, v);
        }
        meta
    }

    /// `sink`, telling it the record attributes of the token `request`
    /// creates ([`record_meta`](Self::record_meta)) with each secret.
    pub(crate) fn recording<'a>(
        &self,
        sink: &'a dyn SecretSink,
        request: &crate::unit::CreateApiToken,
    ) -> mint::WithAttributes<'a> {
        mint::WithAttributes {
            inner: sink,
            attributes: mint::unit_record_attributes(self.tokens().user_id(), request),
            name: None,
        }
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::{UnitFake, UnitTokenSeed};
    use crate::unit::Scope;

    /// A plan that keeps the old token's source addresses states them
    /// before a store records what the new token gets (issue 27, item 2).
    #[tokio::test]
    async fn a_kept_source_address_list_is_stated_for_a_record() {
        let fake = UnitFake::start().await;
        let client = Client::builder()
            .token(fake.token().clone())
            .base_url(fake.uri())
            .build()
            .expect("client");
        let life = UnitLifecycle::new(client, fake.user_id());
        let range: crate::unit::SourceIp = "10.0.0.0/8".parse().expect("a range");
        let old = fake.insert_token(
            UnitTokenSeed::new("CI deploy")
                .scope(Scope::Customers)
                .source_ip(range.clone()),
        );
        let plan = UnitPlan::new(
            [Scope::Customers],
            chrono::Utc::now() + chrono::TimeDelta::days(9),
        );
        let stated = life
            .stating_source_ips(&old.id, &plan)
            .await
            .expect("listed");
        assert_eq!(stated.source_ips, [range]);
        assert!(stated.source_ips_stated);
        let any = plan.any_source_ip();
        let stated = life
            .stating_source_ips(&old.id, &any)
            .await
            .expect("as asked");
        assert!(stated.source_ips.is_empty() && stated.source_ips_stated);
    }
}
