//! Concurrent rotations of one token, whatever the service: runs started
//! together, each with its own client and its own file sink, on a fake
//! that answers every probe of a new secret late so that the runs overlap;
//! and the checks every round must pass.

use std::fmt::Debug;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use api_tokens::lifecycle::{
    MailtrapLifecycle, MailtrapPlan, RotateError, Rotation, RotationMethod, SecretSink,
    UnitLifecycle, UnitPlan,
};
use api_tokens::testing::{
    Fault, LoggedRequest, MailtrapFake, MailtrapOp, MailtrapToken, UnitFake, UnitOp, UnitToken,
    UnitTokenSeed,
};
use api_tokens::unit::Scope;
use secrecy::{ExposeSecret, SecretString};

use super::probes::hold_probes;
use super::{mailtrap_life, project_viewer, stored, temp_file_sink, unit_life};

/// How many rounds a test plays.
pub const ROUNDS: usize = 20;
/// How long the probe made with a new secret is held back.
pub const PROBE_HELD: Duration = Duration::from_millis(300);

/// A service's fake, as the concurrent rotations drive it.
pub trait Contested: Sized + Send + Sync + 'static {
    /// A token as the fake holds it.
    type Token: Clone + Debug + Send + Sync + 'static;
    /// A lifecycle on a client of the fake.
    type Life: Send + Sync + 'static;
    /// What the runs are asked to do.
    type Plan: Send + Sync + 'static;

    /// A fresh fake holding the one token the runs rotate.
    fn seeded() -> impl Future<Output = (Self, Self::Token)>;
    /// Holds back by `held` every probe of a new secret.
    fn hold_probes(&self, held: Duration);
    /// Loses the answer to the next create (which acts).
    fn lose_create_answer(&self);
    /// A lifecycle on a client of its own.
    fn life(&self) -> Self::Life;
    /// A rotation of `old` by `plan` into `sink`.
    fn rotate<'a>(
        life: &'a Self::Life,
        old: &'a Self::Token,
        plan: &'a Self::Plan,
        sink: &'a dyn SecretSink,
    ) -> impl Future<Output = Result<Rotation, RotateError>> + Send + 'a;
    /// The live tokens.
    fn live(&self) -> Vec<Self::Token>;
    /// Every request the fake answered.
    fn log(&self) -> Vec<LoggedRequest>;
    /// A token's id, as a rotation names it.
    fn id(token: &Self::Token) -> String;
    /// A token's secret.
    fn secret(token: &Self::Token) -> &SecretString;
}

/// Implements [`Contested`] for a service's fake, from its token,
/// lifecycle, plan and operation types, the function making a lifecycle on
/// it, how a rotation names the old token, and the seed of that token.
macro_rules! contested {
    (
        $fake:ident, $token:ident, $life:ident, $plan:ident, $op:ident, $life_of:ident,
        |$old:ident| $old_id:expr, $seed:expr
    ) => {
        impl Contested for $fake {
            type Token = $token;
            type Life = $life;
            type Plan = $plan;

            async fn seeded() -> ($fake, $token) {
                let fake = $fake::start().await;
                let old = fake.insert_token($seed);
                (fake, old)
            }

            fn hold_probes(&self, held: Duration) {
                self.inject($op::List, hold_probes(self.token(), held));
            }

            fn lose_create_answer(&self) {
                self.inject($op::Create, Fault::lose_answer());
            }

            fn life(&self) -> $life {
                $life_of(self)
            }

            fn rotate<'a>(
                life: &'a $life,
                $old: &'a $token,
                plan: &'a $plan,
                sink: &'a dyn SecretSink,
            ) -> impl Future<Output = Result<Rotation, RotateError>> + Send + 'a {
                life.rotate($old_id, plan, sink)
            }

            fn live(&self) -> Vec<$token> {
                self.tokens()
            }

            fn log(&self) -> Vec<LoggedRequest> {
                self.requests()
            }

            fn id(token: &$token) -> String {
                token.id.to_string()
            }

            fn secret(token: &$token) -> &SecretString {
                &token.secret
            }
        }
    };
}

