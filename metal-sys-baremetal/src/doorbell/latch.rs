use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use openamp_metal::{Clock, Result, WaitNotify};

/// The interrupt-safe half of a doorbell: an interrupt handler records the
/// peer's kick here, and the thread that serves the RPMsg device waits on it.
///
/// [`signal`](Self::signal) is the only call meant for interrupt context. It
/// takes no lock, never blocks and does one atomic load and one atomic store
/// (no read-modify-write, hence no exclusive load/store, which some memory
/// types do not support), so it cannot deadlock against the code it
/// interrupted, whatever that code holds. Everything else (the RPMsg
/// device's `poll`, `wait_and_poll`, `recv_*`, `send_*`) runs in the thread,
/// which learns of the kick through [`LatchWait`], a
/// [`WaitNotify`](openamp_metal::WaitNotify) over the latch:
///
/// ```
/// use core::time::Duration;
/// use openamp_metal::{Clock, WaitNotify};
/// use openamp_metal_sys_baremetal::doorbell::{KickLatch, LatchWait, Spin};
///
/// static KICKS: KickLatch = KickLatch::new();
///
/// /// Registered for the doorbell's interrupt: records the kick, nothing else.
/// fn doorbell_irq(_id: u32) {
///     KICKS.signal();
/// }
///
/// # struct Ticks(core::cell::Cell<u64>);
/// # impl Clock for Ticks {
/// #     fn now_ns(&self) -> u64 { self.0.set(self.0.get() + 1000); self.0.get() }
/// # }
/// let wait = LatchWait::new(&KICKS, Ticks(Default::default()), Spin);
/// doorbell_irq(61); // as if the interrupt came
/// assert_eq!(wait.wait(Duration::from_millis(1))?, Some(0));
/// assert_eq!(wait.wait(Duration::from_micros(10))?, None);
/// // The thread then polls the device: `NotifyWait { kicks: &wait, clock }`.
/// # Ok::<(), openamp_metal::Error>(())
/// ```
///
/// Kicks are merged as interrupts are: several signals before the thread
/// looks count as one. The latch is a counter with one writer and one
/// reader: `signal` must run in one context at a time (one core's interrupt
/// handler; this crate's handlers do not nest), and one thread takes the
/// kicks. Give each interrupt source that may run on another core a latch
/// of its own.
#[derive(Debug)]
pub struct KickLatch {
    /// Signals so far; written by `signal` only.
    raised: AtomicU32,
    /// The count the thread has taken; written by `take` only.
    seen: AtomicU32,
}

impl KickLatch {
    /// A latch with no kick pending (for a `static`).
    pub const fn new() -> Self {
        KickLatch {
            raised: AtomicU32::new(0),
            seen: AtomicU32::new(0),
        }
    }

    /// Records a kick. Safe in an interrupt handler (see the type's docs).
    pub fn signal(&self) {
        let next = self.raised.load(Ordering::Relaxed).wrapping_add(1);
        // Release: what the handler (or the peer, before its interrupt)
        // made visible to us is visible to the thread that takes the kick.
        self.raised.store(next, Ordering::Release);
    }

    /// Whether a kick is waiting, without taking it.
    pub fn is_pending(&self) -> bool {
        self.raised.load(Ordering::Acquire) != self.seen.load(Ordering::Relaxed)
    }

    /// Takes the waiting kicks (all of them, as one): `true` if there were any.
    pub fn take(&self) -> bool {
        // Acquire pairs with the Release in `signal`.
        let raised = self.raised.load(Ordering::Acquire);
        if raised == self.seen.load(Ordering::Relaxed) {
            return false;
        }
        self.seen.store(raised, Ordering::Relaxed);
        true
    }

    /// How many times [`signal`](Self::signal) ran (wrapping).
    pub fn signals(&self) -> u32 {
        self.raised.load(Ordering::Relaxed)
    }
}

impl Default for KickLatch {
    fn default() -> Self {
        Self::new()
    }
}

/// How [`LatchWait`] passes the time until the latch may have changed.
pub trait Idle {
    /// Returns when a kick may have been signalled, or when about
    /// `remaining` has passed, or earlier (the caller checks and calls
    /// again). It must not sleep through a signal: an implementation that
    /// sleeps checks [`KickLatch::is_pending`] with interrupts masked
    /// first, and something must end the sleep by `remaining`.
    fn pause(&self, latch: &KickLatch, remaining: Duration);
}

/// Spins: checks again at once. Works everywhere, also when the latch is
/// signalled from another core or nothing bounds a sleep.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spin;

impl Idle for Spin {
    fn pause(&self, _latch: &KickLatch, _remaining: Duration) {
        core::hint::spin_loop();
    }
}

impl<I: Idle + ?Sized> Idle for &I {
    fn pause(&self, latch: &KickLatch, remaining: Duration) {
        (**self).pause(latch, remaining)
    }
}

/// Waiting on a [`KickLatch`]: a [`WaitNotify`] whose kicks are the
/// latch's signals, measured on `clock`, idling with `idle` in between
/// ([`Spin`], or the machine's `irq::WaitForInterrupt`).
///
/// Give it to the RPMsg device as `NotifyWait { kicks: &latch_wait, clock }`:
/// the device's `wait_and_poll` and `recv_timeout` then sleep until the
/// interrupt handler's [`KickLatch::signal`] or the timeout.
#[derive(Debug)]
pub struct LatchWait<'l, C: Clock, I: Idle = Spin> {
    latch: &'l KickLatch,
    clock: C,
    idle: I,
    /// Waits that had to pause and were then ended by a kick.
    woken: AtomicU32,
}

