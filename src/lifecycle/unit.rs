//! The lifecycle on Unit: exactly-once create, reconcile, rotate.

use secrecy::SecretString;

use super::TokenRef;
use super::marker::Marker;
use super::mint::{self, Listed, MintIntoError, Minted, Ops};
use super::reconcile::{self, Reconcile};
use super::rotate::{
    self, Candidate, Finish, Left, OldState, RotateError, Rotation, RotationMethod, Step, UnitPlan,
};
use super::sink::SecretSink;
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
    /// - Otherwise as [`OrgApiTokens::create`].
    pub async fn mint(&self, request: &CreateApiToken) -> Result<Minted<NewApiToken>> {
        let label = request.description().to_owned();
        mint::mint_once(self, Marker::new, |marker| {
            let tagged = request.clone().with_description(marker.tag(&label));
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
    /// [`MintIntoError::Mint`] as [`mint`](Self::mint);
    /// [`MintIntoError::Store`] when the sink failed, saying what became
    /// of the token.
    pub async fn mint_into(
        &self,
        request: &CreateApiToken,
        sink: &dyn SecretSink,
    ) -> std::result::Result<TokenRef, MintIntoError> {
        let minted = self.mint(request).await?;
        mint::store_minted(self, sink, minted).await
    }

    /// Revokes the tokens `what` selects (carrying markers older than an
    /// age, or named markers; never a token without a marker, never a kept
    /// one) and gives them, oldest first.
    ///
    /// # Errors
    ///
    /// The list's or a revoke's failure; tokens revoked before it stay
    /// revoked.
    pub async fn reconcile(&self, what: &Reconcile) -> Result<Vec<TokenRef>> {
        reconcile::run(self, what).await
    }

    /// Replaces token `old` with a new one created as `plan` states, with
    /// overlap: 1. create (exactly once, marked as replacing `old`), 2. a
    /// call made with the new secret, 3. the secret handed to `sink`, 4.
    /// only then `old` revoked, with anything an interrupted earlier run
    /// of this rotation left. See [the module](super) for what each
    /// failure leaves behind.
    ///
    /// Run again after a crash at any step, it converges: when `old` is
    /// already revoked, the newest token carrying a marker from a rotation
    /// of it is kept ([`RotationMethod::Resumed`]); otherwise a new token
    /// is minted and the earlier run's tokens are revoked at step 4.
    ///
    /// # Errors
    ///
    /// A [`RotateError`] naming the step, what was left behind
    /// ([`Left`]) and the cause; `old` not found with no successor is
    /// refused at step 0 with [`Error::Invalid`].
    pub async fn rotate(
        &self,
        old: &TokenId,
        plan: &UnitPlan,
        sink: &dyn SecretSink,
    ) -> std::result::Result<Rotation, RotateError> {
        let old_id = old.as_str();
        let fail = |step, left, e: Error| RotateError::new(Service::Unit, old_id, step, left, e);
        let listed = self
            .list_all()
            .await
            .map_err(|e| fail(Step::Inspect, Left::Unchanged, e))?;
        let earlier = rotate::marked_successors(&listed, old_id);
        let Some(old_token) = listed.iter().find(|t| t.id == old_id) else {
            return rotate::resume(self, old_id, earlier).await;
        };

        let label = match &plan.description {
            Some(d) => d.clone(),
            None => Marker::label(&old_token.text).to_owned(),
        };
        let request = plan.request(&label);
        let minted = mint::mint_once(
            self,
            || Marker::replacing(old_id),
            |marker| {
                let tagged = request.clone().with_description(marker.tag(&label));
                async move { self.tokens.create(tagged).await }
            },
        )
        .await
        .map_err(|e| fail(Step::Mint, left_after_mint(&e), e))?;

        let new = Candidate::of(&minted.token, Some(minted.marker.clone()));
        let mut removed = minted.removed;
        removed.extend(
            rotate::prove_store_retire(
                self,
                sink,
                Finish {
                    old: old_token,
                    new: &new,
                    earlier: &earlier,
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
        })
    }

    /// Every token, typed.
    pub(crate) async fn list_typed(&self) -> Result<Vec<ApiToken>> {
        self.tokens.list().await
    }
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
