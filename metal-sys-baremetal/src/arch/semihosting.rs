//! Arm semihosting: the debugger's (or QEMU's) console and exit.
//!
//! These calls trap to a debugger; without one attached (and without QEMU's
//! `-semihosting`) they fault. That is why this module exists only with
//! feature `semihosting`, which QEMU builds turn on and hardware builds
//! leave off.

/// SYS_WRITE0: print a NUL-terminated string.
const SYS_WRITE0: usize = 0x04;
/// SYS_EXIT: end the program (AArch64 takes a status block).
#[cfg(target_arch = "aarch64")]
const SYS_EXIT: usize = 0x18;
/// SYS_EXIT_EXTENDED: end with a status, on AArch32.
#[cfg(target_arch = "arm")]
const SYS_EXIT_EXTENDED: usize = 0x20;
/// ADP_Stopped_ApplicationExit.
const APPLICATION_EXIT: usize = 0x20026;

fn call(op: usize, arg: usize) -> usize {
    let ret: usize;
    // SAFETY: the semihosting trap reads the block `arg` points to (which
    // the callers keep alive across the call) and returns a value in r0/x0.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("hlt #0xf000", inout("x0") op => ret, in("x1") arg, options(nostack))
    };
    // SAFETY: as above, with the AArch32 (ARM state) trap instruction.
    #[cfg(target_arch = "arm")]
    unsafe {
        core::arch::asm!("svc #0x123456", inout("r0") op => ret, in("r1") arg, options(nostack))
    };
    ret
}

/// Prints `s` (which must end with a NUL byte) on the debugger's console.
/// Strings without the final NUL are ignored rather than over-read.
pub fn write0(s: &[u8]) {
    if s.last() == Some(&0) {
        call(SYS_WRITE0, s.as_ptr() as usize);
    }
}

/// Ends the program under the debugger or QEMU with `status`.
pub fn exit(status: i32) -> ! {
    let block = [APPLICATION_EXIT, status as usize];
    #[cfg(target_arch = "aarch64")]
    call(SYS_EXIT, block.as_ptr() as usize);
    #[cfg(target_arch = "arm")]
    call(SYS_EXIT_EXTENDED, block.as_ptr() as usize);
    // Without a debugger there is nobody to exit to.
    loop {
        core::hint::spin_loop();
    }
}
