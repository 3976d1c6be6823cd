//! Checking a firmware ELF image (feature `elf`): the checks a loader makes
//! before it copies anything, shared by the `rsc-table` inspector and by
//! `openamp-remoteproc`'s loader, so both refuse the same images for the
//! same reason.
//!
//! [`ElfImage::parse`] reads only the headers (ELF header, program headers,
//! section headers and the section names it compares), one header at a time
//! through an [`ImageSource`], into buffers on the stack: no allocator is
//! needed, so a firmware that declares its table with this crate never needs
//! one because its package also depends on a loader. It checks:
//! - the identification and header: magic, class (ELF32 or ELF64),
//!   little-endian, `ET_EXEC`, an accepted machine, header entry sizes;
//! - every loadable segment: file bytes inside the image, file
//!   size at most memory size and at most [`ElfLimits::max_segment`], address
//!   ranges that do not wrap (past 4 GiB for ELF32), no overlap with another;
//! - the `.resource_table` section: bytes in the file, held by
//!   the file bytes of one loaded segment at the address the section header
//!   says, so the table a loader finds in memory is the one in the file.
//!
//! Every count is bounded ([`ElfLimits`], [`MAX_LOAD_SEGMENTS`]) before
//! anything is read; every offset and length is checked arithmetic.
//!
//! ```
//! use openamp_rsc_table::elf::{ElfImage, ElfLimits};
//! use openamp_rsc_table::Error;
//!
//! // Not an ELF at all: refused with the field and the value.
//! let err = ElfImage::from_bytes(&[0u8; 64], &ElfLimits::DEFAULT).unwrap_err();
//! assert!(matches!(err, Error::BadElf { value: 0, .. }));
//! ```

use crate::error::{ElfField, Error};

mod layout;
mod sections;
mod segments;

use layout::{Class, Header, ET_EXEC, IDENT_SIZE, MAX_HEADER_SIZE};
pub use layout::{EM_AARCH64, EM_ARM};

/// The most loadable segments (`PT_LOAD` with a memory size) an image may
/// have: [`ElfImage`] keeps them in an array, so that no allocator is
/// needed. Firmware has a handful.
pub const MAX_LOAD_SEGMENTS: usize = 32;

/// The machines accepted by default: 32-bit ARM ([`EM_ARM`]) and AArch64
/// ([`EM_AARCH64`]).
pub const DEFAULT_MACHINES: &[u16] = &[EM_ARM, EM_AARCH64];

/// Where an image's bytes come from: a slice ([`ElfImage::from_bytes`]), or a
/// store that reads a piece at a time (a loader's file or flash).
pub trait ImageSource {
    /// The error a read gives; it carries this crate's errors too, so that
    /// [`ElfImage::parse`] returns one type.
    type Error: From<Error>;
    /// Fills `buf` with the image's bytes at `offset`. The parser never asks
    /// for bytes past the size it was given.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Self::Error>;
}

/// An image in memory.
struct Bytes<'a>(&'a [u8]);

impl ImageSource for Bytes<'_> {
    type Error = Error;
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        // `ElfImage::parse` checks every range against the size first, so
        // this error is for a caller that reads past the end on its own.
        let size = self.0.len() as u64;
        let src = usize::try_from(offset)
            .ok()
            .and_then(|start| self.0.get(start..start.checked_add(buf.len())?))
            .ok_or(Error::ElfTruncated {
                field: ElfField::Header,
                need: offset.saturating_add(buf.len() as u64),
                size,
            })?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// What the checks accept: bounds on everything that sizes work or memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfLimits<'m> {
    /// Accepted `e_machine` values.
    pub machines: &'m [u16],
    /// The largest segment (memory size) accepted.
    pub max_segment: u64,
    /// The most program headers accepted.
    pub max_segments: usize,
    /// The most section headers accepted.
    pub max_sections: usize,
    /// The largest section name table read.
    pub max_shstrtab: u64,
}

impl ElfLimits<'static> {
    /// ARM and AArch64, segments up to 256 MiB, 64 program headers, 4096
    /// section headers, a section name table up to 1 MiB.
    pub const DEFAULT: Self = ElfLimits {
        machines: DEFAULT_MACHINES,
        max_segment: 0x1000_0000,
        max_segments: 64,
        max_sections: 4096,
        max_shstrtab: 0x10_0000,
    };
}

impl Default for ElfLimits<'static> {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A loadable segment (`PT_LOAD` with a memory size), checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    /// Its index in the program header table.
    pub index: usize,
    /// Device address (`p_paddr`): where a loader puts it.
    pub da: u64,
    /// Virtual address (`p_vaddr`): where the firmware sees it (section
    /// addresses are in this space).
    pub vaddr: u64,
    /// Offset of its bytes in the image.
    pub offset: u64,
    /// Bytes in the image.
    pub filesz: u64,
    /// Bytes in memory (the rest is zero).
    pub memsz: u64,
}

/// Where the `.resource_table` section is, in the file and once loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSection {
    /// Its address in the section header (`sh_addr`).
    pub addr: u64,
    /// Device address a loader puts it at: its segment's `p_paddr` plus its
    /// place in that segment (`sh_addr` itself when `p_vaddr == p_paddr`).
    pub da: u64,
    /// Offset in the image.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Program header index of the segment that loads it.
    pub segment: usize,
}

