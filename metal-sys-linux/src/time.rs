//! Sleeping and monotonic time on Linux.

use embedded_hal::delay::DelayNs;
use openamp_metal::{Clock, System};
use rustix::time::{clock_gettime, ClockId};

/// Sleeps the calling thread (`embedded_hal`'s [`DelayNs`]).
///
/// The thread sleeps at least as long as asked; the scheduler may add more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinuxDelay;

impl DelayNs for LinuxDelay {
    fn delay_ns(&mut self, ns: u32) {
        std::thread::sleep(std::time::Duration::from_nanos(u64::from(ns)));
    }

    fn delay_us(&mut self, us: u32) {
        std::thread::sleep(std::time::Duration::from_micros(u64::from(us)));
    }

    fn delay_ms(&mut self, ms: u32) {
        std::thread::sleep(std::time::Duration::from_millis(u64::from(ms)));
    }
}

/// `CLOCK_MONOTONIC`, in nanoseconds since boot (not counting suspend).
///
/// Unlike `std::time::Instant`, the readings are meaningful across processes
/// on the same machine, so two processes can compare time stamps they put in
/// shared memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    fn now_ns(&self) -> u64 {
        let ts = clock_gettime(ClockId::Monotonic);
        // The monotonic clock starts at boot, so both fields are non-negative.
        let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
        secs.saturating_mul(1_000_000_000).saturating_add(nanos)
    }
}

/// The Linux platform for code written against [`System`].
///
/// Linux needs no global set-up of the kind libmetal's `metal_init` does on
/// bare metal (the kernel already runs the interrupt controller and the
/// console), so `init` only records that it ran; resources such as shared
/// memory and notifications are opened as values of this crate and released
/// when dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinuxSystem {
    initialised: bool,
}

impl LinuxSystem {
    /// A platform that was not initialised yet.
    pub const fn new() -> Self {
        LinuxSystem { initialised: false }
    }

    /// Whether `init` ran and `finish` did not since.
    pub fn is_initialised(&self) -> bool {
        self.initialised
    }
}

impl System for LinuxSystem {
    fn init(&mut self) -> openamp_metal::Result<()> {
        self.initialised = true;
        Ok(())
    }

    fn finish(&mut self) {
        self.initialised = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn delays_sleep_at_least_as_long_as_asked() {
        let mut d = LinuxDelay;
        let start = Instant::now();
        d.delay_ms(20);
        assert!(start.elapsed() >= Duration::from_millis(20));
        let start = Instant::now();
        d.delay_us(3_000);
        d.delay_ns(2_000_000);
        assert!(start.elapsed() >= Duration::from_millis(5));
    }

    #[test]
    fn the_clock_moves_forward_with_real_time() {
        let c = MonotonicClock;
        let a = c.now_ns();
        std::thread::sleep(Duration::from_millis(10));
        let b = c.now_ns();
        assert!(b >= a + 10_000_000, "{a} {b}");
        let deadline = c.deadline(Duration::from_millis(5));
        assert!(!deadline.expired(&c));
        std::thread::sleep(Duration::from_millis(6));
        assert!(deadline.expired(&c));
    }

    #[test]
    fn system_init_and_finish() {
        let mut s = LinuxSystem::new();
        assert!(!s.is_initialised());
        s.init().unwrap();
        s.init().unwrap();
        assert!(s.is_initialised());
        s.finish();
        assert!(!s.is_initialised());
    }
}
