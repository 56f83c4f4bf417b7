//! The lifecycle on Unit: exactly-once create, reconcile, rotate.

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::SecretString;

use super::engine::{Lifecycle, TokenService};
use super::marker::Marker;
use super::marker::fitted_label;
use super::mint::{self, Listed, left_after_mint};
use super::race::{self, Candidate, Finish};
use super::rotate::{
    Change, Left, OldState, RotateError, Rotation, RotationMethod, Step, UnitPlan,
};
use super::sink::{SecretMeta, SecretSink};
use crate::error::{Error, Result, Service};
use crate::unit::{ApiToken, Client, CreateApiToken, NewApiToken, OrgApiTokens, TokenId, UserId};

/// Unit as a [`TokenService`]: Org API tokens of one user, revoked when
/// retired, proved by a list made with the new secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Unit;

/// The lifecycle of one Unit user's Org API tokens: an exactly-once
/// [`mint`](Lifecycle::mint), [`reconcile`](Lifecycle::reconcile) and
/// [`rotate`](Lifecycle::rotate). Cheap to clone.
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
pub type UnitLifecycle = Lifecycle<Unit>;

impl Lifecycle<Unit> {
    /// The lifecycle of `user_id`'s tokens, through `client`.
    pub fn new(client: Client, user_id: UserId) -> UnitLifecycle {
        let tokens = client.org_api_tokens(user_id);
        Lifecycle { client, tokens }
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
}

fn listed(t: ApiToken) -> Listed<TokenId> {
    Listed {
        id: t.id,
        text: t.description.unwrap_or_default(),
        expires_at: t.expiration,
    }
}

impl super::engine::sealed::Sealed for Unit {}

impl TokenService for Unit {
    const SERVICE: Service = Service::Unit;
    const LABEL_FIELD: &'static str = "description";
    const RECORD_KEEPS_NAME: bool = false;
    type Client = Client;
    type Tokens = OrgApiTokens;
    type Id = TokenId;
    type Token = ApiToken;
    type Create = CreateApiToken;
    type New = NewApiToken;
    type Plan = UnitPlan;

    fn label(request: &CreateApiToken) -> &str {
        request.description()
    }

    fn labelled(request: &CreateApiToken, text: String) -> CreateApiToken {
        request.clone().with_description(text)
    }

    async fn create(tokens: &OrgApiTokens, request: CreateApiToken) -> Result<NewApiToken> {
        tokens.create(request).await
    }

    async fn list(tokens: &OrgApiTokens) -> Result<Vec<ApiToken>> {
        tokens.list().await
    }

    fn details(new: &NewApiToken) -> ApiToken {
        new.without_secret()
    }

    fn id_of(token: &ApiToken) -> &TokenId {
        &token.id
    }

    fn age(token: &ApiToken, _: &[ApiToken], now: DateTime<Utc>) -> Option<TimeDelta> {
        Some(now.signed_duration_since(token.created_at))
    }

    fn listed(token: ApiToken) -> Listed<TokenId> {
        listed(token)
    }

    async fn retire(tokens: &OrgApiTokens, id: &TokenId) -> Result<()> {
        match tokens.revoke(id).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn list_as(life: &UnitLifecycle, secret: &SecretString) -> Result<Vec<ApiToken>> {
        life.client
            .with_token(secret.clone())?
            .org_api_tokens(life.tokens.user_id().clone())
            .list()
            .await
    }

    fn record_attributes(
        tokens: &OrgApiTokens,
        request: &CreateApiToken,
    ) -> Vec<(&'static str, serde_json::Value)> {
        mint::unit_record_attributes(tokens.user_id(), request)
    }

    async fn plan_for_record(
        life: &UnitLifecycle,
        old: &TokenId,
        plan: &UnitPlan,
    ) -> Result<UnitPlan> {
        life.stating_source_ips(old, plan).await
    }

    /// Unit's rotation (see [`Lifecycle::rotate`]): a create marked as
    /// replacing `old`, keeping its source addresses unless the plan states
    /// them, told to the sink with the whole record of the new token.
    async fn rotate(
        life: &UnitLifecycle,
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
        let begun = life
            .begin(old, plan.lease, plan.if_older_than, sink)
            .await?;
        let race = begun.race(old, &race::no_resets);
        if let Some(done) = life.up_to_date(old, &begun, &race) {
            return Ok(done);
        }
        let writer = &begun.writer;
        let listed = &begun.listed;
        let old_ips = begun
            .old(old)
            .map(|t| t.source_ips.clone())
            .unwrap_or_default();
        // The secret a Unit token is names it in its signed payload.
        let owner = |secret: &SecretString| match crate::secret_hint::hint(secret) {
            Some(crate::secret_hint::Hint::Unit(claims)) => claims.token_id?.parse().ok(),
            _ => None,
        };
        let old_token = listed.iter().find(|t| t.id == *old);
        let Some(old_token) = old_token else {
            return race::already_rotated(life, sink, &race, listed, owner).await;
        };
        if let Some(done) = race::stored_before(life, sink, &race, listed, old_token, owner).await?
        {
            return Ok(done);
        }

        let label = match &plan.description {
            Some(d) => d.trim().to_owned(),
            None => fitted_label(&old_token.text),
        };
        let source_ips = plan.source_ips_for(&old_ips);
        let request = plan.request(&label, &source_ips);
        let minted = mint::mint_once(
            life,
            &label,
            || Marker::replacing(old_id).headed_for(writer.tag()),
            |tagged| {
                let tagged = request.clone().with_description(tagged);
                async move { life.tokens.create(tagged).await }
            },
        )
        .await
        .map_err(|e| fail(Step::Mint, left_after_mint(&e), e))?;

        let new = Candidate::of(&minted.token, Some(minted.marker.clone()));
        let unconfirmed = minted.unconfirmed;
        let mut removed = minted.removed;
        removed.extend(
            race::finish(
                life,
                // The sink is told the whole record of the new token.
                &life.recording(sink, &request),
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
            unconfirmed,
        })
    }
}

impl Lifecycle<Unit> {
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
}

#[cfg(test)]
#[cfg(feature = "testing")]
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