/// The headers of an ELF image, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct ElfImage {
    /// Image size in bytes.
    pub size: u64,
    /// Whether it is ELF64.
    pub is_64: bool,
    /// `e_machine`.
    pub machine: u16,
    /// The entry point.
    pub entry: u64,
    /// The loadable segments with a memory size, in program header order
    /// (the first `num_segments`; see [`segments`](Self::segments)).
    segments: [Segment; MAX_LOAD_SEGMENTS],
    num_segments: usize,
    /// The resource table section, if there is one.
    pub resource_table: Option<TableSection>,
}

/// Reads `buf.len()` bytes at `offset` of an image of `size` bytes, or says
/// which part (`field`) the image is too short for.
pub(crate) fn read<S: ImageSource + ?Sized>(
    src: &mut S,
    size: u64,
    offset: u64,
    buf: &mut [u8],
    field: ElfField,
) -> Result<(), S::Error> {
    check_range(size, offset, buf.len() as u64, field)?;
    src.read_at(offset, buf)
}

/// Checks that `len` bytes at `offset` are inside an image of `size` bytes.
pub(crate) fn check_range(size: u64, offset: u64, len: u64, field: ElfField) -> Result<(), Error> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        need => Err(Error::ElfTruncated {
            field,
            need: need.unwrap_or(u64::MAX),
            size,
        }),
    }
}

impl ElfImage {
    /// Reads and checks the headers of an image of `size` bytes from `src`.
    pub fn parse<S: ImageSource + ?Sized>(
        src: &mut S,
        size: u64,
        limits: &ElfLimits<'_>,
    ) -> Result<Self, S::Error> {
        let (h, class) = Self::header(src, size, limits)?;
        let mut segments = [Segment::default(); MAX_LOAD_SEGMENTS];
        let num_segments = segments::check(src, size, &h, class, limits, &mut segments)?;
        let loaded = segments.get(..num_segments).unwrap_or_default();
        let resource_table = sections::table_section(src, size, &h, class, limits)?
            .map(|s| sections::locate(&s, loaded))
            .transpose()?;
        Ok(ElfImage {
            size,
            is_64: class == Class::Elf64,
            machine: h.e_machine,
            entry: h.e_entry,
            segments,
            num_segments,
            resource_table,
        })
    }

    /// [`parse`](Self::parse) over an image in memory.
    pub fn from_bytes(bytes: &[u8], limits: &ElfLimits<'_>) -> Result<Self, Error> {
        Self::parse(&mut Bytes(bytes), bytes.len() as u64, limits)
    }

    /// The loadable segments with a memory size, in program header order.
    pub fn segments(&self) -> &[Segment] {
        self.segments.get(..self.num_segments).unwrap_or_default()
    }

    /// The table section's bytes in `bytes`, the image this was parsed from.
    pub fn table_bytes<'b>(&self, bytes: &'b [u8]) -> Option<&'b [u8]> {
        let t = self.resource_table?;
        let start = usize::try_from(t.offset).ok()?;
        let end = start.checked_add(usize::try_from(t.size).ok()?)?;
        bytes.get(start..end)
    }

    /// The ELF header, checked: identification, type, machine.
    fn header<S: ImageSource + ?Sized>(
        src: &mut S,
        size: u64,
        limits: &ElfLimits<'_>,
    ) -> Result<(Header, Class), S::Error> {
        let mut buf = [0u8; MAX_HEADER_SIZE];
        let ident = buf.get_mut(..IDENT_SIZE).unwrap_or_default();
        read(src, size, 0, ident, ElfField::Ident)?;
        let [m0, m1, m2, m3, class, data, ..] = buf;
        let magic = [m0, m1, m2, m3];
        if magic != *b"\x7fELF" {
            return Err(bad(ElfField::Magic, u32::from_le_bytes(magic), "no ELF magic").into());
        }
        let class = Class::from_ident(class).ok_or(bad(
            ElfField::Class,
            class,
            "neither ELF32 nor ELF64",
        ))?;
        if data != 1 {
            return Err(bad(ElfField::Data, data, "not little-endian").into());
        }
        let bytes = buf.get_mut(..class.ehsize()).unwrap_or_default();
        read(src, size, 0, bytes, ElfField::Header)?;
        let h = Header::decode(class, bytes).ok_or(bad(ElfField::Header, 0u8, "unreadable"))?;
        if h.e_type != ET_EXEC {
            return Err(bad(ElfField::Type, h.e_type, "not an executable (ET_EXEC)").into());
        }
        if !limits.machines.contains(&h.e_machine) {
            return Err(Error::WrongMachine {
                machine: h.e_machine,
            }
            .into());
        }
        Ok((h, class))
    }
}

impl core::fmt::Debug for ElfImage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ElfImage")
            .field("size", &self.size)
            .field("is_64", &self.is_64)
            .field("machine", &self.machine)
            .field("entry", &self.entry)
            .field("segments", &self.segments())
            .field("resource_table", &self.resource_table)
            .finish()
    }
}

/// A [`Error::BadElf`].
pub(crate) fn bad(field: ElfField, value: impl Into<u64>, reason: &'static str) -> Error {
    Error::BadElf {
        field,
        value: value.into(),
        reason,
    }
}
