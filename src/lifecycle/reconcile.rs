//! What a reconciliation removes: tokens carrying stale markers, or one
//! marker named by an error.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::marker::Marker;
use super::mint::{Listed, Ops, TokenKey};
use super::rotate::DEFAULT_LEASE;
use super::token_ref::TokenRef;
use crate::error::{Error, Result};

/// Which marked tokens a reconciliation removes: see
/// [`UnitLifecycle::reconcile`](super::UnitLifecycle::reconcile) and
/// [`MailtrapLifecycle::reconcile`](super::MailtrapLifecycle::reconcile).
///
/// A token is removed when it carries a marker (at the very end of its
/// description or name, see [`Marker`]) and that marker is older than
/// [`older_than`](Reconcile::older_than) or is one named with
/// [`marker`](Reconcile::marker), unless its id was given to
/// [`keep`](Reconcile::keep). A token without a marker is never removed.
/// By age, only markers with a valid check are swept (a name typed to
/// look like a marker, or a marker of release 0.2.0, is not; name the
/// latter with [`marker`](Reconcile::marker)).
///
/// Tokens minted by rotations (markers `from:OLD`) are swept by age only
/// when they are leftovers:
/// - while `OLD` is still listed, its newest replacement is kept (a
///   rotation that stopped at step 4 stored its secret), and so is every
///   replacement younger than the [lease](Reconcile::lease) (a rotation
///   may be running); older replacements are leftovers of interrupted runs;
/// - once `OLD` is gone, none is swept (the rotation finished, and its
///   secret is in a sink).
///
/// A named marker is removed whatever its state.
///
/// Neither service can rename a token, so a token minted by this module
/// keeps its marker for life. A marker's age alone cannot tell a token
/// whose secret was lost from one that is held and in use: name the tokens
/// you hold with [`keep`](Reconcile::keep) (the ids returned by
/// [`mint`](super::UnitLifecycle::mint) and
/// [`rotate`](super::UnitLifecycle::rotate)), or reconcile only the marker
/// an [`Error::Unreconciled`](crate::Error::Unreconciled) named.
///
/// ```
/// use std::time::Duration;
/// use api_tokens::lifecycle::{Marker, Reconcile};
///
/// // Markers older than an hour, except token 19, which is in use.
/// let stale = Reconcile::older_than(Duration::from_secs(3600)).keep("19");
///
/// // Exactly the token an error named.
/// let marker: Marker = "[at:t4k2ab-7f3k9q2m]".parse()?;
/// let one = Reconcile::marker(marker);
/// # let _ = (stale, one);
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconcile {
    older_than: Option<TimeDelta>,
    markers: Vec<Marker>,
    keep: BTreeSet<String>,
    now: Option<DateTime<Utc>>,
    lease: TimeDelta,
}

impl Reconcile {
    /// Tokens carrying markers older than `age`.
    pub fn older_than(age: Duration) -> Reconcile {
        Reconcile {
            older_than: Some(TimeDelta::from_std(age).unwrap_or(TimeDelta::MAX)),
            markers: Vec::new(),
            keep: BTreeSet::new(),
            now: None,
            lease: TimeDelta::from_std(DEFAULT_LEASE).unwrap_or(TimeDelta::MAX),
        }
    }

    /// The token carrying exactly this marker, whatever its age (more
    /// markers can be added with [`and_marker`](Reconcile::and_marker)).
    pub fn marker(marker: Marker) -> Reconcile {
        Reconcile {
            older_than: None,
            markers: vec![marker],
            keep: BTreeSet::new(),
            now: None,
            lease: TimeDelta::from_std(DEFAULT_LEASE).unwrap_or(TimeDelta::MAX),
        }
    }

    /// Also the token carrying this marker.
    pub fn and_marker(mut self, marker: Marker) -> Reconcile {
        self.markers.push(marker);
        self
    }

    /// Never removes the token with this id (one you hold).
    pub fn keep(mut self, id: impl ToString) -> Reconcile {
        self.keep.insert(id.to_string());
        self
    }

    /// Never removes the tokens with these ids.
    pub fn keep_all<I>(mut self, ids: I) -> Reconcile
    where
        I: IntoIterator,
        I::Item: ToString,
    {
        self.keep.extend(ids.into_iter().map(|id| id.to_string()));
        self
    }

    /// How long a rotation's replacement of a live token counts as in
    /// flight, and is never swept by age: [`DEFAULT_LEASE`](super::DEFAULT_LEASE)
    /// unless set (use the lease the rotations were given).
    pub fn lease(mut self, lease: Duration) -> Reconcile {
        self.lease = TimeDelta::from_std(lease).unwrap_or(TimeDelta::MAX);
        self
    }

