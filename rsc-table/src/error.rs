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
    /// A carveout's, devmem's or trace buffer's device address (`da`).
    Da,
    /// A carveout's or devmem's physical address (`pa`).
    Pa,
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
            Field::Da => f.write_str("da"),
            Field::Pa => f.write_str("pa"),
        }
    }
}

/// A part or field of an ELF image, named in errors (with its ELF name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElfField {
    /// The 16 identification bytes (`e_ident`).
    Ident,
    /// The magic, `e_ident[0..4]` (read as a little-endian word).
    Magic,
    /// The class, `e_ident[EI_CLASS]`.
    Class,
    /// The byte order, `e_ident[EI_DATA]`.
    Data,
    /// The whole ELF header.
    Header,
    /// `e_type`.
    Type,
    /// `e_phentsize`.
    PhEntSize,
    /// `e_phnum`.
    PhNum,
    /// The loadable segments (`PT_LOAD` with a memory size), counted.
    LoadSegments,
    /// The program header table (`e_phoff`, `e_phnum` entries).
    ProgramHeaders,
    /// `e_shentsize`.
    ShEntSize,
    /// `e_shnum`.
    ShNum,
    /// `e_shstrndx`.
    ShStrNdx,
    /// The section header table (`e_shoff`, `e_shnum` entries).
    SectionHeaders,
    /// The section name table (the section `e_shstrndx` names).
    SectionNames,
    /// The `.resource_table` section's bytes (`sh_offset`, `sh_size`).
    TableSection,
    /// The `.resource_table` section's `sh_type`.
    SectionType,
    /// A segment's `p_offset`.
    Offset,
    /// A segment's `p_filesz`.
    FileSize,
    /// A segment's `p_memsz`.
    MemSize,
    /// A segment's `p_paddr` (its device address).
    PhysAddr,
    /// A segment's `p_vaddr`.
    VirtAddr,
}

impl fmt::Display for ElfField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElfField::Ident => "identification (e_ident)",
            ElfField::Magic => "magic (e_ident[0..4])",
            ElfField::Class => "class (e_ident[EI_CLASS])",
            ElfField::Data => "byte order (e_ident[EI_DATA])",
            ElfField::Header => "ELF header",
            ElfField::Type => "e_type",
            ElfField::PhEntSize => "e_phentsize",
            ElfField::PhNum => "e_phnum",
            ElfField::LoadSegments => "count of loadable segments",
            ElfField::ProgramHeaders => "program headers",
            ElfField::ShEntSize => "e_shentsize",
            ElfField::ShNum => "e_shnum",
            ElfField::ShStrNdx => "e_shstrndx",
            ElfField::SectionHeaders => "section headers",
            ElfField::SectionNames => "section name table",
            ElfField::TableSection => ".resource_table section",
            ElfField::SectionType => ".resource_table sh_type",
            ElfField::Offset => "p_offset",
            ElfField::FileSize => "p_filesz",
            ElfField::MemSize => "p_memsz",
            ElfField::PhysAddr => "p_paddr",
            ElfField::VirtAddr => "p_vaddr",
        })
    }
}

/// The name of an entry type, for messages.
fn type_name(kind: u32) -> &'static str {
    match kind {
        crate::RSC_CARVEOUT => "carveout",
        crate::RSC_DEVMEM => "devmem",
        crate::RSC_TRACE => "trace",
        crate::RSC_VDEV => "vdev",
        crate::RSC_VENDOR_START..=crate::RSC_VENDOR_END => "vendor",
        _ => "unknown",
    }
}