impl<'l, C: Clock, I: Idle> LatchWait<'l, C, I> {
    /// Waits on `latch`, timed by `clock`, idling with `idle`.
    pub fn new(latch: &'l KickLatch, clock: C, idle: I) -> Self {
        LatchWait {
            latch,
            clock,
            idle,
            woken: AtomicU32::new(0),
        }
    }

    /// The latch waited on.
    pub fn latch(&self) -> &'l KickLatch {
        self.latch
    }

    /// How many waits found no kick at first, paused, and were then ended
    /// by a kick (rather than by their timeout): the kicks that woke us.
    pub fn woken_by_kick(&self) -> u32 {
        self.woken.load(Ordering::Relaxed)
    }
}

impl<C: Clock, I: Idle> WaitNotify for LatchWait<'_, C, I> {
    fn poll(&self) -> Result<Option<u32>> {
        Ok(self.latch.take().then_some(0))
    }

    fn wait(&self, timeout: Duration) -> Result<Option<u32>> {
        let deadline = self.clock.deadline(timeout);
        let mut paused = false;
        loop {
            if self.latch.take() {
                if paused {
                    // One waiting thread: a plain load and store suffice.
                    let n = self.woken.load(Ordering::Relaxed).wrapping_add(1);
                    self.woken.store(n, Ordering::Relaxed);
                }
                return Ok(Some(0));
            }
            let remaining = deadline.remaining(&self.clock);
            if remaining.is_zero() {
                return Ok(None);
            }
            self.idle.pause(self.latch, remaining);
            paused = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    struct TickClock(Cell<u64>);
    impl Clock for TickClock {
        fn now_ns(&self) -> u64 {
            self.0.set(self.0.get() + 1_000);
            self.0.get()
        }
    }

    /// An idle step that plays the interrupt: signals on its `n`th pause.
    struct IrqAfter<'a>(Cell<u32>, &'a KickLatch);
    impl Idle for IrqAfter<'_> {
        fn pause(&self, _latch: &KickLatch, remaining: Duration) {
            assert!(!remaining.is_zero());
            let n = self.0.get();
            self.0.set(n.saturating_sub(1));
            if n == 1 {
                self.1.signal();
            }
        }
    }

    #[test]
    fn signals_merge_and_are_taken_once() {
        let l = KickLatch::new();
        assert!(!l.is_pending());
        assert!(!l.take());
        l.signal();
        l.signal();
        assert!(l.is_pending());
        assert!(l.take());
        assert!(!l.take(), "two signals before a take are one kick");
        assert_eq!(l.signals(), 2);
    }

    #[test]
    fn the_count_wraps() {
        let l = KickLatch::new();
        l.raised.store(u32::MAX, Ordering::Relaxed);
        l.seen.store(u32::MAX, Ordering::Relaxed);
        assert!(!l.take());
        l.signal();
        assert_eq!(l.signals(), 0);
        assert!(l.take());
    }

    #[test]
    fn a_kick_during_the_wait_ends_it() {
        static L: KickLatch = KickLatch::new();
        let idle = IrqAfter(Cell::new(5), &L);
        let w = LatchWait::new(&L, TickClock(Cell::new(0)), &idle);
        assert_eq!(w.poll().unwrap(), None);
        assert_eq!(w.wait(Duration::from_millis(1)).unwrap(), Some(0));
        assert_eq!(w.woken_by_kick(), 1);
        // A kick already there is taken without pausing: not counted as a wake.
        L.signal();
        assert_eq!(w.wait(Duration::from_millis(1)).unwrap(), Some(0));
        assert_eq!(w.woken_by_kick(), 1);
        assert_eq!(w.latch().signals(), 2);
    }

    #[test]
    fn no_kick_times_out() {
        let l = KickLatch::new();
        let w = LatchWait::new(&l, TickClock(Cell::new(0)), Spin);
        assert_eq!(w.wait(Duration::from_micros(20)).unwrap(), None);
        assert_eq!(w.wait(Duration::ZERO).unwrap(), None);
        assert_eq!(w.woken_by_kick(), 0);
    }

    /// The handler on another thread, as an interrupt on another core would
    /// be: the waiting thread must see the kick and the data before it.
    #[test]
    #[cfg_attr(miri, ignore = "spins on a real clock")]
    fn a_signal_from_another_thread_wakes_the_waiter() {
        use std::sync::atomic::AtomicU32 as Data;
        static L: KickLatch = KickLatch::new();
        static DATA: Data = Data::new(0);
        struct Real(std::time::Instant);
        impl Clock for Real {
            fn now_ns(&self) -> u64 {
                self.0.elapsed().as_nanos() as u64
            }
        }
        let w = LatchWait::new(&L, Real(std::time::Instant::now()), Spin);
        let t = std::thread::spawn(|| {
            DATA.store(42, Ordering::Relaxed);
            L.signal();
        });
        assert_eq!(w.wait(Duration::from_secs(10)).unwrap(), Some(0));
        assert_eq!(DATA.load(Ordering::Relaxed), 42);
        t.join().unwrap();
    }
}
