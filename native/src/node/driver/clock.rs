//! The driver's two clocks. The node's time is the wall clock, read
//! whenever an input is handed to it: write timestamps, hint windows and
//! what events say follow the machine's clock however long the process
//! has run or the machine slept. The node's timers and the gate's sync
//! windows run on a monotonic clock, so that a step of the wall clock
//! neither fires them early nor holds them back.

use ringside_core::Micros;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub struct Clock {
    /// Where the monotonic clock's microseconds count from.
    start: Instant,
    /// Tests move the clocks through it, never the machine's.
    #[cfg(test)]
    pub(super) shift: tests::ClockShift,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            start: Instant::now(),
            #[cfg(test)]
            shift: Default::default(),
        }
    }

    /// The wall clock now, in microseconds since the UNIX epoch.
    pub fn wall_us(&self) -> Micros {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as Micros)
            .unwrap_or(0);
        #[cfg(test)]
        let wall = wall.saturating_add_signed(self.shift.wall());
        #[cfg(feature = "clock-hook")]
        let wall = wall.saturating_add_signed(crate::node::clock_hook::offset_us());
        wall
    }

    /// The monotonic clock now, in microseconds since the driver began.
    pub fn mono_us(&self) -> Micros {
        let mono = self.start.elapsed().as_micros() as Micros;
        #[cfg(test)]
        let mono = mono + self.shift.mono();
        mono
    }

    /// The instant at which [`Clock::mono_us`] reaches `us` (as far as
    /// the test shift allows).
    pub fn instant_of(&self, us: Micros) -> Instant {
        #[cfg(test)]
        let us = us.saturating_sub(self.shift.mono());
        self.start + Duration::from_micros(us)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
    use std::sync::Arc;

    /// Moves a driver's clocks in a test; clones move the same clock.
    #[derive(Clone, Default)]
    pub struct ClockShift {
        wall_us: Arc<AtomicI64>,
        mono_us: Arc<AtomicU64>,
    }

    impl ClockShift {
        /// The wall clock jumps by `by_us` (back when negative).
        pub fn step_wall(&self, by_us: i64) {
            self.wall_us.fetch_add(by_us, Ordering::Relaxed);
        }

        /// The monotonic clock moves `by_us` on at once.
        pub fn advance_mono(&self, by_us: u64) {
            self.mono_us.fetch_add(by_us, Ordering::Relaxed);
        }

        pub(super) fn wall(&self) -> i64 {
            self.wall_us.load(Ordering::Relaxed)
        }

        pub(super) fn mono(&self) -> u64 {
            self.mono_us.load(Ordering::Relaxed)
        }
    }
}
