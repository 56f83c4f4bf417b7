//! The `kit` area's tests, one module per file of `tests/kit/`,
//! linked as one test binary.

#[path = "kit_support/mod.rs"]
mod kit_support;

#[path = "kit/fake_drop.rs"]
mod fake_drop;
#[path = "kit/fakes_aimed_faults.rs"]
mod fakes_aimed_faults;
#[path = "kit/fakes_concurrent.rs"]
mod fakes_concurrent;
#[path = "kit/fakes_expectations.rs"]
mod fakes_expectations;
#[path = "kit/fakes_rate_limits.rs"]
mod fakes_rate_limits;
#[path = "kit/fakes_shared.rs"]
mod fakes_shared;
#[path = "kit/faults_client.rs"]
mod faults_client;
#[path = "kit/mailtrap_accounts.rs"]
mod mailtrap_accounts;
#[path = "kit/mailtrap_client.rs"]
mod mailtrap_client;
#[path = "kit/mailtrap_permissions.rs"]
mod mailtrap_permissions;
#[path = "kit/mailtrap_several_accounts.rs"]
mod mailtrap_several_accounts;
#[path = "kit/record_client.rs"]
mod record_client;
#[path = "kit/testing_faults.rs"]
mod testing_faults;
#[path = "kit/testing_fixtures.rs"]
mod testing_fixtures;
#[path = "kit/testing_mailtrap_fake.rs"]
mod testing_mailtrap_fake;
#[path = "kit/testing_record.rs"]
mod testing_record;
#[path = "kit/testing_unit_fake.rs"]
mod testing_unit_fake;
#[path = "kit/typed_seeds.rs"]
mod typed_seeds;
#[path = "kit/unit_client.rs"]
mod unit_client;
