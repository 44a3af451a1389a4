//! The clock the driver hands to the node.

use ringside_core::Micros;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The clock handed to the node: wall-clock microseconds since the UNIX
/// epoch at start, advanced by a monotonic clock, so timestamps look like
/// the protocol's examples but never jump backwards with the wall clock.
pub struct Clock {
    start_wall_us: Micros,
    start: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as Micros)
            .unwrap_or(0);
        Clock {
            start_wall_us: wall,
            start: Instant::now(),
        }
    }

    pub fn now_us(&self) -> Micros {
        self.start_wall_us + self.start.elapsed().as_micros() as Micros
    }

    /// The monotonic instant at which [`Clock::now_us`] reaches `us`.
    pub fn instant_of(&self, us: Micros) -> Instant {
        self.start + Duration::from_micros(us.saturating_sub(self.start_wall_us))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
