//! Data cache maintenance of the selected core, by virtual address.

use openamp_metal::CacheMaintenance;

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

#[derive(Clone, Copy)]
enum Op {
    Clean,
    Invalidate,
    CleanInvalidate,
}

/// Applies `op` to one line holding `addr`.
fn line_op(op: Op, addr: usize) {
    // SAFETY (every arm): cache maintenance by address changes no
    // architectural memory contents except writing back dirty data that
    // belongs there; the caller passes addresses inside a live IoRegion, so
    // they are mapped and cannot fault. Invalidate is used only on whole
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

fn range_op(op: Op, addr: *mut u8, len: usize) {
    if len == 0 {
        return;
    }
    let line = line_size();
    let start = addr as usize & !(line - 1);
    let end = (addr as usize).saturating_add(len);
    let mut a = start;
    while a < end {
        // A line only partly inside the range may hold someone else's dirty
        // bytes: clean it as well instead of discarding it.
        let partial = a < addr as usize || a + line > end;
        let this = match op {
            Op::Invalidate if partial => Op::CleanInvalidate,
            other => other,
        };
        line_op(this, a);
        a += line;
    }
    barrier();
    #[cfg(feature = "zynq7000")]
    l2::range(op, start, end);
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
    const LINE: usize = 32;

    fn write(reg: usize, v: usize) {
        // SAFETY: L2_CACHE is the PL310's fixed register block on every
        // Zynq-7000; these registers take an address and start maintenance.
        unsafe { ((L2_CACHE + reg) as *mut u32).write_volatile(v as u32) };
    }

    pub(super) fn range(op: Op, start: usize, end: usize) {
        let reg = match op {
            Op::Clean => CLEAN_PA,
            Op::Invalidate => INV_PA,
            Op::CleanInvalidate => CLEAN_INV_PA,
        };
        let mut a = start & !(LINE - 1);
        while a < end {
            let partial = a < start || a + LINE > end;
            write(
                if partial && reg == INV_PA {
                    CLEAN_INV_PA
                } else {
                    reg
                },
                a,
            );
            a += LINE;
        }
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
