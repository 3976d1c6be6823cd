//! Notifications between processes: eventfd and Unix stream sockets.
//!
//! Both implement [`Notify`](openamp_metal::Notify) and
//! [`WaitNotify`](openamp_metal::WaitNotify). Their descriptors are
//! non-blocking, so [`poll`](openamp_metal::WaitNotify::poll) never waits, and
//! every wait has a timeout. Neither channel carries an id: a kick is reported
//! as `Some(0)`, and kicks that arrived together are reported once.

mod eventfd;
mod socket;

pub use eventfd::EventFd;
pub use socket::{SocketListener, SocketNotifier, OPENAMP_EVENT_SOCKET};

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use rustix::fs::OFlags;

use crate::error::{metal_os, Error, Result};
use crate::fd::wait_readable;

/// Waits up to `timeout` for `take` to find a kick, sleeping in poll(2) on `fd`
/// between tries.
///
/// `take` must not block (the descriptor is non-blocking): readiness can be
/// stolen by another reader between poll and read, and then we wait again.
pub(crate) fn wait_for_kick(
    fd: impl AsFd,
    timeout: Duration,
    mut take: impl FnMut() -> openamp_metal::Result<Option<u32>>,
) -> openamp_metal::Result<Option<u32>> {
    let deadline = Instant::now().checked_add(timeout);
    loop {
        if let Some(kick) = take()? {
            return Ok(Some(kick));
        }
        let remaining = deadline.map_or(timeout, |d| d.saturating_duration_since(Instant::now()));
        if remaining.is_zero() || !wait_readable(&fd, remaining).map_err(metal_os)? {
            return Ok(None);
        }
    }
}

/// Puts a descriptor in non-blocking mode; it may be shared with another
/// process, which then sees the same flag (harmless for our channels, whose
/// users all poll before reading).
pub(crate) fn set_nonblocking(fd: impl AsFd) -> Result<()> {
    let flags = rustix::fs::fcntl_getfl(&fd).map_err(|e| Error::os("fcntl(F_GETFL)", e))?;
    rustix::fs::fcntl_setfl(&fd, flags | OFlags::NONBLOCK)
        .map_err(|e| Error::os("fcntl(F_SETFL)", e))
}
