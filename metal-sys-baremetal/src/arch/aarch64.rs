//! Start-up and exception vectors of the Cortex-A53 at EL1.
//!
//! `_start` parks every core but the first, sets the stack, turns on the
//! FP/SIMD unit (Rust uses its registers freely), installs the vectors,
//! copies `.data`, zeroes `.bss` and calls `__openamp_main`.

use super::fatal;

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
2:  ldr x0, =__stack_top
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
6:  bl __openamp_main
7:  wfe
    b 7b
    .ltorg

    .section .text.vectors, "ax"
    .balign 2048
    .global __openamp_vectors
__openamp_vectors:
    .irp kind, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    .balign 0x80
    mov x0, #\kind
    b __openamp_exception
    .endr
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
