//! The permissions an Org API token is granted, as Unit writes them.

use crate::error::{Error, Result};

use super::word::word_traits;

macro_rules! scopes {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal,)+) => {
        /// A permission an Org API token is granted, as Unit documents them
        /// (see Unit's "Scopes" documentation).
        ///
        /// Scopes Unit adds later are written with [`Scope::Other`]; on the
        /// wire they are joined with single spaces. A scope is lower-case
        /// letters and dashes; anything else is refused before sending.
        ///
        /// ```
        /// use api_tokens::unit::Scope;
        ///
        /// let s: Scope = "cards-write".parse().unwrap();
        /// assert_eq!(s, Scope::CardsWrite);
        /// assert_eq!(Scope::PaymentsWriteAchDebit.as_str(), "payments-write-ach-debit");
        /// assert_eq!("loans".parse::<Scope>().unwrap(), Scope::Other("loans".into()));
        /// assert!("Cards Write".parse::<Scope>().is_err());
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Scope {
            $($(#[$doc])* $variant,)+
            /// A scope this version of the crate does not know by name.
            Other(String),
        }

        impl Scope {
            /// Every scope this version knows by name, in Unit's order.
            pub const KNOWN: &'static [Scope] = &[$(Scope::$variant,)+];

            /// The scope as Unit writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Scope::$variant => $wire,)+
                    Scope::Other(s) => s,
                }
            }

            /// The known scope of that name, or `Other`, without checking it.
            fn from_wire(s: &str) -> Scope {
                match s {
                    $($wire => Scope::$variant,)+
                    other => Scope::Other(other.to_owned()),
                }
            }
        }
    };
}

scopes! {
    /// Read applications.
    Applications => "applications",
    /// Create and update applications.
    ApplicationsWrite => "applications-write",
    /// Read customer tokens.
    CustomerToken => "customer-token",
    /// Create customer tokens.
    CustomerTokenWrite => "customer-token-write",
    /// Read customers.
    Customers => "customers",
    /// Update customers.
    CustomersWrite => "customers-write",
    /// Update customers' tags.
    CustomerTagsWrite => "customer-tags-write",
    /// Read accounts.
    Accounts => "accounts",
    /// Create, update and close accounts.
    AccountsWrite => "accounts-write",
    /// Read cards.
    Cards => "cards",
    /// Create and update cards.
    CardsWrite => "cards-write",
    /// Read sensitive card data (full number, CVV).
    CardsSensitive => "cards-sensitive",
    /// Change sensitive card data (PIN).
    CardsSensitiveWrite => "cards-sensitive-write",
    /// Read transactions.
    Transactions => "transactions",
    /// Update transactions.
    TransactionsWrite => "transactions-write",
    /// Read card authorizations.
    Authorizations => "authorizations",
    /// Read statements and tax forms.
    Statements => "statements",
    /// Read payments.
    Payments => "payments",
    /// Create payments.
    PaymentsWrite => "payments-write",
    /// Create payments to counterparties.
    PaymentsWriteCounterparty => "payments-write-counterparty",
    /// Create payments to linked accounts.
    PaymentsWriteLinkedAccount => "payments-write-linked-account",
    /// Create ACH debit payments.
    PaymentsWriteAchDebit => "payments-write-ach-debit",
    /// Create ACH payments.
    AchPaymentsWrite => "ach-payments-write",
    /// Create wire payments.
    WirePaymentsWrite => "wire-payments-write",
    /// Read counterparties.
    Counterparties => "counterparties",
    /// Create and update counterparties.
    CounterpartiesWrite => "counterparties-write",
    /// Read events.
    Events => "events",
    /// Fire events again.
    EventsWrite => "events-write",
    /// Read webhooks.
    Webhooks => "webhooks",
    /// Create and update webhooks.
    WebhooksWrite => "webhooks-write",
    /// Read authorization requests.
    AuthorizationRequests => "authorization-requests",
    /// Approve and decline authorization requests.
    AuthorizationRequestsWrite => "authorization-requests-write",
    /// Read batch releases.
    BatchReleases => "batch-releases",
    /// Create batch releases.
    BatchReleasesWrite => "batch-releases-write",
    /// Read check deposits.
    CheckDeposits => "check-deposits",
    /// Create check deposits.
    CheckDepositsWrite => "check-deposits-write",
    /// Read check payments.
    CheckPayments => "check-payments",
    /// Create check payments.
    CheckPaymentsWrite => "check-payments-write",
    /// Read received payments.
    ReceivedPayments => "received-payments",
    /// Update received payments.
    ReceivedPaymentsWrite => "received-payments-write",
    /// Read chargebacks.
    Chargebacks => "chargebacks",
    /// Create chargebacks.
    ChargebacksWrite => "chargebacks-write",
    /// Read rewards.
    Rewards => "rewards",
    /// Create rewards.
    RewardsWrite => "rewards-write",
    /// Read wire drawdowns.
    WireDrawdowns => "wire-drawdowns",
    /// Create wire drawdowns.
    WireDrawdownsWrite => "wire-drawdowns-write",
    /// Read repayments.
    Repayments => "repayments",
    /// Create repayments.
    RepaymentsWrite => "repayments-write",
}

/// Whether `s` can be sent as one scope: lower-case ASCII letters and
/// dashes, not empty (the contract's `^[a-z-]+( [a-z-]+)*$` per item).
pub(super) fn is_scope_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

impl Scope {
    /// The scope named `text` when this version knows it. What is read to
    /// be sent (a command line, a tokens file, a stored record) must be a
    /// known scope, where a scope Unit answers with may be new
    /// ([`Scope::Other`]).
    ///
    /// ```
    /// use api_tokens::unit::Scope;
    ///
    /// assert_eq!(Scope::known("cards-write").unwrap(), Scope::CardsWrite);
    /// let e = Scope::known("custommers").unwrap_err().to_string();
    /// assert!(e.contains("`custommers` is not a scope Unit knows") && e.contains("customers"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] (field `scope`) naming `text`, escaped, and the
    /// known scopes.
    pub fn known(text: &str) -> Result<Scope> {
        match text.trim().parse::<Scope>() {
            Ok(Scope::Other(_)) | Err(_) => Err(Error::invalid(
                "scope",
                format!(
                    "`{}` is not a scope Unit knows; the known scopes are: {}",
                    text.chars().take(64).collect::<String>().escape_debug(),
                    Scope::KNOWN
                        .iter()
                        .map(Scope::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Ok(scope) => Ok(scope),
        }
    }

    /// Refuses a scope that could not be sent as one word of `scope`.
    pub(crate) fn validate(&self) -> Result<&str> {
        let s = self.as_str();
        if is_scope_word(s) {
            Ok(s)
        } else {
            Err(Error::invalid(
                "scope",
                format!(
                    "`{}` is not a scope; a scope is lower-case letters and dashes \
                     (such as `customers` or `cards-write`)",
                    s.escape_debug()
                ),
            ))
        }
    }
}

word_traits!(
    Scope,
    parse:
    /// The known scope of that name, or [`Scope::Other`]; refuses a string
    /// that is not lower-case letters and dashes.
    deserialize:
    /// Any string: an unknown scope is kept as [`Scope::Other`].
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_scope_round_trips() {
        for scope in Scope::KNOWN {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), *scope);
            assert!(is_scope_word(scope.as_str()));
        }
        let mut names: Vec<&str> = Scope::KNOWN.iter().map(Scope::as_str).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Scope::KNOWN.len());
    }
}
