//! Doorbells: how one core kicks another.
//!
//! - [`PolledDoorbell`]: a counter word in shared memory that the other core
//!   polls. It needs no interrupt controller and is what runs under QEMU.
//! - [`ZynqMpIpi`]: the ZynqMP inter-processor interrupt block, the real
//!   doorbell between the A53 and the R5.
//! - [`ZynqSgi`]: a software-generated interrupt of the Zynq-7000 GIC, the
//!   real doorbell between the two A9 cores.
//!
//! QEMU 7.2 models only the APU channel of the ZynqMP IPI block and one A9
//! core on Zynq-7000, so the last two are tested on the host against RAM that
//! stands in for their registers (that checks the register protocol, not the
//! silicon); on hardware they are the doorbells to use.

mod ipi;
mod polled;
mod sgi;

use core::time::Duration;

use openamp_metal::{Clock, Result};

/// Polls `poll` until it reports a kick or `timeout` passes on `clock`:
/// how every doorbell here waits, since none sleeps on an interrupt.
fn wait_polling(
    clock: &impl Clock,
    timeout: Duration,
    poll: impl Fn() -> Result<Option<u32>>,
) -> Result<Option<u32>> {
    let deadline = clock.deadline(timeout);
    loop {
        if let Some(id) = poll()? {
            return Ok(Some(id));
        }
        if deadline.expired(clock) {
            return Ok(None);
        }
        core::hint::spin_loop();
    }
}

pub use ipi::ZynqMpIpi;
pub use polled::PolledDoorbell;
pub use sgi::ZynqSgi;
