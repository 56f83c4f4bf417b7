//! Pacing: a client waits for a slot under the service's rate limit instead
//! of meeting a wall of 429s.
//!
//! The limiter is a token bucket whose tokens come back one window after
//! they were taken: at most `limit` requests are sent in any window of
//! `window`, which is exactly the shape of both services' limits, so a burst
//! never earns a 429 however the service counts its window. Slots are handed
//! out in order: calls that must wait queue first come first served, and
//! only the head of the queue sleeps, until its slot. It decides when it
//! wakes, not when it joined, so what the answers taught in the meantime
//! counts.
//!
//! The service counts a request when it handles it, somewhere between the
//! moment the client sent it and the moment the answer came back, and a
//! burst is handled spread out: the first of a burst may be counted well
//! before the last. A slot therefore comes back one window after the call's
//! answer (answers are matched to calls in the order the calls were sent),
//! or one window after it was sent while no answer has come.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::headers::HeaderFacts;

/// How a client paces itself under the service's rate limit.
///
/// On by default ([`Pacing::auto`]): against the service's own hosts the
/// client starts from the documented limit (Mailtrap: 150 requests per 10 s
/// per token; Unit: 1,000 requests per minute), and whenever the service
/// sends `X-Ratelimit-Limit` / `X-Ratelimit-Remaining` it follows them.
/// Against any other host (a gateway, a fake, a test server) it follows the
/// headers only, so no test suite is slowed by a limit its server does not
/// have. Calls then wait for a slot instead of meeting a 429; the wait shows
/// as `paced_ms` on the call's tracing span.
///
/// What the headers say holds for two windows after the last answer that
/// said it (the window it was said in, and the next, in which the slots
/// taken under it come back): a service that raises its limit again, or
/// stops sending one, is followed, and a limit of 0 is read as 1 for that
/// time only. A limit
/// read from a header is never above 100,000 per window, and never above
/// the documented or given limit. A 429's `Retry-After` holds back the
/// client's later calls for at most the retry policy's
/// [`max_retry_after`](crate::RetryPolicy#structfield.max_retry_after), and
/// says when the calls counted so far leave the service's window: an
/// `X-Ratelimit-Remaining: 0` on the same answer does not hold them for a
/// whole window on top. A retry never waits for its slot past the
/// policy's [`max_elapsed`](crate::RetryPolicy#structfield.max_elapsed).
///
/// ```
/// use std::time::Duration;
/// use api_tokens::{Pacing, mailtrap};
///
/// let mt = mailtrap::Client::builder()
///     .token("FAKE0example0key")
///     .pacing(Pacing::limit(100, Duration::from_secs(10))) // stricter than the service
///     .build()?;
/// let unpaced = mailtrap::Client::builder().token("FAKE0example0key").pacing(Pacing::off()).build()?;
/// # let _ = (mt, unpaced);
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    mode: Mode,
    window: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Off,
    Auto,
    Limit(u32, Duration),
}

impl Default for Pacing {
    /// [`Pacing::auto`].
    fn default() -> Self {
        Pacing::auto()
    }
}

impl Pacing {
    /// The documented limit against the service's own hosts, the
    /// rate-limit headers everywhere.
    pub const fn auto() -> Pacing {
        Pacing {
            mode: Mode::Auto,
            window: None,
        }
    }

    /// No pacing: every call is sent at once; a 429 is left to the retry
    /// policy.
    pub const fn off() -> Pacing {
        Pacing {
            mode: Mode::Off,
            window: None,
        }
    }

    /// At most `requests` calls in any window of `per`, whatever the host,
    /// lowered further when the service's headers say so. `requests` of 0
    /// is read as 1.
    pub const fn limit(requests: u32, per: Duration) -> Pacing {
        let requests = if requests == 0 { 1 } else { requests };
        Pacing {
            mode: Mode::Limit(requests, per),
            window: Some(per),
        }
    }

    /// The window that rate-limit headers count in, when the client follows
    /// them (default: the service's own, 10 s for Mailtrap and 60 s for
    /// Unit). For a test server that limits per second, say so here.
    pub const fn window(mut self, window: Duration) -> Pacing {
        self.window = Some(window);
        self
    }

    /// Whether pacing is off.
    pub const fn is_off(&self) -> bool {
        matches!(self.mode, Mode::Off)
    }
}

/// A service's documented limit: requests per window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Documented {
    pub requests: u32,
    pub window: Duration,
}

