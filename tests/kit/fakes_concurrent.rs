//! Many clients at once on one fake: separate client instances on tokio
//! tasks create, revoke, reset and delete together, and the fake ends in
//! exactly the state their answers describe: ids unique, counts right,
//! every live secret accepted, every removed one refused, and a token reset
//! by many at once reset exactly once. And concurrent rotations where a
//! list lags behind creates or ids run out of creation order: the safety
//! net holds (at most one run completes; no sink holds a dead secret
//! without its run saying so).

use crate::kit_support;

use std::collections::BTreeSet;

use api_tokens::Error;
use api_tokens::mailtrap::{self, AccessLevel, Expiry, ResourceType};
use api_tokens::testing::{Fault, MailtrapFake, UnitFake};
use api_tokens::unit::{self, Scope};
use chrono::{Duration, Utc};
use kit_support::{mailtrap_client, unit_client};
use secrecy::ExposeSecret;

const CLIENTS: usize = 8;
const EACH: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unit_fake_serves_concurrent_clients_consistently() {
    let fake = UnitFake::start().await;
    let mut tasks = Vec::new();
    for task in 0..CLIENTS {
        // Each task its own client instance (its own connection pool).
        let client = unit_client(&fake, fake.token());
        let user = fake.user_id();
        tasks.push(tokio::spawn(async move {
            let tokens = client.org_api_tokens(user);
            let mut kept = Vec::new();
            let mut revoked = Vec::new();
            for n in 0..EACH {
                let request = unit::CreateApiToken::new(
                    format!("task {task} token {n}"),
                    [Scope::Customers],
                    Utc::now() + Duration::days(1),
                );
                let created = tokens.create(request).await.unwrap();
                if n % 2 == 0 {
                    tokens.revoke(&created.id).await.unwrap();
                    revoked.push(created);
                } else {
                    kept.push(created);
                }
                tokens.list().await.unwrap();
            }
            (kept, revoked)
        }));
    }
    let mut kept = Vec::new();
    let mut revoked = Vec::new();
    for task in tasks {
        let (k, r) = task.await.unwrap();
        kept.extend(k);
        revoked.extend(r);
    }

    let minted: BTreeSet<String> = kept
        .iter()
        .chain(&revoked)
        .map(|t| t.id.to_string())
        .collect();
    assert_eq!(minted.len(), CLIENTS * EACH, "every create got its own id");
    let held = fake.tokens();
    assert_eq!(held.len(), kept.len());
    let held_ids: BTreeSet<String> = held.iter().map(|t| t.id.to_string()).collect();
    let kept_ids: BTreeSet<String> = kept.iter().map(|t| t.id.to_string()).collect();
    assert_eq!(held_ids, kept_ids);
    let secrets: BTreeSet<&str> = kept
        .iter()
        .chain(&revoked)
        .map(|t| t.token.expose_secret())
        .collect();
    assert_eq!(secrets.len(), CLIENTS * EACH, "every secret is its own");
    assert_eq!(
        fake.requests().len(),
        CLIENTS * EACH * 2 + revoked.len(),
        "creates, lists and revokes, each logged once"
    );

    for token in &kept {
        let client = unit_client(&fake, &token.token);
        let listed = client.org_api_tokens(fake.user_id()).list().await;
        assert!(listed.is_ok(), "a live secret is accepted");
    }
    for token in &revoked {
        let client = unit_client(&fake, &token.token);
        let listed = client.org_api_tokens(fake.user_id()).list().await;
        assert!(matches!(listed, Err(Error::Unauthorized(_))));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mailtrap_fake_serves_concurrent_clients_consistently() {
    let fake = MailtrapFake::start().await;
    let account = fake.account_id();
    let mut tasks = Vec::new();
    for task in 0..CLIENTS {
        let client = mailtrap_client(&fake, fake.token());
        tasks.push(tokio::spawn(async move {
            let tokens = client.api_tokens();
            let mut created = Vec::new();
            let mut reset = Vec::new();
            let mut deleted = Vec::new();
            for n in 0..EACH {
                let request = mailtrap::CreateApiToken::new(format!("task {task} token {n}"))
                    .permission(ResourceType::Account, account, AccessLevel::Viewer);
                let token = tokens.create(request).await.unwrap();
                match n % 3 {
                    0 => {
                        let new = tokens.reset(token.id, Expiry::Never).await.unwrap();
                        reset.push((token.clone(), new));
                    }
                    1 => {
                        tokens.delete(token.id).await.unwrap();
                        deleted.push(token.clone());
                    }
                    _ => {}
                }
                created.push(token);
                tokens.list().await.unwrap();
            }
            (created, reset, deleted)
        }));
    }
    let mut created = Vec::new();
    let mut reset = Vec::new();
    let mut deleted = Vec::new();
    for task in tasks {
        let (c, r, d) = task.await.unwrap();
        created.extend(c);
        reset.extend(r);
        deleted.extend(d);
    }

    let mut minted: Vec<u64> = created.iter().map(|t| t.id.get()).collect();
    minted.extend(reset.iter().map(|(_, new)| new.id.get()));
    let unique: BTreeSet<u64> = minted.iter().copied().collect();
    assert_eq!(
        unique.len(),
        minted.len(),
        "every create and reset got its own id"
    );
    assert_eq!(minted.len(), CLIENTS * EACH + reset.len());
    assert_eq!(
        unique.iter().copied().collect::<Vec<_>>(),
        (12345..12345 + minted.len() as u64).collect::<Vec<_>>(),
        "ids were given in one sequence, none skipped"
    );

    let held = fake.tokens();
    assert_eq!(held.len(), minted.len() - deleted.len());
    let deleted_ids: BTreeSet<u64> = deleted.iter().map(|t| t.id.get()).collect();
    for token in &held {
        assert!(!deleted_ids.contains(&token.id.get()));
    }
    for (old, new) in &reset {
        let held_old = held.iter().find(|t| t.id == old.id).expect("the old token");
        assert_eq!(held_old.replaced_by, Some(new.id));
        assert!(held_old.expires_at.is_some(), "its grace period runs");
    }

    // Every minted secret of a held token is a credential (a reset one
    // through its grace period); a deleted one is not.
    let live = created
        .iter()
        .filter(|t| !deleted_ids.contains(&t.id.get()))
        .chain(reset.iter().map(|(_, new)| new));
    for token in live {
        let listed = mailtrap_client(&fake, &token.token)
            .api_tokens()
            .list()
            .await;
        assert_eq!(listed.map(|l| l.len()).ok(), Some(held.len()));
    }
    for token in &deleted {
        let listed = mailtrap_client(&fake, &token.token)
            .api_tokens()
            .list()
            .await;
        assert!(matches!(listed, Err(Error::Unauthorized(_))));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_token_reset_by_many_at_once_is_reset_exactly_once() {
    let fake = MailtrapFake::start().await;
    let admin = mailtrap_client(&fake, fake.token());
    let original = admin
        .api_tokens()
        .create(mailtrap::CreateApiToken::new("shared").permission(
            ResourceType::Account,
            fake.account_id(),
            AccessLevel::Admin,
        ))
        .await
        .unwrap();

    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let client = mailtrap_client(&fake, fake.token());
        let id = original.id;
        tasks.push(tokio::spawn(async move {
            client.api_tokens().reset(id, Expiry::Never).await
        }));
    }
    let mut won = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(new) => won.push(new),
            Err(e) => {
                assert_eq!(e.status(), Some(422), "{e}");
                refused += 1;
            }
        }
    }
    assert_eq!(won.len(), 1, "one reset acted");
    assert_eq!(refused, CLIENTS - 1);
    let held = fake.tokens();
    assert_eq!(held.len(), 2, "the original and its one replacement");
    assert_eq!(held[0].replaced_by, Some(won[0].id));
    assert_eq!(held[1].id, won[0].id);
}

/// Rounds played per case of the safety-net tests.
const SAFETY_ROUNDS: usize = 3;

/// Concurrent rotations where the race rule's assumptions break: a list
/// that does not show the newest tokens yet, and ids handed out of
/// creation order, alone and together, the runs started together or one
/// after another. Whatever the faults, at most one run completes, and no
/// sink is left holding a dead secret without its run's error saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unit_rotations_keep_the_safety_net_when_lists_lag_and_ids_run_backwards() {
    use api_tokens::testing::{IdOrder, ListLag, UnitOp};
    use kit_support::safety_net::{PROBE_HELD, unit_round};
    use std::time::Duration as Wait;

    let lagging = |fake: &UnitFake, lag: ListLag| {
        // The runs' own lists (made with the fake's credential) lag.
        fake.inject(
            UnitOp::List,
            Fault::lagging_list(lag)
                .when_token(fake.token())
                .times(10_000),
        );
    };
    let mut completed = 0;
    for round in 0..SAFETY_ROUNDS {
        for stagger in [Wait::ZERO, PROBE_HELD / 2] {
            let what = |case: &str| format!("{case}, stagger {stagger:?}, round {round}");
            let r = unit_round(3, stagger, |f| lagging(f, ListLag::Newest(1))).await;
            r.check(&what("newest create hidden"));
            completed += r.completed();
            let r = unit_round(3, stagger, |f| {
                lagging(f, ListLag::Within(PROBE_HELD / 2));
            })
            .await;
            r.check(&what("last 125 ms hidden"));
            completed += r.completed();
            let r = unit_round(3, stagger, |f| f.set_id_order(IdOrder::ReversedInBlocks(8))).await;
            r.check(&what("ids reversed"));
            completed += r.completed();
            let r = unit_round(3, stagger, |f| {
                f.set_id_order(IdOrder::ShuffledInBlocks(8));
                lagging(f, ListLag::Newest(1));
            })
            .await;
            r.check(&what("ids shuffled, newest hidden"));
            completed += r.completed();
        }
    }
    // The net is not kept by nobody ever finishing.
    assert!(completed > 0, "no round had a winner");
}

