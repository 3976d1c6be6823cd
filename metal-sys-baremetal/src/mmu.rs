//! The A53's MMU and caches: a flat map of the low 4 GiB with the caches
//! on, where the application says which ranges are shared (non-cacheable)
//! and which are mapped elsewhere.
//!
//! With the MMU off (how the A53 leaves reset and how ATF hands over) every
//! data access is Device memory: no caches, no unaligned accesses, and
//! exclusive loads and stores (what `openamp_metal::Mutex` and every atomic
//! read-modify-write compile to) depend on the interconnect. `enable`
//! gives the usual bare-metal configuration instead:
//!
//! - DDR (0..2 GiB) is Normal memory, write-back cached, inner shareable,
//!   executable: the image, its stack, its heap;
//! - everything above 2 GiB (PL, peripherals, OCM) is Device-nGnRE, never
//!   executable;
//! - each [`Region`] the caller passes overrides that, 4 KiB-granular: the
//!   memory shared with another core as Normal non-cacheable (Xilinx's
//!   `NORM_SHARED_NCACHE`), so that neither side needs cache maintenance;
//!   and, if it says so, at another physical address (under QEMU, which
//!   models no TCM, the R5's TCM window is DDR at 0x0).
//!
//! Translation: 4 KiB granule, 32-bit input addresses (TTBR0 only, starting
//! at level 1), 2 MiB blocks where a whole block has one rule and level-3
//! pages where it does not (at most [`MAX_PAGE_TABLES`] such blocks).

// The table logic builds (and is tested) everywhere; only the A53 enables it.
#![cfg_attr(not(all(machine, target_arch = "aarch64")), allow(dead_code))]

#[cfg(all(machine, target_arch = "aarch64"))]
use core::cell::UnsafeCell;
#[cfg(all(machine, target_arch = "aarch64"))]
use core::sync::atomic::{AtomicBool, Ordering};

use openamp_metal::{Error, Result};

/// Memory types, as indices into MAIR_EL1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memory {
    /// Device-nGnRE: registers.
    Device,
    /// Normal, write-back cached (inner and outer, read/write allocate).
    Cached,
    /// Normal, non-cacheable: memory shared with a core or device that does
    /// not snoop this core's caches.
    Uncached,
}

impl Memory {
    fn attr_index(self) -> u64 {
        match self {
            Memory::Device => 0,
            Memory::Cached => 1,
            Memory::Uncached => 2,
        }
    }
}

/// MAIR_EL1: attribute 0 Device-nGnRE, 1 Normal WB RWA, 2 Normal non-cacheable.
const MAIR: u64 = 0x04 | (0xFF << 8) | (0x44 << 16);

/// A range mapped unlike the default: `len` bytes at virtual `va` to
/// physical `pa`, of type `memory`. All three must be 4 KiB multiples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Virtual start.
    pub va: u64,
    /// Physical start.
    pub pa: u64,
    /// Length in bytes.
    pub len: u64,
    /// Memory type.
    pub memory: Memory,
}

impl Region {
    /// `len` bytes at `addr` (identity), as `memory`.
    pub const fn identity(addr: u64, len: u64, memory: Memory) -> Self {
        Region {
            va: addr,
            pa: addr,
            len,
            memory,
        }
    }
}

const PAGE: u64 = 0x1000;
const BLOCK: u64 = 0x20_0000;
const GIB: u64 = 0x4000_0000;
/// How many 2 MiB blocks may need page tables (ranges not aligned to 2 MiB).
pub const MAX_PAGE_TABLES: usize = 8;
/// Where DDR ends in the default map (ZynqMP's low DDR).
const DDR_END: u64 = 0x8000_0000;

/// The default rule for a virtual address: identity, DDR cached, the rest Device.
fn default_rule(va: u64) -> (u64, Memory) {
    (
        va,
        if va < DDR_END {
            Memory::Cached
        } else {
            Memory::Device
        },
    )
}

