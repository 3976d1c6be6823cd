//! Start-up and exception vectors of the Cortex-A53 at EL1.
//!
//! `_start` parks every core but the first, then looks at the exception
//! level it was started at:
//!
//! - **EL1** (ARM Trusted Firmware's hand-off to a bare-metal image, and
//!   QEMU's default): nothing to change.
//! - **EL2** (U-Boot's `go`, or ATF configured to enter at EL2): it cleans
//!   and invalidates the image's lines from the data cache (EL2 may have run
//!   with the MMU and caches on, as U-Boot does), turns EL2's MMU and caches
//!   off, opens the timers and FP/SIMD to EL1, and drops to EL1 (AArch64,
//!   interrupts masked, SCTLR_EL1 at its architectural reset shape: MMU and
//!   caches off). EL2 is not used afterwards.
//! - **EL3** (the FSBL starting the application directly, no ATF): our
//!   vectors and the PM calls (SMCs to ATF) cannot work there, so the Rust
//!   entry refuses with a message on the console ([`boot_el`] tells).
//!
//! Then it sets the stack, turns on the FP/SIMD unit (Rust uses its
//! registers freely), installs the vectors, copies `.data`, zeroes `.bss`
//! and calls `__openamp_main`.

use super::fatal;

/// The exception level `_start` found the core at (1, 2 or 3); the image
/// runs at EL1 whatever it was (EL3 is refused before the application runs).
pub fn boot_el() -> u8 {
    // SAFETY: written once by `_start` before any Rust code runs, read-only
    // afterwards.
    let el = unsafe { core::ptr::addr_of!(__openamp_boot_el).read_volatile() };
    el as u8
}

/// The exception level the caller runs at.
pub fn current_el() -> u8 {
    let el: u64;
    // SAFETY: reading CurrentEL has no side effects.
    unsafe {
        core::arch::asm!("mrs {}, CurrentEL", out(reg) el, options(nomem, nostack, preserves_flags))
    };
    ((el >> 2) & 3) as u8
}

unsafe extern "C" {
    /// The boot exception level, stored by `_start` once `.bss` (where it
    /// lives) is zeroed.
    static __openamp_boot_el: u64;
}

/// Runs between the start-up code and the application: refuses EL3.
#[unsafe(no_mangle)]
extern "C" fn __openamp_rust_start() -> ! {
    if current_el() != 1 {
        fatal(format_args!(
            "started at EL{}: this image runs at EL1 (from EL2 it drops there itself); at EL3 there is no ARM Trusted Firmware under it to serve its SMCs. Boot it through BL31 (FSBL + PMU firmware + ATF + this image), or from U-Boot",
            boot_el()
        ));
    }
    unsafe extern "C" {
        /// The application's entry, defined by `entry!`.
        safe fn __openamp_main() -> !;
    }
    __openamp_main()
}

