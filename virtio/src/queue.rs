//! Types both queue roles share.

use crate::ring::{VringLayout, MAX_QUEUE_SIZE};
use crate::{Error, Result};

/// How a queue is laid out and which notification scheme it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Number of ring entries: a power of two, at most the queue's `N`.
    pub num: u32,
    /// Alignment of the used ring (legacy virtio: 4096 for PCI, OpenAMP: from
    /// the resource table). With cached, non-snooping memory it must be at
    /// least the cache line size, so that no line holds fields of both sides.
    pub align: u32,
    /// Whether `VIRTIO_RING_F_EVENT_IDX` was negotiated.
    pub event_idx: bool,
}

impl QueueConfig {
    /// A configuration without `EVENT_IDX`.
    pub const fn new(num: u32, align: u32) -> Self {
        QueueConfig {
            num,
            align,
            event_idx: false,
        }
    }

    /// This configuration with `EVENT_IDX` on or off.
    #[must_use]
    pub const fn with_event_idx(self, event_idx: bool) -> Self {
        QueueConfig { event_idx, ..self }
    }

    /// Checks the configuration against a queue whose shadow state holds `n`
    /// entries, and returns its layout.
    pub(crate) fn layout(&self, n: usize) -> Result<VringLayout> {
        if self.num as usize > n {
            return Err(Error::InvalidQueueSize {
                num: self.num,
                max: n,
            });
        }
        VringLayout::new(self.num, self.align)
    }
}

/// A buffer inside a queue's buffer region: `len` bytes at `offset`.
///
/// Buffers are named by their place in the buffer region, never by Rust
/// references into shared memory; read and write them through the region
/// ([`openamp_metal::IoRegion::read_bytes`], `write_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    /// Offset of the first byte in the buffer region.
    pub offset: usize,
    /// Length in bytes.
    pub len: u32,
}

impl Segment {
    /// `len` bytes at `offset`.
    pub const fn new(offset: usize, len: u32) -> Self {
        Segment { offset, len }
    }
}

/// Compile-time check of a queue's `N`: a power of two up to 32768.
pub(crate) struct CheckN<const N: usize>;
impl<const N: usize> CheckN<N> {
    pub(crate) const OK: () = assert!(
        N.is_power_of_two() && N <= MAX_QUEUE_SIZE,
        "a queue's N must be a power of two up to 32768"
    );
}
