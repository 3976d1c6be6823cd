//! The error type: what is wrong with a table, where, and the offending value.

use core::fmt;

/// A field of the table, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// The 16-byte header.
    Header,
    /// The array of entry offsets after the header.
    Offsets,
    /// An entry's offset in the offset array.
    Offset,
    /// An entry's `type` word.
    Type,
    /// The fixed part of an entry (all of it for carveout, devmem, trace).
    Body,
    /// A vdev's `reserved` bytes.
    Reserved,
    /// A vdev's `notifyid`.
    NotifyId,
    /// A vdev's vring array (`num_of_vrings` entries).
    Vrings,
    /// A vdev's config space (`config_len` bytes).
    Config,
    /// The `num` of the vring with this index.
    VringNum(u8),
    /// The `align` of the vring with this index.
    VringAlign(u8),
    /// The `notifyid` of the vring with this index.
    VringNotifyId(u8),
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Header => f.write_str("header"),
            Field::Offsets => f.write_str("offset array"),
            Field::Offset => f.write_str("offset"),
            Field::Type => f.write_str("type"),
            Field::Body => f.write_str("body"),
            Field::Reserved => f.write_str("reserved"),
            Field::NotifyId => f.write_str("notifyid"),
            Field::Vrings => f.write_str("vrings"),
            Field::Config => f.write_str("config space"),
            Field::VringNum(i) => write!(f, "vring {i} num"),
            Field::VringAlign(i) => write!(f, "vring {i} align"),
            Field::VringNotifyId(i) => write!(f, "vring {i} notifyid"),
        }
    }
}

/// Everything that can be wrong with a resource table or an access to one.
///
/// Entry-level variants carry the entry's index (its position in the offset
/// array), the [`Field`] at fault and the offending value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes end before a part of the table that must be there.
    #[error("table of {len:#x} bytes is too short for its {field}: needs {need:#x}")]
    TooShort {
        /// The part that does not fit.
        field: Field,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        len: usize,
    },
    /// The header's version is not 1.
    #[error("unsupported table version {version} (only 1 exists)")]
    BadVersion {
        /// The version found.
        version: u32,
    },
    /// The header claims more entries than the table can hold, or than we accept.
    #[error("table claims {num} entries; at most {max} fit or are accepted")]
    TooManyEntries {
        /// The `num` found.
        num: u32,
        /// The most the table's size (or [`MAX_ENTRIES`](crate::MAX_ENTRIES)) allows.
        max: usize,
    },
    /// An entry's offset is not a multiple of 4.
    #[error("entry {index}: offset {offset:#x} is not 4-byte aligned")]
    Misaligned {
        /// Entry index.
        index: usize,
        /// The offset found.
        offset: u32,
    },
    /// An entry's offset points into the header or the offset array.
    #[error(
        "entry {index}: offset {offset:#x} points into the header (which ends at {header_end:#x})"
    )]
    InsideHeader {
        /// Entry index.
        index: usize,
        /// The offset found.
        offset: u32,
        /// End of the header and offset array.
        header_end: usize,
    },
    /// A part of an entry reaches past the end of the table.
    #[error("entry {index}: {field} at {start:#x}..{end:#x} is past the end of the table ({len:#x} bytes)")]
    OutOfBounds {
        /// Entry index.
        index: usize,
        /// The part that does not fit.
        field: Field,
        /// Where it starts.
        start: usize,
        /// Where it ends (saturated at `usize::MAX` on overflow).
        end: usize,
        /// Table length.
        len: usize,
    },
    /// Two entries share bytes.
    #[error("entry {index} at {start:#x}..{end:#x} overlaps entry {other}")]
    Overlap {
        /// Entry index (the later of the two).
        index: usize,
        /// Its start.
        start: usize,
        /// Its end.
        end: usize,
        /// The entry it overlaps.
        other: usize,
    },
    /// A field has a value the format forbids.
    #[error("entry {index}: {field} {value:#x} is invalid: {reason}")]
    InvalidField {
        /// Entry index.
        index: usize,
        /// The field.
        field: Field,
        /// The value found.
        value: u32,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// Two notify ids (of vdevs or vrings) are equal.
    #[error("entry {index}: {field} {id} is already used by entry {other} ({other_field})")]
    DuplicateNotifyId {
        /// Entry index of the second use.
        index: usize,
        /// Field of the second use.
        field: Field,
        /// The id.
        id: u32,
        /// Entry index of the first use.
        other: usize,
        /// Field of the first use.
        other_field: Field,
    },
    /// More notify ids than [`MAX_NOTIFY_IDS`](crate::MAX_NOTIFY_IDS).
    #[error("entry {index}: more than {max} notify ids in the table")]
    TooManyNotifyIds {
        /// Entry index where the limit was passed.
        index: usize,
        /// The limit.
        max: usize,
    },
    /// An entry index past the table's `num`.
    #[error("entry {index} does not exist: the table has {num} entries")]
    NoSuchEntry {
        /// The index asked for.
        index: usize,
        /// The table's entry count.
        num: u32,
    },
    /// An entry is not of the type an operation needs.
    #[error("entry {index} has type {found}, expected {expected}")]
    WrongType {
        /// Entry index.
        index: usize,
        /// The type needed.
        expected: u32,
        /// The type found.
        found: u32,
    },
    /// A vring index past the vdev's `num_of_vrings`.
    #[error("entry {index}: vring {vring} does not exist: the vdev has {num} vrings")]
    NoSuchVring {
        /// Entry index.
        index: usize,
        /// The vring asked for.
        vring: u8,
        /// The vdev's vring count.
        num: u8,
    },
    /// An output buffer is too small for the table being written.
    #[error("buffer of {len} bytes is too small for a table of {need} bytes")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        len: usize,
    },
    /// Shared memory refused an access.
    #[error("shared memory: {0}")]
    Region(#[from] openamp_metal::Error),
}

/// The result type of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