/// What `va` maps to: the last region that holds it, or the default.
fn rule(regions: &[Region], va: u64) -> (u64, Memory) {
    regions
        .iter()
        .rev()
        .find(|r| va >= r.va && va - r.va < r.len)
        .map(|r| (r.pa + (va - r.va), r.memory))
        .unwrap_or_else(|| default_rule(va))
}

/// Whether the 2 MiB block at `va` maps uniformly (one memory type, one
/// contiguous, block-aligned physical range), and to what.
fn uniform_block(regions: &[Region], va: u64) -> Option<(u64, Memory)> {
    let (pa, memory) = rule(regions, va);
    if pa % BLOCK != 0 {
        return None;
    }
    let mut page = va;
    while page < va + BLOCK {
        if rule(regions, page) != (pa + (page - va), memory) {
            return None;
        }
        page += PAGE;
    }
    Some((pa, memory))
}

/// The lower and upper attributes of a block or page descriptor.
fn attrs(memory: Memory) -> u64 {
    const AF: u64 = 1 << 10;
    const INNER_SHAREABLE: u64 = 0b11 << 8;
    const XN: u64 = (1 << 54) | (1 << 53);
    let base = (memory.attr_index() << 2) | AF;
    match memory {
        Memory::Device => base | XN,
        Memory::Cached | Memory::Uncached => base | INNER_SHAREABLE,
    }
}

/// One translation table.
#[repr(C, align(4096))]
struct Table([u64; 512]);

/// Level 1 (4 entries used), level 2 (one per GiB), level 3 (as needed).
#[repr(C)]
struct Tables {
    l1: Table,
    l2: [Table; 4],
    l3: [Table; MAX_PAGE_TABLES],
}

#[cfg(all(machine, target_arch = "aarch64"))]
struct TableCell(UnsafeCell<Tables>);
// SAFETY: the tables are written only by `build`, which `enable` runs once
// (guarded by ENABLED) on the one core of this image before the MMU reads
// them; afterwards only the MMU reads them.
#[cfg(all(machine, target_arch = "aarch64"))]
unsafe impl Sync for TableCell {}

#[cfg(all(machine, target_arch = "aarch64"))]
static TABLES: TableCell = TableCell(UnsafeCell::new(Tables {
    l1: Table([0; 512]),
    l2: [const { Table([0; 512]) }; 4],
    l3: [const { Table([0; 512]) }; MAX_PAGE_TABLES],
}));
#[cfg(all(machine, target_arch = "aarch64"))]
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Fills `t` for `regions`. Pure: also runs in host tests.
fn build(t: &mut Tables, regions: &[Region]) -> Result<()> {
    for r in regions {
        if (r.va | r.pa | r.len) % PAGE != 0 || r.len == 0 {
            return Err(Error::InvalidRegion {
                reason: "MMU regions must be whole, non-empty 4 KiB pages",
            });
        }
        if r.va.checked_add(r.len).is_none_or(|e| e > 4 * GIB)
            || r.pa.checked_add(r.len).is_none_or(|e| e > 4 * GIB)
        {
            return Err(Error::InvalidRegion {
                reason: "MMU regions must lie in the low 4 GiB",
            });
        }
    }
    let l2_base = core::ptr::addr_of!(t.l2) as u64;
    let l3_base = core::ptr::addr_of!(t.l3) as u64;
    let mut used_l3 = 0;
    for gib in 0..4u64 {
        t.l1.0[gib as usize] = (l2_base + gib * PAGE) | 0b11;
        for block in 0..512u64 {
            let va = gib * GIB + block * BLOCK;
            let entry = match uniform_block(regions, va) {
                Some((pa, memory)) => pa | attrs(memory) | 0b01,
                None => {
                    let l3 = t.l3.get_mut(used_l3).ok_or(Error::InvalidRegion {
                        reason: "too many 2 MiB blocks need page tables (MAX_PAGE_TABLES)",
                    })?;
                    for (i, e) in l3.0.iter_mut().enumerate() {
                        let (pa, memory) = rule(regions, va + i as u64 * PAGE);
                        *e = pa | attrs(memory) | 0b11;
                    }
                    let entry = (l3_base + used_l3 as u64 * PAGE) | 0b11;
                    used_l3 += 1;
                    entry
                }
            };
            t.l2[gib as usize].0[block as usize] = entry;
        }
    }
    Ok(())
}

