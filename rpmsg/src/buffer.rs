//! Zero-copy buffers: a received message kept as long as you like, and a
//! transmit buffer filled in place. Both go back to their device when
//! dropped, so a buffer can never be leaked or used twice.

use crate::wire::HEADER_LEN;
use crate::{EndpointId, Result};

/// What a buffer needs from its device (object-safe, so buffers are not
/// generic over the device's many parameters).
pub(crate) trait BufferOwner: Sync {
    fn rx_read(&self, held: u16, skip: usize, dst: &mut [u8]) -> Result<usize>;
    fn rx_release(&self, held: u16);
    fn tx_write(&self, tx: &TxInner, skip: usize, src: &[u8]) -> Result<()>;
    /// Takes back a buffer that was not sent.
    fn tx_unuse(&self, tx: TxInner);
    /// Sends the buffer; on failure before the hand-over it is taken back.
    /// Either way the buffer is the device's again: it moves in by value.
    fn tx_send(&self, tx: TxInner, ep: EndpointId, dst: u32, len: usize) -> Result<()>;
}

/// A received message, still in its shared-memory buffer.
///
/// Read it with [`read`](Self::read); drop it to give the buffer back to the
/// peer. While you hold it, the peer has one buffer less to send with.
pub struct RxBuffer<'d> {
    pub(crate) owner: &'d dyn BufferOwner,
    pub(crate) held: u16,
    pub(crate) src: u32,
    pub(crate) dst: u32,
    pub(crate) len: usize,
}

impl RxBuffer<'_> {
    /// The sender's address.
    pub fn src(&self) -> u32 {
        self.src
    }

    /// The address it was sent to (the receiving endpoint's).
    pub fn dst(&self) -> u32 {
        self.dst
    }

    /// The payload's length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies the payload into `dst`; returns how many bytes were copied
    /// (`min(len, dst.len())`). [`Error::PeerReset`](crate::Error::PeerReset)
    /// once the device found the peer reset: the memory is no longer this
    /// message.
    pub fn read(&self, dst: &mut [u8]) -> Result<usize> {
        self.read_at(0, dst)
    }

    /// Copies the payload from byte `skip` on into `dst`.
    pub fn read_at(&self, skip: usize, dst: &mut [u8]) -> Result<usize> {
        let n = dst.len().min(self.len.saturating_sub(skip));
        if n == 0 {
            // Also keeps a huge `skip` away from the offset arithmetic.
            return Ok(0);
        }
        self.owner.rx_read(self.held, skip, &mut dst[..n])
    }
}

impl Drop for RxBuffer<'_> {
    fn drop(&mut self) {
        self.owner.rx_release(self.held);
    }
}

impl core::fmt::Debug for RxBuffer<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RxBuffer")
            .field("src", &self.src)
            .field("dst", &self.dst)
            .field("len", &self.len)
            .finish()
    }
}

/// A transmit buffer's bookkeeping. Neither `Copy` nor `Clone`: whoever
/// holds it owns the buffer, and giving it back consumes it, so a buffer
/// cannot be given back twice.
#[derive(Debug)]
pub(crate) struct TxInner {
    pub tok: crate::queues::TxTok,
    pub buf: crate::queues::Buf,
}

/// A transmit buffer taken from the device, to be filled in place and sent
/// with [`send_to`](Self::send_to). Dropping it unsent gives it back.
pub struct TxBuffer<'d> {
    pub(crate) owner: &'d dyn BufferOwner,
    /// `None` once sent: the buffer moved back to the device.
    pub(crate) inner: Option<TxInner>,
}

impl TxBuffer<'_> {
    /// How many payload bytes it holds.
    pub fn capacity(&self) -> usize {
        self.inner.as_ref().map_or(0, |t| {
            (t.buf.cap as usize)
                .saturating_sub(HEADER_LEN)
                .min(usize::from(u16::MAX))
        })
    }

    /// Copies `src` into the payload at byte `skip`.
    /// [`Error::PeerReset`](crate::Error::PeerReset) once the device found
    /// the peer reset: the memory may be a new session's.
    pub fn write_at(&mut self, skip: usize, src: &[u8]) -> Result<()> {
        let end = skip.saturating_add(src.len());
        if end > self.capacity() {
            return Err(crate::Error::TooLarge {
                len: end,
                max: self.capacity(),
            });
        }
        match &self.inner {
            Some(tx) => self.owner.tx_write(tx, skip, src),
            None => Ok(()),
        }
    }

    /// Sends the first `len` payload bytes from endpoint `ep` to `dst`.
    pub fn send_to(mut self, ep: EndpointId, dst: u32, len: usize) -> Result<()> {
        if len > self.capacity() {
            return Err(crate::Error::TooLarge {
                len,
                max: self.capacity(),
            });
        }
        match self.inner.take() {
            Some(tx) => self.owner.tx_send(tx, ep, dst, len),
            None => Ok(()),
        }
    }
}

impl Drop for TxBuffer<'_> {
    fn drop(&mut self) {
        if let Some(tx) = self.inner.take() {
            self.owner.tx_unuse(tx);
        }
    }
}

impl core::fmt::Debug for TxBuffer<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TxBuffer")
            .field("capacity", &self.capacity())
            .finish()
    }
}
