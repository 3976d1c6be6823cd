//! Notifications over a Linux eventfd.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use openamp_metal::{Notify, WaitNotify};
use rustix::event::EventfdFlags;
use rustix::io::Errno;

use crate::error::{metal_os, Error, Result};

/// An eventfd used as a doorbell: [`notify`](Notify::notify) adds 1 to its
/// counter, [`poll`](WaitNotify::poll) and [`wait`](WaitNotify::wait) take the
/// whole count at once.
///
/// One eventfd carries kicks one way between processes that share it: create
/// it in the parent, make it inheritable with
/// [`set_inheritable`](crate::set_inheritable) and rebuild it in the child
/// with [`from_fd`](Self::from_fd). Two of them make a two-way channel.
#[derive(Debug)]
pub struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    /// Creates an eventfd with a zero count (close-on-exec, non-blocking).
    pub fn new() -> Result<Self> {
        let fd = rustix::event::eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
            .map_err(|e| Error::os("eventfd", e))?;
        Ok(EventFd { fd })
    }

    /// Wraps an eventfd received from elsewhere (inherited or passed), and
    /// makes it non-blocking, which every holder of it then sees.
    pub fn from_fd(fd: OwnedFd) -> Result<Self> {
        crate::fd::set_nonblocking(&fd)?;
        Ok(EventFd { fd })
    }

    /// A second handle on the same counter, e.g. for a thread that waits
    /// while another kicks.
    pub fn try_clone(&self) -> Result<Self> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|source| Error::Os { op: "dup", source })?;
        Ok(EventFd { fd })
    }

    /// Gives back the descriptor.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Notify for EventFd {
    fn notify(&self, _id: u32) -> openamp_metal::Result<()> {
        match rustix::io::write(&self.fd, &1u64.to_ne_bytes()) {
            Ok(_) => Ok(()),
            // The counter is at its maximum: the peer has kicks pending
            // already, and one more would tell it nothing new.
            Err(Errno::AGAIN) => Ok(()),
            Err(e) => Err(metal_os(e)),
        }
    }
}

impl WaitNotify for EventFd {
    fn poll(&self) -> openamp_metal::Result<Option<u32>> {
        let mut count = [0u8; 8];
        loop {
            match rustix::io::read(&self.fd, &mut count) {
                Ok(8) => return Ok(Some(0)),
                // The kernel always reads all 8 bytes of an eventfd; anything
                // else means this is not one.
                Ok(_) => return Err(metal_os(Errno::INVAL)),
                Err(Errno::AGAIN) => return Ok(None),
                Err(Errno::INTR) => {}
                Err(e) => return Err(metal_os(e)),
            }
        }
    }

    fn wait(&self, timeout: Duration) -> openamp_metal::Result<Option<u32>> {
        super::wait_for_kick(&self.fd, timeout, || self.poll())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn kicks_are_counted_and_taken_at_once() {
        let ev = EventFd::new().unwrap();
        assert_eq!(ev.poll().unwrap(), None);
        ev.notify(3).unwrap();
        ev.notify(4).unwrap();
        assert_eq!(ev.poll().unwrap(), Some(0));
        assert_eq!(ev.poll().unwrap(), None);
    }

    #[test]
    fn wait_times_out_in_time() {
        let ev = EventFd::new().unwrap();
        let start = Instant::now();
        assert_eq!(ev.wait(Duration::from_millis(50)).unwrap(), None);
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(50), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert_eq!(ev.wait(Duration::ZERO).unwrap(), None);
    }

    #[test]
    fn a_thread_wakes_the_waiter() {
        let ev = EventFd::new().unwrap();
        let kicker = ev.try_clone().unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            kicker.notify(0).unwrap();
        });
        assert_eq!(ev.wait(Duration::from_secs(10)).unwrap(), Some(0));
        t.join().unwrap();
    }

    #[test]
    fn from_fd_makes_a_blocking_eventfd_non_blocking() {
        let fd = rustix::event::eventfd(0, EventfdFlags::CLOEXEC).unwrap();
        let ev = EventFd::from_fd(fd).unwrap();
        // Would hang forever on a blocking eventfd.
        assert_eq!(ev.poll().unwrap(), None);
        ev.notify(0).unwrap();
        assert_eq!(ev.wait(Duration::from_secs(1)).unwrap(), Some(0));
        let _fd: OwnedFd = ev.into_fd();
    }

    #[test]
    fn a_saturated_counter_still_accepts_kicks() {
        let ev = EventFd::new().unwrap();
        rustix::io::write(&ev, &(u64::MAX - 1).to_ne_bytes()).unwrap();
        ev.notify(0).unwrap();
        assert_eq!(ev.poll().unwrap(), Some(0));
    }
}
