//! Code that runs on the selected core: start-up, exceptions, critical
//! sections, caches and semihosting.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "arm")]
mod armv7;

pub mod cache;
#[cfg(feature = "critical-section-impl")]
mod critical;
pub mod semihosting;

/// Ends the program with `status`.
///
/// With feature `semihosting` this asks the debugger or QEMU to exit with
/// that status; otherwise the core stops in a low-power loop (the usual end
/// of firmware on hardware with no debugger attached).
pub fn exit(status: i32) -> ! {
    #[cfg(feature = "semihosting")]
    semihosting::exit(status);
    #[cfg(not(feature = "semihosting"))]
    {
        let _ = status;
        loop {
            halt();
        }
    }
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
