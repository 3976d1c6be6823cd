//! The Cortex-R5's memory protection unit and caches: regions with memory
//! types, so that the image runs cached and what it shares with another
//! core is not.
//!
//! With the MPU off the R5 uses its default memory map, with the caches off.
//! `enable` programs the regions the caller lists (later ones take
//! priority where they overlap, as the MPU's higher region numbers do),
//! turns the MPU on without the background region (an access outside every
//! region faults), invalidates both caches and turns them on.
//!
//! A region's base must be a multiple of its size, a power of two from
//! 32 bytes to 4 GiB. The usual set for a firmware in a DDR carveout:
//! everything Device (peripherals), all of DDR Normal non-cacheable (shared
//! memory, wherever a host puts the vrings), the firmware's carveout Normal
//! write-back cached, and over it, non-cacheable again, the resource table
//! (the host writes its status and vring addresses) and any other page the
//! host reads while the firmware runs (the trace buffer).

// The encoding builds (and is tested) everywhere; only the R5 programs it.
#![cfg_attr(not(all(machine, feature = "zynqmp-r5")), allow(dead_code))]

use openamp_metal::{Error, Result};

/// Memory types of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memory {
    /// Strongly-ordered.
    StronglyOrdered,
    /// Device, shareable: registers.
    Device,
    /// Normal, write-back write-allocate cached, non-shareable.
    Cached,
    /// Normal, non-cacheable, shareable: memory shared with another core
    /// (Xilinx's `NORM_SHARED_NCACHE`).
    Uncached,
}

/// One MPU region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Start (a multiple of the size).
    pub base: u32,
    /// The size is `1 << size_log2` bytes (5..=32).
    pub size_log2: u8,
    /// Memory type.
    pub memory: Memory,
    /// Whether code may run from it.
    pub execute: bool,
}

impl Region {
    /// A region of `1 << size_log2` bytes at `base`.
    pub const fn new(base: u32, size_log2: u8, memory: Memory, execute: bool) -> Self {
        Region {
            base,
            size_log2,
            memory,
            execute,
        }
    }

    /// The region's access control (DRACR) and size/enable (DRSR) values.
    fn encode(&self) -> Result<(u32, u32)> {
        if !(5..=32).contains(&self.size_log2) {
            return Err(Error::InvalidRegion {
                reason: "MPU region sizes are 32 bytes to 4 GiB",
            });
        }
        let mask = if self.size_log2 == 32 {
            u32::MAX
        } else {
            (1u32 << self.size_log2) - 1
        };
        if self.base & mask != 0 {
            return Err(Error::InvalidRegion {
                reason: "an MPU region's base must be a multiple of its size",
            });
        }
        // TEX[5:3], S[2], C[1], B[0].
        let (tex, s, c, b) = match self.memory {
            Memory::StronglyOrdered => (0b000, 0, 0, 0),
            Memory::Device => (0b000, 1, 0, 1),
            Memory::Cached => (0b001, 0, 1, 1),
            Memory::Uncached => (0b001, 1, 0, 0),
        };
        // AP = 0b011: read/write at every privilege level.
        let xn = if self.execute { 0 } else { 1 << 12 };
        let dracr = xn | (0b011 << 8) | (tex << 3) | (s << 2) | (c << 1) | b;
        // Size field N: 2^(N+1) bytes; bit 0 enables.
        let drsr = (u32::from(self.size_log2 - 1) << 1) | 1;
        Ok((dracr, drsr))
    }
}

/// Checks `regions` and encodes them, for a unit with `available` regions.
fn plan(
    regions: &[Region],
    available: usize,
) -> Result<impl Iterator<Item = (u32, u32, u32)> + '_> {
    if regions.len() > available {
        return Err(Error::InvalidRegion {
            reason: "more MPU regions than the core has",
        });
    }
    for r in regions {
        r.encode()?;
    }
    Ok(regions
        .iter()
        .filter_map(|r| r.encode().ok().map(|(a, s)| (r.base, a, s))))
}

