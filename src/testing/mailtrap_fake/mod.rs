//! A stateful fake of Mailtrap's account API tokens (flat JSON dialect),
//! one job per file: the endpoints and the reset rule ([`op`]), the tokens
//! and seeds ([`token`]), the answers in the service's shapes
//! ([`replies`]), the checks of ids, permissions and expiries
//! ([`validate`]), the state and its answers ([`state`]) and the fake a
//! test holds ([`fake`]).

mod fake;
mod op;
mod replies;
mod state;
mod token;
mod validate;

pub use fake::{MailtrapDialect, MailtrapFake, MailtrapFakeBuilder};
pub use op::{MailtrapOp, ResetRule};
pub use token::{MailtrapToken, MailtrapTokenSeed};