core::arch::global_asm!(
    r#"
    .section .text.start, "ax"
    .global _start
    .type _start, %function
_start:
    mrs x0, mpidr_el1
    and x0, x0, #0xff
    cbz x0, 2f
1:  wfe
    b 1b
2:  mrs x9, CurrentEL
    ubfx x9, x9, #2, #2
    cmp x9, #2
    b.ne 10f
    // EL2: clean and invalidate the whole image (text to stack top) by
    // address, in case EL2 ran with the data cache on.
    mrs x1, ctr_el0
    ubfx x1, x1, #16, #4
    mov x2, #4
    lsl x2, x2, x1
    sub x3, x2, #1
    ldr x0, =__openamp_image_start
    bic x0, x0, x3
    ldr x1, =__stack_top
8:  dc civac, x0
    add x0, x0, x2
    cmp x0, x1
    b.lo 8b
    dsb sy
    // EL2's MMU, data and instruction caches off.
    mrs x0, sctlr_el2
    mov x1, #((1 << 0) | (1 << 2) | (1 << 12))
    bic x0, x0, x1
    msr sctlr_el2, x0
    isb
    ic iallu
    dsb sy
    isb
    // EL1 runs AArch64; no EL2 traps of timers, FP/SIMD, CP15.
    mov x0, #(1 << 31)
    msr hcr_el2, x0
    mov x0, #3
    msr cnthctl_el2, x0
    msr cntvoff_el2, xzr
    mov x0, #0x33ff
    msr cptr_el2, x0
    msr hstr_el2, xzr
    mrs x0, midr_el1
    msr vpidr_el2, x0
    mrs x0, mpidr_el1
    msr vmpidr_el2, x0
    // SCTLR_EL1: RES1 bits only (MMU, alignment check, caches off).
    ldr x0, =0x30d00800
    msr sctlr_el1, x0
    // Enter EL1h with D, A, I, F masked at label 10.
    mov x0, #0x3c5
    msr spsr_el2, x0
    adr x0, 10f
    msr elr_el2, x0
    eret
10: ldr x0, =__stack_top
    mov sp, x0
    mov x0, #(3 << 20)
    msr cpacr_el1, x0
    isb
    ldr x0, =__openamp_vectors
    msr vbar_el1, x0
    isb
    ldr x0, =__sdata
    ldr x1, =__edata
    ldr x2, =__sidata
    cmp x0, x2
    b.eq 4f
3:  cmp x0, x1
    b.hs 4f
    ldr x3, [x2], #8
    str x3, [x0], #8
    b 3b
4:  ldr x0, =__sbss
    ldr x1, =__ebss
5:  cmp x0, x1
    b.hs 6f
    str xzr, [x0], #8
    b 5b
6:  ldr x0, =__openamp_boot_el
    str x9, [x0]
    bl __openamp_rust_start
7:  wfe
    b 7b
    .ltorg

    .section .bss.__openamp_boot_el, "aw", %nobits
    .balign 8
    .global __openamp_boot_el
__openamp_boot_el:
    .zero 8

    .section .text.vectors, "ax"
    .balign 2048
    .global __openamp_vectors
__openamp_vectors:
    .irp kind, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    .balign 0x80
    .if \kind == 1 || \kind == 5
    b __openamp_irq_entry
    .else
    mov x0, #\kind
    b __openamp_exception
    .endif
    .endr

    // IRQ (current EL, SP0 or SPx): save what a Rust call may clobber (the
    // caller-saved x0-x18, x29/x30, all of q0-q31 since only the low halves
    // of v8-v15 are callee-saved, FPSR/FPCR) and ELR/SPSR, then dispatch.
    .section .text.__openamp_irq_entry, "ax"
    .balign 4
__openamp_irq_entry:
    sub sp, sp, #720
    stp x0, x1, [sp, #0]
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x29, [sp, #144]
    mrs x0, elr_el1
    stp x30, x0, [sp, #160]
    mrs x0, spsr_el1
    mrs x1, fpsr
    stp x0, x1, [sp, #176]
    mrs x0, fpcr
    str x0, [sp, #192]
    stp q0, q1, [sp, #208]
    stp q2, q3, [sp, #240]
    stp q4, q5, [sp, #272]
    stp q6, q7, [sp, #304]
    stp q8, q9, [sp, #336]
    stp q10, q11, [sp, #368]
    stp q12, q13, [sp, #400]
    stp q14, q15, [sp, #432]
    stp q16, q17, [sp, #464]
    stp q18, q19, [sp, #496]
    stp q20, q21, [sp, #528]
    stp q22, q23, [sp, #560]
    stp q24, q25, [sp, #592]
    stp q26, q27, [sp, #624]
    stp q28, q29, [sp, #656]
    stp q30, q31, [sp, #688]
    bl __openamp_irq_dispatch
    ldp q0, q1, [sp, #208]
    ldp q2, q3, [sp, #240]
    ldp q4, q5, [sp, #272]
    ldp q6, q7, [sp, #304]
    ldp q8, q9, [sp, #336]
    ldp q10, q11, [sp, #368]
    ldp q12, q13, [sp, #400]
    ldp q14, q15, [sp, #432]
    ldp q16, q17, [sp, #464]
    ldp q18, q19, [sp, #496]
    ldp q20, q21, [sp, #528]
    ldp q22, q23, [sp, #560]
    ldp q24, q25, [sp, #592]
    ldp q26, q27, [sp, #624]
    ldp q28, q29, [sp, #656]
    ldp q30, q31, [sp, #688]
    ldr x0, [sp, #192]
    msr fpcr, x0
    ldp x0, x1, [sp, #176]
    msr spsr_el1, x0
    msr fpsr, x1
    ldp x30, x0, [sp, #160]
    msr elr_el1, x0
    ldp x18, x29, [sp, #144]
    ldp x16, x17, [sp, #128]
    ldp x14, x15, [sp, #112]
    ldp x12, x13, [sp, #96]
    ldp x10, x11, [sp, #80]
    ldp x8, x9, [sp, #64]
    ldp x6, x7, [sp, #48]
    ldp x4, x5, [sp, #32]
    ldp x2, x3, [sp, #16]
    ldp x0, x1, [sp, #0]
    add sp, sp, #720
    eret
"#
);

/// Called by the vectors with the vector number (0..16).
#[unsafe(no_mangle)]
extern "C" fn __openamp_exception(kind: u64) -> ! {
    let (esr, elr, far): (u64, u64, u64);
    // SAFETY: reading the syndrome, link and fault address registers of
    // EL1 has no side effects and touches no memory.
    unsafe {
        core::arch::asm!(
            "mrs {0}, esr_el1", "mrs {1}, elr_el1", "mrs {2}, far_el1",
            out(reg) esr, out(reg) elr, out(reg) far,
            options(nomem, nostack, preserves_flags)
        )
    };
    let source = [
        "current EL, SP0",
        "current EL, SPx",
        "lower EL, AArch64",
        "lower EL, AArch32",
    ][(kind as usize / 4) % 4];
    let what = ["synchronous exception", "IRQ", "FIQ", "SError"][kind as usize % 4];
    fatal(format_args!(
        "{what} ({source}) at pc {elr:#x}: ESR {esr:#x} (class {:#x}), FAR {far:#x}",
        esr >> 26
    ))
}