/// The limiter a client and its clones share.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    state: Option<Arc<Shared>>,
}

#[derive(Debug)]
struct Shared {
    bucket: Mutex<Bucket>,
    /// Wakes the calls held back while the first answer is awaited.
    learned: tokio::sync::Notify,
    /// The queue of calls under a limit, first come first served (tokio's
    /// mutex is fair); the holder waits for its slot.
    turn: tokio::sync::Mutex<()>,
}

/// Everything the pacer remembers. An answer can change what it holds but
/// not how much: a limit read from a header is clamped to
/// [`MAX_LEARNED_LIMIT`], calls the service counted beyond this client's
/// are one entry whatever their number, every moment is forgotten a window
/// after it, and a pause is never longer than the retry policy's
/// `max_retry_after`.
#[derive(Debug)]
struct Bucket {
    /// The limit the client keeps to whatever the headers say: the
    /// documented one or the caller's; `None` in headers-only mode.
    ceiling: Option<u32>,
    /// The limit the service's headers last gave and when: it holds for
    /// [`LEARNED_FOR`] windows after the last answer that said it, so that
    /// a service that raises its limit again, or stops limiting, is
    /// followed.
    learned: Option<(u32, Instant)>,
    /// Headers-only mode before any answer: one call goes first, and the
    /// others wait to learn from its answer whether the server limits at
    /// all, so that a first burst does not all meet the limit at once.
    learning: Learning,
    window: Duration,
    /// The longest pause a `Retry-After` may impose on later calls.
    max_pause: Duration,
    /// Moments at which the last calls were sent (or answered), in order;
    /// none older than a window, never more than the limit in force.
    sent: Moments,
    /// No call before this moment (a 429 asked to wait).
    paused_until: Option<Instant>,
    /// When the calls still unanswered were sent, oldest first (answers are
    /// matched to them in order); never more than the limit in force.
    pending: VecDeque<Instant>,
}

/// The largest limit a header can set: far above either service's
/// documented one (150 and 1,000 per window), and small enough that a
/// hostile `X-Ratelimit-Limit` cannot make the pacer keep more than this
/// many calls in mind.
pub(crate) const MAX_LEARNED_LIMIT: u32 = 100_000;

/// Moments in order, each with how many calls it stands for: the calls
/// the service counted beyond this client's own are kept as one entry, so
/// no header's number sizes a loop or an allocation.
#[derive(Debug, Default)]
struct Moments {
    runs: VecDeque<(Instant, u32)>,
    total: u64,
}

impl Moments {
    /// Adds `count` calls at `at`, in order.
    fn add(&mut self, at: Instant, count: u32) {
        if count == 0 {
            return;
        }
        self.total += u64::from(count);
        match self.runs.back_mut() {
            Some((last, n)) if *last == at => *n = n.saturating_add(count),
            Some((last, _)) if *last > at => {
                // Rare: a moment read before another call took the lock.
                let place = self.runs.partition_point(|(t, _)| *t <= at);
                self.runs.insert(place, (at, count));
            }
            _ => self.runs.push_back((at, count)),
        }
    }

    /// Removes one call at exactly `at`; whether there was one.
    fn remove_one(&mut self, at: Instant) -> bool {
        let place = self.runs.partition_point(|(t, _)| *t < at);
        match self.runs.get_mut(place) {
            Some((t, n)) if *t == at => {
                *n -= 1;
                if *n == 0 {
                    self.runs.remove(place);
                }
                self.total -= 1;
                true
            }
            _ => false,
        }
    }

    /// Keeps the last `keep` calls only, and none before `since`.
    fn trim(&mut self, keep: u64, since: Instant) {
        while let Some(&(t, n)) = self.runs.front() {
            let excess = self.total.saturating_sub(keep);
            if t < since || excess >= u64::from(n) {
                self.total -= u64::from(n);
                self.runs.pop_front();
            } else if excess > 0 {
                // `excess < n`, so it fits in a u32.
                let excess32 = u32::try_from(excess).unwrap_or(n);
                if let Some(front) = self.runs.front_mut() {
                    front.1 = n - excess32;
                }
                self.total -= u64::from(excess32);
            } else {
                break;
            }
        }
    }

