//! `recv().await`: a future for the next message of an endpoint, tied to no
//! executor.
//!
//! The future takes a waiting message if there is one; otherwise it leaves
//! its waker with the endpoint and returns `Pending`. Whoever handles the
//! peer's kicks (a thread in `wait_and_poll`, or another task calling
//! `poll`) files new messages and wakes it. An interrupt handler must not
//! call `poll` (the device's lock is not interrupt-safe): it records the kick
//! for the thread instead (see `RpmsgDevice`'s "Interrupt context").

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use openamp_virtio::Transport;

use crate::{EndpointId, Result, RpmsgDevice, RxBuffer, Wait};

/// The future [`RpmsgDevice::recv`] returns.
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'d, 'a, 'cb, T: Transport<'a> + Sync, W: Wait, const N: usize, const E: usize> {
    pub(crate) dev: &'d RpmsgDevice<'a, 'cb, T, W, N, E>,
    pub(crate) ep: EndpointId,
}

impl<'d, 'a, 'cb, T: Transport<'a> + Sync, W: Wait, const N: usize, const E: usize> Future
    for Recv<'d, 'a, 'cb, T, W, N, E>
{
    type Output = Result<RxBuffer<'d>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.dev.try_recv_or_register(self.ep, cx.waker()) {
            Ok(Some(m)) => Poll::Ready(Ok(m)),
            Ok(None) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}