/// Programs `regions` (later ones win where they overlap), turns the MPU
/// on without a background region, then invalidates and enables the
/// instruction and data caches. Call it once, early, with nothing cached
/// yet that matters (the caches were off until now).
#[cfg(all(machine, feature = "zynqmp-r5"))]
pub fn enable(regions: &[Region]) -> Result<()> {
    let mpuir: u32;
    // SAFETY: reading MPUIR (the MPU's type register) has no side effects.
    unsafe {
        core::arch::asm!("mrc p15, 0, {}, c0, c0, 4", out(reg) mpuir, options(nomem, nostack, preserves_flags))
    };
    let available = ((mpuir >> 8) & 0xFF) as usize;
    let planned = plan(regions, available)?;
    for (i, (base, dracr, drsr)) in planned.enumerate() {
        // SAFETY: selects region `i` and writes its base, access control
        // and size; the MPU is off while we do this (or, if it was on, the
        // caller replaces the map that covers this code, which the docs
        // forbid), so no access is checked against a half-written region.
        unsafe {
            core::arch::asm!(
                "mcr p15, 0, {i}, c6, c2, 0",
                "mcr p15, 0, {base}, c6, c1, 0",
                "mcr p15, 0, {dracr}, c6, c1, 4",
                "mcr p15, 0, {drsr}, c6, c1, 2",
                i = in(reg) i as u32,
                base = in(reg) base,
                dracr = in(reg) dracr,
                drsr = in(reg) drsr,
                options(nostack)
            )
        };
    }
    // Disable the rest.
    for i in regions.len()..available {
        // SAFETY: as above; a zero DRSR disables region `i`.
        unsafe {
            core::arch::asm!(
                "mcr p15, 0, {i}, c6, c2, 0",
                "mcr p15, 0, {z}, c6, c1, 2",
                i = in(reg) i as u32,
                z = in(reg) 0u32,
                options(nostack)
            )
        };
    }
    // SAFETY: MPU on (SCTLR.M), background region off (SCTLR.BR = 0), then
    // both caches invalidated whole (nothing in them is valid: they were
    // off) and turned on (SCTLR.C, SCTLR.I). The regions cover this code,
    // its stack and data (the caller's map), so execution continues.
    unsafe {
        core::arch::asm!(
            "dsb",
            "mrc p15, 0, {t}, c1, c0, 0",
            "bic {t}, {t}, #(1 << 17)",
            "orr {t}, {t}, #1",
            "mcr p15, 0, {t}, c1, c0, 0",
            "isb",
            "mov {z}, #0",
            "mcr p15, 0, {z}, c15, c5, 0", // invalidate the whole data cache
            "mcr p15, 0, {z}, c7, c5, 0",  // and the instruction cache
            "dsb",
            "mrc p15, 0, {t}, c1, c0, 0",
            "orr {t}, {t}, #(1 << 2)",
            "orr {t}, {t}, #(1 << 12)",
            "mcr p15, 0, {t}, c1, c0, 0",
            "isb",
            t = out(reg) _,
            z = out(reg) _,
            options(nostack)
        )
    };
    Ok(())
}

/// Whether the MPU and both caches are on (SCTLR.M, .C and .I).
#[cfg(all(machine, feature = "zynqmp-r5"))]
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

    #[test]
    fn encodings() {
        let r = Region::new(0x3ED0_0000, 18, Memory::Cached, true);
        // TEX 001, C, B; full access; size field 17.
        assert_eq!(r.encode().unwrap(), (0x30B, (17 << 1) | 1));
        let r = Region::new(0, 31, Memory::Uncached, false);
        assert_eq!(r.encode().unwrap(), ((1 << 12) | 0x30C, (30 << 1) | 1));
        let r = Region::new(0, 32, Memory::Device, false);
        assert_eq!(r.encode().unwrap(), ((1 << 12) | 0x305, (31 << 1) | 1));
        let r = Region::new(0xF900_0000, 12, Memory::StronglyOrdered, false);
        assert_eq!(r.encode().unwrap().0, (1 << 12) | 0x300);
    }

    #[test]
    fn misaligned_or_odd_sizes_are_refused() {
        assert!(Region::new(0x3ED0_1000, 18, Memory::Cached, true)
            .encode()
            .is_err());
        assert!(Region::new(0, 4, Memory::Cached, true).encode().is_err());
        assert!(Region::new(0, 33, Memory::Cached, true).encode().is_err());
        let many = [Region::new(0, 32, Memory::Device, false); 17];
        assert!(plan(&many, 16).is_err());
        let planned: Vec<_> = plan(&many[..2], 16).unwrap().collect();
        assert_eq!(planned.len(), 2);
    }
}