/// Everything that can be wrong with a resource table or an access to one.
///
/// Entry-level variants carry the entry's index (its position in the offset
/// array), the [`Field`] at fault and the offending value. The variants
/// after [`RangeWraps`](Error::RangeWraps) are what `elf::ElfImage::parse`
/// (feature `elf`) finds wrong with a firmware image (see
/// [`Error::is_elf`]); they carry the [`ElfField`] at fault or the
/// segment's program header index.
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
    /// An entry's address range runs past the end of the 32-bit address
    /// space (`FW_RSC_ADDR_ANY` is "the host chooses" and never checked).
    #[error("entry {index} ({}): {field} {addr:#x} + len {len:#x} wraps past 4 GiB", type_name(*.kind))]
    RangeWraps {
        /// Entry index.
        index: usize,
        /// Entry type.
        kind: u32,
        /// The address field ([`Field::Da`] or [`Field::Pa`]).
        field: Field,
        /// The address found.
        addr: u32,
        /// The entry's `len`.
        len: u32,
    },

    // ---- ELF images ----
    /// The image ends before a part of it that must be there.
    #[error("image of {size:#x} bytes is truncated: its {field} end at {need:#x}")]
    ElfTruncated {
        /// The part that does not fit.
        field: ElfField,
        /// Bytes needed (its end offset, saturated on overflow).
        need: u64,
        /// Image size.
        size: u64,
    },
    /// A field of the ELF headers has a value that is never accepted.
    #[error("not a loadable ELF: {field} {value:#x}: {reason}")]
    BadElf {
        /// The field.
        field: ElfField,
        /// The value found.
        value: u64,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The ELF is for a machine the caller does not accept.
    #[error("ELF e_machine {machine} is not one the loader accepts")]
    WrongMachine {
        /// `e_machine`.
        machine: u16,
    },
    /// A count or size in the ELF headers is past what the caller accepts.
    #[error("ELF {field} {value:#x} is more than the loader accepts ({max:#x})")]
    ElfTooLarge {
        /// The field.
        field: ElfField,
        /// The value found.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// A segment's file bytes are not inside the image.
    #[error("segment {index}: file bytes p_offset {offset:#x} + p_filesz {filesz:#x} are past the end of the image ({size:#x} bytes)")]
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
    /// A segment's sizes or addresses are impossible: file size above memory
    /// size, larger than the caller accepts, or an address range that wraps.
    #[error("segment {index}: {field} is invalid (address {addr:#x}, p_filesz {filesz:#x}, p_memsz {memsz:#x}): {reason}")]
    SegmentSize {
        /// Program header index.
        index: usize,
        /// The field at fault.
        field: ElfField,
        /// The address the field concerns (`p_paddr`, or `p_vaddr` for
        /// [`ElfField::VirtAddr`]).
        addr: u64,
        /// `p_filesz`.
        filesz: u64,
        /// `p_memsz`.
        memsz: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// Two loadable segments share device addresses.
    #[error("segment {index} at p_paddr {start:#x}..{end:#x} overlaps segment {other}")]
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
    /// No loaded segment holds the `.resource_table` section's file bytes,
    /// so a loader would find something else (zeros, or nothing) there.
    #[error(".resource_table at address {addr:#x} ({size:#x} bytes, file offset {offset:#x}) is in no loaded segment's file bytes")]
    TableOutsideSegments {
        /// `sh_addr`.
        addr: u64,
        /// `sh_offset`.
        offset: u64,
        /// `sh_size`.
        size: u64,
    },
    /// The segment holding the `.resource_table` section's bytes loads
    /// them at another address than the section header says.
    #[error(".resource_table at address {addr:#x} (file offset {offset:#x}) is loaded by segment {segment} at {loaded:#x}")]
    TableAddressMismatch {
        /// `sh_addr`.
        addr: u64,
        /// `sh_offset`.
        offset: u64,
        /// Program header index of the segment holding the bytes.
        segment: usize,
        /// Where that segment puts them (in its `p_vaddr` space).
        loaded: u64,
    },
}

impl Error {
    /// Whether this is an error about an ELF image rather than about a
    /// resource table.
    pub fn is_elf(&self) -> bool {
        matches!(
            self,
            Error::ElfTruncated { .. }
                | Error::BadElf { .. }
                | Error::WrongMachine { .. }
                | Error::ElfTooLarge { .. }
                | Error::SegmentTruncated { .. }
                | Error::SegmentSize { .. }
                | Error::SegmentOverlap { .. }
                | Error::TableOutsideSegments { .. }
                | Error::TableAddressMismatch { .. }
        )
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