    /// Measures ages from `now` instead of the current time.
    pub fn at(mut self, now: DateTime<Utc>) -> Reconcile {
        self.now = Some(now);
        self
    }

    /// Whether a token with this id and this description or name is to be
    /// removed, looked at alone: a named marker, or a checked marker older
    /// than the age (a whole list may keep it still, see the type's docs).
    pub fn selects(&self, id: &str, text: &str) -> bool {
        let Some(marker) = Marker::find(text) else {
            return false;
        };
        if self.keep.contains(id) {
            return false;
        }
        self.markers.contains(&marker) || self.stale(&marker)
    }

    /// Refuses an age or a lease longer than
    /// [`MAX_SPAN`](crate::time::MAX_SPAN), before any request.
    fn check(&self) -> Result<()> {
        if self
            .older_than
            .is_some_and(|age| age > crate::time::MAX_SPAN)
        {
            return Err(Error::invalid(
                "older_than",
                "the age is longer than 10,000 years, the longest accepted",
            ));
        }
        if self.lease > crate::time::MAX_SPAN {
            return Err(Error::invalid(
                "lease",
                "the lease is longer than 10,000 years, the longest accepted",
            ));
        }
        Ok(())
    }

    fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }

    fn stale(&self, marker: &Marker) -> bool {
        marker.is_checked()
            && self
                .older_than
                .is_some_and(|age| marker.age(self.now()) > age)
    }

    /// The tokens of a whole list to remove: as [`selects`](Self::selects),
    /// except that a stale replacement of a listed token is kept when it is
    /// the newest replacement of it or younger than the lease, and one of
    /// a token no longer listed is always kept, unless its marker was
    /// named.
    pub(crate) fn select<'a, I: TokenKey>(&self, listed: &'a [Listed<I>]) -> Vec<&'a Listed<I>> {
        let now = self.now();
        listed
            .iter()
            .filter(|t| self.selects(&t.id.to_string(), &t.text))
            .filter(|t| {
                let Some(marker) = t.marker() else {
                    return false;
                };
                if self.markers.contains(&marker) {
                    return true;
                }
                let Some(old) = marker.replaces() else {
                    return true;
                };
                if !listed.iter().any(|o| o.id.to_string() == old) {
                    return false;
                }
                let newest = listed
                    .iter()
                    .filter(|o| {
                        o.checked_marker()
                            .is_some_and(|m| m.replaces() == Some(old))
                    })
                    .max_by(|a, b| a.id.cmp(&b.id));
                let is_newest = newest.is_some_and(|n| n.id == t.id);
                !is_newest && marker.age(now) >= self.lease
            })
            .collect()
    }
}

/// Lists, then gives what `what` selects, oldest first, removing nothing.
pub(crate) async fn preview<O: Ops>(ops: &O, what: &Reconcile) -> Result<Vec<TokenRef>> {
    what.check()?;
    let listed = ops.list_all().await?;
    let mut chosen = what.select(&listed);
    chosen.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(chosen
        .into_iter()
        .map(|token| token.to_ref(O::SERVICE))
        .collect())
}

/// Lists, then removes what `what` selects, oldest first.
pub(crate) async fn run<O: Ops>(ops: &O, what: &Reconcile) -> Result<Vec<TokenRef>> {
    what.check()?;
    let listed = ops.list_all().await?;
    let mut chosen = what.select(&listed);
    chosen.sort_by(|a, b| a.id.cmp(&b.id));
    let mut removed = Vec::with_capacity(chosen.len());
    for token in chosen {
        ops.remove(&token.id).await?;
        tracing::info!(service = %O::SERVICE, token_id = %token.id, "removed a token carrying a stale marker");
        removed.push(token.to_ref(O::SERVICE));
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_stale_or_named_markers_only() {
        let now = Utc::now();
        let stale = Marker::at(now - TimeDelta::hours(3));
        let fresh = Marker::at(now - TimeDelta::minutes(5));
        let named = Marker::at(now - TimeDelta::minutes(1));
        let rule = Reconcile::older_than(Duration::from_secs(3600))
            .and_marker(named.clone())
            .keep("4")
            .at(now);
        assert!(rule.selects("1", &stale.tag("ci")));
        assert!(!rule.selects("2", &fresh.tag("ci")));
        assert!(rule.selects("3", &named.tag("ci")));
        assert!(!rule.selects("4", &stale.tag("ci")), "kept");
        assert!(!rule.selects("5", "ci"), "no marker");
        assert!(
            !rule.selects("6", &format!("{} 6", stale.tag("ci"))),
            "a reset's new name does not carry the old marker"
        );
        let only_named = Reconcile::marker(named.clone()).at(now);
        assert!(only_named.selects("3", &named.tag("x")));
        assert!(!only_named.selects("1", &stale.tag("x")));
    }
}