/// Builds the tables for `regions` and turns the MMU and both caches on.
#[cfg(all(machine, target_arch = "aarch64"))]
/// Once per image, early (before the interrupt set-up), at EL1.
pub fn enable(regions: &[Region]) -> Result<()> {
    if ENABLED.swap(true, Ordering::Relaxed) {
        return Err(Error::InvalidRegion {
            reason: "the MMU is already on",
        });
    }
    // SAFETY: ENABLED makes this the only access to the tables ever made
    // from Rust; the MMU is off, so nothing reads them yet.
    let tables = unsafe { &mut *TABLES.0.get() };
    build(tables, regions)?;
    let ttbr = core::ptr::addr_of!(tables.l1) as u64;
    // T0SZ = 32 (4 GiB), walks cached inner/outer WB, inner shareable, 4 KiB
    // granule, no TTBR1 walks (EPD1), 32-bit physical addresses.
    let tcr: u64 = 32 | (0b01 << 8) | (0b01 << 10) | (0b11 << 12) | (1 << 23);
    // SAFETY: the tables map this image's code, data and stack identity
    // (DDR, cached) unless the caller remapped them, which the docs forbid;
    // the barriers make the table writes visible to the walker before the
    // MMU is turned on, and SCTLR's write is followed by an isb. With the
    // data cache off until now, memory holds everything written so far.
    unsafe {
        core::arch::asm!(
            "dsb ish",
            "tlbi vmalle1",
            "dsb ish",
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "msr ttbr0_el1, {ttbr}",
            "isb",
            "mrs {t}, sctlr_el1",
            "orr {t}, {t}, #(1 << 0)",
            "orr {t}, {t}, #(1 << 2)",
            "orr {t}, {t}, #(1 << 12)",
            "msr sctlr_el1, {t}",
            "isb",
            mair = in(reg) MAIR,
            tcr = in(reg) tcr,
            ttbr = in(reg) ttbr,
            t = out(reg) _,
            options(nostack)
        )
    };
    Ok(())
}

