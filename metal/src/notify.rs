//! Notifications between cores: kicking a peer, and waiting for its kicks.

use core::time::Duration;

use crate::Result;

/// Something that can interrupt ("kick") a peer.
///
/// `id` says which of the peer's queues or channels is meant (a virtqueue's
/// notify id, for example); channels that carry no id ignore it.
pub trait Notify {
    /// Kicks the peer. Errors say the channel is dead ([`Error::PeerClosed`](crate::Error::PeerClosed))
    /// or that the id is not served here.
    fn notify(&self, id: u32) -> Result<()>;
}

/// Something that receives a peer's kicks.
pub trait WaitNotify {
    /// Returns a pending kick without waiting, or `None`.
    ///
    /// The value is the id of the kick when the channel carries one, and 0
    /// otherwise. Several kicks that arrived together may be reported once.
    fn poll(&self) -> Result<Option<u32>>;

    /// Waits up to `timeout` for a kick; `None` after the timeout passed.
    fn wait(&self, timeout: Duration) -> Result<Option<u32>>;
}

impl<T: Notify + ?Sized> Notify for &T {
    fn notify(&self, id: u32) -> Result<()> {
        (**self).notify(id)
    }
}

impl<T: WaitNotify + ?Sized> WaitNotify for &T {
    fn poll(&self) -> Result<Option<u32>> {
        (**self).poll()
    }
    fn wait(&self, timeout: Duration) -> Result<Option<u32>> {
        (**self).wait(timeout)
    }
}
