//! [`Services`]: the clients a plan lists with and an apply acts through,
//! and where secrets go ([`SinkSpec`] to sink).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::lifecycle::{SecretSink, SinkError, SinkSpec};
use crate::{mailtrap, unit};

/// What makes a sink of a spec.
type MakeSink = dyn Fn(&SinkSpec) -> Result<Box<dyn SecretSink>, SinkError> + Send + Sync;

/// Makes the sink a spec names; shown in `Debug` as `custom`.
#[derive(Clone)]
pub(crate) struct SinkFactory(Arc<MakeSink>);

impl fmt::Debug for SinkFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("custom")
    }
}

/// Where the entries' tokens live: a Unit client with the default user,
/// and Mailtrap clients per account.
///
/// Mailtrap: an entry's token lives in the accounts its `account:ID:…`
/// permissions name; each needs a client, given with
/// [`mailtrap_account`](Services::mailtrap_account), or the default client
/// ([`mailtrap`](Services::mailtrap)) when that client names the account.
/// An entry that names no account uses the default client's account. Each
/// account is listed once per plan, whatever the number of entries in it.
///
/// Mailtrap limits requests per token, not per account: give the accounts
/// of one token clients made with [`mailtrap::Client::for_account`], so that
/// they share one pacer. (Clients built separately each pace themselves,
/// and only follow the rate-limit headers the service sends for the token
/// as a whole.)
///
/// ```
/// use api_tokens::ensure::Services;
/// use api_tokens::{mailtrap, unit};
///
/// let unit = unit::Client::builder().token("FAKE0example0key").build()?;
/// let mailtrap = mailtrap::Client::builder().token("FAKE0example0key").build()?;
/// let services = Services::new()
///     .unit(unit, Some("2".parse()?))
///     .mailtrap_account(3229, mailtrap.for_account(Some(3229))?)
///     .mailtrap_account(4410, mailtrap.for_account(Some(4410))?);
/// # let _ = services;
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Services {
    pub(crate) unit: Option<unit::Client>,
    pub(crate) unit_user: Option<unit::UserId>,
    pub(crate) mailtrap_default: Option<mailtrap::Client>,
    pub(crate) mailtrap: BTreeMap<u64, mailtrap::Client>,
    pub(crate) sinks: Option<SinkFactory>,
}

impl Services {
    /// No service yet.
    pub fn new() -> Services {
        Services::default()
    }

    /// Unit, through `client`; entries without `user_id` belong to
    /// `default_user`.
    pub fn unit(mut self, client: unit::Client, default_user: Option<unit::UserId>) -> Services {
        self.unit = Some(client);
        self.unit_user = default_user;
        self
    }

    /// The default Mailtrap client: for entries that name no account, and
    /// for the account it names itself, if any.
    pub fn mailtrap(mut self, client: mailtrap::Client) -> Services {
        self.mailtrap_default = Some(client);
        self
    }

    /// The Mailtrap client of one account (built with that
    /// `account_id`, or made by [`mailtrap::Client::for_account`]).
    pub fn mailtrap_account(mut self, account_id: u64, client: mailtrap::Client) -> Services {
        self.mailtrap.insert(account_id, client);
        self
    }

    /// How a sink spec becomes a sink (default:
    /// [`SinkSpec::into_sink`]): to plug in a store of your own, or a sink
    /// that can read back what it holds
    /// ([`SecretSink::current`]).
    pub fn sinks(
        mut self,
        make: impl Fn(&SinkSpec) -> Result<Box<dyn SecretSink>, SinkError> + Send + Sync + 'static,
    ) -> Services {
        self.sinks = Some(SinkFactory(Arc::new(make)));
        self
    }

    pub(crate) fn sink(&self, spec: &SinkSpec) -> Result<Box<dyn SecretSink>, SinkError> {
        match &self.sinks {
            Some(SinkFactory(make)) => make(spec),
            None => spec.clone().into_sink(),
        }
    }

    /// Whether the sink of `spec` reads back what it holds, so that a
    /// sink holding nothing tells a lost secret: the crate's file and
    /// env-file sinks do; standard output does not, and a factory given
    /// with [`sinks`](Services::sinks) is trusted only for the secrets it
    /// returns.
    pub(crate) fn reads_back(&self, spec: &SinkSpec) -> bool {
        self.sinks.is_none() && matches!(spec, SinkSpec::File(_) | SinkSpec::EnvFile { .. })
    }

    /// The key of an account as plans group tokens: the account named, or
    /// the default client's (`None`: its token's own).
    pub(crate) fn default_account(&self) -> Option<u64> {
        self.mailtrap_default
            .as_ref()
            .and_then(mailtrap::Client::account_id)
    }

    /// The client of an account key.
    pub(crate) fn mailtrap_client(&self, account: Option<u64>) -> Option<&mailtrap::Client> {
        match account {
            Some(id) => self.mailtrap.get(&id).or_else(|| {
                self.mailtrap_default
                    .as_ref()
                    .filter(|c| c.account_id() == Some(id))
            }),
            None => self
                .mailtrap_default
                .as_ref()
                .filter(|c| c.account_id().is_none()),
        }
    }
}

/// An account as messages name it.
pub(crate) fn account_text(account: Option<u64>) -> String {
    match account {
        Some(id) => format!("account {id}"),
        None => "the token's own account".to_owned(),
    }
}
