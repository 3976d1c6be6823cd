//! How much of the stack the firmware uses: paint it early, read the high
//! water mark later (to size `_stack_size` in memory.x, and the firmware's
//! memory carveout with it).

use core::sync::atomic::{AtomicUsize, Ordering};

/// The word the unused stack is painted with.
const PAINT: u32 = 0x5AC4_57AC;

unsafe extern "C" {
    /// Lowest address of the stack (linker script).
    static __stack_bottom: u8;
    /// One past its highest address (linker script).
    static __stack_top: u8;
}

/// Where painting stopped (the stack pointer then, minus a margin).
static PAINTED_TO: AtomicUsize = AtomicUsize::new(0);

fn bottom() -> usize {
    // Only the linker symbol's address is taken, never its value.
    core::ptr::addr_of!(__stack_bottom) as usize
}

fn top() -> usize {
    core::ptr::addr_of!(__stack_top) as usize
}

fn sp() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer into a register; no memory access.
    unsafe {
        core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    sp
}

/// The stack's size in bytes (all modes' stacks on AArch32).
pub fn size() -> usize {
    top() - bottom()
}

/// Paints the stack below the caller's frame. Call it once, early, with
/// interrupts masked (an interrupt taken meanwhile would use the memory
/// being painted).
pub fn paint() {
    let end = (sp() - 256) & !3;
    let mut a = (bottom() + 3) & !3;
    while a < end {
        // SAFETY: [bottom, sp - 256) is the unused part of this core's own
        // stack: no Rust object lives there (the stack grows down from sp),
        // and interrupts, which could push frames there, are masked.
        unsafe { (a as *mut u32).write_volatile(PAINT) };
        a += 4;
    }
    PAINTED_TO.store(end, Ordering::Relaxed);
}

/// The most stack used since [`paint`]: bytes from the top down to the
/// deepest word no longer painted. `None` before `paint`.
pub fn high_water() -> Option<usize> {
    let end = PAINTED_TO.load(Ordering::Relaxed);
    if end == 0 {
        return None;
    }
    let mut a = (bottom() + 3) & !3;
    // SAFETY: reads words of this core's own stack below its deepest use
    // so far (painted and never written since) or at it; volatile, since
    // the compiler knows nothing of these words.
    while a < end && unsafe { (a as *const u32).read_volatile() } == PAINT {
        a += 4;
    }
    Some(top() - a)
}
