//! Loading ELF firmware: little-endian ELF32 and ELF64, read through an
//! [`ImageStore`] a piece at a time.
//!
//! [`ElfImage::parse`] reads only the headers (ELF header, program headers,
//! section headers and their name table) and checks every loadable segment:
//! its file bytes are inside the image, its sizes are sane, it overlaps no
//! other segment. [`ElfLoader`] then copies segment after segment, one chunk
//! per [`step`](ElfLoader::step), into memory that a mapping function gives
//! for each segment's device address (its `p_paddr`), and zero-fills each
//! segment's memory past its file size. Nothing ever holds the whole image.

use alloc::vec;
use alloc::vec::Vec;

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header::{self, Header, EM_AARCH64, EM_ARM, ET_EXEC};
use goblin::elf::program_header::{ProgramHeader, PT_LOAD};
use goblin::elf::section_header::{SectionHeader, SHT_NOBITS};
use openamp_metal::IoRegion;
use openamp_rsc_table::RESOURCE_TABLE_SECTION;

use crate::store::ImageStore;
use crate::{Error, Result};

/// The machines the loader accepts by default: 32-bit ARM and AArch64.
pub const DEFAULT_MACHINES: &[u16] = &[EM_ARM, EM_AARCH64];

/// What the loader accepts, and how it copies.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions<'m> {
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
    /// Bytes copied per step.
    pub chunk: usize,
}

impl Default for LoadOptions<'_> {
    fn default() -> Self {
        LoadOptions {
            machines: DEFAULT_MACHINES,
            max_segment: 0x1000_0000,
            max_segments: 64,
            max_sections: 4096,
            max_shstrtab: 0x10_0000,
            chunk: 4096,
        }
    }
}

/// A loadable segment (`PT_LOAD`), checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Its index in the program header table.
    pub index: usize,
    /// Device address (`p_paddr`).
    pub da: u64,
    /// Offset of its bytes in the image.
    pub offset: u64,
    /// Bytes in the image.
    pub filesz: u64,
    /// Bytes in memory (the rest is zero).
    pub memsz: u64,
}

/// Where the `.resource_table` section is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSection {
    /// Device address (`sh_addr`).
    pub da: u64,
    /// Offset in the image.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
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

/// Reads `len` bytes at `offset`, or says the image is truncated.
fn read(
    store: &mut impl ImageStore,
    size: u64,
    offset: u64,
    len: usize,
    what: &'static str,
) -> Result<Vec<u8>> {
    let end = offset
        .checked_add(len as u64)
        .filter(|e| *e <= size)
        .ok_or(Error::Truncated {
            what,
            need: offset.saturating_add(len as u64),
            size,
        })?;
    let _ = end;
    let mut buf = vec![0u8; len];
    store.read_at(offset, &mut buf)?;
    Ok(buf)
}

impl ElfImage {
    /// Reads and checks the headers of the image `store` has open, of `size` bytes.
    pub fn parse(store: &mut impl ImageStore, size: u64, opts: &LoadOptions<'_>) -> Result<Self> {
        let ident = read(store, size, 0, header::SIZEOF_IDENT, "ELF identification")?;
        if ident.get(..4) != Some(&header::ELFMAG[..]) {
            return Err(Error::BadElf {
                reason: "no ELF magic",
            });
        }
        let (is_64, ehsize) = match ident.get(header::EI_CLASS) {
            Some(&header::ELFCLASS32) => (false, header::header32::SIZEOF_EHDR),
            Some(&header::ELFCLASS64) => (true, header::header64::SIZEOF_EHDR),
            _ => {
                return Err(Error::BadElf {
                    reason: "class is neither ELF32 nor ELF64",
                })
            }
        };
        if ident.get(header::EI_DATA) != Some(&header::ELFDATA2LSB) {
            return Err(Error::BadElf {
                reason: "not little-endian",
            });
        }
        let bytes = read(store, size, 0, ehsize, "ELF header")?;
        let h: Header = goblin::elf::Elf::parse_header(&bytes).map_err(|_| Error::BadElf {
            reason: "unreadable ELF header",
        })?;
        if h.e_type != ET_EXEC {
            return Err(Error::BadElf {
                reason: "not an executable (ET_EXEC)",
            });
        }
        if !opts.machines.contains(&h.e_machine) {
            return Err(Error::WrongMachine {
                machine: h.e_machine,
            });
        }
        let container = if is_64 {
            Container::Big
        } else {
            Container::Little
        };
        let ctx = Ctx::new(container, Endian::Little);
        let segments = Self::segments(store, size, &h, ctx, opts)?;
        let resource_table = Self::table_section(store, size, &h, ctx, opts)?;
        Ok(ElfImage {
            size,
            is_64,
            machine: h.e_machine,
            entry: h.e_entry,
            segments,
            resource_table,
        })
    }

