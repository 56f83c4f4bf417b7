//! What an apply did: one [`Outcome`] per action carried out.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::lifecycle::{MintIntoError, RotateError, SinkError, TokenRef};

use super::plan::Action;

/// Why one action failed. Never holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// The entry's sink could not be made or checked: nothing was minted.
    #[error("secret_to: {0}")]
    Sink(#[source] SinkError),
    /// An exactly-once mint, or the store that follows it, failed.
    #[error(transparent)]
    Mint(Box<MintIntoError>),
    /// A rotation stopped.
    #[error(transparent)]
    Rotate(#[from] RotateError),
    /// A create stopped after its mint, while settling against other
    /// runs or storing: which step, what it left, and why. (Replacements
    /// are rotations: they fail as [`ActionError::Rotate`].)
    #[error("{step}: {cause}; {left}")]
    Replace {
        /// The step that failed (`listing before the store`, `yielding to
        /// another run`, `storing the new secret`, `checking the new token
        /// once stored`).
        step: &'static str,
        /// What the failure left behind.
        left: String,
        /// Why.
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A call to the service failed (a removal).
    #[error(transparent)]
    Service(#[from] crate::Error),
    /// The service, account or user is not configured.
    #[error("{0}")]
    NotConfigured(String),
}

impl From<MintIntoError> for ActionError {
    fn from(e: MintIntoError) -> Self {
        ActionError::Mint(Box::new(e))
    }
}

impl ActionError {
    /// Whether a create's answer was lost and could not be reconciled: a
    /// token may exist that nobody holds.
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            ActionError::Mint(e) => {
                matches!(&**e, MintIntoError::Mint(e) if e.is_outcome_unknown())
            }
            ActionError::Service(e) => e.is_outcome_unknown(),
            ActionError::Rotate(e) => e.is_outcome_unknown(),
            ActionError::Replace { cause, .. } => cause
                .downcast_ref::<crate::Error>()
                .is_some_and(crate::Error::is_outcome_unknown),
            _ => false,
        }
    }
}

/// What became of one action.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct Outcome {
    /// The action, as planned.
    #[serde(flatten)]
    pub action: Action,
    /// The new token (after a create, rotate or replace), or the error.
    #[serde(rename = "result", serialize_with = "result_shape")]
    pub result: Result<Done, ActionError>,
}

/// What a successful action did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Done {
    /// The token minted, whose secret the sink holds.
    pub token: Option<TokenRef>,
    /// The tokens removed (the old token, duplicates, an orphan).
    pub removed: Vec<TokenRef>,
    /// Another run acting on the same entry at once (another `apply`, a
    /// rotation) minted first, and its token is the entry's: this run
    /// removed its own new token, stored nothing, and left the rest to
    /// that run. The next plan shows whether anything is left to do.
    pub yielded_to: Option<TokenRef>,
}

fn result_shape<S: Serializer>(
    result: &Result<Done, ActionError>,
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Shape<'a> {
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        new_token_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        removed: Vec<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        yielded_to: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    }
    let shape = match result {
        Ok(done) => Shape {
            ok: true,
            new_token_id: done.token.as_ref().map(|t| t.id.as_str()),
            removed: done.removed.iter().map(|t| t.id.as_str()).collect(),
            yielded_to: done.yielded_to.as_ref().map(|t| t.id.as_str()),
            error: None,
        },
        Err(e) => Shape {
            ok: false,
            new_token_id: None,
            removed: Vec::new(),
            yielded_to: None,
            error: Some(e.to_string()),
        },
    };
    shape.serialize(s)
}

impl fmt::Display for Outcome {
    /// One line: `mailtrap rotate ci-deploy: done, new token 12347`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let service = match self.action.service {
            crate::Service::Unit => "unit",
            crate::Service::Mailtrap => "mailtrap",
        };
        write!(f, "{service} {} {:?}: ", self.action.kind, self.action.name)?;
        match &self.result {
            Ok(done) => {
                f.write_str("done")?;
                if let Some(t) = &done.token {
                    write!(f, ", new token {}", t.id)?;
                }
                if !done.removed.is_empty() {
                    let ids: Vec<&str> = done.removed.iter().map(|t| t.id.as_str()).collect();
                    write!(f, ", removed {}", ids.join(" "))?;
                }
                if let Some(t) = &done.yielded_to {
                    write!(f, ", yielded to token {} of another run", t.id)?;
                }
                Ok(())
            }
            Err(e) => write!(f, "failed: {e}"),
        }
    }
}

/// What an apply did, action by action (`none` actions are not carried
/// out and not listed). Serialized as `{"actions": [...]}`, each action
/// with its `result`.
#[derive(Debug, Default, Serialize)]
#[non_exhaustive]
pub struct ApplyReport {
    /// One outcome per action carried out, in the plan's order within each
    /// service.
    pub actions: Vec<Outcome>,
}

impl ApplyReport {
    /// The actions that failed.
    pub fn failed(&self) -> impl Iterator<Item = &Outcome> {
        self.actions.iter().filter(|o| o.result.is_err())
    }

    /// Whether every action succeeded.
    pub fn is_success(&self) -> bool {
        self.failed().next().is_none()
    }
}
