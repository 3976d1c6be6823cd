//! How a device waits: for the peer's kicks, and for time to pass.

use core::time::Duration;

use openamp_metal::{Clock, WaitNotify};

/// Time and the peer's kicks, as a device sees them.
pub trait Wait: Sync {
    /// Monotonic nanoseconds.
    fn now_ns(&self) -> u64;

    /// Waits until the peer kicks or `timeout` passes, whichever is first.
    /// An error (the channel closed) means the peer is gone.
    fn wait(&self, timeout: Duration) -> openamp_metal::Result<()>;
}

/// Waits on a notification channel (a socket, an eventfd, a doorbell).
#[derive(Debug)]
pub struct NotifyWait<W, C> {
    /// Where the peer's kicks arrive.
    pub kicks: W,
    /// The clock deadlines are measured on.
    pub clock: C,
}

impl<W: WaitNotify + Sync, C: Clock + Sync> Wait for NotifyWait<W, C> {
    fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }

    fn wait(&self, timeout: Duration) -> openamp_metal::Result<()> {
        self.kicks.wait(timeout).map(|_| ())
    }
}

/// Never sleeps: every wait returns at once, so callers poll the rings in a
/// tight loop. The lowest latency, at the price of a busy core.
#[derive(Debug)]
pub struct BusyWait<C>(pub C);

impl<C: Clock + Sync> Wait for BusyWait<C> {
    fn now_ns(&self) -> u64 {
        self.0.now_ns()
    }

    fn wait(&self, _timeout: Duration) -> openamp_metal::Result<()> {
        core::hint::spin_loop();
        Ok(())
    }
}
