//! A fake dropped by a task that has spent its scheduling budget: the drop
//! returns. wiremock's own drop waits on an async lock through a blocking
//! executor, and on such a task it spun for ever (seen as a test run that
//! never ended after its last test had passed).

use std::sync::mpsc;
use std::time::Duration;

use api_tokens::testing::{MailtrapFake, Replayer, UnitFake};

/// Spends the budget of the task polling it without yielding to the
/// scheduler: every receive is ready, and each one counts.
async fn spend_the_budget() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for n in 0..10_000 {
        tx.send(n).expect("open channel");
    }
    while tokio::task::coop::has_budget_remaining() {
        rx.recv().await.expect("a message");
    }
}

/// Runs `body` on a multi-thread runtime of its own thread and waits for it
/// at most a minute.
fn returns_in_time(what: &str, body: impl Future<Output = ()> + Send + 'static) {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(body);
        let _ = done.send(());
    });
    assert!(
        finished.recv_timeout(Duration::from_secs(60)).is_ok(),
        "{what}: dropping it did not return within a minute"
    );
}

#[test]
fn a_fake_dropped_by_a_task_with_its_budget_spent_returns() {
    returns_in_time("the Unit fake", async {
        let fake = UnitFake::start().await;
        spend_the_budget().await;
        drop(fake);
    });
    returns_in_time("the Mailtrap fake", async {
        let fake = MailtrapFake::start().await;
        spend_the_budget().await;
        drop(fake);
    });
    returns_in_time("a replayer", async {
        let cassette = api_tokens::testing::Cassette::default();
        let replayer = Replayer::from_cassette(cassette).await;
        spend_the_budget().await;
        drop(replayer);
    });
}
