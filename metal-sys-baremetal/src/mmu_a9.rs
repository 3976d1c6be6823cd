//! The Cortex-A9's MMU and L1 caches (Zynq-7000): a flat map of the 4 GiB
//! with DDR cached, where the application says which ranges are shared
//! (non-cacheable).
//!
//! With the MMU off every A9 data access is Strongly-ordered: no caches,
//! and exclusive loads/stores (`openamp_metal::Mutex`, atomic
//! read-modify-writes) on DDR are not dependable on Zynq-7000. `enable`
//! gives the usual configuration instead:
//!
//! - DDR (0..1 GiB) Normal, write-back write-allocate cached, executable;
//! - everything else Device, never executable;
//! - each [`Region`] the caller passes overrides that, 4 KiB-granular
//!   (Normal non-cacheable shareable for memory shared with the other core
//!   or a device, as Xilinx's `NORM_SHARED_NCACHE`).
//!
//! Short descriptors, TTBR0 only: 1 MiB sections where a whole section has
//! one rule, coarse tables of 4 KiB small pages where it does not (at most
//! [`MAX_PAGE_TABLES`] such sections). The PL310 L2 cache stays off.

// The table logic builds (and is tested) everywhere; only the A9 enables it.
#![cfg_attr(not(all(machine, feature = "zynq7000")), allow(dead_code))]

#[cfg(all(machine, feature = "zynq7000"))]
use core::cell::UnsafeCell;
#[cfg(all(machine, feature = "zynq7000"))]
use core::sync::atomic::{AtomicBool, Ordering};

use openamp_metal::{Error, Result};

pub use crate::mmu::Memory;

/// A range mapped unlike the default: `len` bytes at `addr` (identity), of
/// type `memory`. Both must be 4 KiB multiples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Start.
    pub addr: u32,
    /// Length in bytes.
    pub len: u32,
    /// Memory type.
    pub memory: Memory,
}

const PAGE: u32 = 0x1000;
const SECTION: u32 = 0x10_0000;
/// How many 1 MiB sections may need page tables.
pub const MAX_PAGE_TABLES: usize = 8;
/// Where DDR ends in the default map (Zynq-7000: up to 1 GiB at 0).
const DDR_END: u32 = 0x4000_0000;

fn rule(regions: &[Region], addr: u32) -> Memory {
    regions
        .iter()
        .rev()
        .find(|r| addr >= r.addr && addr - r.addr < r.len)
        .map(|r| r.memory)
        .unwrap_or(if addr < DDR_END {
            Memory::Cached
        } else {
            Memory::Device
        })
}

/// TEX, C, B and S of a memory type.
fn tex_c_b_s(memory: Memory) -> (u32, u32, u32, u32) {
    match memory {
        Memory::Device => (0b000, 0, 1, 1),
        Memory::Cached => (0b001, 1, 1, 0),
        Memory::Uncached => (0b001, 0, 0, 1),
    }
}

/// A section descriptor for `base` (full access, domain 0).
fn section(base: u32, memory: Memory) -> u32 {
    let (tex, c, b, s) = tex_c_b_s(memory);
    let xn = u32::from(memory == Memory::Device);
    base | (s << 16) | (tex << 12) | (0b11 << 10) | (xn << 4) | (c << 3) | (b << 2) | 0b10
}

/// A small-page descriptor for `base` (full access).
fn small_page(base: u32, memory: Memory) -> u32 {
    let (tex, c, b, s) = tex_c_b_s(memory);
    let xn = u32::from(memory == Memory::Device);
    base | (s << 10) | (tex << 6) | (0b11 << 4) | (c << 3) | (b << 2) | 0b10 | xn
}

/// The L1 table (16 KiB aligned) and the coarse tables (1 KiB aligned).
#[repr(C, align(16384))]
struct Tables {
    l1: [u32; 4096],
    l2: [[u32; 256]; MAX_PAGE_TABLES],
}