    /// Moves every moment after `cutoff` back to it (keeping the order),
    /// merging the runs that meet there.
    fn move_back_to(&mut self, cutoff: Instant) {
        let mut merged: VecDeque<(Instant, u32)> = VecDeque::with_capacity(self.runs.len());
        for (t, n) in self.runs.drain(..) {
            let t = t.min(cutoff);
            match merged.back_mut() {
                Some((last, m)) if *last == t => *m = m.saturating_add(n),
                _ => merged.push_back((t, n)),
            }
        }
        self.runs = merged;
    }

    /// How many calls came after `since`.
    fn after(&self, since: Instant) -> u64 {
        self.runs
            .iter()
            .rev()
            .take_while(|(t, _)| *t > since)
            .map(|(_, n)| u64::from(*n))
            .sum()
    }

    /// The oldest of the last `limit` calls, when there are that many.
    fn oldest_of_last(&self, limit: u32) -> Option<Instant> {
        let mut skip = self.total.checked_sub(u64::from(limit))?;
        for (t, n) in &self.runs {
            if skip < u64::from(*n) {
                return Some(*t);
            }
            skip -= u64::from(*n);
        }
        None
    }
}

/// A call's slot under the limit; see [`Pacer::acquire`].
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    pacer: &'a Pacer,
    /// How long the call waited for its slot.
    pub waited: Duration,
    settled: bool,
}

impl Permit<'_> {
    /// The call's answer came and its headers said `facts`: follows them
    /// (see [`Pacer`]), `Retry-After` only on a 429 (`refused`).
    pub(crate) fn observe(mut self, facts: &HeaderFacts, refused: bool) {
        self.settled = true;
        let rate_limit = facts.rate_limit;
        self.pacer.observe_at(
            rate_limit.and_then(|r| r.limit),
            rate_limit.and_then(|r| r.remaining),
            facts.retry_after.filter(|_| refused),
            facts.received,
        );
    }

    /// The call's answer came now and said this (a 429's `Retry-After`).
    #[cfg(test)]
    fn observe_said(
        mut self,
        limit: Option<u64>,
        remaining: Option<u64>,
        retry_after: Option<Duration>,
    ) {
        self.settled = true;
        self.pacer.observe(limit, remaining, retry_after);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.pacer.unanswered();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Learning {
    /// The limit is known, or the server has shown it sends none.
    Done,
    /// No answer yet; no call is out to ask.
    Waiting,
    /// No answer yet; one call is out, since this moment.
    Probing(Instant),
}

/// How long the others wait for the first call's answer before one more
/// goes to learn: a call dropped before its answer (a caller's timeout)
/// tells nothing, and must not hold the client back for ever.
const PROBE_PATIENCE: Duration = Duration::from_secs(1);

/// For how many windows a limit read from the headers holds after the last
/// answer that said it. One is not enough: the calls queued behind a full
/// window wait exactly one window for their slots, and must still find the
/// limit then, or they would all go at once.
const LEARNED_FOR: u32 = 2;

/// A little slack on top of the window, for clocks and timers.
const SLACK: Duration = Duration::from_millis(5);

/// `at + d`, or a moment about thirty years on when that cannot be told
/// (a window or pause of the caller's beyond any clock): never a panic.
fn later(at: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);
    at.checked_add(d)
        .or_else(|| at.checked_add(FAR))
        .unwrap_or(at)
}

impl Pacer {
    /// The limiter for a client of a service with this documented limit,
    /// talking to its own host or not. No `Retry-After` pauses later calls
    /// longer than `max_pause` (the retry policy's `max_retry_after`).
    pub(crate) fn new(
        pacing: Pacing,
        documented: Documented,
        own_host: bool,
        max_pause: Duration,
    ) -> Pacer {
        let window = pacing.window.unwrap_or(documented.window);
        let limit = match pacing.mode {
            Mode::Off => return Pacer { state: None },
            Mode::Auto if own_host => Some(documented.requests),
            Mode::Auto => None,
            Mode::Limit(n, _) => Some(n),
        };
        Pacer::with(limit, window, max_pause)
    }

    fn with(ceiling: Option<u32>, window: Duration, max_pause: Duration) -> Pacer {
        Pacer {
            state: Some(Arc::new(Shared {
                bucket: Mutex::new(Bucket {
                    ceiling,
                    learned: None,
                    learning: if ceiling.is_some() {
                        Learning::Done
                    } else {
                        Learning::Waiting
                    },
                    window,
                    max_pause,
                    sent: Moments::default(),
                    paused_until: None,
                    pending: VecDeque::new(),
                }),
                learned: tokio::sync::Notify::new(),
                turn: tokio::sync::Mutex::new(()),
            })),
        }
    }