/// The same on Mailtrap, whose default plan resets (a reset's token
/// carries no marker, and is ranked by its id like the others).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mailtrap_rotations_keep_the_safety_net_when_lists_lag_and_ids_run_backwards() {
    use api_tokens::lifecycle::MailtrapPlan;
    use api_tokens::testing::{IdOrder, ListLag, MailtrapOp};
    use kit_support::safety_net::{PROBE_HELD, mailtrap_round};
    use std::time::Duration as Wait;

    let lagging = |fake: &MailtrapFake, lag: ListLag| {
        fake.inject(
            MailtrapOp::List,
            Fault::lagging_list(lag)
                .when_token(fake.token())
                .times(10_000),
        );
    };
    let mut completed = 0;
    for round in 0..SAFETY_ROUNDS {
        for stagger in [Wait::ZERO, PROBE_HELD / 2] {
            for plan in [MailtrapPlan::new(), MailtrapPlan::new().recreate()] {
                let what =
                    |case: &str| format!("{case}, {plan:?}, stagger {stagger:?}, round {round}");
                let r = mailtrap_round(3, stagger, plan.clone(), |f| {
                    lagging(f, ListLag::Newest(1));
                })
                .await;
                r.check(&what("newest hidden"));
                completed += r.completed();
                let r = mailtrap_round(3, stagger, plan.clone(), |f| {
                    f.set_id_order(IdOrder::ReversedInBlocks(8));
                })
                .await;
                r.check(&what("ids reversed"));
                completed += r.completed();
            }
        }
    }
    assert!(completed > 0, "no round had a winner");
}

