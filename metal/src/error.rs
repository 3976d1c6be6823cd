/// Everything that can go wrong in the portability layer.
///
/// Each variant carries the offending value so that a log line is enough to
/// find the bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An access reaches past the end of a region.
    #[error(
        "access of {len} bytes at offset {offset:#x} is outside the region of {size:#x} bytes"
    )]
    OutOfRange {
        /// Offset of the access within the region.
        offset: usize,
        /// Length of the access in bytes.
        len: usize,
        /// Size of the region in bytes.
        size: usize,
    },
    /// An access is not aligned to the size of the value it reads or writes.
    #[error("access at offset {offset:#x} is not aligned to {align} bytes")]
    Misaligned {
        /// Offset of the access within the region.
        offset: usize,
        /// The alignment the access needs.
        align: usize,
    },
    /// A physical address is not covered by the region.
    #[error("physical address {phys:#x} is not inside the region")]
    PhysOutOfRange {
        /// The physical address that was looked up.
        phys: u64,
    },
    /// A range of a page-mapped region crosses into a page that does not
    /// follow the previous one in physical memory: it has no single
    /// physical address.
    #[error("{len} bytes at offset {offset:#x} are not physically contiguous")]
    NotContiguous {
        /// Offset of the range within the region.
        offset: usize,
        /// Length of the range in bytes.
        len: usize,
    },
    /// A virtual address is not covered by the region.
    #[error("virtual address {virt:#x} is not inside the region")]
    VirtOutOfRange {
        /// The virtual address that was looked up.
        virt: usize,
    },
    /// A region description is inconsistent (size, page list or address overflow).
    #[error("invalid region description: {reason}")]
    InvalidRegion {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A wait ran out of time.
    #[error("timed out")]
    Timeout,
    /// The other side of a notification channel has gone away.
    #[error("the peer closed the notification channel")]
    PeerClosed,
    /// The operating system refused an operation (the value is its `errno`).
    #[error("operating system error {errno}")]
    Os {
        /// The `errno` value.
        errno: i32,
    },
    /// A notification id that this channel does not serve.
    #[error("notification id {id} is not served by this channel")]
    UnknownNotifyId {
        /// The id that was asked for.
        id: u32,
    },
    /// An operation this platform or object cannot do.
    #[error("operation not supported: {what}")]
    Unsupported {
        /// What was asked for.
        what: &'static str,
    },
}
