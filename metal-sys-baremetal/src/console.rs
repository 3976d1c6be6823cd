//! The machine's console: a Cadence UART, turned on at first use.

use core::sync::atomic::{AtomicBool, Ordering};

use openamp_metal::{IoAttr, IoRegion, PhysMap};

use crate::uart::CadenceUart;

/// The console's UART: UART0 on the A9 and the A53, UART1 on the R5 so that
/// the two ZynqMP cores do not interleave their lines.
#[cfg(feature = "zynq7000")]
const BASE: usize = crate::machine::zynq7000::UART0;
#[cfg(feature = "zynqmp-a53")]
const BASE: usize = crate::machine::zynqmp::UART0;
#[cfg(feature = "zynqmp-r5")]
const BASE: usize = crate::machine::zynqmp::UART1;

/// The console: a `core::fmt::Write` for the machine's UART.
pub type Console = CadenceUart<'static>;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// The console, ready to print (see also [`println!`](crate::println)).
pub fn console() -> Console {
    // SAFETY: BASE is the UART's register block, fixed by the SoC and always
    // mapped (MMU/MPU off or identity-mapped as device memory); registers
    // are only touched by volatile accesses through the IoRegion.
    let regs = unsafe {
        IoRegion::new(
            BASE as *mut u8,
            CadenceUart::REGS_LEN,
            PhysMap::Contiguous(BASE as u64),
            IoAttr::UNCACHED,
        )
    };
    // The window is a constant, valid address range, so both steps succeed;
    // should they not, printing is skipped rather than panicking (the
    // console is also what a panic would print to).
    let uart = match regs.and_then(CadenceUart::new) {
        Ok(uart) => uart,
        Err(_) => loop {
            core::hint::spin_loop();
        },
    };
    if !ENABLED.swap(true, Ordering::Relaxed) {
        uart.enable();
    }
    uart
}
