//! Checking a firmware ELF image (feature `elf`): the checks a loader makes
//! before it copies anything, shared by the `rsc-table` inspector and by
//! `openamp-remoteproc`'s loader, so both refuse the same images for the
//! same reason.
//!
//! [`ElfImage::parse`] reads only the headers (ELF header, program headers,
//! section headers and their name table), a piece at a time through an
//! [`ImageSource`], and checks:
//! - the identification and header: magic, class (ELF32 or ELF64),
//!   little-endian, `ET_EXEC`, an accepted machine, header entry sizes;
//! - every loadable segment: file bytes inside the image, file
//!   size at most memory size and at most [`ElfLimits::max_segment`], address
//!   ranges that do not wrap (past 4 GiB for ELF32), no overlap with another;
//! - the `.resource_table` section: bytes in the file, held by
//!   the file bytes of one loaded segment at the address the section header
//!   says, so the table a loader finds in memory is the one in the file.
//!
//! Every count and size is bounded ([`ElfLimits`]) before anything is read
//! or allocated; every offset and length is checked arithmetic.
//!
//! ```
//! use openamp_rsc_table::elf::{ElfImage, ElfLimits};
//! use openamp_rsc_table::Error;
//!
//! // Not an ELF at all: refused with the field and the value.
//! let err = ElfImage::from_bytes(&[0u8; 64], &ElfLimits::DEFAULT).unwrap_err();
//! assert!(matches!(err, Error::BadElf { value: 0, .. }));
//! ```

use alloc::vec::Vec;

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header::{self, Header, EM_AARCH64, EM_ARM, ET_EXEC};

use crate::error::{ElfField, Error};

mod sections;
mod segments;

/// The machines accepted by default: 32-bit ARM (`EM_ARM`) and AArch64
/// (`EM_AARCH64`).
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfImage {
    /// Image size in bytes.
    pub size: u64,
    /// Whether it is ELF64.
    pub is_64: bool,
    /// `e_machine`.
    pub machine: u16,
    /// The entry point.
    pub entry: u64,
    /// The loadable segments with a memory size, in program header order.
    pub segments: Vec<Segment>,
    /// The resource table section, if there is one.
    pub resource_table: Option<TableSection>,
}

/// Reads `len` bytes at `offset` of an image of `size` bytes, or says which
/// part (`field`) the image is too short for.
pub(crate) fn read<S: ImageSource + ?Sized>(
    src: &mut S,
    size: u64,
    offset: u64,
    len: usize,
    field: ElfField,
) -> Result<Vec<u8>, S::Error> {
    let need = offset.checked_add(len as u64);
    if need.is_none_or(|end| end > size) {
        return Err(Error::ElfTruncated {
            field,
            need: need.unwrap_or(u64::MAX),
            size,
        }
        .into());
    }
    let mut buf = alloc::vec![0u8; len];
    src.read_at(offset, &mut buf)?;
    Ok(buf)
}

impl ElfImage {
    /// Reads and checks the headers of an image of `size` bytes from `src`.
    pub fn parse<S: ImageSource + ?Sized>(
        src: &mut S,
        size: u64,
        limits: &ElfLimits<'_>,
    ) -> Result<Self, S::Error> {
        let (h, ctx) = Self::header(src, size, limits)?;
        let segments = segments::check(src, size, &h, ctx, limits)?;
        let resource_table = sections::table_section(src, size, &h, ctx, limits)?
            .map(|s| sections::locate(&s, &segments))
            .transpose()?;
        Ok(ElfImage {
            size,
            is_64: ctx.container == Container::Big,
            machine: h.e_machine,
            entry: h.e_entry,
            segments,
            resource_table,
        })
    }

    /// [`parse`](Self::parse) over an image in memory.
    pub fn from_bytes(bytes: &[u8], limits: &ElfLimits<'_>) -> Result<Self, Error> {
        Self::parse(&mut Bytes(bytes), bytes.len() as u64, limits)
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
    ) -> Result<(Header, Ctx), S::Error> {
        let ident = read(src, size, 0, header::SIZEOF_IDENT, ElfField::Ident)?;
        let byte = |i: usize| ident.get(i).copied().unwrap_or_default();
        let magic = ident.first_chunk::<4>().copied().unwrap_or_default();
        if magic != *header::ELFMAG {
            return Err(bad(ElfField::Magic, u32::from_le_bytes(magic), "no ELF magic").into());
        }
        let (container, ehsize) = match byte(header::EI_CLASS) {
            header::ELFCLASS32 => (Container::Little, header::header32::SIZEOF_EHDR),
            header::ELFCLASS64 => (Container::Big, header::header64::SIZEOF_EHDR),
            c => return Err(bad(ElfField::Class, c, "neither ELF32 nor ELF64").into()),
        };
        if byte(header::EI_DATA) != header::ELFDATA2LSB {
            let d = byte(header::EI_DATA);
            return Err(bad(ElfField::Data, d, "not little-endian").into());
        }
        let bytes = read(src, size, 0, ehsize, ElfField::Header)?;
        let h = goblin::elf::Elf::parse_header(&bytes)
            .map_err(|_| bad(ElfField::Header, 0u8, "unreadable"))?;
        if h.e_type != ET_EXEC {
            return Err(bad(ElfField::Type, h.e_type, "not an executable (ET_EXEC)").into());
        }
        if !limits.machines.contains(&h.e_machine) {
            return Err(Error::WrongMachine {
                machine: h.e_machine,
            }
            .into());
        }
        Ok((h, Ctx::new(container, Endian::Little)))
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