    /// A limiter of its own, for another credential with the same settings:
    /// it starts from the settings, not from what this one learned.
    pub(crate) fn fresh(&self) -> Pacer {
        let Some(state) = &self.state else {
            return Pacer { state: None };
        };
        let b = lock(&state.bucket);
        Pacer::with(b.ceiling, b.window, b.max_pause)
    }

    /// Waits for a slot. Hold the permit until the answer comes and
    /// [observe](Permit::observe) it: a permit dropped before (no answer,
    /// or the call's future dropped by a caller's timeout) counts as
    /// unanswered, and lets the next call learn the limit at once.
    #[cfg(test)]
    pub(crate) async fn acquire(&self) -> Permit<'_> {
        let mut permit = Permit {
            pacer: self,
            waited: Duration::ZERO,
            settled: false,
        };
        permit.waited = self.wait_for_slot().await;
        permit
    }

    /// [`acquire`](Pacer::acquire), but no wait is started that would end
    /// after `deadline`: `None` when no slot comes by then (no slot is
    /// taken). A retry uses the retry policy's `max_elapsed` as its
    /// deadline, so pacing never stretches a call past it.
    pub(crate) async fn acquire_by(&self, deadline: Option<Instant>) -> Option<Permit<'_>> {
        let waited = self.wait_until(deadline).await?;
        Some(Permit {
            pacer: self,
            waited,
            settled: false,
        })
    }

    #[cfg(test)]
    async fn wait_for_slot(&self) -> Duration {
        self.wait_until(None).await.unwrap_or_default()
    }

    /// Waits for a slot and takes it; `None`, having taken none, when the
    /// slot would come after `deadline`.
    async fn wait_until(&self, deadline: Option<Instant>) -> Option<Duration> {
        let Some(state) = &self.state else {
            return Some(Duration::ZERO);
        };
        let start = Instant::now();
        let past = |at: Instant| deadline.is_some_and(|d| at > d);
        loop {
            let learned = state.learned.notified();
            tokio::pin!(learned);
            learned.as_mut().enable();
            let patience = {
                let mut b = lock(&state.bucket);
                match b.learning {
                    Learning::Done => {
                        // No limit and no pause: nothing to wait for.
                        if b.limit(start).is_none() && b.paused_until.is_none_or(|p| p <= start) {
                            return Some(Duration::ZERO);
                        }
                        break;
                    }
                    Learning::Waiting => {
                        b.learning = Learning::Probing(Instant::now());
                        break;
                    }
                    Learning::Probing(since) => {
                        let now = Instant::now();
                        let until = later(since, PROBE_PATIENCE);
                        if now >= until {
                            b.learning = Learning::Probing(now);
                            break;
                        }
                        until
                    }
                }
            };
            if past(patience) {
                return None;
            }
            // Woken by the answer, or out of patience.
            let _ = tokio::time::timeout_at(patience, learned).await;
        }
        let _turn = match deadline {
            None => state.turn.lock().await,
            Some(d) => tokio::time::timeout_at(d, state.turn.lock()).await.ok()?,
        };
        loop {
            let now = Instant::now();
            let wait = {
                let mut b = lock(&state.bucket);
                let at = b.next_free(now);
                if at <= now {
                    b.take(now);
                    None
                } else if past(at) {
                    return None;
                } else {
                    Some(at)
                }
            };
            match wait {
                Some(at) => tokio::time::sleep_until(at).await,
                None => break,
            }
        }
        Some(Instant::now().saturating_duration_since(start))
    }

    /// The call that was let through to learn got no answer: let another.
    fn unanswered(&self) {
        let Some(state) = &self.state else {
            return;
        };
        let mut b = lock(&state.bucket);
        // The request may have been counted all the same.
        b.answered(Instant::now());
        if matches!(b.learning, Learning::Probing(_)) {
            b.learning = Learning::Waiting;
            state.learned.notify_one();
        }
    }

    /// Follows what an answer said, now.
    #[cfg(test)]
    fn observe(&self, limit: Option<u64>, remaining: Option<u64>, retry_after: Option<Duration>) {
        self.observe_at(limit, remaining, retry_after, Instant::now());
    }

    /// Follows what an answer that came at `now` said: `X-Ratelimit-Limit`,
    /// `X-Ratelimit-Remaining`, and on a 429 its `Retry-After`. Takes
    /// constant time and memory whatever the numbers.
    fn observe_at(
        &self,
        limit: Option<u64>,
        remaining: Option<u64>,
        retry_after: Option<Duration>,
        now: Instant,
    ) {
        let Some(state) = &self.state else {
            return;
        };
        let mut b = lock(&state.bucket);
        if b.learning != Learning::Done {
            b.learning = Learning::Done;
            state.learned.notify_waiters();
        }
        b.answered(now);
        if let Some(said) = limit {
            // 0 would stop the client until a later answer said otherwise,
            // and no answer comes without a call: read as 1.
            let said = u32::try_from(said)
                .unwrap_or(u32::MAX)
                .clamp(1, MAX_LEARNED_LIMIT);
            b.learned = Some((said, now));
        }
        if let (Some(remaining), Some(limit)) = (remaining, b.limit(now)) {
            // The service has counted more calls in its window than this
            // client sent (another process with the same token): count them
            // as sent now.
            let window_start = now.checked_sub(b.window).unwrap_or(now);
            let counted = b.sent.after(window_start);
            let ours_left = u64::from(limit).saturating_sub(counted);
            let missing = ours_left.saturating_sub(remaining).min(u64::from(limit));
            // At most `limit`, itself a u32.
            b.sent.add(now, u32::try_from(missing).unwrap_or(limit));
        }
        b.trim(now);
        if let Some(wait) = retry_after {
            let until = later(now, wait.min(b.max_pause));
            b.paused_until = Some(b.paused_until.map_or(until, |p| p.max(until)));
            // The service said when to come back: its window frees then,
            // whatever `X-Ratelimit-Remaining: 0` made of the calls counted
            // so far (a whole window otherwise, past the pause's cap).
            b.release_by(until);
        }
    }
}

