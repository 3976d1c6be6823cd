//! The program headers: every loadable segment, checked on its own and
//! against the others.

use alloc::vec::Vec;

use goblin::container::{Container, Ctx};
use goblin::elf::header::Header;
use goblin::elf::program_header::{ProgramHeader, PT_LOAD};

use super::{bad, read, ElfLimits, ImageSource, Segment};
use crate::error::{ElfField, Error};

/// The end of an address range, if it stays inside the address space: 4 GiB
/// for ELF32 (whose addresses are 32 bits: `0xffff_ff00 + 0x400` names no
/// memory, even though it fits a `u64`), 2^64 for ELF64.
fn range_end(ctx: Ctx, start: u64, len: u64) -> Option<u64> {
    let end = start.checked_add(len)?;
    match ctx.container {
        Container::Little => (end <= 1 << 32).then_some(end),
        Container::Big => Some(end),
    }
}

/// Reads the program headers and checks every `PT_LOAD` segment with a
/// memory size; returns them in program header order.
pub(crate) fn check<S: ImageSource + ?Sized>(
    src: &mut S,
    size: u64,
    h: &Header,
    ctx: Ctx,
    limits: &ElfLimits<'_>,
) -> Result<Vec<Segment>, S::Error> {
    let entsize = ProgramHeader::size(ctx);
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
    // At most 64 Ki entries of 56 bytes: no overflow.
    let len = count * entsize;
    let bytes = read(src, size, h.e_phoff, len, ElfField::ProgramHeaders)?;
    let phdrs = ProgramHeader::parse(&bytes, 0, count, ctx)
        .map_err(|_| bad(ElfField::ProgramHeaders, h.e_phoff, "unreadable"))?;
    let mut segments: Vec<Segment> = Vec::with_capacity(count);
    for (index, p) in phdrs.iter().enumerate() {
        if p.p_type != PT_LOAD || p.p_memsz == 0 {
            continue;
        }
        let s = segment(index, p, ctx, size, limits)?;
        let end = s.da + s.memsz; // checked by `segment`
        if let Some(other) = segments
            .iter()
            .find(|o| s.da < o.da + o.memsz && o.da < end)
        {
            return Err(Error::SegmentOverlap {
                index,
                start: s.da,
                end,
                other: other.index,
            }
            .into());
        }
        segments.push(s);
    }
    Ok(segments)
}

/// One loadable segment, checked on its own.
fn segment(
    index: usize,
    p: &ProgramHeader,
    ctx: Ctx,
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
    let wraps = match ctx.container {
        Container::Little => "address range wraps past 4 GiB",
        Container::Big => "address range wraps past the end of the address space",
    };
    if range_end(ctx, p.p_paddr, p.p_memsz).is_none() {
        return Err(invalid(ElfField::PhysAddr, p.p_paddr, wraps));
    }
    if range_end(ctx, p.p_vaddr, p.p_memsz).is_none() {
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
