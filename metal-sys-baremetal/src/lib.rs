#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]

#[cfg(any(
    all(feature = "zynq7000", feature = "zynqmp-a53"),
    all(feature = "zynq7000", feature = "zynqmp-r5"),
    all(feature = "zynqmp-a53", feature = "zynqmp-r5"),
))]
compile_error!("select exactly one machine feature: zynq7000, zynqmp-a53 or zynqmp-r5");

#[cfg(all(
    target_os = "none",
    feature = "zynqmp-a53",
    not(target_arch = "aarch64")
))]
compile_error!("feature zynqmp-a53 needs target aarch64-unknown-none");
#[cfg(all(
    target_os = "none",
    any(feature = "zynq7000", feature = "zynqmp-r5"),
    not(target_arch = "arm")
))]
compile_error!(
    "features zynq7000 and zynqmp-r5 need an AArch32 target (armv7a-none-eabi, armv7r-none-eabihf)"
);

pub mod doorbell;
pub mod gic;
pub mod heap;
mod trace_log;
pub use trace_log::TraceLog;
pub mod machine;
pub mod mmu;
pub mod mmu_a9;
pub mod mpu;
pub mod uart;

// What follows runs on the selected core only (`machine` is set by build.rs
// when a machine feature is on and the target is that core's bare-metal one).
#[cfg(machine)]
mod arch;
#[cfg(all(machine, feature = "semihosting"))]
pub use arch::semihosting;
#[cfg(all(machine, target_arch = "aarch64"))]
pub use arch::{boot_el, current_el};
#[cfg(machine)]
pub use arch::{cache::CoreCache, exit};
#[cfg(machine)]
mod console;
#[cfg(machine)]
pub mod irq;
#[cfg(machine)]
pub use console::{console, Console};
#[cfg(all(machine, feature = "zynqmp-a53"))]
pub mod rpu;
#[cfg(machine)]
pub mod stack;
#[cfg(machine)]
pub mod timer;

/// Declares the firmware's entry function, called once start-up is done.
///
/// By the time it runs, stacks are set, `.data` is initialised, `.bss` is
/// zeroed, the FPU is on and exceptions are reported on the console. The
/// function must not return.
///
/// ```ignore
/// openamp_metal_sys_baremetal::entry!(main);
/// fn main() -> ! { loop {} }
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[doc(hidden)]
        #[unsafe(export_name = "__openamp_main")]
        pub extern "C" fn __openamp_main() -> ! {
            let f: fn() -> ! = $main;
            f()
        }
    };
}

/// Prints a formatted line on the machine's console (no allocation).
#[cfg(machine)]
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut c = $crate::console();
        let _ = writeln!(c, $($arg)*);
    }};
}
