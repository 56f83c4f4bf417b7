//! How a fake numbers its tokens: a counter that only moves forward, and
//! the checks on an id or a counter a test hands it.

use super::error::KitError;

/// The highest id a fake gives or holds: the largest integer a JSON number
/// carries exactly everywhere (2^53 − 1), so that an id survives any JSON
/// reader a test may put between the fake and its client.
pub const MAX_TOKEN_ID: u64 = (1 << 53) - 1;

/// The ids of one fake: the next one it gives, never below its first.
#[derive(Debug, Clone)]
pub(crate) struct Ids {
    next: u64,
}

impl Ids {
    pub(crate) fn starting_at(first: u64) -> Ids {
        Ids { next: first }
    }

    /// The id the next token gets.
    pub(crate) fn next(&self) -> u64 {
        self.next
    }

    /// Takes the next id; `None` once every id up to [`MAX_TOKEN_ID`] was
    /// given.
    pub(crate) fn take(&mut self) -> Option<u64> {
        let id = self.next;
        if id > MAX_TOKEN_ID {
            return None;
        }
        self.next = id + 1;
        Some(id)
    }

    /// Checks that a test may put a token under `id` (positive, in range,
    /// not held), and moves the counter past it so that no later token
    /// gets it.
    pub(crate) fn claim(&mut self, id: u64, held: bool) -> Result<(), KitError> {
        check_range(id)?;
        if held {
            return Err(KitError::Seed(format!("token id {id} is already held")));
        }
        self.next = self.next.max(id + 1);
        Ok(())
    }

    /// Sets the id the next token gets: above every id held (`highest`),
    /// at most one past [`MAX_TOKEN_ID`].
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
        self.next = next;
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
}