impl Bucket {
    /// The limit in force at `now`: the ceiling, lowered by what the
    /// headers said within the last [`LEARNED_FOR`] windows.
    fn limit(&self, now: Instant) -> Option<u32> {
        let held = self.window.saturating_mul(LEARNED_FOR);
        let learned = self
            .learned
            .filter(|(_, at)| now < later(*at, held))
            .map(|(n, _)| n);
        match (self.ceiling, learned) {
            (Some(c), Some(l)) => Some(c.min(l)),
            (c, l) => c.or(l),
        }
    }

    /// The first moment at which one more call keeps to the limit.
    fn next_free(&mut self, now: Instant) -> Instant {
        let mut at = now;
        if let Some(paused) = self.paused_until {
            if paused > at {
                at = paused;
            } else {
                self.paused_until = None;
            }
        }
        let Some(limit) = self.limit(now) else {
            return at;
        };
        if let Some(oldest) = self.sent.oldest_of_last(limit) {
            at = at.max(later(oldest, self.window.saturating_add(SLACK)));
        }
        at
    }

    /// Takes a slot now.
    fn take(&mut self, now: Instant) {
        let Some(limit) = self.limit(now) else {
            return;
        };
        self.sent.add(now, 1);
        self.pending.push_back(now);
        while self.pending.len() > limit as usize {
            self.pending.pop_front();
        }
        self.trim(now);
    }

    /// The oldest call still unanswered has its answer (or none will
    /// come): its slot is counted from now instead of from when it was sent.
    fn answered(&mut self, now: Instant) {
        let Some(sent) = self.pending.pop_front() else {
            return;
        };
        if self.sent.remove_one(sent) {
            self.sent.add(now, 1);
        }
    }

    /// Lets every call counted so far leave the window by `until` at the
    /// latest: a moment that would hold a slot later is moved back so that
    /// its slot comes back at `until`. Order is kept, so answers still
    /// match their calls.
    fn release_by(&mut self, until: Instant) {
        match until.checked_sub(self.window.saturating_add(SLACK)) {
            Some(cutoff) => {
                self.sent.move_back_to(cutoff);
                for sent in &mut self.pending {
                    *sent = (*sent).min(cutoff);
                }
            }
            // Before any moment the clock can tell: nothing counted holds.
            None => {
                self.sent = Moments::default();
                self.pending.clear();
            }
        }
    }

    /// Forgets what can no longer count: moments older than a window, and
    /// calls beyond the limit in force.
    fn trim(&mut self, now: Instant) {
        let since = now
            .checked_sub(self.window.saturating_add(SLACK))
            .unwrap_or(now);
        let since = since.min(now);
        let keep = self.limit(now).map_or(u64::MAX, u64::from);
        self.sent.trim(keep, since);
        if let Ok(keep) = usize::try_from(keep) {
            while self.pending.len() > keep {
                self.pending.pop_front();
            }
        }
    }
}

