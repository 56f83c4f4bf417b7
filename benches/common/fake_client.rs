//! A Mailtrap client of one of the crate's fakes, as the benches build it.

use api_tokens::testing::MailtrapFake;
use api_tokens::{Pacing, RetryPolicy, mailtrap};

/// A client of `fake`'s account, with `retry` and `pacing`.
pub fn mailtrap_client(
    fake: &MailtrapFake,
    retry: RetryPolicy,
    pacing: Pacing,
) -> mailtrap::Client {
    mailtrap::Client::builder()
        .token(fake.token().clone())
        .account_id(fake.account_id())
        .base_url(fake.uri())
        .retry(retry)
        .pacing(pacing)
        .build()
        .expect("mailtrap client")
}
