//! The methods both fakes share, tried once through the generic fake on
//! each dialect.

use std::time::Duration;

use api_tokens::secrecy::{ExposeSecret, SecretString};
use api_tokens::testing::{Dialect, Fake, Fault, MailtrapDialect, MailtrapOp, UnitDialect, UnitOp};

/// What a test asks of any fake, written once against the dialect.
async fn the_shared_methods_act_on_the_fake<D: Dialect>(any: D::Op, first_id: u64) {
    let given = SecretString::from("given-credential");
    let fake = Fake::<D>::builder().token(given.clone()).start().await;
    assert_eq!(fake.token().expose_secret(), "given-credential");
    assert!(fake.uri().starts_with("http://127.0.0.1:"));
    assert_eq!(fake.next_id(), first_id);
    assert!(fake.tokens().is_empty());
    fake.set_next_id(first_id + 10)
        .expect("above every id held");
    assert_eq!(fake.next_id(), first_id + 10);
    assert!(fake.set_next_id(0).is_err());

    let before = fake.now();
    fake.advance_clock(Duration::from_secs(3600));
    assert!(fake.now() - before >= chrono::TimeDelta::seconds(3600));

    fake.inject(any, Fault::status(503));
    fake.expect(any).times(1);
    let answer = reqwest::get(format!("{}/anything", fake.uri()))
        .await
        .expect("the fake answers");
    assert_eq!(answer.status(), 503);
    assert_eq!(fake.requests().len(), 1);
    assert!(fake.requests()[0].faulted);
    fake.verify().expect("one request was expected and came");
    fake.clear_requests();
    assert!(fake.requests().is_empty());
    fake.clear_expectations();
}

#[tokio::test]
async fn both_fakes_share_one_set_of_methods() {
    the_shared_methods_act_on_the_fake::<UnitDialect>(UnitOp::Any, 1).await;
    the_shared_methods_act_on_the_fake::<MailtrapDialect>(MailtrapOp::Any, 12345).await;
}

#[tokio::test]
async fn an_expectation_names_the_service_endpoint() {
    let fake = Fake::<MailtrapDialect>::start().await;
    fake.expect(MailtrapOp::Create);
    let unmet = fake.verify().expect_err("nothing was created");
    assert!(unmet.to_string().contains("MailtrapOp::Create"), "{unmet}");
    fake.clear_expectations();
}