fn lock(state: &Mutex<Bucket>) -> std::sync::MutexGuard<'_, Bucket> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: Documented = Documented {
        requests: 3,
        window: Duration::from_secs(10),
    };
    const MAX_PAUSE: Duration = Duration::from_secs(60);

    /// A pacer of the documented limit, not shared, pausing at most
    /// `MAX_PAUSE`.
    fn paced(pacing: Pacing) -> Pacer {
        Pacer::new(pacing, DOC, false, MAX_PAUSE)
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_the_limit_in_any_window() {
        let pacer = Pacer::new(Pacing::auto(), DOC, true, MAX_PAUSE);
        let start = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..7 {
            waits.push(pacer.wait_for_slot().await);
        }
        assert_eq!(&waits[..3], &[Duration::ZERO; 3]);
        // The fourth waits for the first slot to come back.
        assert!(Instant::now() - start >= Duration::from_secs(20));
        assert!(Instant::now() - start < Duration::from_secs(21));
    }

    #[tokio::test(start_paused = true)]
    async fn other_hosts_follow_headers_only() {
        let pacer = paced(Pacing::auto());
        assert_eq!(pacer.wait_for_slot().await, Duration::ZERO);
        // An answer without headers: the server does not limit.
        pacer.observe(None, None, None);
        for _ in 0..10 {
            assert_eq!(pacer.wait_for_slot().await, Duration::ZERO);
        }
        // The service says 2 per window and none left: the next waits.
        pacer.observe(Some(2), Some(0), None);
        assert!(pacer.wait_for_slot().await >= Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn off_never_waits_and_retry_after_pauses() {
        let off = Pacer::new(Pacing::off(), DOC, true, MAX_PAUSE);
        for _ in 0..10 {
            assert_eq!(off.wait_for_slot().await, Duration::ZERO);
        }
        let paced = paced(Pacing::limit(100, Duration::from_secs(1)));
        assert_eq!(paced.wait_for_slot().await, Duration::ZERO);
        paced.observe(None, None, Some(Duration::from_secs(3)));
        assert_eq!(paced.wait_for_slot().await, Duration::from_secs(3));
    }

    /// The service counts a call somewhere between its sending and its
    /// answer: a slot comes back one window after the answer, and a call
    /// queued before the answer came still waits for that.
    #[tokio::test(start_paused = true)]
    async fn slots_come_back_a_window_after_the_answer() {
        let pacer = paced(Pacing::limit(2, Duration::from_secs(1)));
        let start = Instant::now();
        pacer.wait_for_slot().await;
        pacer.wait_for_slot().await;
        // Queued while no answer has come: it would go at 1.005 s.
        let third = tokio::spawn({
            let pacer = pacer.clone();
            async move {
                pacer.wait_for_slot().await;
                Instant::now()
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        pacer.observe(None, None, None);
        pacer.observe(None, None, None);
        let sent = third.await.unwrap() - start;
        assert!(sent >= Duration::from_millis(1200), "{sent:?}");
        assert!(sent < Duration::from_millis(1210), "{sent:?}");

        // A call that got no answer keeps its slot from the moment that was
        // known, too.
        let lost = paced(Pacing::limit(1, Duration::from_secs(1)));
        lost.wait_for_slot().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        lost.unanswered();
        let waited = lost.wait_for_slot().await;
        assert!(waited >= Duration::from_secs(1), "{waited:?}");
        assert!(waited < Duration::from_millis(1010), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_burst_waits_for_the_first_answer() {
        let pacer = paced(Pacing::auto().window(Duration::from_secs(1)));
        assert_eq!(pacer.wait_for_slot().await, Duration::ZERO);
        let second = tokio::spawn({
            let pacer = pacer.clone();
            async move { pacer.wait_for_slot().await }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!second.is_finished(), "held until the first answer");
        // The first answer says: 1 per second, none left.
        pacer.observe(Some(1), Some(0), None);
        let waited = second.await.unwrap();
        assert!(waited >= Duration::from_secs(1), "{waited:?}");

        // A first call dropped before its answer (no word either way) holds
        // the others for a while only.
        let dropped = paced(Pacing::auto());
        dropped.wait_for_slot().await;
        let next = dropped.wait_for_slot().await;
        assert_eq!(next, PROBE_PATIENCE);
        let after = dropped.wait_for_slot().await;
        assert_eq!(after, PROBE_PATIENCE, "one more call goes to learn");

        // A first call that gets no answer lets the next one go.
        let lonely = paced(Pacing::auto());
        lonely.wait_for_slot().await;
        lonely.unanswered();
        assert_eq!(lonely.wait_for_slot().await, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_permit_lets_the_next_call_learn_at_once() {
        let pacer = paced(Pacing::auto());
        let first = pacer.acquire().await;
        assert_eq!(first.waited, Duration::ZERO);
        // The caller's future is dropped before the answer came.
        drop(first);
        let next = pacer.acquire().await;
        assert_eq!(next.waited, Duration::ZERO, "no patience needed");
        next.observe_said(None, None, None);
        assert_eq!(pacer.acquire().await.waited, Duration::ZERO);
    }

    fn bucket(pacer: &Pacer) -> std::sync::MutexGuard<'_, Bucket> {
        lock(&pacer.state.as_ref().unwrap().bucket)
    }

    /// A limit of ~1.8e18 with 150 left once made the pacer count four
    /// billion calls, one at a time, under its lock.
    #[tokio::test(start_paused = true)]
    async fn a_huge_limit_is_clamped_and_kept_in_constant_room() {
        let pacer = paced(Pacing::auto());
        pacer.wait_for_slot().await;
        pacer.observe(Some(1_844_674_407_379_551_616), Some(150), None);
        {
            let b = bucket(&pacer);
            assert_eq!(b.limit(Instant::now()), Some(MAX_LEARNED_LIMIT));
            assert!(b.sent.runs.len() <= 2, "{:?}", b.sent.runs.len());
            assert_eq!(b.sent.total, u64::from(MAX_LEARNED_LIMIT) - 150);
        }
        for said in [u64::MAX, u64::from(u32::MAX), 0] {
            pacer.observe(Some(said), Some(0), None);
            assert!(bucket(&pacer).sent.runs.len() <= 3);
        }
    }

    /// A `Retry-After` of `u64::MAX` seconds once panicked adding it to
    /// the clock; a pause is now capped by `max_retry_after`.
    #[tokio::test(start_paused = true)]
    async fn a_pause_is_capped_and_never_overflows() {
        let pacer = Pacer::new(
            Pacing::limit(100, Duration::from_secs(1)),
            DOC,
            false,
            Duration::from_secs(2),
        );
        pacer.wait_for_slot().await;
        pacer.observe(None, None, Some(Duration::MAX));
        assert_eq!(pacer.wait_for_slot().await, Duration::from_secs(2));
        pacer.observe(None, None, Some(Duration::from_secs(u64::MAX)));
        assert_eq!(pacer.wait_for_slot().await, Duration::from_secs(2));

        // A caller's own absurd window or pause cap does not overflow either.
        let wide = Pacer::new(Pacing::limit(1, Duration::MAX), DOC, false, Duration::MAX);
        assert_eq!(wide.wait_for_slot().await, Duration::ZERO);
        wide.observe(Some(1), Some(0), Some(Duration::MAX));
        let next = tokio::time::timeout(Duration::from_secs(3600), wide.wait_for_slot()).await;
        assert!(next.is_err(), "waits as long as it was told");
    }

    /// A 429 with `Retry-After: 1` and `X-Ratelimit-Remaining: 0` once
    /// held the next call for a whole window (10 s for Mailtrap), past the
    /// pause the service asked for and past `max_retry_after`: the
    /// `Retry-After` now says when the calls counted so far leave the
    /// window.
    #[tokio::test(start_paused = true)]
    async fn a_retry_after_bounds_the_wait_that_remaining_zero_asks() {
        let pacer = paced(Pacing::auto());
        pacer.wait_for_slot().await;
        pacer.observe(Some(150), Some(0), Some(Duration::from_secs(1)));
        assert_eq!(pacer.wait_for_slot().await, Duration::from_secs(1));
        // What follows is paced under the limit again, counted afresh.
        pacer.observe(Some(150), Some(149), None);
        assert_eq!(pacer.wait_for_slot().await, Duration::ZERO);

        // A Retry-After past the pause's cap is held to the cap, window
        // or not.
        let capped = Pacer::new(Pacing::auto(), DOC, false, Duration::from_secs(2));
        capped.wait_for_slot().await;
        capped.observe(Some(150), Some(0), Some(Duration::from_secs(600)));
        assert_eq!(capped.wait_for_slot().await, Duration::from_secs(2));

        // Answers still match their calls after the moments moved back.
        let queued = paced(Pacing::limit(2, Duration::from_secs(10)));
        let first = queued.acquire().await;
        let second = queued.acquire().await;
        first.observe_said(Some(2), Some(0), Some(Duration::from_secs(1)));
        second.observe_said(Some(2), Some(1), None);
        assert!(bucket(&queued).pending.is_empty());
        assert!(bucket(&queued).sent.total <= 2);
    }

    /// A retry that would wait for its slot past `max_elapsed` is not
    /// made, and takes no slot.
    #[tokio::test(start_paused = true)]
    async fn no_slot_is_waited_for_past_a_deadline() {
        let pacer = paced(Pacing::limit(1, Duration::from_secs(10)));
        pacer.wait_for_slot().await;
        let deadline = Instant::now() + Duration::from_secs(1);
        let start = Instant::now();
        assert!(pacer.acquire_by(Some(deadline)).await.is_none());
        assert_eq!(Instant::now(), start, "no wait started");
        // No slot was taken: the next call waits one window, not two.
        let waited = pacer.wait_for_slot().await;
        assert!(waited >= Duration::from_secs(10), "{waited:?}");
        assert!(waited < Duration::from_millis(10_010), "{waited:?}");
        // A slot in time is waited for.
        let in_time = Instant::now() + Duration::from_secs(11);
        let permit = pacer.acquire_by(Some(in_time)).await.expect("a slot");
        assert!(permit.waited >= Duration::from_secs(10));
    }

    /// A learned limit once only ever went down, and a limit of 0 held a
    /// client to one call per window for life.
    #[tokio::test(start_paused = true)]
    async fn learned_limits_recover_in_a_fresh_window() {
        let pacer = paced(Pacing::auto().window(Duration::from_secs(1)));
        pacer.wait_for_slot().await;
        pacer.observe(Some(0), Some(0), None);
        assert_eq!(bucket(&pacer).limit(Instant::now()), Some(1));
        let waited = pacer.wait_for_slot().await;
        assert!(waited >= Duration::from_secs(1), "{waited:?}");
        // That answer says nothing of a limit: the one learned a window ago
        // no longer holds, and the client goes unpaced again.
        pacer.observe(None, None, None);
        tokio::time::sleep(Duration::from_secs(2)).await;
        for _ in 0..10 {
            let permit = pacer.acquire().await;
            assert_eq!(permit.waited, Duration::ZERO);
            permit.observe_said(None, None, None);
        }
        // A service that raises its limit is followed (up to the ceiling).
        let capped = paced(Pacing::limit(5, Duration::from_secs(1)));
        capped.wait_for_slot().await;
        capped.observe(Some(1), None, None);
        assert_eq!(bucket(&capped).limit(Instant::now()), Some(1));
        capped.observe(Some(3), None, None);
        assert_eq!(bucket(&capped).limit(Instant::now()), Some(3));
        capped.observe(Some(1_000), None, None);
        assert_eq!(bucket(&capped).limit(Instant::now()), Some(5));
    }

    /// Calls queued behind a full window wait exactly one window for their
    /// slots: the limit that filled it must still hold then, or they would
    /// all go at once and meet the service's limit.
    #[tokio::test(start_paused = true)]
    async fn a_learned_limit_still_holds_for_the_calls_queued_behind_it() {
        let pacer = paced(Pacing::auto().window(Duration::from_secs(1)));
        let first = pacer.acquire().await;
        first.observe_said(Some(2), Some(1), None);
        let mut queued = tokio::task::JoinSet::new();
        for _ in 0..5 {
            let pacer = pacer.clone();
            queued.spawn(async move {
                let permit = pacer.acquire().await;
                let waited = permit.waited;
                permit.observe_said(Some(2), None, None);
                waited
            });
        }
        let mut waits = queued.join_all().await;
        waits.sort();
        let within = |from: u64, to: u64| {
            waits
                .iter()
                .filter(|w| **w >= Duration::from_secs(from) && **w < Duration::from_secs(to))
                .count()
        };
        assert_eq!(
            (within(0, 1), within(1, 2), within(2, 3)),
            (1, 2, 2),
            "{waits:?}"
        );
    }
}
