//! A fault that makes concurrent rotations overlap: every probe of a new
//! secret answered late.

use std::time::Duration;

use api_tokens::testing::{Fault, placeholder};
use secrecy::SecretString;

/// Holds back by `held` every request made with a credential other than
/// `admin` (the fake's own): the probes of the new secrets. Meant for the
/// fakes' list operation.
pub fn hold_probes(admin: &SecretString, held: Duration) -> Fault {
    let admin = placeholder(admin);
    Fault::delay(held)
        .times(10_000)
        .when(move |r| !r.headers.values().any(|v| v.contains(&admin)))
}
