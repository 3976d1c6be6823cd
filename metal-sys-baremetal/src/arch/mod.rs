//! Code that runs on the selected core: start-up, exceptions, critical
//! sections, caches and semihosting.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::{boot_el, current_el};
#[cfg(target_arch = "arm")]
mod armv7;

pub mod cache;
#[cfg(feature = "critical-section-impl")]
mod critical;
#[cfg(feature = "semihosting")]
pub mod semihosting;

/// Ends the program with `status`.
///
/// With feature `semihosting` (QEMU, or a debugger attached) this asks the
/// debugger or QEMU to exit with that status. Without it, as on a board
/// that runs on its own, it prints the status on the console, masks this
/// core's interrupts and stops the core in a low-power loop: a semihosting
/// call with nobody to answer it would fault.
pub fn exit(status: i32) -> ! {
    #[cfg(feature = "semihosting")]
    semihosting::exit(status);
    #[cfg(not(feature = "semihosting"))]
    {
        use core::fmt::Write;
        let _ = writeln!(crate::console(), "halted: exit status {status}");
        mask_interrupts();
        loop {
            halt();
        }
    }
}

/// Masks IRQ and FIQ at this core for good.
#[cfg(not(feature = "semihosting"))]
fn mask_interrupts() {
    // SAFETY: only sets this core's interrupt masks; nothing runs after
    // this but the halt loop.
    #[cfg(target_arch = "arm")]
    unsafe {
        core::arch::asm!("cpsid if", options(nomem, nostack))
    };
    // SAFETY: as above (DAIF.I and DAIF.F).
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("msr daifset, #3", options(nomem, nostack))
    };
}

/// Waits for an interrupt (or event); used where there is nothing left to do.
fn halt() {
    // SAFETY: `wfi` only pauses the core until the next interrupt or event;
    // it touches no memory and no registers Rust relies on.
    unsafe { core::arch::asm!("wfi", options(nomem, nostack, preserves_flags)) };
}

/// Prints what went wrong on the console and ends the program.
///
/// A fault while reporting (or a second fatal error, from an interrupt or
/// an exception inside the first report) stops the core at once instead of
/// reporting again, so a failure never turns into a storm of nested ones.
pub(crate) fn fatal(what: core::fmt::Arguments<'_>) -> ! {
    use core::fmt::Write;
    use core::sync::atomic::{AtomicBool, Ordering};
    static REPORTING: AtomicBool = AtomicBool::new(false);
    // A plain load and store: on the one core that runs this image, a
    // nested call comes from an exception taken inside the first one.
    if REPORTING.load(Ordering::Relaxed) {
        loop {
            halt();
        }
    }
    REPORTING.store(true, Ordering::Relaxed);
    let mut c = crate::console();
    let _ = writeln!(c, "\nfatal: {what}");
    exit(1)
}

#[cfg(feature = "panic-handler")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    fatal(format_args!("panic: {info}"))
}
