#![allow(dead_code)] // each image uses its part

//! Build-time configuration of the ZynqMP images: what differs between
//! boards and between QEMU and hardware, each with the environment variable
//! that sets it when `cargo xtask build` runs (see each package's build.rs).

use openamp_metal_sys_baremetal::machine::zynqmp::ipi::{self, Channel};

/// Parses a decimal number at compile time (a bad value fails the build).
const fn parse(s: &str) -> u64 {
    let b = s.as_bytes();
    assert!(!b.is_empty(), "empty number in the build configuration");
    let mut i = 0;
    let mut n: u64 = 0;
    while i < b.len() {
        assert!(
            b[i].is_ascii_digit(),
            "not a decimal number in the build configuration"
        );
        n = n * 10 + (b[i] - b'0') as u64;
        i += 1;
    }
    n
}

/// The APU-side IPI channel the host uses with R5 core 0
/// (`OPENAMP_ZCU102_HOST_IPI`, default 7: Xilinx's Linux uses that one;
/// channel 0 belongs to ARM Trusted Firmware).
pub const HOST_IPI: Channel = match ipi::by_number(parse(env!("OPENAMP_ZCU102_HOST_IPI")) as u8) {
    Some(c) => c,
    None => panic!("OPENAMP_ZCU102_HOST_IPI names no known IPI channel"),
};

/// R5 core 0's own IPI channel.
pub const R5_IPI: Channel = ipi::RPU0;

/// The TTC's input clock on the R5: QEMU's model, or the board's
/// (`OPENAMP_ZCU102_TTC_HZ`, default 100 MHz, LPD_LSBUS on a ZCU102).
pub const TTC_HZ: u64 = if cfg!(feature = "zcu102-hw") {
    parse(env!("OPENAMP_ZCU102_TTC_HZ"))
} else {
    openamp_metal_sys_baremetal::machine::zynqmp::TTC_HZ_QEMU
};

/// The generic timer's rate when CNTFRQ_EL0 reads 0
/// (`OPENAMP_ZCU102_CNTFRQ_HZ`, default 0: then such a board stops with a
/// message instead of running with deadlines that never pass).
pub const CNTFRQ_FALLBACK_HZ: u64 = parse(env!("OPENAMP_ZCU102_CNTFRQ_HZ"));

/// The A53's time base: CNTFRQ_EL0 as the boot firmware set it, or the
/// configured rate.
#[cfg(target_arch = "aarch64")]
pub fn a53_timer() -> openamp_metal_sys_baremetal::timer::GenericTimer {
    use openamp_metal_sys_baremetal::timer::GenericTimer;
    match GenericTimer::from_cntfrq() {
        Some(t) => t,
        None if CNTFRQ_FALLBACK_HZ != 0 => GenericTimer::with_frequency(CNTFRQ_FALLBACK_HZ),
        None => GenericTimer::new(), // panics with the reason
    }
}

#[cfg(all(feature = "zcu102-hw", feature = "semihosting"))]
compile_error!(
    "zcu102-hw is a hardware build: build it with --no-default-features (a semihosting call faults without a debugger)"
);
