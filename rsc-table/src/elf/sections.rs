//! The section headers: finding the `.resource_table` section, and checking
//! that a loader finds it in memory where the firmware does.

use goblin::container::Ctx;
use goblin::elf::header::Header;
use goblin::elf::section_header::{SectionHeader, SHN_XINDEX, SHT_NOBITS};

use super::{bad, read, ElfLimits, ImageSource, Segment, TableSection};
use crate::error::{ElfField, Error};
use crate::RESOURCE_TABLE_SECTION;

/// The `.resource_table` section as its header gives it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawSection {
    addr: u64,
    offset: u64,
    size: u64,
}

/// Finds the `.resource_table` section (the first of that name) and checks
/// that its bytes are in the file. `None` if the image has no section
/// headers or no such section.
pub(crate) fn table_section<S: ImageSource + ?Sized>(
    src: &mut S,
    size: u64,
    h: &Header,
    ctx: Ctx,
    limits: &ElfLimits<'_>,
) -> Result<Option<RawSection>, S::Error> {
    let count = usize::from(h.e_shnum);
    if count == 0 || h.e_shoff == 0 {
        return Ok(None);
    }
    let entsize = SectionHeader::size(ctx);
    if usize::from(h.e_shentsize) != entsize {
        let e = bad(
            ElfField::ShEntSize,
            h.e_shentsize,
            "does not match the class",
        );
        return Err(e.into());
    }
    if count > limits.max_sections {
        return Err(Error::ElfTooLarge {
            field: ElfField::ShNum,
            value: count as u64,
            max: limits.max_sections as u64,
        }
        .into());
    }
    // At most 64 Ki entries of 64 bytes: no overflow.
    let bytes = read(
        src,
        size,
        h.e_shoff,
        count * entsize,
        ElfField::SectionHeaders,
    )?;
    let shdrs = SectionHeader::parse_from(&bytes, 0, count, ctx)
        .map_err(|_| bad(ElfField::SectionHeaders, h.e_shoff, "unreadable"))?;
    // With 0xff00 sections or more, the name table's index is in section 0.
    let strndx = match u32::from(h.e_shstrndx) {
        SHN_XINDEX => shdrs.first().map_or(0, |s| s.sh_link as usize),
        i => i as usize,
    };
    let strtab =
        shdrs
            .get(strndx)
            .ok_or(bad(ElfField::ShStrNdx, h.e_shstrndx, "names no section"))?;
    if strtab.sh_size > limits.max_shstrtab {
        return Err(Error::ElfTooLarge {
            field: ElfField::SectionNames,
            value: strtab.sh_size,
            max: limits.max_shstrtab,
        }
        .into());
    }
    // Bounded by `max_shstrtab` just above; a limit past `usize` is refused
    // by `read` as truncation.
    let len = usize::try_from(strtab.sh_size).unwrap_or(usize::MAX);
    let names = read(src, size, strtab.sh_offset, len, ElfField::SectionNames)?;
    let wanted = RESOURCE_TABLE_SECTION.as_bytes();
    let Some(s) = shdrs.iter().find(|s| {
        let name = names
            .get(s.sh_name..)
            .and_then(|n| n.split(|&b| b == 0).next());
        name == Some(wanted)
    }) else {
        return Ok(None);
    };
    if s.sh_type == SHT_NOBITS {
        let reason = "NOBITS: the section has no bytes in the file";
        return Err(bad(ElfField::SectionType, s.sh_type, reason).into());
    }
    if s.sh_offset.checked_add(s.sh_size).is_none_or(|e| e > size) {
        return Err(Error::ElfTruncated {
            field: ElfField::TableSection,
            need: s.sh_offset.saturating_add(s.sh_size),
            size,
        }
        .into());
    }
    Ok(Some(RawSection {
        addr: s.sh_addr,
        offset: s.sh_offset,
        size: s.sh_size,
    }))
}

/// Finds the loaded segment whose file bytes hold the section's, and checks
/// that it loads them at the section's address: otherwise a loader reading
/// the table at `sh_addr` would find other bytes (zeros of a `.bss`, or
/// memory nothing was loaded into) than the table in the file.
pub(crate) fn locate(s: &RawSection, segments: &[Segment]) -> Result<TableSection, Error> {
    let end = s.offset.saturating_add(s.size);
    let holder = segments
        .iter()
        .find(|g| g.offset <= s.offset && end <= g.offset.saturating_add(g.filesz));
    let Some(g) = holder else {
        return Err(Error::TableOutsideSegments {
            addr: s.addr,
            offset: s.offset,
            size: s.size,
        });
    };
    // Inside the segment's file bytes, so no overflow: both sums are below
    // the segment's end, which did not wrap.
    let within = s.offset - g.offset;
    let loaded = g.vaddr + within;
    if loaded != s.addr {
        return Err(Error::TableAddressMismatch {
            addr: s.addr,
            offset: s.offset,
            segment: g.index,
            loaded,
        });
    }
    Ok(TableSection {
        addr: s.addr,
        da: g.da + within,
        offset: s.offset,
        size: s.size,
        segment: g.index,
    })
}
