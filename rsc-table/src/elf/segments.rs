//! The program headers: every loadable segment, checked on its own and
//! against the others.

use super::layout::{Class, Header, Phdr, MAX_HEADER_SIZE, PT_LOAD};
use super::{bad, check_range, read, ElfLimits, ImageSource, Segment, MAX_LOAD_SEGMENTS};
use crate::error::{ElfField, Error};

/// The end of an address range, if it stays inside the address space: 4 GiB
/// for ELF32 (whose addresses are 32 bits: `0xffff_ff00 + 0x400` names no
/// memory, even though it fits a `u64`), 2^64 for ELF64.
fn range_end(class: Class, start: u64, len: u64) -> Option<u64> {
    let end = start.checked_add(len)?;
    match class {
        Class::Elf32 => (end <= 1 << 32).then_some(end),
        Class::Elf64 => Some(end),
    }
}

/// Reads the program headers one at a time and checks every `PT_LOAD`
/// segment with a memory size; puts them in `out`, in program header order,
/// and returns how many there are.
pub(crate) fn check<S: ImageSource + ?Sized>(
    src: &mut S,
    size: u64,
    h: &Header,
    class: Class,
    limits: &ElfLimits<'_>,
    out: &mut [Segment; MAX_LOAD_SEGMENTS],
) -> Result<usize, S::Error> {
    let entsize = class.phentsize();
    if usize::from(h.e_phentsize) != entsize {
        let e = bad(
            ElfField::PhEntSize,
            h.e_phentsize,
            "does not match the class",
        );
        return Err(e.into());
    }
    let count = usize::from(h.e_phnum);
    if count > limits.max_segments {
        return Err(Error::ElfTooLarge {
            field: ElfField::PhNum,
            value: count as u64,
            max: limits.max_segments as u64,
        }
        .into());
    }
    // The whole table first, so that a table cut short is named as such.
    // At most 64 Ki entries of 56 bytes: no overflow.
    let table_len = (count * entsize) as u64;
    check_range(size, h.e_phoff, table_len, ElfField::ProgramHeaders)?;
    let mut n = 0;
    for index in 0..count {
        let mut buf = [0u8; MAX_HEADER_SIZE];
        let bytes = buf.get_mut(..entsize).unwrap_or_default();
        // Inside the table just checked.
        let at = h.e_phoff + (index * entsize) as u64;
        read(src, size, at, bytes, ElfField::ProgramHeaders)?;
        let p =
            Phdr::decode(class, bytes).ok_or(bad(ElfField::ProgramHeaders, at, "unreadable"))?;
        if p.p_type != PT_LOAD || p.p_memsz == 0 {
            continue;
        }
        let s = segment(index, &p, class, size, limits)?;
        let loaded = out.get(..n).unwrap_or_default();
        let end = s.da + s.memsz; // checked by `segment`
        if let Some(other) = loaded.iter().find(|o| s.da < o.da + o.memsz && o.da < end) {
            return Err(Error::SegmentOverlap {
                index,
                start: s.da,
                end,
                other: other.index,
            }
            .into());
        }
        let slot = out.get_mut(n).ok_or(Error::ElfTooLarge {
            field: ElfField::LoadSegments,
            value: n as u64 + 1,
            max: MAX_LOAD_SEGMENTS as u64,
        })?;
        *slot = s;
        n += 1;
    }
    Ok(n)
}

/// One loadable segment, checked on its own.
fn segment(
    index: usize,
    p: &Phdr,
    class: Class,
    size: u64,
    limits: &ElfLimits<'_>,
) -> Result<Segment, Error> {
    let invalid = |field, addr, reason| Error::SegmentSize {
        index,
        field,
        addr,
        filesz: p.p_filesz,
        memsz: p.p_memsz,
        reason,
    };
    if p.p_filesz > p.p_memsz {
        let reason = "file size larger than memory size";
        return Err(invalid(ElfField::FileSize, p.p_paddr, reason));
    }
    if p.p_memsz > limits.max_segment {
        let reason = "larger than the loader accepts";
        return Err(invalid(ElfField::MemSize, p.p_paddr, reason));
    }
    let wraps = match class {
        Class::Elf32 => "address range wraps past 4 GiB",
        Class::Elf64 => "address range wraps past the end of the address space",
    };
    if range_end(class, p.p_paddr, p.p_memsz).is_none() {
        return Err(invalid(ElfField::PhysAddr, p.p_paddr, wraps));
    }
    if range_end(class, p.p_vaddr, p.p_memsz).is_none() {
        return Err(invalid(ElfField::VirtAddr, p.p_vaddr, wraps));
    }
    if p.p_offset.checked_add(p.p_filesz).is_none_or(|e| e > size) {
        return Err(Error::SegmentTruncated {
            index,
            offset: p.p_offset,
            filesz: p.p_filesz,
            size,
        });
    }
    Ok(Segment {
        index,
        da: p.p_paddr,
        vaddr: p.p_vaddr,
        offset: p.p_offset,
        filesz: p.p_filesz,
        memsz: p.p_memsz,
    })
}
