//! What the transport must know of a service, as the service states it.

use url::Url;

use super::pacing::Documented;

/// What the transport must know of a service, as the service states it:
/// each dialect hands its own when it builds its client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServiceFacts {
    /// The documented rate limit, followed against the service's own hosts.
    pub limit: Documented,
    /// The service's own hosts; against any other, pacing follows the
    /// answers' headers only.
    pub own_hosts: &'static [&'static str],
    /// What the service's limit counts requests of.
    pub paced_per: PacedPer,
}

/// What a service's rate limit counts requests of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacedPer {
    /// Each token: a client with another token is paced on its own.
    Token,
    /// The caller's address: every token of a client shares one pacer.
    Address,
}

impl ServiceFacts {
    /// Whether `base` is one of the service's own hosts.
    pub(super) fn is_own(&self, base: &Url) -> bool {
        base.host_str()
            .is_some_and(|h| self.own_hosts.iter().any(|own| h.eq_ignore_ascii_case(own)))
    }
}
