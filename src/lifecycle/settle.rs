//! A mint for a label that names one token (a declarative entry): the
//! race rule among runs that mint for the same label at once.
//!
//! The rule is the rotations' (see `race`): both services number tokens in
//! order of creation, and a list answered after a create shows it. Among
//! the tokens carrying the label that this run did not mint, the one with
//! the lowest id below this run's was minted first, by another run acting
//! on the same entry at once (another `apply`, a rotation): this run
//! yields, removes its token and stores nothing. A run whose token has the
//! lowest id wins and stores. When the list after the store no longer
//! shows this run's token (a run that broke the rule removed it), the sink
//! holds a dead secret: that is an error that says so, and the next plan
//! rotates.

use super::engine::{Lifecycle, TokenService};
use super::marker::Marker;
use super::mint::{Fresh, Ops};
use super::sink::{SecretMeta, SecretSink};
use super::token_ref::TokenRef;
use crate::error::Error;

/// How a settled mint ended.
#[derive(Debug)]
pub(crate) enum Settled {
    /// This run's token won; its secret is stored.
    Stored(TokenRef),
    /// Another run minted for the label first: this run's token was
    /// removed, and nothing stored.
    Yielded {
        /// This run's token, removed.
        removed: TokenRef,
        /// The token of the run that won.
        winner: TokenRef,
    },
}

/// Why a settled mint failed. Never holds a secret.
#[derive(Debug)]
pub(crate) enum Unsettled {
    /// The exactly-once mint failed.
    Mint(Error),
    /// A step after the mint failed: which, what it left, and why.
    Step {
        /// `listing before the store`, `yielding to another run`,
        /// `storing the new secret`, `checking the new token once stored`.
        step: &'static str,
        /// What the failure left behind.
        left: String,
        /// Why.
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl<S: TokenService> Lifecycle<S> {
    /// Mints `request` exactly once as the one token of its label: settles
    /// against other runs minting for the label at once (see the module),
    /// and stores the secret in `sink` (told the token's whole record)
    /// when this run wins.
    pub(crate) async fn mint_settled(
        &self,
        request: &S::Create,
        sink: &dyn SecretSink,
    ) -> Result<Settled, Unsettled> {
        let label = S::label(request).trim().to_owned();
        let minted = self.mint(request).await.map_err(Unsettled::Mint)?;
        let new = &minted.token;
        let id = new.id().clone();
        let new_ref = TokenRef::new(S::SERVICE, id.to_string(), Some(new.text().to_owned()));
        let fail = |step: &'static str, left: String, cause: Error| Unsettled::Step {
            step,
            left,
            cause: Box::new(cause),
        };
        let discard = |id: S::Id| async move {
            match self.remove(&id).await {
                Ok(()) => "nothing changed: the new token was removed".to_owned(),
                Err(e) => format!(
                    "nothing stored, but the new token {id} could not be removed ({e}): apply again"
                ),
            }
        };
        let listed = match self.list_all().await {
            Ok(listed) => listed,
            Err(e) => {
                let left = discard(id).await;
                return Err(fail("listing before the store", left, e));
            }
        };
        let rival = listed
            .iter()
            .filter(|t| t.id != id && t.id < id && Marker::label(&t.text) == label)
            .min_by(|a, b| a.id.cmp(&b.id));
        if let Some(rival) = rival {
            tracing::info!(service = %S::SERVICE, token_id = %id, winner = %rival.id,
                "another run minted for the same label first: yielding");
            return match self.remove(&id).await {
                Ok(()) => Ok(Settled::Yielded {
                    removed: new_ref,
                    winner: TokenRef::new(S::SERVICE, rival.id.to_string(), None),
                }),
                Err(e) => Err(fail(
                    "yielding to another run",
                    format!(
                        "token {} of another run is the entry's; this run's token {id} could not \
                         be removed and nobody holds its secret: apply again",
                        rival.id
                    ),
                    e,
                )),
            };
        }
        let meta = SecretMeta::new(S::SERVICE, id.to_string())
            .with_name(new.text().to_owned())
            .with_expires_at(new.expires_at());
        let recording = self.recording(sink, request);
        if let Err(e) = super::sink::store_read_back(&recording, new.secret(), &meta).await {
            if !e.secret_written() {
                let left = discard(id).await;
                return Err(Unsettled::Step {
                    step: "storing the new secret",
                    left,
                    cause: Box::new(e),
                });
            }
        }
        match self.list_all().await {
            Ok(listed) if listed.iter().any(|t| t.id == id) => Ok(Settled::Stored(new_ref)),
            Ok(_) => Err(fail(
                "checking the new token once stored",
                format!(
                    "the sink holds the secret of token {id}, which another run removed: apply \
                     again"
                ),
                Error::invalid(
                    "token_id",
                    "the new token is no longer listed once its secret was stored",
                ),
            )),
            Err(e) => Err(fail(
                "checking the new token once stored",
                format!("the sink holds the secret of token {id}: apply again"),
                e,
            )),
        }
    }
}
