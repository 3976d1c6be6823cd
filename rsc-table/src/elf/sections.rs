//! The section headers: finding the `.resource_table` section, and checking
//! that a loader finds it in memory where the firmware does.

use super::layout::{Class, Header, Shdr, MAX_HEADER_SIZE, SHN_XINDEX, SHT_NOBITS};
use super::{bad, check_range, read, ElfLimits, ImageSource, Segment, TableSection};
use crate::error::{ElfField, Error};
use crate::RESOURCE_TABLE_SECTION;

/// The `.resource_table` section as its header gives it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawSection {
    addr: u64,
    offset: u64,
    size: u64,
}

/// The section headers, read one at a time.
struct Sections {
    class: Class,
    shoff: u64,
    count: usize,
}

impl Sections {
    /// Section header `i` (below `count`, whose table is inside the image).
    fn get<S: ImageSource + ?Sized>(
        &self,
        src: &mut S,
        size: u64,
        i: usize,
    ) -> Result<Shdr, S::Error> {
        let entsize = self.class.shentsize();
        let mut buf = [0u8; MAX_HEADER_SIZE];
        let bytes = buf.get_mut(..entsize).unwrap_or_default();
        // At most 64 Ki entries of 64 bytes past `shoff`, checked in range.
        let at = self.shoff + (i * entsize) as u64;
        read(src, size, at, bytes, ElfField::SectionHeaders)?;
        Shdr::decode(self.class, bytes)
            .ok_or_else(|| bad(ElfField::SectionHeaders, at, "unreadable").into())
    }
}

/// Whether the name at `at` of the section name table (`names` of `len`
/// bytes at file offset `base`) is `.resource_table`. Only as many bytes as
/// the name and its NUL are read; a name cut by the table's end is compared
/// up to there, as a C string would be.
fn is_table_name<S: ImageSource + ?Sized>(
    src: &mut S,
    size: u64,
    (base, len): (u64, u64),
    at: u32,
) -> Result<bool, S::Error> {
    const WANTED: &[u8] = RESOURCE_TABLE_SECTION.as_bytes();
    let at = u64::from(at);
    let Some(avail) = len.checked_sub(at) else {
        return Ok(false);
    };
    let mut buf = [0u8; RESOURCE_TABLE_SECTION.len() + 1];
    let n = buf.len().min(usize::try_from(avail).unwrap_or(usize::MAX));
    let bytes = buf.get_mut(..n).unwrap_or_default();
    // Inside the name table, which is inside the image.
    read(src, size, base + at, bytes, ElfField::SectionNames)?;
    let name = bytes.split(|&b| b == 0).next().unwrap_or_default();
    Ok(name == WANTED)
}

/// Finds the `.resource_table` section (the first of that name) and checks
/// that its bytes are in the file. `None` if the image has no section
/// headers or no such section.
pub(crate) fn table_section<S: ImageSource + ?Sized>(
    src: &mut S,
    size: u64,
    h: &Header,
    class: Class,
    limits: &ElfLimits<'_>,
) -> Result<Option<RawSection>, S::Error> {
    let count = usize::from(h.e_shnum);
    if count == 0 || h.e_shoff == 0 {
        return Ok(None);
    }
    let entsize = class.shentsize();
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
    check_range(
        size,
        h.e_shoff,
        (count * entsize) as u64,
        ElfField::SectionHeaders,
    )?;
    let sections = Sections {
        class,
        shoff: h.e_shoff,
        count,
    };
    // With 0xff00 sections or more, the name table's index is in section 0.
    let strndx = match h.e_shstrndx {
        SHN_XINDEX => sections.get(src, size, 0)?.sh_link as usize,
        i => usize::from(i),
    };
    if strndx >= sections.count {
        return Err(bad(ElfField::ShStrNdx, h.e_shstrndx, "names no section").into());
    }
    let strtab = sections.get(src, size, strndx)?;
    if strtab.sh_size > limits.max_shstrtab {
        return Err(Error::ElfTooLarge {
            field: ElfField::SectionNames,
            value: strtab.sh_size,
            max: limits.max_shstrtab,
        }
        .into());
    }
    check_range(
        size,
        strtab.sh_offset,
        strtab.sh_size,
        ElfField::SectionNames,
    )?;
    let names = (strtab.sh_offset, strtab.sh_size);
    let mut found = None;
    for i in 0..sections.count {
        let s = sections.get(src, size, i)?;
        if is_table_name(src, size, names, s.sh_name)? {
            found = Some(s);
            break;
        }
    }
    let Some(s) = found else {
        return Ok(None);
    };
    if s.sh_type == SHT_NOBITS {
        let reason = "NOBITS: the section has no bytes in the file";
        return Err(bad(ElfField::SectionType, s.sh_type, reason).into());
    }
    check_range(size, s.sh_offset, s.sh_size, ElfField::TableSection)?;
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
