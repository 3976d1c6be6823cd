//! `critical-section` for one core: mask its interrupts, restore them after.
//!
//! Each image runs on one core and shares nothing with the other core's
//! interrupt handlers, so masking this core's IRQ and FIQ makes the section
//! exclusive for everything in the image. (Data shared with the other core
//! goes through `IoRegion` atomics, not critical sections.)

struct CoreCs;
critical_section::set_impl!(CoreCs);

#[cfg(target_arch = "arm")]
// SAFETY: acquire returns the CPSR before masking and release restores only
// the I and F bits from it, so nested sections unmask exactly when the
// outermost one ends.
unsafe impl critical_section::Impl for CoreCs {
    unsafe fn acquire() -> u32 {
        let cpsr: u32;
        // SAFETY: reading CPSR and masking IRQ/FIQ affects only this core's
        // interrupt delivery; the compiler barrier (no `nomem`) keeps memory
        // accesses of the section after it.
        unsafe { core::arch::asm!("mrs {}, cpsr", "cpsid if", out(reg) cpsr, options(nostack)) };
        cpsr
    }

    unsafe fn release(cpsr: u32) {
        // SAFETY: re-enables only what was enabled at `acquire`.
        unsafe {
            if cpsr & (1 << 7) == 0 {
                core::arch::asm!("cpsie i", options(nostack));
            }
            if cpsr & (1 << 6) == 0 {
                core::arch::asm!("cpsie f", options(nostack));
            }
        }
    }
}

#[cfg(target_arch = "aarch64")]
// SAFETY: acquire saves DAIF and masks IRQ and FIQ; release writes the saved
// DAIF back, so nesting restores the outer state.
unsafe impl critical_section::Impl for CoreCs {
    unsafe fn acquire() -> u64 {
        let daif: u64;
        // SAFETY: touches only this core's interrupt masks; no `nomem`, so
        // it is also a compiler barrier.
        unsafe {
            core::arch::asm!("mrs {}, daif", "msr daifset, #3", out(reg) daif, options(nostack))
        };
        daif
    }

    unsafe fn release(daif: u64) {
        // SAFETY: restores the mask bits read by `acquire`.
        unsafe { core::arch::asm!("msr daif, {}", in(reg) daif, options(nostack)) };
    }
}
