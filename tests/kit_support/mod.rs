//! What the testing kit's tests share: clients of the fakes with retries
//! off, so that every call is one request.
#![allow(dead_code)]

use api_tokens::testing::{MailtrapFake, UnitFake};
use api_tokens::{RetryPolicy, mailtrap, unit};
use secrecy::SecretString;

/// A Unit client of `fake` that presents `token`.
pub fn unit_client(fake: &UnitFake, token: &SecretString) -> unit::Client {
    unit::Client::builder()
        .token(token.clone())
        .base_url(fake.uri())
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap()
}

/// A Mailtrap client of `fake`'s account that presents `token`.
pub fn mailtrap_client(fake: &MailtrapFake, token: &SecretString) -> mailtrap::Client {
    mailtrap_client_on(fake, token, Some(fake.account_id()))
}

/// A Mailtrap client of `fake` that presents `token`, on `account`, or
/// with none named on the account-free paths.
pub fn mailtrap_client_on(
    fake: &MailtrapFake,
    token: &SecretString,
    account: Option<u64>,
) -> mailtrap::Client {
    let builder = mailtrap::Client::builder()
        .token(token.clone())
        .base_url(fake.uri())
        .retry(RetryPolicy::disabled());
    match account {
        Some(id) => builder.account_id(id),
        None => builder,
    }
    .build()
    .unwrap()
}
