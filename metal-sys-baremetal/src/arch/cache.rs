//! Data cache maintenance of the selected core, by virtual address.

use openamp_metal::CacheMaintenance;

mod plan;
use plan::{Level, Op, Step};

/// The data cache of the core this code runs on.
///
/// With the MMU or MPU off (as the examples run) the caches are off too and
/// these operations are harmless; they matter once an application maps
/// shared memory cacheable. On Zynq-7000 the PL310 L2 cache is maintained
/// too, by physical address, which equals the virtual one with the MMU off
/// or identity-mapped.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoreCache;

/// Smallest data cache line of the core, for stepping through a range.
#[cfg(target_arch = "arm")]
fn line_size() -> usize {
    32
}

/// From CTR_EL0.DminLine, so that the loop never skips a line.
#[cfg(target_arch = "aarch64")]
fn line_size() -> usize {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe {
        core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags))
    };
    4 << ((ctr >> 16) & 0xF)
}

/// The outer cache's line size, if this machine has one we maintain.
#[cfg(feature = "zynq7000")]
const OUTER_LINE: Option<usize> = Some(l2::LINE);
#[cfg(not(feature = "zynq7000"))]
const OUTER_LINE: Option<usize> = None;

/// Applies `op` to the L1 line holding `addr`.
fn line_op(op: Op, addr: usize) {
    // SAFETY: (every arm) cache maintenance by address changes no
    // architectural memory contents except writing back dirty data that
    // belongs there; the caller passes addresses inside a live IoRegion, so
    // they are mapped and cannot fault. The plan invalidates only whole
    // lines inside the range (edges get clean+invalidate), so no data outside
    // the caller's range is discarded.
    #[cfg(target_arch = "arm")]
    unsafe {
        match op {
            Op::Clean => {
                core::arch::asm!("mcr p15, 0, {}, c7, c10, 1", in(reg) addr, options(nostack))
            }
            Op::Invalidate => {
                core::arch::asm!("mcr p15, 0, {}, c7, c6, 1", in(reg) addr, options(nostack))
            }
            Op::CleanInvalidate => {
                core::arch::asm!("mcr p15, 0, {}, c7, c14, 1", in(reg) addr, options(nostack))
            }
        }
    }
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        match op {
            Op::Clean => core::arch::asm!("dc cvac, {}", in(reg) addr, options(nostack)),
            Op::Invalidate => core::arch::asm!("dc ivac, {}", in(reg) addr, options(nostack)),
            Op::CleanInvalidate => core::arch::asm!("dc civac, {}", in(reg) addr, options(nostack)),
        }
    }
}

/// Waits for maintenance to complete before later accesses.
fn barrier() {
    // SAFETY: a full-system data synchronisation barrier only orders
    // memory accesses.
    unsafe { core::arch::asm!("dsb sy", options(nostack, preserves_flags)) };
}

/// Applies one step of a plan.
fn apply(step: Step) {
    match step.level {
        Level::Inner => line_op(step.op, step.line),
        #[cfg(feature = "zynq7000")]
        Level::Outer => l2::line_op(step.op, step.line),
        // No outer cache: the plan has no such steps.
        #[cfg(not(feature = "zynq7000"))]
        Level::Outer => {}
    }
}

/// Completes every step made at `level` before what follows.
fn finish(level: Level) {
    #[cfg(feature = "zynq7000")]
    if level == Level::Outer {
        l2::sync();
    }
    let _ = level;
    barrier();
}

/// Carries out [`plan::steps`] for `op` over the range, level by level
/// (clean: L1 then L2; invalidate: L2 then L1), each level completed before
/// the next starts.
fn range_op(op: Op, addr: *mut u8, len: usize) {
    let mut current = None;
    for step in plan::steps(op, addr as usize, len, line_size(), OUTER_LINE) {
        if let Some(level) = current.filter(|&l| l != step.level) {
            finish(level);
        }
        current = Some(step.level);
        apply(step);
    }
    if let Some(level) = current {
        finish(level);
    }
}

/// The Zynq-7000 PL310 outer cache, maintained by physical address.
#[cfg(feature = "zynq7000")]
mod l2 {
    use super::Op;
    use crate::machine::zynq7000::L2_CACHE;
    const SYNC: usize = 0x730;
    const INV_PA: usize = 0x770;
    const CLEAN_PA: usize = 0x7B0;
    const CLEAN_INV_PA: usize = 0x7F0;
    /// The PL310's line size.
    pub(super) const LINE: usize = 32;

    fn write(reg: usize, v: usize) {
        // SAFETY: L2_CACHE is the PL310's fixed register block on every
        // Zynq-7000; these registers take an address and start maintenance.
        unsafe { ((L2_CACHE + reg) as *mut u32).write_volatile(v as u32) };
    }

    /// Applies `op` to the L2 line at physical address `addr`.
    pub(super) fn line_op(op: Op, addr: usize) {
        let reg = match op {
            Op::Clean => CLEAN_PA,
            Op::Invalidate => INV_PA,
            Op::CleanInvalidate => CLEAN_INV_PA,
        };
        write(reg, addr);
    }

    /// Drains the PL310's buffers: the operations above are complete.
    pub(super) fn sync() {
        write(SYNC, 0);
    }
}

impl CacheMaintenance for CoreCache {
    fn flush(&self, addr: *mut u8, len: usize) {
        range_op(Op::Clean, addr, len);
    }
    fn invalidate(&self, addr: *mut u8, len: usize) {
        range_op(Op::Invalidate, addr, len);
    }
}
