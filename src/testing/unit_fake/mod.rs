//! A stateful fake of Unit's Org API tokens (JSON:API dialect), one job
//! per file: the endpoints ([`op`]), the tokens and seeds ([`token`]), the
//! error documents ([`errors`]), the checks of a create ([`validate`]), the
//! state and its answers ([`state`]) and the fake a test holds ([`fake`]).

mod errors;
mod fake;
mod op;
mod state;
mod token;
mod validate;

pub use fake::{UnitDialect, UnitFake, UnitFakeBuilder};
pub use op::{RevokeAnswer, UnitOp};
pub use token::{UnitToken, UnitTokenSeed};
