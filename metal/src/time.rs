//! Monotonic time and deadlines.

use core::time::Duration;

/// A monotonic clock.
pub trait Clock {
    /// Nanoseconds since an arbitrary, fixed start; never goes backwards.
    fn now_ns(&self) -> u64;

    /// A deadline `timeout` from now.
    fn deadline(&self, timeout: Duration) -> Deadline {
        let ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        Deadline {
            at_ns: self.now_ns().saturating_add(ns),
        }
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ns(&self) -> u64 {
        (**self).now_ns()
    }
}

/// A point in a [`Clock`]'s time after which a wait gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline {
    at_ns: u64,
}

impl Deadline {
    /// A deadline that never passes.
    pub const NEVER: Deadline = Deadline { at_ns: u64::MAX };

    /// A deadline at an absolute clock reading.
    pub const fn at_ns(at_ns: u64) -> Self {
        Deadline { at_ns }
    }

    /// Whether the deadline has passed on `clock`.
    pub fn expired(&self, clock: &impl Clock) -> bool {
        clock.now_ns() >= self.at_ns
    }

    /// The time left until the deadline (zero once it passed).
    pub fn remaining(&self, clock: &impl Clock) -> Duration {
        Duration::from_nanos(self.at_ns.saturating_sub(clock.now_ns()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    struct FakeClock(Cell<u64>);
    impl Clock for FakeClock {
        fn now_ns(&self) -> u64 {
            self.0.get()
        }
    }

    #[test]
    fn deadline_expires_and_saturates() {
        let c = FakeClock(Cell::new(100));
        let d = c.deadline(Duration::from_nanos(50));
        assert!(!d.expired(&c));
        assert_eq!(d.remaining(&c), Duration::from_nanos(50));
        c.0.set(150);
        assert!(d.expired(&c));
        assert_eq!(d.remaining(&c), Duration::ZERO);
        let far = c.deadline(Duration::MAX);
        assert_eq!(far, Deadline::NEVER);
    }
}
