//! Fuzzing the placeholders a recording writes for secrets: tokens the
//! crate accepts, stable for one secret, different for two, and never
//! holding the secret; and the recorder writing them for the credential
//! of every auth header and for every secret of a body.
//!
//! A bounded number of cases by default; set `API_TOKENS_FUZZ_CASES` (for
//! example to 100000) for a longer run.

use crate::fuzz_support;

use api_tokens::testing::{__fuzz, Cassette, placeholder};
use fuzz_support::{config, runner};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use secrecy::SecretString;

/// Cases per property unless `API_TOKENS_FUZZ_CASES` says otherwise.
const CASES: u32 = 1000;

/// A token as services mint them: visible ASCII, no spaces.
fn token() -> impl Strategy<Value = String> {
    "[!-~]{12,64}"
}

fn shown(secret: &str) -> String {
    placeholder(&SecretString::from(secret))
}

#[test]
fn a_placeholder_is_a_stable_ascii_token_that_never_holds_its_secret() {
    runner(CASES)
        .run(&(token(), token()), |(one, two)| {
            let p = shown(&one);
            prop_assert!(p.starts_with("redacted-"), "{p}");
            prop_assert!(p.bytes().all(|b| b.is_ascii_graphic()), "{p}");
            prop_assert!(!p.contains(&one));
            prop_assert_eq!(&p, &shown(&one));
            if one != two {
                prop_assert_ne!(&p, &shown(&two));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_short_secret_gets_no_hint_at_all() {
    runner(CASES)
        .run(&"[!-~]{1,11}", |secret| {
            prop_assert_eq!(shown(&secret), "redacted");
            Ok(())
        })
        .unwrap();
}

/// Building a client costs milliseconds: a fixed, small number of cases.
#[test]
fn both_clients_accept_a_placeholder_as_their_token() {
    TestRunner::new(config(48))
        .run(&token(), |secret| {
            let p = SecretString::from(shown(&secret));
            let mailtrap = api_tokens::mailtrap::Client::builder()
                .token(p.clone())
                .account_id(1)
                .build();
            prop_assert!(mailtrap.is_ok());
            let unit = api_tokens::unit::Client::builder().token(p).build();
            prop_assert!(unit.is_ok());
            Ok(())
        })
        .unwrap();
}

/// The recorder writes the placeholder of the credential of each auth
/// header (after its scheme) and of a minted secret, and neither secret.
#[test]
fn a_recording_writes_placeholders_for_credentials_and_minted_secrets() {
    let strategy = (
        "[A-Za-z0-9._~+/=-]{12,48}",
        "[A-Za-z0-9._~+/=-]{12,48}",
        any::<bool>(),
    );
    runner(CASES)
        .run(&strategy, |(credential, minted, bearer)| {
            prop_assume!(!credential.contains(&minted) && !minted.contains(&credential));
            let (name, value) = if bearer {
                ("authorization", format!("Bearer {credential}"))
            } else {
                ("api-token", credential.clone())
            };
            let body = serde_json::json!({"id": 7, "name": "ci", "token": minted}).to_string();
            let text = __fuzz::record(
                "POST",
                "/api/accounts/1/api_tokens",
                &[(name, value.as_str())],
                br#"{"name":"ci"}"#,
                200,
                &[("content-type", "application/json")],
                body.as_bytes(),
            );
            prop_assert!(text.is_some());
            let text = text.unwrap_or_default();
            prop_assert!(
                !text.contains(&credential) && !text.contains(&minted),
                "{text}"
            );
            let cassette = Cassette::parse(&text);
            prop_assert!(cassette.is_ok(), "{text}");
            let cassette = cassette.unwrap_or_default();
            let interaction = &cassette.interactions[0];
            let expected = if bearer {
                format!("Bearer {}", shown(&credential))
            } else {
                shown(&credential)
            };
            prop_assert_eq!(&interaction.request.headers[name], &expected);
            let recorded = interaction.response.body.clone().unwrap_or_default();
            prop_assert_eq!(&recorded["token"], &shown(&minted));
            Ok(())
        })
        .unwrap();
}