    fn segments(
        store: &mut impl ImageStore,
        size: u64,
        h: &Header,
        ctx: Ctx,
        opts: &LoadOptions<'_>,
    ) -> Result<Vec<Segment>> {
        let entsize = ProgramHeader::size(ctx);
        if usize::from(h.e_phentsize) != entsize {
            return Err(Error::BadHeaders {
                what: "program headers",
                reason: "e_phentsize does not match the class",
            });
        }
        let count = usize::from(h.e_phnum);
        if count > opts.max_segments {
            return Err(Error::BadHeaders {
                what: "program headers",
                reason: "more than the loader accepts",
            });
        }
        let bytes = read(store, size, h.e_phoff, count * entsize, "program headers")?;
        let phdrs = ProgramHeader::parse(&bytes, 0, count, ctx).map_err(|_| Error::BadHeaders {
            what: "program headers",
            reason: "unreadable",
        })?;
        let mut segments: Vec<Segment> = Vec::new();
        for (index, p) in phdrs.iter().enumerate() {
            if p.p_type != PT_LOAD || p.p_memsz == 0 {
                continue;
            }
            let size_err = |reason| Error::SegmentSize {
                index,
                addr: p.p_paddr,
                filesz: p.p_filesz,
                memsz: p.p_memsz,
                reason,
            };
            if p.p_filesz > p.p_memsz {
                return Err(size_err("file size larger than memory size"));
            }
            if p.p_memsz > opts.max_segment {
                return Err(size_err("larger than the loader accepts"));
            }
            let end = p
                .p_paddr
                .checked_add(p.p_memsz)
                .ok_or(size_err("address range wraps"))?;
            if p.p_offset.checked_add(p.p_filesz).is_none_or(|e| e > size) {
                return Err(Error::SegmentTruncated {
                    index,
                    offset: p.p_offset,
                    filesz: p.p_filesz,
                    size,
                });
            }
            if let Some(other) = segments
                .iter()
                .find(|s| p.p_paddr < s.da + s.memsz && s.da < end)
            {
                return Err(Error::SegmentOverlap {
                    index,
                    start: p.p_paddr,
                    end,
                    other: other.index,
                });
            }
            segments.push(Segment {
                index,
                da: p.p_paddr,
                offset: p.p_offset,
                filesz: p.p_filesz,
                memsz: p.p_memsz,
            });
        }
        Ok(segments)
    }

    fn table_section(
        store: &mut impl ImageStore,
        size: u64,
        h: &Header,
        ctx: Ctx,
        opts: &LoadOptions<'_>,
    ) -> Result<Option<TableSection>> {
        const WHAT: &str = "section headers";
        let count = usize::from(h.e_shnum);
        if count == 0 || h.e_shoff == 0 {
            return Ok(None);
        }
        let entsize = SectionHeader::size(ctx);
        if usize::from(h.e_shentsize) != entsize {
            return Err(Error::BadHeaders {
                what: WHAT,
                reason: "e_shentsize does not match the class",
            });
        }
        if count > opts.max_sections {
            return Err(Error::BadHeaders {
                what: WHAT,
                reason: "more than the loader accepts",
            });
        }
        let bytes = read(store, size, h.e_shoff, count * entsize, WHAT)?;
        let shdrs =
            SectionHeader::parse_from(&bytes, 0, count, ctx).map_err(|_| Error::BadHeaders {
                what: WHAT,
                reason: "unreadable",
            })?;
        let strtab = shdrs
            .get(usize::from(h.e_shstrndx))
            .ok_or(Error::BadHeaders {
                what: WHAT,
                reason: "e_shstrndx names no section",
            })?;
        let strsize = strtab.sh_size;
        if strsize > opts.max_shstrtab {
            return Err(Error::BadHeaders {
                what: "section name table",
                reason: "larger than the loader accepts",
            });
        }
        let names = read(
            store,
            size,
            strtab.sh_offset,
            strsize as usize,
            "section name table",
        )?;
        let wanted = RESOURCE_TABLE_SECTION.as_bytes();
        for s in &shdrs {
            let name = names
                .get(s.sh_name..)
                .and_then(|n| n.split(|&b| b == 0).next());
            if name != Some(wanted) {
                continue;
            }
            if s.sh_type == SHT_NOBITS {
                return Err(Error::BadHeaders {
                    what: RESOURCE_TABLE_SECTION,
                    reason: "has no bytes in the image (NOBITS)",
                });
            }
            let offset = s.sh_offset;
            let len = s.sh_size;
            if offset.checked_add(len).is_none_or(|e| e > size) {
                return Err(Error::Truncated {
                    what: RESOURCE_TABLE_SECTION,
                    need: offset.saturating_add(len),
                    size,
                });
            }
            return Ok(Some(TableSection {
                da: s.sh_addr,
                offset,
                size: len,
            }));
        }
        Ok(None)
    }

