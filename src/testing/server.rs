//! The wiremock server under a fake or a replayer, dropped so that a
//! test's task that has spent its scheduling budget cannot stall.

use std::pin::pin;
use std::task::{Context, Waker};

use wiremock::MockServer;

/// A [`MockServer`] that is dropped outside tokio's scheduling budget.
///
/// wiremock's drop checks its mocks through a blocking executor that
/// waits on an async lock. On a tokio thread whose task has spent its
/// budget, that lock answers "not yet" to every poll and wakes the
/// executor at once: the drop spins for ever. Dropping the server inside
/// [`tokio::task::unconstrained`] lifts the budget for that one poll.
#[derive(Debug)]
pub(crate) struct Server(Option<MockServer>);

impl Server {
    pub(crate) fn new(server: MockServer) -> Server {
        Server(Some(server))
    }

    /// The server.
    pub(crate) fn get(&self) -> &MockServer {
        // Taken only by `drop`, so always present before.
        self.0
            .as_ref()
            .expect("the server is held until the fake is dropped")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let Some(server) = self.0.take() else {
            return;
        };
        let mut dropped = pin!(tokio::task::unconstrained(async move { drop(server) }));
        // The future only drops the server, so its first poll finishes it.
        let _ = dropped
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
    }
}
