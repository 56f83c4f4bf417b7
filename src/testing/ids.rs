//! How a fake numbers its tokens: a counter that only moves forward, and
//! the checks on an id or a counter a test hands it.

use super::error::KitError;

/// The highest id a fake gives or holds: the largest integer a JSON number
/// carries exactly everywhere (2^53 − 1), so that an id survives any JSON
/// reader a test may put between the fake and its client.
pub const MAX_TOKEN_ID: u64 = (1 << 53) - 1;

/// In which order a fake hands out its ids: by default each new token gets
/// a higher id than every token before it, as both services do today.
/// The other orders break that assumption on purpose, to test code that
/// must not rely on it (a rotation that takes the highest id for the
/// newest token, for one). Set it with `set_id_order` on a fake.
///
/// Ids stay unique whatever the order, and stay above every id a test put
/// in with `insert_token_with_id` or `set_next_id` at the time.
///
/// ```
/// use api_tokens::testing::{IdOrder, MailtrapFake, MailtrapTokenSeed};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let fake = MailtrapFake::start().await;
/// fake.set_id_order(IdOrder::ReversedInBlocks(3));
/// let ids: Vec<u64> = (0..4)
///     .map(|n| fake.insert_token(MailtrapTokenSeed::new(format!("t{n}"))).id.get())
///     .collect();
/// assert_eq!(ids, [12347, 12346, 12345, 12350]);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdOrder {
    /// Each token a higher id than the one made before it (the default).
    #[default]
    Ascending,
    /// Ids in blocks of this many (at least 1), each block handed out
    /// highest first: the token made second gets a lower id than the
    /// first.
    ReversedInBlocks(u32),
    /// Ids in blocks of this many (at least 1), each block in a random
    /// order.
    ShuffledInBlocks(u32),
}

/// How many creations a fake remembers, newest last, for a
/// `ListLag` (a lagging list): far more than a test creates at once.
const REMEMBERED: usize = 4096;

/// The ids of one fake: the next one it gives, never below its first, in
/// the [`IdOrder`] asked for; and when the latest were given.
#[derive(Debug, Clone)]
pub struct Ids {
    /// The first id not yet reserved.
    next: u64,
    order: IdOrder,
    /// Ids reserved for the next tokens, the next one last.
    pool: Vec<u64>,
    /// The ids given most recently and when, oldest first.
    given: std::collections::VecDeque<(u64, std::time::Instant)>,
}

impl Ids {
    pub(crate) fn starting_at(first: u64) -> Ids {
        Ids {
            next: first,
            order: IdOrder::Ascending,
            pool: Vec::new(),
            given: std::collections::VecDeque::new(),
        }
    }

    /// The id the next token gets.
    pub(crate) fn next(&self) -> u64 {
        self.pool.last().copied().unwrap_or(self.next)
    }

    /// Hands out ids in `order` from now on: the ids already reserved
    /// first (rearranged in that order), then the next ones.
    pub(crate) fn set_order(&mut self, order: IdOrder) {
        self.order = order;
        match order {
            // Handed out from the end: the lowest first.
            IdOrder::Ascending => self.pool.sort_unstable_by(|a, b| b.cmp(a)),
            IdOrder::ReversedInBlocks(_) => self.pool.sort_unstable(),
            IdOrder::ShuffledInBlocks(_) => fastrand::shuffle(&mut self.pool),
        }
        self.refill();
    }

    /// Takes the next id; `None` once every id up to [`MAX_TOKEN_ID`] was
    /// given.
    pub(crate) fn take(&mut self) -> Option<u64> {
        let id = match self.pool.pop() {
            Some(id) => id,
            None => {
                let id = self.next;
                if id > MAX_TOKEN_ID {
                    return None;
                }
                self.next = id + 1;
                id
            }
        };
        self.refill();
        if self.given.len() == REMEMBERED {
            self.given.pop_front();
        }
        self.given.push_back((id, std::time::Instant::now()));
        Some(id)
    }

    /// The ids given most recently and when, oldest first.
    pub(crate) fn given(&self) -> impl DoubleEndedIterator<Item = &(u64, std::time::Instant)> {
        self.given.iter()
    }

    /// Reserves the next block when the pool is empty, in the order asked.
    fn refill(&mut self) {
        let block = match self.order {
            IdOrder::Ascending => return,
            IdOrder::ReversedInBlocks(n) | IdOrder::ShuffledInBlocks(n) => u64::from(n.max(1)),
        };
        if !self.pool.is_empty() || self.next > MAX_TOKEN_ID {
            return;
        }
        let end = self.next.saturating_add(block).min(MAX_TOKEN_ID + 1);
        // Handed out from the end: the highest first.
        self.pool = (self.next..end).collect();
        if matches!(self.order, IdOrder::ShuffledInBlocks(_)) {
            fastrand::shuffle(&mut self.pool);
        }
        self.next = end;
    }