/// Whether [`enable`] has run.
#[cfg(all(machine, target_arch = "aarch64"))]
pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> Box<Tables> {
        // SAFETY: Tables is plain integers; all-zero is a valid value.
        unsafe { Box::new_zeroed().assume_init() }
    }

    fn block_entry(t: &Tables, va: u64) -> u64 {
        t.l2[(va / GIB) as usize].0[((va % GIB) / BLOCK) as usize]
    }

    /// The level-3 entry of `va` (its block must have a page table).
    fn page_entry(t: &Tables, va: u64) -> u64 {
        let e = block_entry(t, va);
        assert_eq!(e & 0b11, 0b11, "{va:#x}: block has a page table");
        let base = core::ptr::addr_of!(t.l3) as u64;
        let index = ((e & !0xFFF & ((1 << 48) - 1)) - base) / PAGE;
        t.l3[index as usize].0[((va % BLOCK) / PAGE) as usize]
    }

    fn out_addr(e: u64) -> u64 {
        e & 0x0000_FFFF_FFFF_F000
    }

    fn attr_index(e: u64) -> u64 {
        (e >> 2) & 7
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "integer arithmetic over every page of 4 GiB: minutes under Miri"
    )]
    fn default_map_is_cached_ddr_and_device_above() {
        let mut t = tables();
        build(&mut t, &[]).unwrap();
        let l2 = core::ptr::addr_of!(t.l2) as u64;
        for gib in 0..4 {
            assert_eq!(t.l1.0[gib], (l2 + gib as u64 * PAGE) | 0b11);
        }
        let ddr = block_entry(&t, 0x1000_0000);
        assert_eq!(ddr & 0b11, 0b01, "a block");
        assert_eq!(out_addr(ddr), 0x1000_0000);
        assert_eq!(attr_index(ddr), 1);
        assert_eq!(ddr & (1 << 10), 1 << 10, "access flag");
        assert_eq!((ddr >> 8) & 3, 0b11, "inner shareable");
        assert_eq!(ddr & (1 << 54), 0, "executable");
        let dev = block_entry(&t, 0xFF00_0000);
        assert_eq!(attr_index(dev), 0);
        assert_ne!(dev & (1 << 54), 0, "device memory is never executable");
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "integer arithmetic over every page of 4 GiB: minutes under Miri"
    )]
    fn shared_window_gets_pages_at_its_unaligned_edges() {
        let mut t = tables();
        let shared = Region::identity(0x3ED0_0000, 0x14_8000, Memory::Uncached);
        build(&mut t, &[shared]).unwrap();
        // 0x3EC00000..0x3EE00000 holds the start: pages.
        assert_eq!(attr_index(page_entry(&t, 0x3EC0_0000)), 1, "before: cached");
        let first = page_entry(&t, 0x3ED0_0000);
        assert_eq!((out_addr(first), attr_index(first)), (0x3ED0_0000, 2));
        // 0x3EE00000..0x3F000000 holds the end (0x3EE48000).
        let last = page_entry(&t, 0x3EE4_7000);
        assert_eq!((out_addr(last), attr_index(last)), (0x3EE4_7000, 2));
        assert_eq!(attr_index(page_entry(&t, 0x3EE4_8000)), 1, "after: cached");
        // Untouched blocks stay blocks.
        assert_eq!(block_entry(&t, 0x3F00_0000) & 0b11, 0b01);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "integer arithmetic over every page of 4 GiB: minutes under Miri"
    )]
    fn a_remapped_window_points_elsewhere() {
        let mut t = tables();
        // QEMU's stand-in for the R5's TCM: VA 0xFFE00000 -> DDR at 0.
        let tcm = Region {
            va: 0xFFE0_0000,
            pa: 0,
            len: 0x3_0000,
            memory: Memory::Uncached,
        };
        build(&mut t, &[tcm]).unwrap();
        let e = page_entry(&t, 0xFFE0_0000);
        assert_eq!((out_addr(e), attr_index(e)), (0, 2));
        let e = page_entry(&t, 0xFFE2_F000);
        assert_eq!(out_addr(e), 0x2_F000);
        let e = page_entry(&t, 0xFFE3_0000);
        assert_eq!(
            (out_addr(e), attr_index(e)),
            (0xFFE3_0000, 0),
            "identity again"
        );
        // A block-aligned remap needs no pages.
        let mut t = tables();
        let moved = Region {
            va: 0x4000_0000,
            pa: 0x2000_0000,
            len: 2 * BLOCK,
            memory: Memory::Cached,
        };
        build(&mut t, &[moved]).unwrap();
        let e = block_entry(&t, 0x4020_0000);
        assert_eq!((e & 0b11, out_addr(e)), (0b01, 0x2020_0000));
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "integer arithmetic over every page of 4 GiB: minutes under Miri"
    )]
    fn later_regions_win_and_bad_ones_are_refused() {
        let mut t = tables();
        let a = Region::identity(0x1000_0000, BLOCK, Memory::Uncached);
        let b = Region::identity(0x1000_0000, BLOCK, Memory::Device);
        build(&mut t, &[a, b]).unwrap();
        assert_eq!(attr_index(block_entry(&t, 0x1000_0000)), 0);
        for bad in [
            Region::identity(0x1000_0800, PAGE, Memory::Device),
            Region::identity(0x1000_0000, 0, Memory::Device),
            Region::identity(0xFFFF_F000, 2 * PAGE, Memory::Device),
        ] {
            assert!(build(&mut tables(), &[bad]).is_err(), "{bad:?}");
        }
        // Nine blocks with pages is one too many.
        let many: Vec<Region> = (0..=MAX_PAGE_TABLES as u64)
            .map(|i| Region::identity(i * BLOCK, PAGE, Memory::Uncached))
            .collect();
        assert!(build(&mut tables(), &many).is_err());
    }
}