contested!(
    UnitFake,
    UnitToken,
    UnitLifecycle,
    UnitPlan,
    UnitOp,
    unit_life,
    |old| &old.id,
    UnitTokenSeed::new("CI deploy").scope(Scope::Customers)
);

contested!(
    MailtrapFake,
    MailtrapToken,
    MailtrapLifecycle,
    MailtrapPlan,
    MailtrapOp,
    mailtrap_life,
    |old| &old.id,
    project_viewer("CI deploy")
);

/// How many requests of `log` minted a secret (a create or a reset).
pub fn minted(log: &[LoggedRequest]) -> usize {
    log.iter()
        .filter(|r| matches!(r.operation, Some("create" | "reset")))
        .count()
}

/// One round: the fake, the token the runs rotated, each run's sink file
/// and result.
pub struct Round<F: Contested> {
    pub fake: F,
    pub old: F::Token,
    pub paths: Vec<PathBuf>,
    pub results: Vec<Result<Rotation, RotateError>>,
    _dirs: Vec<tempfile::TempDir>,
}

impl<F: Contested> Round<F> {
    /// `runs` rotations by `plan` at once of a fresh fake's token, each on
    /// its own client and sink (holding the old secret), every probe held
    /// back; `prepare` may inject more faults first.
    pub async fn race(runs: usize, plan: F::Plan, prepare: impl FnOnce(&F)) -> Round<F> {
        let (fake, old) = F::seeded().await;
        fake.hold_probes(PROBE_HELD);
        prepare(&fake);
        let plan = Arc::new(plan);
        let (mut dirs, mut paths, mut tasks) = (Vec::new(), Vec::new(), Vec::new());
        // The runs start together once every one is ready.
        let start = Arc::new(tokio::sync::Barrier::new(runs));
        for _ in 0..runs {
            let (dir, sink, path) = temp_file_sink(F::secret(&old));
            let (start, life, old, plan) = (start.clone(), fake.life(), old.clone(), plan.clone());
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                F::rotate(&life, &old, &plan, &sink).await
            }));
            dirs.push(dir);
            paths.push(path);
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("the task ran"));
        }
        Round {
            fake,
            old,
            paths,
            results,
            _dirs: dirs,
        }
    }

    /// The old token's secret.
    pub fn old_secret(&self) -> &str {
        F::secret(&self.old).expose_secret()
    }

    /// Exactly one run completed, and every other was superseded naming it
    /// and stored nothing: its sink still holds the old secret. Gives the
    /// winner's index and rotation.
    pub fn one_winner(&self) -> (usize, &Rotation) {
        let wins: Vec<(usize, &Rotation)> = self
            .results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().ok().map(|r| (i, r)))
            .collect();
        assert_eq!(wins.len(), 1, "exactly one completes: {:?}", self.results);
        let (at, won) = wins[0];
        for (i, result) in self.results.iter().enumerate() {
            if i == at {
                continue;
            }
            let err = result.as_ref().expect_err("the others fail");
            let superseded = err
                .superseded()
                .unwrap_or_else(|| panic!("run {i} is superseded: {err}"));
            assert_eq!(superseded.winner.id, won.new.id, "run {i}: {err}");
            assert!(!err.secret_stored(), "run {i}: {err}");
            assert_eq!(stored(&self.paths[i]), self.old_secret());
        }
        (at, won)
    }

    /// After a lost create answer: exactly one run completed, the others
    /// only yielded to it and stored nothing (their sinks still hold the
    /// old secret), and exactly one token is live, the winner's, held by
    /// its sink: the old token is gone from the list, as is every token
    /// the lost answer minted.
    pub fn no_orphan_no_double(&self) {
        let wins: Vec<(usize, &Rotation)> = self
            .results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().ok().map(|r| (i, r)))
            .collect();
        assert_eq!(wins.len(), 1, "exactly one completes: {:?}", self.results);
        let (at, won) = wins[0];
        for (i, result) in self.results.iter().enumerate() {
            if let Err(e) = result {
                assert!(e.superseded().is_some(), "only yields: {e}");
                assert!(!e.secret_stored(), "run {i}: {e}");
                assert_eq!(stored(&self.paths[i]), self.old_secret(), "run {i}'s sink");
            }
        }
        let held = self.fake.live();
        assert_eq!(held.len(), 1, "no double, no orphan: {held:?}");
        assert_eq!(F::id(&held[0]), won.new.id);
        assert_ne!(F::id(&held[0]), F::id(&self.old), "the old token is gone");
        assert_eq!(
            stored(&self.paths[at]),
            F::secret(&held[0]).expose_secret(),
            "the winner's sink holds the live token"
        );
    }
}