    /// Checks that a test may put a token under `id` (positive, in range,
    /// not held), and moves the counter past it so that no later token
    /// gets it.
    pub(crate) fn claim(&mut self, id: u64, held: bool) -> Result<(), KitError> {
        check_range(id)?;
        if held {
            return Err(KitError::Seed(format!("token id {id} is already held")));
        }
        self.pool.retain(|&reserved| reserved != id);
        self.next = self.next.max(id + 1);
        self.refill();
        Ok(())
    }

    /// Sets the id the next token gets: above every id held (`highest`),
    /// at most one past [`MAX_TOKEN_ID`]. In another order than
    /// [`IdOrder::Ascending`], the next block starts there.
    pub(crate) fn set_next(&mut self, next: u64, highest: Option<u64>) -> Result<(), KitError> {
        if next == 0 || next > MAX_TOKEN_ID + 1 {
            return Err(KitError::Seed(format!(
                "next id {next} is out of range: ids run from 1 to {MAX_TOKEN_ID}"
            )));
        }
        if let Some(highest) = highest.filter(|&h| h >= next) {
            return Err(KitError::Seed(format!(
                "next id {next} is not above token id {highest}, which the fake holds"
            )));
        }
        self.pool.clear();
        self.next = next;
        self.refill();
        Ok(())
    }
}

/// Refuses an id the fake cannot hold.
fn check_range(id: u64) -> Result<(), KitError> {
    if id == 0 || id > MAX_TOKEN_ID {
        return Err(KitError::Seed(format!(
            "token id {id} is out of range: ids run from 1 to {MAX_TOKEN_ID}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_moves_forward_only_and_stays_in_range() {
        let mut ids = Ids::starting_at(5);
        assert_eq!(ids.take(), Some(5));
        ids.claim(40, false).unwrap();
        assert_eq!(ids.next(), 41);
        ids.claim(7, false).unwrap();
        assert_eq!(
            ids.next(),
            41,
            "an id below the counter does not move it back"
        );
        assert!(ids.claim(7, true).is_err(), "held");
        assert!(ids.claim(0, false).is_err());
        assert!(ids.claim(MAX_TOKEN_ID + 1, false).is_err());
        assert!(ids.set_next(40, Some(40)).is_err(), "not above a held id");
        assert!(ids.set_next(0, None).is_err());
        assert!(ids.set_next(MAX_TOKEN_ID + 2, None).is_err());
        ids.set_next(MAX_TOKEN_ID, Some(40)).unwrap();
        assert_eq!(ids.take(), Some(MAX_TOKEN_ID));
        assert_eq!(ids.take(), None, "every id was given");
        assert_eq!(ids.take(), None);
    }

    #[test]
    fn ids_out_of_order_stay_unique_and_above_what_was_claimed() {
        let mut ids = Ids::starting_at(10);
        ids.set_order(IdOrder::ReversedInBlocks(3));
        assert_eq!(ids.next(), 12);
        let taken: Vec<u64> = (0..4).filter_map(|_| ids.take()).collect();
        assert_eq!(taken, [12, 11, 10, 15]);
        // A claimed id that was reserved is not given again.
        ids.claim(14, false).unwrap();
        let mut more: Vec<u64> = (0..5).filter_map(|_| ids.take()).collect();
        assert!(!more.contains(&14) && !more.contains(&15), "{more:?}");
        more.sort_unstable();
        more.dedup();
        assert_eq!(more.len(), 5);

        let mut shuffled = Ids::starting_at(1);
        shuffled.set_order(IdOrder::ShuffledInBlocks(8));
        let mut all: Vec<u64> = (0..64).filter_map(|_| shuffled.take()).collect();
        all.sort_unstable();
        assert_eq!(all, (1..=64).collect::<Vec<_>>());
        // Back in order: the reserved ids first, lowest first, then on.
        let mut back = Ids::starting_at(1);
        back.set_order(IdOrder::ReversedInBlocks(4));
        assert_eq!(back.take(), Some(4));
        back.set_order(IdOrder::Ascending);
        let rest: Vec<u64> = (0..4).filter_map(|_| back.take()).collect();
        assert_eq!(rest, [1, 2, 3, 5]);
        assert_eq!(back.given().count(), 5);
    }
}
