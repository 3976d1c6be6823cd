//! The one error type of this crate.

use alloc::string::String;

use crate::state::State;

/// Everything that can go wrong while managing a remote processor.
///
/// Each variant carries the offending value: the segment index and its
/// addresses for a bad ELF (inside [`Error::Elf`]), both states for a refused transition, the device
/// address that nothing maps, and so on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the portability layer (a region access, a dead channel).
    #[error("metal: {0}")]
    Metal(#[from] openamp_metal::Error),
    /// The resource table is malformed, or a write into it failed.
    #[error("resource table: {0}")]
    Table(openamp_rsc_table::Error),
    /// The ELF image is refused by the checks `openamp_rsc_table::elf`
    /// makes (the inspector's too): the error names the header field or the
    /// segment, and the offending value.
    #[error("ELF image: {0}")]
    Elf(openamp_rsc_table::Error),
    /// A virtqueue or transport error.
    #[error("virtio: {0}")]
    Virtio(#[from] openamp_virtio::Error),

    // ---- Life cycle ----
    /// The operation is not allowed in the current state.
    #[error("cannot go from {from} to {to}")]
    InvalidTransition {
        /// The current state.
        from: State,
        /// The state the operation leads to.
        to: State,
    },
    /// The platform does not implement this operation.
    #[error("the platform does not support {op}")]
    Unsupported {
        /// The operation.
        op: &'static str,
    },
    /// The remote program exited before it was ready (before it listened on
    /// its socket, on the Linux-process platform).
    #[error("the remote (pid {pid}) exited before it was ready: {status}")]
    RemoteExited {
        /// Its process id.
        pid: u32,
        /// How it ended, as the system says it ("exit status: 3").
        status: String,
    },
    /// The platform's operation failed; the text is the platform's.
    #[error("platform: {op} failed: {reason}")]
    Platform {
        /// The operation.
        op: &'static str,
        /// What the platform said.
        reason: String,
    },

    // ---- Memory ----
    /// No memory the platform maps covers these device addresses.
    #[error("{len:#x} bytes at device address {da:#x} are not mapped")]
    Unmapped {
        /// The device address.
        da: u64,
        /// The length.
        len: u64,
    },
    /// A memory pool cannot satisfy an allocation.
    #[error("cannot allocate {len:#x} bytes aligned to {align:#x}: {free:#x} bytes left")]
    OutOfMemory {
        /// Bytes asked for.
        len: usize,
        /// Alignment asked for.
        align: usize,
        /// Bytes left in the pool.
        free: usize,
    },
    /// An address the host chose does not fit the 32 bits of a table field
    /// (typically memory whose physical addresses are a 64-bit process's
    /// virtual ones: give the remote memory addressed as it sees it, e.g. a
    /// [`MemoryPlatform`](crate::MemoryPlatform)).
    #[error("entry {entry}: {field} {value:#x} does not fit in its 32-bit table field")]
    AddressTooLarge {
        /// The table entry.
        entry: usize,
        /// The field ("carveout da", "vring 1 pa", ...).
        field: &'static str,
        /// The value.
        value: u64,
    },

    // ---- Resource table ----
    /// No resource table is known (none loaded, attached or found).
    #[error("no resource table")]
    NoTable,
    /// The table is larger than this crate copies for validation.
    #[error("resource table of {size:#x} bytes is larger than the limit {max:#x}")]
    TableTooLarge {
        /// The size claimed.
        size: u64,
        /// The limit.
        max: usize,
    },
    /// The entry at this index is not a vdev.
    #[error("entry {index} is not a vdev")]
    NotAVdev {
        /// The entry index.
        index: usize,
    },
    /// No vdev entry has this notify id.
    #[error("no vdev with notify id {notify_id}")]
    NoSuchVdev {
        /// The notify id looked for.
        notify_id: u32,
    },
    /// A vdev has no vrings.
    #[error("vdev entry {index} has no vrings")]
    NoVrings {
        /// The entry index.
        index: usize,
    },
    /// The remote found a vring whose address the host has not assigned.
    #[error("vdev entry {index}: vring {vring} has no address yet (FW_RSC_ADDR_ANY)")]
    VringNotAssigned {
        /// The entry index.
        index: usize,
        /// The vring.
        vring: u8,
    },
    /// A vring's memory is not mapped, or is not a valid vring.
    #[error(
        "vdev entry {index}: vring {vring} at {da:#x} ({len:#x} bytes) is not usable: {reason}"
    )]
    BadVring {
        /// The entry index.
        index: usize,
        /// The vring.
        vring: u8,
        /// Its device address.
        da: u32,
        /// Bytes its layout needs.
        len: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A vendor entry nobody handled: `handle_rsc` said it does not know it.
    #[error("entry {index}: vendor resource type {kind} not handled")]
    UnhandledResource {
        /// The entry index.
        index: usize,
        /// Its type.
        kind: u32,
    },
    /// The entry at this index is not a trace buffer.
    #[error("entry {index} is not a trace buffer")]
    NotATrace {
        /// The entry index.
        index: usize,
    },

    // ---- Images and ELF ----
    /// Reading the image failed.
    #[error("image: reading {len:#x} bytes at {offset:#x} failed: {reason}")]
    ImageRead {
        /// Offset in the image.
        offset: u64,
        /// Bytes asked for.
        len: usize,
        /// Why.
        reason: String,
    },
    /// A segment lies outside every memory the platform maps.
    #[error("segment {index}: {len:#x} bytes at device address {da:#x} are not mapped")]
    SegmentUnmapped {
        /// Program header index.
        index: usize,
        /// The device address.
        da: u64,
        /// The length.
        len: u64,
    },

    // ---- Host platforms ----
    /// An operating system call failed.
    #[error("{op}: {reason} (errno {errno})")]
    Os {
        /// What was being done (with the path, if any).
        op: String,
        /// `errno`, or 0 when there is none.
        errno: i32,
        /// The system's text.
        reason: String,
    },
    /// A sysfs attribute held something unexpected.
    #[error("{path}: unexpected value {value:?}")]
    BadAttribute {
        /// The attribute file.
        path: String,
        /// What it held.
        value: String,
    },
    /// A wait ran out of time.
    #[error("timed out waiting for {what}")]
    Timeout {
        /// What was waited for.
        what: &'static str,
    },
}

impl From<openamp_rsc_table::Error> for Error {
    /// An image error ([`is_elf`](openamp_rsc_table::Error::is_elf)) is
    /// [`Error::Elf`], any other [`Error::Table`].
    fn from(e: openamp_rsc_table::Error) -> Self {
        if e.is_elf() {
            Error::Elf(e)
        } else {
            Error::Table(e)
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(feature = "std")]
impl Error {
    /// An [`Error::Os`] from an I/O error.
    pub(crate) fn io(op: impl Into<String>, e: &std::io::Error) -> Self {
        Error::Os {
            op: op.into(),
            errno: e.raw_os_error().unwrap_or(0),
            reason: alloc::string::ToString::to_string(e),
        }
    }
}