/// Plays [`ROUNDS`] rounds of `runs` rotations by `plan`, each checked by
/// `check`; at least one round must have overlapped: every run minted
/// before any retired the old token. Gives what `check` gave.
pub async fn rounds_of<F: Contested, T>(
    runs: usize,
    plan: impl Fn() -> F::Plan,
    check: impl AsyncFn(&Round<F>) -> T,
) -> Vec<T> {
    let mut checked = Vec::new();
    let mut overlapped = 0;
    for _ in 0..ROUNDS {
        let round = Round::<F>::race(runs, plan(), |_| {}).await;
        checked.push(check(&round).await);
        // A Mailtrap run may mint twice: a refused reset, then a create.
        overlapped += usize::from(minted(&round.fake.log()) >= runs);
    }
    assert!(overlapped > 0, "no round overlapped");
    checked
}

/// [`ROUNDS`] rounds of two runs, the answer to the first create to reach
/// the fake lost: exactly one winner (a round where every run yields, each
/// to a token another then removes, fails), the loser's sink unchanged,
/// never a double, never an orphan.
pub async fn lost_create_rounds<F: Contested>(plan: impl Fn() -> F::Plan) {
    for _ in 0..ROUNDS {
        Round::race(2, plan(), F::lose_create_answer)
            .await
            .no_orphan_no_double();
    }
}

/// A run started after the winner finished, its sink still holding the old
/// secret, is superseded by the winner and mints nothing; once its sink
/// holds the winner's secret, it finds the rotation done.
pub async fn a_late_run<F: Contested>(plan: F::Plan) {
    let (fake, old) = F::seeded().await;
    let life = fake.life();
    let (_dir, sink, path) = temp_file_sink(F::secret(&old));
    let won = F::rotate(&life, &old, &plan, &sink).await.expect("first");

    // A second machine, whose sink still holds the old secret.
    let (_late, late_sink, late_path) = temp_file_sink(F::secret(&old));
    let before = fake.log().len();
    let err = F::rotate(&life, &old, &plan, &late_sink)
        .await
        .expect_err("superseded");
    assert_eq!(err.superseded().expect("superseded").winner.id, won.new.id);
    assert_eq!(stored(&late_path), F::secret(&old).expose_secret());
    assert_eq!(minted(&fake.log()[before..]), 0, "nothing minted");

    // A sink that already holds the winner's secret: the rotation is done.
    std::fs::copy(&path, &late_path).expect("copy");
    let again = F::rotate(&life, &old, &plan, &late_sink)
        .await
        .expect("already done");
    assert_eq!(again.method, RotationMethod::Resumed);
    assert_eq!(again.new.id, won.new.id);
    assert_eq!(fake.live().len(), 1);
}

/// The tests every service's concurrent rotations pass alike, on the fake
/// `$fake` with plans made by `$plan`.
#[allow(unused_macros)]
macro_rules! every_service_tests {
    ($fake:ty, $plan:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn a_lost_create_answer_beside_a_concurrent_run_leaves_no_orphan_and_no_double() {
            lifecycle_support::concurrent::lost_create_rounds::<$fake>($plan).await;
        }

        #[tokio::test]
        async fn a_run_after_the_winner_finished_is_superseded_unless_its_sink_holds_the_secret() {
            lifecycle_support::concurrent::a_late_run::<$fake>($plan()).await;
        }
    };
}
#[allow(unused_imports)]
pub(crate) use every_service_tests;
