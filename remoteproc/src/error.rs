//! The one error type of this crate.

use alloc::string::String;

use crate::state::State;

/// Everything that can go wrong while managing a remote processor.
///
/// Each variant carries the offending value: the segment index and its
/// addresses for a bad ELF, both states for a refused transition, the device
/// address that nothing maps, and so on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the portability layer (a region access, a dead channel).
    #[error("metal: {0}")]
    Metal(#[from] openamp_metal::Error),
    /// The resource table is malformed, or a write into it failed.
    #[error("resource table: {0}")]
    Table(#[from] openamp_rsc_table::Error),
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
    /// A device address or length does not fit the 32 bits of a table field.
    #[error("address {value:#x} does not fit in a 32-bit table field")]
    AddressTooLarge {
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
    /// The image ends before a part that must be there.
    #[error("image of {size:#x} bytes is truncated: {what} needs {need:#x}")]
    Truncated {
        /// What did not fit.
        what: &'static str,
        /// Bytes needed (end offset).
        need: u64,
        /// Image size.
        size: u64,
    },
    /// Not an ELF file we load (magic, class, byte order, type, version).
    #[error("not a loadable ELF: {reason}")]
    BadElf {
        /// What is wrong.
        reason: &'static str,
    },
    /// The ELF is for another machine.
    #[error("ELF machine {machine} is not one this loader accepts")]
    WrongMachine {
        /// `e_machine`.
        machine: u16,
    },
    /// A segment's file part is not inside the image.
    #[error("segment {index}: file bytes {offset:#x}+{filesz:#x} are past the end of the image ({size:#x})")]
    SegmentTruncated {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        filesz: u64,
        /// Image size.
        size: u64,
    },
    /// A segment's sizes are absurd (file size above memory size, or larger
    /// than the loader accepts, or the address range wraps).
    #[error("segment {index}: sizes filesz {filesz:#x} memsz {memsz:#x} at {addr:#x} are invalid: {reason}")]
    SegmentSize {
        /// Program header index.
        index: usize,
        /// The load address.
        addr: u64,
        /// `p_filesz`.
        filesz: u64,
        /// `p_memsz`.
        memsz: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// Two loadable segments share addresses.
    #[error("segment {index} at {start:#x}..{end:#x} overlaps segment {other}")]
    SegmentOverlap {
        /// Program header index (the later one).
        index: usize,
        /// Its start address.
        start: u64,
        /// Its end address.
        end: u64,
        /// The segment it overlaps.
        other: usize,
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
    /// A header table (program or section) is malformed.
    #[error("ELF {what}: {reason}")]
    BadHeaders {
        /// Which table.
        what: &'static str,
        /// What is wrong.
        reason: &'static str,
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
