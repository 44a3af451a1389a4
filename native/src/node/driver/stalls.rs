//! How long the node's thread goes without coming back for input.
//!
//! Everything a node does runs on one thread, in turns of the driver's
//! loop. A turn that runs past the failure timeout stops this node's
//! heartbeats for that long (its peers mark it down and send hints
//! instead) and holds up every client of it, so the longest turn is
//! reported when the node stops, and a turn over a quarter of the
//! timeout is logged as it happens, with what filled it.

use std::time::Duration;
use tracing::{info, warn};

pub(super) struct Stalls {
    longest: Duration,
    warn_after: Duration,
}

impl Stalls {
    /// Warns of turns of a quarter of `failure_timeout` or more.
    pub(super) fn new(failure_timeout: Duration) -> Stalls {
        Stalls {
            longest: Duration::ZERO,
            warn_after: failure_timeout / 4,
        }
    }

    /// One turn of the loop took `took`; `what` says what it did.
    pub(super) fn turn(&mut self, took: Duration, what: impl FnOnce() -> String) {
        self.longest = self.longest.max(took);
        if took >= self.warn_after {
            warn!(
                "the node's thread was busy for {:.0} ms in one turn ({}); peers mark a node down after {:.0} ms without a heartbeat",
                took.as_secs_f64() * 1000.0,
                what(),
                self.warn_after.as_secs_f64() * 4000.0
            );
        }
    }

    /// Logs the longest turn, at a stop.
    pub(super) fn report(&self) {
        info!(
            "the longest turn of the node's thread took {:.1} ms",
            self.longest.as_secs_f64() * 1000.0
        );
    }

    #[cfg(test)]
    pub(super) fn longest(&self) -> Duration {
        self.longest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_turn_is_kept() {
        let mut s = Stalls::new(Duration::from_secs(1));
        for ms in [3, 400, 20] {
            s.turn(Duration::from_millis(ms), || format!("{ms} ms of work"));
        }
        assert_eq!(s.longest(), Duration::from_millis(400));
    }
}
