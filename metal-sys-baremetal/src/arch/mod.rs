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
#[cfg_attr(feature = "semihosting", allow(dead_code))]
fn halt() {
    // SAFETY: `wfi` only pauses the core until the next interrupt or event;
    // it touches no memory and no registers Rust relies on.
    unsafe { core::arch::asm!("wfi", options(nomem, nostack, preserves_flags)) };
}

/// Prints what went wrong on the console and ends the program.
fn fatal(what: core::fmt::Arguments<'_>) -> ! {
    use core::fmt::Write;
    let mut c = crate::console();
    let _ = writeln!(c, "\nfatal: {what}");
    exit(1)
}

#[cfg(feature = "panic-handler")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    fatal(format_args!("panic: {info}"))
}
