//! Three `api-tokens mailtrap rotate` processes of the same token at once,
//! on one Mailtrap fake that the test serves (the `--fake` services live
//! inside each process and cannot be shared): exactly one run completes
//! the rotation (exit 0), the two others yield to it (exit 5, one line on
//! standard error naming the token that replaced the old one), and no
//! token is left alive whose secret no file holds.

use crate::cli_support;
use crate::probes;

use api_tokens::mailtrap::{AccessLevel, ResourceType};
use api_tokens::secrecy::ExposeSecret;
use std::time::Duration;

use api_tokens::testing::{MailtrapFake, MailtrapOp, MailtrapTokenSeed};
use cli_support::{Run, assert_secret_absent, file_spec, path_in, scratch, with_env};
use probes::hold_probes;

const RUNS: usize = 3;
const ROUNDS: usize = 4;
/// How long the probe made with a new secret is held back, so that the
/// three runs overlap.
const PROBE_HELD: Duration = Duration::from_millis(400);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rotations_of_one_token_at_once_one_completes_two_yield() {
    for held in [false, true, true, true].into_iter().take(ROUNDS) {
        one_round(held).await;
    }
}

/// One round: a fresh fake, one old token, three processes; with `held`,
/// every probe made with a new secret waits [`PROBE_HELD`].
async fn one_round(held: bool) {
    let fake = MailtrapFake::builder().account_id(3229).start().await;
    if held {
        fake.inject(MailtrapOp::List, hold_probes(fake.token(), PROBE_HELD));
    }
    let old = fake.insert_token(MailtrapTokenSeed::new("admin console").permission(
        ResourceType::Account,
        3229,
        AccessLevel::Admin,
    ));
    let old_id = old.id.to_string();
    let master = fake.token().expose_secret().to_owned();
    let uri = fake.uri();
    let dir = scratch();
    let files: Vec<_> = (0..RUNS)
        .map(|i| path_in(&dir, &format!("run{i}.token")))
        .collect();

    // The three processes start together and run off the runtime's
    // threads, so that the fake keeps answering them.
    let runs: Vec<Run> = {
        let (old_id, master, uri, files) =
            (old_id.clone(), master.clone(), uri.clone(), files.clone());
        tokio::task::spawn_blocking(move || {
            std::thread::scope(|scope| {
                let handles: Vec<_> = files
                    .iter()
                    .map(|file| {
                        let (old_id, master, uri) = (&old_id, &master, &uri);
                        scope.spawn(move || {
                            let spec = file_spec(file);
                            with_env(
                                &[
                                    "--output",
                                    "json",
                                    "mailtrap",
                                    "rotate",
                                    old_id,
                                    "--recreate",
                                    "--delete-old",
                                    "--secret-to",
                                    &spec,
                                ],
                                &[
                                    ("MAILTRAP_API_TOKEN", master),
                                    ("MAILTRAP_API_URL", uri),
                                    ("MAILTRAP_ACCOUNT_ID", "3229"),
                                ],
                            )
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a run"))
                    .collect()
            })
        })
        .await
        .expect("the runs")
    };

    let codes: Vec<i32> = runs.iter().map(|r| r.code).collect();
    let winners: Vec<usize> = (0..RUNS).filter(|&i| codes[i] == 0).collect();
    let yielded: Vec<usize> = (0..RUNS).filter(|&i| codes[i] == 5).collect();
    let streams = || {
        runs.iter()
            .map(|r| format!("--- {}\n{}\n{}", r.code, r.stdout, r.stderr))
            .collect::<String>()
    };
    assert_eq!(
        winners.len(),
        1,
        "exactly one run completes: {codes:?}\n{}",
        streams()
    );
    assert_eq!(
        yielded.len(),
        RUNS - 1,
        "the others yield: {codes:?}\n{}",
        streams()
    );

    let winner = &runs[winners[0]];
    let new_id = winner.json()["new"]["id"]
        .as_str()
        .expect("the new token's id")
        .to_owned();
    for &i in &yielded {
        let run = &runs[i];
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.contains(&new_id),
            "a yielding run names the token that replaced {old_id}: {}",
            run.stderr
        );
    }

    let live = fake.tokens();
    assert!(
        live.iter().all(|t| t.id.to_string() != old_id),
        "the old token is deleted"
    );
    // The winner's file holds a secret the fake accepts.
    let held = std::fs::read_to_string(&files[winners[0]]).expect("the winner's file");
    let held = held.strip_suffix('\n').expect("one line");
    assert!(
        live.iter()
            .any(|t| t.id.to_string() == new_id && t.secret.expose_secret() == held),
        "the winner's file holds the live token {new_id}'s secret"
    );
    // No live token whose secret no file holds.
    let in_files: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .map(|s| s.trim_end_matches('\n').to_owned())
        .collect();
    for token in &live {
        let secret = token.secret.expose_secret();
        assert!(
            in_files.iter().any(|s| s == secret),
            "token {} {:?} is alive and no file holds its secret",
            token.id,
            token.name
        );
        for run in &runs {
            assert_secret_absent(run, secret);
        }
    }
}
