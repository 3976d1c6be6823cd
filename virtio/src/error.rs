//! The one error type of this crate.

/// Everything that can go wrong with a virtqueue or a transport.
///
/// Each variant carries the offending value. The doc of each variant says who
/// is at fault and what state the queue is left in:
///
/// - **usable**: nothing was changed, or the bad entry was consumed and
///   dropped; the queue goes on working.
/// - **broken**: the peer broke the ring protocol in a way that leaves no safe
///   way forward (we no longer know which buffers it holds). The queue is
///   marked broken and every later call returns [`Error::Broken`] until the
///   queue is made anew (after a device reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the portability layer (an access outside a region, an
    /// address without a physical mapping, a dead notification channel).
    /// Queue: usable.
    #[error("metal: {0}")]
    Metal(#[from] openamp_metal::Error),

    // ---- Set-up (caller) errors ----
    /// The ring size is not a power of two in `1..=max`. Nothing is created.
    #[error("queue size {num} is not a power of two between 1 and {max}")]
    InvalidQueueSize {
        /// The requested number of entries.
        num: u32,
        /// The largest size this queue supports (its const generic `N`).
        max: usize,
    },
    /// The used-ring alignment is not a power of two of at least 4. Nothing is created.
    #[error("vring alignment {align:#x} is not a power of two >= 4")]
    InvalidAlign {
        /// The requested alignment.
        align: u32,
    },
    /// The ring region is smaller than the vring layout needs. Nothing is created.
    #[error("the vring needs {need:#x} bytes but the region has {size:#x}")]
    RingTooSmall {
        /// Bytes the layout needs.
        need: usize,
        /// Bytes the region has.
        size: usize,
    },
    /// The ring region does not start on a 16-byte boundary. Nothing is created.
    #[error("the vring base {addr:#x} is not 16-byte aligned")]
    RingMisaligned {
        /// The virtual address of the region.
        addr: usize,
    },

    // ---- Local (caller) errors: the queue stays usable ----
    /// A chain with no buffer was offered. Queue: usable.
    #[error("a descriptor chain needs at least one buffer")]
    EmptyChain,
    /// Not enough free descriptors for the chain. Queue: usable.
    #[error("the chain needs {needed} descriptors but only {free} are free")]
    QueueFull {
        /// Descriptors the chain needs.
        needed: usize,
        /// Descriptors free.
        free: usize,
    },
    /// A buffer given to the driver is not inside the buffer region. Queue: usable.
    #[error("buffer of {len} bytes at offset {offset:#x} is outside the buffer region of {size:#x} bytes")]
    BufferOutOfRange {
        /// Offset of the buffer in the buffer region.
        offset: usize,
        /// Length of the buffer.
        len: u32,
        /// Size of the buffer region.
        size: usize,
    },
    /// A token (head descriptor id) that names no chain we hold. Queue: usable.
    #[error("descriptor {id} is not the head of a chain held here")]
    UnknownToken {
        /// The token that was passed.
        id: u16,
    },
    /// The device claims to have written more than the chain can hold.
    /// Nothing is returned. Queue: usable.
    #[error("chain {id}: written length {len} exceeds its writable capacity {capacity}")]
    WrittenTooLarge {
        /// The chain's head descriptor.
        id: u16,
        /// The length that was passed.
        len: u32,
        /// Writable bytes in the chain.
        capacity: u32,
    },
    /// Data does not fit in the buffer(s). Nothing is copied. Queue: usable.
    #[error("{len} bytes do not fit in {capacity} bytes")]
    TooLarge {
        /// Bytes asked for.
        len: usize,
        /// Bytes available.
        capacity: usize,
    },
    /// The queue was marked broken by an earlier protocol violation of the peer.
    #[error("the queue is broken by an earlier protocol violation of the peer")]
    Broken,

    // ---- Peer errors that break the queue ----
    /// The peer's available index moved further than a ring can hold.
    /// Queue: **broken**.
    #[error("avail idx {idx} is more than {num} entries ahead of {last}")]
    AvailIdxOutOfRange {
        /// The index read from the ring.
        idx: u16,
        /// The last index we consumed.
        last: u16,
        /// The ring size.
        num: u16,
    },
    /// The peer's used index moved past the buffers we gave it.
    /// Queue: **broken**.
    #[error("used idx {idx} is more than {in_flight} entries ahead of {last}")]
    UsedIdxOutOfRange {
        /// The index read from the ring.
        idx: u16,
        /// The last index we consumed.
        last: u16,
        /// Chains the device holds.
        in_flight: u16,
    },
    /// A used element names a descriptor that is not the head of a chain
    /// the device holds. Queue: **broken**.
    #[error("used element names descriptor {id}, which is not a chain in flight")]
    UsedIdNotInFlight {
        /// The id read from the used ring.
        id: u32,
    },

    // ---- Peer errors on one available chain: the entry is consumed and dropped ----
    /// An available entry names a descriptor past the ring. The entry is
    /// consumed and dropped. Queue: usable.
    #[error("available head {head} is not below the ring size {num}")]
    HeadOutOfRange {
        /// The head read from the available ring.
        head: u16,
        /// The ring size.
        num: u16,
    },
    /// A descriptor's `next` is past the ring. Entry dropped. Queue: usable.
    #[error("descriptor {desc}: next {next} is not below the ring size {num}")]
    NextOutOfRange {
        /// The descriptor.
        desc: u16,
        /// Its `next` field.
        next: u16,
        /// The ring size.
        num: u16,
    },
    /// A chain visits a descriptor twice (a loop) or one that belongs to a
    /// chain we still hold. Entry dropped. Queue: usable.
    #[error("chain from {head} reuses descriptor {desc} (a loop or a chain still held)")]
    DescriptorInUse {
        /// The chain's head.
        head: u16,
        /// The descriptor seen twice.
        desc: u16,
    },
    /// A chain is longer than the ring. Entry dropped. Queue: usable.
    #[error("chain from {head} is longer than the ring size {num}")]
    ChainTooLong {
        /// The chain's head.
        head: u16,
        /// The ring size.
        num: u16,
    },
    /// A descriptor has the INDIRECT flag, which this crate never offers.
    /// Entry dropped. Queue: usable.
    #[error("descriptor {desc} is indirect, which was not negotiated")]
    IndirectNotSupported {
        /// The descriptor.
        desc: u16,
    },
    /// A device-readable descriptor follows a device-writable one.
    /// Entry dropped. Queue: usable.
    #[error("descriptor {desc} is readable but follows a writable one")]
    ReadableAfterWritable {
        /// The descriptor.
        desc: u16,
    },
    /// A descriptor's `addr..addr + len` is not inside the buffer region.
    /// Entry dropped. Queue: usable.
    #[error("descriptor {desc}: {len} bytes at {addr:#x} are outside the buffer region")]
    AddressOutOfRange {
        /// The descriptor.
        desc: u16,
        /// Its `addr` field.
        addr: u64,
        /// Its `len` field.
        len: u32,
    },
    /// The lengths of a chain add up to more than `u32::MAX`.
    /// Entry dropped. Queue: usable.
    #[error("chain from {head} is longer than u32::MAX bytes")]
    ChainLengthOverflow {
        /// The chain's head.
        head: u16,
    },

    // ---- Transport and status ----
    /// The transport has no queue with this index.
    #[error("the transport has no queue {index}")]
    NoSuchQueue {
        /// The index asked for.
        index: u16,
    },
    /// The driver set FAILED in the device status.
    #[error("the driver gave up on the device (status {status:#04x})")]
    DriverFailed {
        /// The status byte read.
        status: u8,
    },
    /// The device set NEEDS_RESET in the device status.
    #[error("the device needs a reset (status {status:#04x})")]
    NeedsReset {
        /// The status byte read.
        status: u8,
    },
    /// A wait ran out of time.
    #[error("timed out")]
    Timeout,
}

impl Error {
    /// Whether this error leaves the queue marked broken.
    pub fn breaks_queue(&self) -> bool {
        matches!(
            self,
            Error::AvailIdxOutOfRange { .. }
                | Error::UsedIdxOutOfRange { .. }
                | Error::UsedIdNotInFlight { .. }
                | Error::Broken
        )
    }
}
