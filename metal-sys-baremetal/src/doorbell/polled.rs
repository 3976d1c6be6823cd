use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use openamp_metal::{Clock, IoRegion, Notify, Result, WaitNotify};

/// A doorbell made of two counter words in shared memory, one per direction.
///
/// Each word has exactly one writer, so a kick is a plain store of the next
/// count (no read-modify-write, hence no exclusive accesses, which Device or
/// uncached memory may not support); the reader notices that the count moved.
/// Kicks that arrive faster than they are polled are merged, as interrupts
/// would be.
///
/// The two cores use the same two words crossed: one side's `tx` is the
/// other's `rx`. If the words are in memory cached on a core without
/// coherency, map them uncached.
pub struct PolledDoorbell<'a, C: Clock> {
    region: IoRegion<'a>,
    tx: usize,
    rx: usize,
    // Atomics only so that the doorbell is `Sync` (one thread of one core
    // uses it); Relaxed suffices for these private counters.
    sent: AtomicU32,
    seen: AtomicU32,
    clock: C,
}

impl<'a, C: Clock> PolledDoorbell<'a, C> {
    /// A doorbell that kicks through the word at `tx` and listens on `rx`.
    ///
    /// Kicks already counted in `rx` are taken as seen: create the listening
    /// side before the peer is told to start.
    pub fn new(region: IoRegion<'a>, tx: usize, rx: usize, clock: C) -> Result<Self> {
        let sent = region.load_u32(tx, Ordering::Acquire)?;
        let seen = region.load_u32(rx, Ordering::Acquire)?;
        Ok(PolledDoorbell {
            region,
            tx,
            rx,
            sent: AtomicU32::new(sent),
            seen: AtomicU32::new(seen),
            clock,
        })
    }

    /// How many kicks this side has sent.
    pub fn sent(&self) -> u32 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl<C: Clock> Notify for PolledDoorbell<'_, C> {
    fn notify(&self, _id: u32) -> Result<()> {
        let next = self.sent.load(Ordering::Relaxed).wrapping_add(1);
        // Release: everything we wrote to shared memory before the kick is
        // visible to the peer once it sees the new count.
        self.region.store_u32(self.tx, next, Ordering::Release)?;
        self.sent.store(next, Ordering::Relaxed);
        Ok(())
    }
}

impl<C: Clock> WaitNotify for PolledDoorbell<'_, C> {
    fn poll(&self) -> Result<Option<u32>> {
        // Acquire pairs with the peer's Release in `notify`.
        let now = self.region.load_u32(self.rx, Ordering::Acquire)?;
        if now == self.seen.load(Ordering::Relaxed) {
            return Ok(None);
        }
        self.seen.store(now, Ordering::Relaxed);
        Ok(Some(0))
    }

    fn wait(&self, timeout: Duration) -> Result<Option<u32>> {
        super::wait_polling(&self.clock, timeout, || self.poll())
    }
}

impl<C: Clock> core::fmt::Debug for PolledDoorbell<'_, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PolledDoorbell")
            .field("tx", &self.tx)
            .field("rx", &self.rx)
            .field("sent", &self.sent.load(Ordering::Relaxed))
            .field("seen", &self.seen.load(Ordering::Relaxed))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell as C;
    use openamp_metal::Error;

    /// A clock that advances 1 µs every time it is read, so timeouts end.
    struct TickClock(C<u64>);
    impl Clock for TickClock {
        fn now_ns(&self) -> u64 {
            self.0.set(self.0.get() + 1_000);
            self.0.get()
        }
    }

    #[repr(align(8))]
    struct Mem([u8; 16]);

    #[test]
    fn kicks_cross_between_two_sides() {
        let mut m = Mem([0; 16]);
        let r = IoRegion::from_slice(&mut m.0);
        let a = PolledDoorbell::new(r, 0, 4, TickClock(C::new(0))).unwrap();
        let b = PolledDoorbell::new(r, 4, 0, TickClock(C::new(0))).unwrap();
        assert_eq!(b.poll().unwrap(), None);
        a.notify(0).unwrap();
        a.notify(0).unwrap(); // merged with the first
        assert_eq!(b.poll().unwrap(), Some(0));
        assert_eq!(b.poll().unwrap(), None);
        b.notify(0).unwrap();
        assert_eq!(a.wait(Duration::from_millis(1)).unwrap(), Some(0));
        assert_eq!(a.sent(), 2);
    }

    #[test]
    fn wait_times_out() {
        let mut m = Mem([0; 16]);
        let r = IoRegion::from_slice(&mut m.0);
        let a = PolledDoorbell::new(r, 0, 4, TickClock(C::new(0))).unwrap();
        assert_eq!(a.wait(Duration::from_micros(50)).unwrap(), None);
    }

    #[test]
    fn counts_survive_a_restart_and_wrap() {
        let mut m = Mem([0; 16]);
        let r = IoRegion::from_slice(&mut m.0);
        r.write_u32(0, u32::MAX).unwrap();
        let b = PolledDoorbell::new(r, 4, 0, TickClock(C::new(0))).unwrap();
        // A restarted sender continues from the count in memory.
        let a = PolledDoorbell::new(r, 0, 4, TickClock(C::new(0))).unwrap();
        a.notify(0).unwrap();
        assert_eq!(r.read_u32(0).unwrap(), 0, "count wraps");
        assert_eq!(b.poll().unwrap(), Some(0));
    }

    #[test]
    fn bad_offsets_are_errors() {
        let mut m = Mem([0; 16]);
        let r = IoRegion::from_slice(&mut m.0);
        assert!(matches!(
            PolledDoorbell::new(r, 14, 0, TickClock(C::new(0))),
            Err(Error::OutOfRange { .. })
        ));
        assert!(matches!(
            PolledDoorbell::new(r, 0, 2, TickClock(C::new(0))),
            Err(Error::Misaligned { .. })
        ));
    }
}