/// Ids out of creation order on Mailtrap's default plan (the old token
/// left to its grace period): the first run resets; the later run lists
/// that reset's token in flight, but the answer to its list is held back
/// until the first run has decided, stored and looked again, so the
/// later run's create (it creates, seeing a reset in flight) comes after
/// the first run's last look, with a lower id. That run listed the first
/// run's token before it minted, so its lower id proves nothing: it yields
/// at once, and only the first run completes (by the lowest id alone, both
/// did). On Unit the first run revokes the old token, which stops the
/// later one either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_later_run_yields_to_a_rival_it_listed_before_minting_whose_id_is_higher() {
    use api_tokens::lifecycle::MailtrapPlan;
    use api_tokens::testing::{IdOrder, MailtrapOp};
    use kit_support::safety_net::{PROBE_HELD, mailtrap_round};

    let r = mailtrap_round(2, PROBE_HELD / 2, MailtrapPlan::new(), |f| {
        f.set_id_order(IdOrder::ReversedInBlocks(8));
        // The lists made with the fake's own credential: the first run's
        // two (before and after its reset), then the later run's first,
        // answered late: long after the first run's probe (held back
        // `PROBE_HELD`), store and last look, even on a loaded machine.
        f.inject(
            MailtrapOp::List,
            Fault::delay(PROBE_HELD * 8).when_token(f.token()).nth(3),
        );
    })
    .await;
    let shown = |n: usize| {
        r.runs[n]
            .result
            .as_ref()
            .map(|_| ())
            .map_err(ToString::to_string)
    };
    r.check("ids reversed, the later run's list late");
    assert!(
        r.runs[0].result.is_ok(),
        "the first run completes: {:?}",
        shown(0)
    );
    assert!(
        r.runs[1]
            .result
            .as_ref()
            .err()
            .and_then(|e| e.superseded())
            .is_some(),
        "the later run yields: {:?}",
        shown(1)
    );
}