/// Fills `t` for `regions`; `l2_base` is the address the MMU sees the
/// coarse tables at. Pure: also runs in host tests.
fn build(t: &mut Tables, l2_base: u32, regions: &[Region]) -> Result<()> {
    for r in regions {
        if (r.addr | r.len) % PAGE != 0 || r.len == 0 || r.addr.checked_add(r.len - 1).is_none() {
            return Err(Error::InvalidRegion {
                reason: "MMU regions must be whole, non-empty 4 KiB pages in the 4 GiB",
            });
        }
    }
    let mut used = 0;
    for i in 0..4096u32 {
        let base = i * SECTION;
        let first = rule(regions, base);
        let uniform = (0..256).all(|p| rule(regions, base + p * PAGE) == first);
        t.l1[i as usize] = if uniform {
            section(base, first)
        } else {
            let l2 = t.l2.get_mut(used).ok_or(Error::InvalidRegion {
                reason: "too many 1 MiB sections need page tables (MAX_PAGE_TABLES)",
            })?;
            for (p, e) in l2.iter_mut().enumerate() {
                let page = base + p as u32 * PAGE;
                *e = small_page(page, rule(regions, page));
            }
            let entry = (l2_base + used as u32 * 1024) | 0b01;
            used += 1;
            entry
        };
    }
    Ok(())
}

#[cfg(all(machine, feature = "zynq7000"))]
struct TableCell(UnsafeCell<Tables>);
// SAFETY: written only by `build`, run once (ENABLED) on this image's one
// core before the MMU reads the tables; afterwards only the MMU reads them.
#[cfg(all(machine, feature = "zynq7000"))]
unsafe impl Sync for TableCell {}
#[cfg(all(machine, feature = "zynq7000"))]
static TABLES: TableCell = TableCell(UnsafeCell::new(Tables {
    l1: [0; 4096],
    l2: [[0; 256]; MAX_PAGE_TABLES],
}));
#[cfg(all(machine, feature = "zynq7000"))]
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Builds the tables and turns the MMU, the L1 caches and branch
/// prediction on. Once per image, early, with the MMU off.
#[cfg(all(machine, feature = "zynq7000"))]
pub fn enable(regions: &[Region]) -> Result<()> {
    if ENABLED.swap(true, Ordering::Relaxed) {
        return Err(Error::InvalidRegion {
            reason: "the MMU is already on",
        });
    }
    // SAFETY: ENABLED makes this the only access to the tables ever made
    // from Rust; the MMU is off, so nothing reads them yet.
    let tables = unsafe { &mut *TABLES.0.get() };
    let l2_base = core::ptr::addr_of!(tables.l2) as u32;
    build(tables, l2_base, regions)?;
    let ttbr0 = core::ptr::addr_of!(tables.l1) as u32 | 0b100_1010; // walks cached WB, shareable
                                                                    // SAFETY: the tables map this image (DDR) identity and cached, so the
                                                                    // code keeps running as the MMU comes on. Before that: the L1 data
                                                                    // cache is invalidated by set/way (the A9 does not do it at reset, and
                                                                    // it was off, so it holds nothing we need), then the instruction
                                                                    // cache, branch predictor and TLBs; domain 0 is a client; TTBCR = 0
                                                                    // (TTBR0 for everything). Then SCTLR.M, C, Z and I.
    unsafe {
        core::arch::asm!(
            // Invalidate the L1 data cache by set/way (CCSIDR of level 1 data).
            "mov {t}, #0",
            "mcr p15, 2, {t}, c0, c0, 0",
            "isb",
            "mrc p15, 1, {t}, c0, c0, 0",
            "ubfx {ways}, {t}, #3, #10",
            "ubfx {sets}, {t}, #13, #15",
            "and {line}, {t}, #7",
            "add {line}, {line}, #4",
            // way index in the top bits: shift = clz(ways)
            "clz {shift}, {ways}",
            "2:",
            "mov {s}, {sets}",
            "3:",
            "lsl {t}, {ways}, {shift}",
            "orr {t}, {t}, {s}, lsl {line}",
            "mcr p15, 0, {t}, c7, c6, 2",
            "subs {s}, {s}, #1",
            "bge 3b",
            "subs {ways}, {ways}, #1",
            "bge 2b",
            "dsb",
            "mov {t}, #0",
            "mcr p15, 0, {t}, c7, c5, 0",  // ICIALLU
            "mcr p15, 0, {t}, c7, c5, 6",  // BPIALL
            "mcr p15, 0, {t}, c8, c7, 0",  // TLBIALL
            "mcr p15, 0, {t}, c2, c0, 2",  // TTBCR = 0
            "mcr p15, 0, {ttbr}, c2, c0, 0",
            "mov {t}, #1",
            "mcr p15, 0, {t}, c3, c0, 0",  // DACR: domain 0 client
            "dsb",
            "isb",
            "mrc p15, 0, {t}, c1, c0, 0",
            "orr {t}, {t}, #(1 << 0)",
            "orr {t}, {t}, #(1 << 2)",
            "orr {t}, {t}, #(1 << 11)",
            "orr {t}, {t}, #(1 << 12)",
            "mcr p15, 0, {t}, c1, c0, 0",
            "isb",
            t = out(reg) _,
            ways = out(reg) _,
            sets = out(reg) _,
            line = out(reg) _,
            shift = out(reg) _,
            s = out(reg) _,
            ttbr = in(reg) ttbr0,
            options(nostack)
        )
    };
    Ok(())
}

