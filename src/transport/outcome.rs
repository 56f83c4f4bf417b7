//! What an attempt came to, and what that means: whether the call may be
//! made again, whether the service may have acted with its answer lost, and
//! whether the same call may succeed later. The retry loop, a mint's
//! lost-answer rule and the crate's errors all read this one
//! classification.

/// What happened on one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The service answered with this status.
    Status(u16),
    /// The connection could not be made: the request was never sent.
    ConnectFailed,
    /// The attempt timed out; the service may have acted on it.
    TimedOut,
    /// The connection broke after the request may have been sent.
    Broken,
}

impl Outcome {
    /// The outcome of an attempt that got no answer, by its error.
    pub(crate) fn of_failure(error: &reqwest::Error) -> Outcome {
        if error.is_connect() {
            Outcome::ConnectFailed
        } else if error.is_timeout() {
            Outcome::TimedOut
        } else {
            Outcome::Broken
        }
    }
}

/// What an attempt's outcome means, decided in this one place: whether the
/// retry loop may make the call again, whether the service may have acted
/// with its answer lost, and whether the same call may succeed later. The
/// loop, the lost-answer rule of a mint and [`Error::is_retryable`] all
/// read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// The service did not act, or refused for now: the connection was
    /// never made, or a 429. Any call may be made again.
    Repeat,
    /// No usable answer, and the service may have acted: a timeout, a
    /// broken connection, 408, 500, 502, 503, 504. Only a call that is
    /// idempotent is made again.
    Unanswered,
    /// A server error that a repeat at once would not mend (501, 505–599):
    /// not made again, but the service may have acted and a later call
    /// may succeed.
    Retryable,
    /// An answer that ends the call: a success, or a refusal a repeat would
    /// not change.
    Final,
}

impl Class {
    /// The class of an outcome.
    pub(crate) fn of(outcome: Outcome) -> Class {
        match outcome {
            Outcome::ConnectFailed | Outcome::Status(429) => Class::Repeat,
            Outcome::TimedOut | Outcome::Broken | Outcome::Status(408 | 500 | 502 | 503 | 504) => {
                Class::Unanswered
            }
            Outcome::Status(500..=599) => Class::Retryable,
            Outcome::Status(_) => Class::Final,
        }
    }

    /// Whether the retry loop may make a call (idempotent or not) again.
    pub(crate) fn may_repeat(self, idempotent: bool) -> bool {
        match self {
            Class::Repeat => true,
            Class::Unanswered => idempotent,
            Class::Retryable | Class::Final => false,
        }
    }

    /// Whether the service may have acted and its answer was lost.
    pub(crate) fn unanswered(self) -> bool {
        matches!(self, Class::Unanswered | Class::Retryable)
    }

    /// Whether the same call may succeed if made again later.
    pub(crate) fn retryable(self) -> bool {
        self != Class::Final
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, Error, Service};

    fn may_repeat(idempotent: bool, outcome: Outcome) -> bool {
        Class::of(outcome).may_repeat(idempotent)
    }

    #[test]
    fn what_may_repeat() {
        assert!(may_repeat(false, Outcome::ConnectFailed));
        assert!(may_repeat(false, Outcome::Status(429)));
        assert!(!may_repeat(false, Outcome::Status(503)));
        assert!(!may_repeat(false, Outcome::TimedOut));
        assert!(!may_repeat(false, Outcome::Broken));
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(may_repeat(true, Outcome::Status(s)), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422, 501] {
            assert!(!may_repeat(true, Outcome::Status(s)), "{s}");
        }
        assert!(may_repeat(true, Outcome::TimedOut));
        assert!(may_repeat(true, Outcome::Broken));
    }

    /// What the service may have done, and what a later call may do, for
    /// every outcome: as the retry loop and a mint's lost-answer rule read
    /// it, and as the error that an answer of each status becomes says.
    #[test]
    fn one_class_decides_unanswered_and_retryable_and_errors_keep_it() {
        for outcome in [Outcome::TimedOut, Outcome::Broken] {
            assert!(Class::of(outcome).unanswered(), "{outcome:?}");
            assert!(Class::of(outcome).retryable(), "{outcome:?}");
        }
        assert!(!Class::of(Outcome::ConnectFailed).unanswered());
        for status in 100..=599u16 {
            let class = Class::of(Outcome::Status(status));
            assert_eq!(
                class.unanswered(),
                status == 408 || status >= 500,
                "{status}"
            );
            let api = ApiError::new(Service::Unit, status);
            let error = Error::from_api(api, None);
            assert_eq!(error.is_retryable(), class.retryable(), "{status}");
            assert_eq!(error.class(), Some(class), "{status}");
        }
    }
}
