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
pub use socket::{Peer, PeerCred, SocketListener, SocketNotifier, OPENAMP_EVENT_SOCKET};

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crate::error::metal_os;
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