/// Whether the MMU and the L1 caches are on (SCTLR.M, .C and .I).
#[cfg(all(machine, feature = "zynq7000"))]
pub fn is_enabled() -> bool {
    let sctlr: u32;
    // SAFETY: reading SCTLR has no side effects.
    unsafe {
        core::arch::asm!("mrc p15, 0, {}, c1, c0, 0", out(reg) sctlr, options(nomem, nostack, preserves_flags))
    };
    sctlr & 0x1005 == 0x1005
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> Box<Tables> {
        // SAFETY: Tables is plain integers; all-zero is a valid value.
        unsafe { Box::new_zeroed().assume_init() }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "integer arithmetic over every page of 4 GiB: minutes under Miri"
    )]
    fn default_map_and_descriptors() {
        let mut t = tables();
        build(&mut t, 0x1000_0000, &[]).unwrap();
        // DDR: section, TEX 001 C B, full access, executable, not shared.
        assert_eq!(t.l1[1], 0x0010_0000 | (0b001 << 12) | (0b11 << 10) | 0b1110);
        // Above DDR: Device (B, shareable), never executable.
        assert_eq!(
            t.l1[0xE00],
            0xE000_0000 | (1 << 16) | (0b11 << 10) | (1 << 4) | 0b0110
        );
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "integer arithmetic over every page of 4 GiB: minutes under Miri"
    )]
    fn a_shared_range_inside_a_section_gets_small_pages() {
        let mut t = tables();
        let shared = Region {
            addr: 0x0014_0000,
            len: 0x5_0000,
            memory: Memory::Uncached,
        };
        build(&mut t, 0x1000_0000, &[shared]).unwrap();
        assert_eq!(t.l1[1], 0x1000_0000 | 0b01, "coarse table at l2_base");
        let page = |a: u32| t.l2[0][((a % SECTION) / PAGE) as usize];
        assert_eq!(page(0x0013_F000) & 0xFFFF_F000, 0x0013_F000);
        assert_eq!((page(0x0013_F000) >> 2) & 3, 0b11, "cached before");
        let nc = page(0x0014_0000);
        assert_eq!(
            nc,
            0x0014_0000 | (1 << 10) | (0b001 << 6) | (0b11 << 4) | 0b10
        );
        assert_eq!((page(0x0019_0000) >> 2) & 3, 0b11, "cached after");
        assert_eq!(t.l1[2] & 0b11, 0b10, "the next section is a section");
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "integer arithmetic over every page of 4 GiB: minutes under Miri"
    )]
    fn bad_regions_are_refused() {
        for bad in [
            Region {
                addr: 0x800,
                len: PAGE,
                memory: Memory::Device,
            },
            Region {
                addr: 0,
                len: 0,
                memory: Memory::Device,
            },
            Region {
                addr: 0xFFFF_F000,
                len: 2 * PAGE,
                memory: Memory::Device,
            },
        ] {
            assert!(build(&mut tables(), 0, &[bad]).is_err(), "{bad:?}");
        }
        let many: Vec<Region> = (0..=MAX_PAGE_TABLES as u32)
            .map(|i| Region {
                addr: i * SECTION,
                len: PAGE,
                memory: Memory::Uncached,
            })
            .collect();
        assert!(build(&mut tables(), 0, &many).is_err());
    }
}
