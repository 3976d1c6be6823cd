//! Start-up and exception vectors of the AArch32 cores (Cortex-A9, Cortex-R5).
//!
//! The image starts with the exception vectors (the linker script puts them
//! at the start of its BOOT region: RAM, or an R5's ATCM at 0x0, where the
//! R5 leaves reset), whose reset entry jumps to `_start`, also the ELF
//! entry. `_start` masks interrupts, gives every exception mode a
//! stack, turns the FPU on before any Rust code could use it, installs the
//! vectors, copies `.data`, zeroes `.bss` and calls the application's
//! `__openamp_main` (see [`entry!`](crate::entry)).

use super::fatal;

/// Reads a CP15 register `p15, 0, <r>, $crn, $crm, $op2`.
macro_rules! read_cp15 {
    ($crn:ident, $crm:ident, $op2:literal) => {{
        let v: u32;
        // SAFETY: reading a CP15 fault status/address register has no side
        // effects and touches no memory.
        unsafe {
            core::arch::asm!(
                concat!("mrc p15, 0, {}, ", stringify!($crn), ", ", stringify!($crm), ", ", stringify!($op2)),
                out(reg) v,
                options(nomem, nostack, preserves_flags)
            )
        };
        v
    }};
}

core::arch::global_asm!(
    r#"
    .fpu vfpv3-d16
    .section .text.start, "ax"
    .arm
    .global _start
    .type _start, %function
_start:
    cpsid if
    ldr r0, =__stack_top
    @ One exception stack each for FIQ, IRQ, ABT, UND and SYS; SVC (where
    @ Rust runs) takes the rest.
    cps #0x11
    mov sp, r0
    sub r0, r0, #0x400
    cps #0x12
    mov sp, r0
    sub r0, r0, #0x400
    cps #0x17
    mov sp, r0
    sub r0, r0, #0x400
    cps #0x1B
    mov sp, r0
    sub r0, r0, #0x400
    cps #0x1F
    mov sp, r0
    sub r0, r0, #0x400
    cps #0x13
    mov sp, r0
    @ FPU: CPACR grants CP10/CP11, then FPEXC.EN. Rust code may use VFP
    @ registers from its first instruction on (hard-float ABI).
    mrc p15, 0, r0, c1, c0, 2
    orr r0, r0, #(0xF << 20)
    mcr p15, 0, r0, c1, c0, 2
    isb
    mov r0, #0x40000000
    vmsr fpexc, r0
    bl __openamp_install_vectors
    @ .data: copy from its load address when it differs (an image in flash).
    ldr r0, =__sdata
    ldr r1, =__edata
    ldr r2, =__sidata
    cmp r0, r2
    beq 2f
1:  cmp r0, r1
    ldrlo r3, [r2], #4
    strlo r3, [r0], #4
    blo 1b
2:  ldr r0, =__sbss
    ldr r1, =__ebss
    mov r2, #0
3:  cmp r0, r1
    strlo r2, [r0], #4
    blo 3b
    @ Calls out of the boot code go through a register: an R5 image keeps
    @ it in its ATCM at 0x0, out of a `bl`'s reach of code in DDR.
    ldr r0, =__openamp_main
    blx r0
4:  wfi
    b 4b
    .ltorg

    @ The vector table loads each handler's absolute address from the table
    @ that follows it, so it still works when copied elsewhere.
    .section .text.vectors, "ax"
    .arm
    .balign 32
    .global __openamp_vectors
__openamp_vectors:
    ldr pc, [pc, #24]
    ldr pc, [pc, #24]
    ldr pc, [pc, #24]
    ldr pc, [pc, #24]
    ldr pc, [pc, #24]
    ldr pc, [pc, #24]
    ldr pc, [pc, #24]
    ldr pc, [pc, #24]
    .word _start
    .word __openamp_exc_undef
    .word __openamp_exc_svc
    .word __openamp_exc_pabt
    .word __openamp_exc_dabt
    .word __openamp_exc_reserved
    .word __openamp_irq_entry
    .word __openamp_exc_fiq

    .section .text.__openamp_exc, "ax"
    .arm
__openamp_exc_undef:
    mov r0, #1
    b 5f
__openamp_exc_svc:
    mov r0, #2
    b 5f
__openamp_exc_pabt:
    mov r0, #3
    b 5f
__openamp_exc_dabt:
    mov r0, #4
    b 5f
__openamp_exc_reserved:
    mov r0, #5
    b 5f
__openamp_exc_fiq:
    mov r0, #7
5:  mov r1, lr
    ldr r2, =__openamp_exception
    bx r2
    .ltorg
"#
);

// The IRQ entry: on the interrupted code's (SVC) stack, save what a Rust
// call may clobber (r0-r3, r12, lr_svc; with hard float also d0-d7 and
// FPSCR, the caller-saved VFP state), align the stack to 8 bytes, dispatch,
// and return with `rfe` to the interrupted instruction and mode.
macro_rules! irq_entry {
    ($($vfp_save:literal)*; $($vfp_restore:literal)*) => {
        core::arch::global_asm!(
            ".fpu vfpv3-d16",
            ".section .text.__openamp_irq_entry, \"ax\"",
            ".arm",
            ".global __openamp_irq_entry",
            "__openamp_irq_entry:",
            "sub lr, lr, #4",
            "srsdb sp!, #0x13",
            "cps #0x13",
            "push {{r0-r3, r12}}",
            "and r1, sp, #4",
            "sub sp, sp, r1",
            "push {{r1, lr}}",
            $($vfp_save,)*
            "ldr r12, =__openamp_irq_dispatch",
            "blx r12",
            $($vfp_restore,)*
            "pop {{r1, lr}}",
            "add sp, sp, r1",
            "pop {{r0-r3, r12}}",
            "rfeia sp!",
            ".ltorg",
        );
    };
}
#[cfg(target_abi = "eabihf")]
irq_entry!("vmrs r0, fpscr" "push {{r0, r1}}" "vpush {{d0-d7}}";
           "vpop {{d0-d7}}" "pop {{r0, r1}}" "vmsr fpscr, r0");
// Soft-float targets (armv7a-none-eabi) never touch the VFP registers.
#[cfg(not(target_abi = "eabihf"))]
irq_entry!(;);
#[cfg(all(target_abi = "eabihf", target_feature = "d32"))]
compile_error!(
    "the IRQ entry saves d0-d7 only: a target with 32 VFP registers needs d16-d31 saved too"
);

// Where the vectors go differs: the A9 has VBAR; the R5 has none and takes
// exceptions at address 0 (its ATCM on hardware, DDR under QEMU), where an
// image that boots from TCM links them; one linked elsewhere copies them
// there.
#[cfg(feature = "zynq7000")]
core::arch::global_asm!(
    r#"
    .section .text.__openamp_install_vectors, "ax"
    .arm
    .global __openamp_install_vectors
__openamp_install_vectors:
    ldr r0, =__openamp_vectors
    mcr p15, 0, r0, c12, c0, 0
    isb
    bx lr
    .ltorg
"#
);

#[cfg(feature = "zynqmp-r5")]
core::arch::global_asm!(
    r#"
    .section .text.__openamp_install_vectors, "ax"
    .arm
    .global __openamp_install_vectors
__openamp_install_vectors:
    @ SCTLR.V = 0: low vectors at 0x0.
    mrc p15, 0, r0, c1, c0, 0
    bic r0, r0, #(1 << 13)
    mcr p15, 0, r0, c1, c0, 0
    @ An image whose vectors are linked at 0x0 (its ATCM) has them there
    @ already; one linked elsewhere copies them.
    ldr r0, =__openamp_vectors
    cmp r0, #0
    beq 2f
    mov r1, #0
    mov r2, #16
1:  ldr r3, [r0], #4
    str r3, [r1], #4
    subs r2, r2, #1
    bne 1b
2:  dsb
    isb
    bx lr
    .ltorg
"#
);

/// Called by the vector stubs: `kind` is the vector number, `lr` the
/// exception's return address.
#[unsafe(no_mangle)]
extern "C" fn __openamp_exception(kind: u32, lr: u32) -> ! {
    let (name, pc_offset) = match kind {
        1 => ("undefined instruction", 4),
        2 => ("unexpected SVC", 4),
        3 => ("prefetch abort", 4),
        4 => ("data abort", 8),
        5 => ("reserved vector", 0),
        _ => ("unexpected FIQ", 4),
    };
    let (fsr, far) = match kind {
        3 => (read_cp15!(c5, c0, 1), read_cp15!(c6, c0, 2)),
        4 => (read_cp15!(c5, c0, 0), read_cp15!(c6, c0, 0)),
        _ => (0, 0),
    };
    fatal(format_args!(
        "{name} at pc {:#010x} (fault status {fsr:#x}, address {far:#010x})",
        lr.wrapping_sub(pc_offset)
    ))
}