    /// Reads the resource table's bytes from the image (at most `max` bytes).
    pub fn read_table(&self, store: &mut impl ImageStore, max: usize) -> Result<Option<Vec<u8>>> {
        let Some(t) = self.resource_table else {
            return Ok(None);
        };
        let len = usize::try_from(t.size)
            .ok()
            .filter(|l| *l <= max)
            .ok_or(Error::TableTooLarge { size: t.size, max })?;
        read(store, self.size, t.offset, len, RESOURCE_TABLE_SECTION).map(Some)
    }
}

/// Where the loader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More to copy: call [`ElfLoader::step`] again.
    More {
        /// Bytes copied or zeroed so far.
        done: u64,
        /// Bytes to copy or zero in all.
        total: u64,
    },
    /// Every segment is in place.
    Done,
}

/// Copies an [`ElfImage`]'s segments into memory, one chunk per step.
#[derive(Debug)]
pub struct ElfLoader<'a> {
    image: ElfImage,
    /// For each segment, its memory.
    regions: Vec<IoRegion<'a>>,
    segment: usize,
    /// Bytes of the current segment done.
    at: u64,
    done: u64,
    total: u64,
    buf: Vec<u8>,
}

impl<'a> ElfLoader<'a> {
    /// Prepares to load `image`: asks `map` for the memory of every segment
    /// (its device address and memory size) before anything is written, so
    /// that an image that does not fit changes nothing.
    pub fn new(
        image: ElfImage,
        opts: &LoadOptions<'_>,
        mut map: impl FnMut(u64, u64) -> Result<IoRegion<'a>>,
    ) -> Result<Self> {
        let mut regions = Vec::with_capacity(image.segments.len());
        for s in &image.segments {
            let r = map(s.da, s.memsz).map_err(|_| Error::SegmentUnmapped {
                index: s.index,
                da: s.da,
                len: s.memsz,
            })?;
            if (r.size() as u64) < s.memsz {
                return Err(Error::SegmentUnmapped {
                    index: s.index,
                    da: s.da,
                    len: s.memsz,
                });
            }
            regions.push(r);
        }
        let total = image.segments.iter().map(|s| s.memsz).sum();
        Ok(ElfLoader {
            image,
            regions,
            segment: 0,
            at: 0,
            done: 0,
            total,
            buf: vec![0u8; opts.chunk.max(1)],
        })
    }

    /// The image being loaded.
    pub fn image(&self) -> &ElfImage {
        &self.image
    }

    /// Copies (or zero-fills) the next chunk.
    pub fn step(&mut self, store: &mut impl ImageStore) -> Result<Progress> {
        loop {
            let (Some(s), Some(r)) = (
                self.image.segments.get(self.segment),
                self.regions.get(self.segment),
            ) else {
                return Ok(Progress::Done);
            };
            if self.at >= s.memsz {
                self.segment += 1;
                self.at = 0;
                continue;
            }
            let chunk = self.buf.len() as u64;
            // Both offsets are below memsz, which the region covers.
            let off = self.at as usize;
            let n = if self.at < s.filesz {
                let n = (s.filesz - self.at).min(chunk) as usize;
                let buf = self.buf.get_mut(..n).unwrap_or_default();
                store.read_at(s.offset + self.at, buf)?;
                r.write_bytes(off, buf)?;
                n
            } else {
                let n = (s.memsz - self.at).min(chunk) as usize;
                r.fill(off, n, 0)?;
                n
            };
            self.at += n as u64;
            self.done += n as u64;
            return Ok(Progress::More {
                done: self.done,
                total: self.total,
            });
        }
    }

    /// Steps until everything is loaded.
    pub fn run(&mut self, store: &mut impl ImageStore) -> Result<()> {
        while self.step(store)? != Progress::Done {}
        Ok(())
    }
}
