//! Doorbells: how one core kicks another.
//!
//! - [`PolledDoorbell`]: a counter word in shared memory that the other core
//!   polls. It needs no interrupt controller and is what runs under QEMU.
//! - [`ZynqMpIpi`]: the ZynqMP inter-processor interrupt block, the real
//!   doorbell between the A53 and the R5.
//! - [`ZynqSgi`]: a software-generated interrupt of the Zynq-7000 GIC, the
//!   real doorbell between the two A9 cores.
//! - [`KickLatch`] and [`LatchWait`]: the receiving side for firmware that
//!   takes the doorbell's interrupt. The handler only records the kick in the
//!   latch; the thread waits on it and polls the RPMsg device. This is the
//!   way to use interrupts with `openamp-rpmsg` (see [`KickLatch`] for what
//!   may run in interrupt context).
//!
//! Every doorbell write here is preceded by [`barrier_before_doorbell`]: a
//! release store to a ring index orders it before later *memory* accesses,
//! not before the write to a device register that interrupts the peer, so
//! without the barrier the peer could take the interrupt and find the ring
//! unchanged (a kick lost until the next one).
//!
//! QEMU 7.2 models only the APU channel of the ZynqMP IPI block and one A9
//! core on Zynq-7000, so the last two are tested on the host against RAM that
//! stands in for their registers (that checks the register protocol, not the
//! silicon); on hardware they are the doorbells to use.

mod ipi;
mod latch;
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

/// Completes every earlier memory access (`dsb sy`) before the caller
/// writes a doorbell register, so that the peer, once interrupted, sees
/// what we wrote to shared memory before the kick. Off the bare-metal
/// targets (host tests) it is a sequentially consistent fence.
pub fn barrier_before_doorbell() {
    #[cfg(all(target_os = "none", any(target_arch = "arm", target_arch = "aarch64")))]
    // SAFETY: a data synchronisation barrier only waits for earlier memory
    // accesses to complete; it touches no memory and no registers.
    unsafe {
        core::arch::asm!("dsb sy", options(nostack, preserves_flags))
    };
    #[cfg(not(all(target_os = "none", any(target_arch = "arm", target_arch = "aarch64"))))]
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
}

pub use ipi::{acknowledge as ipi_acknowledge, ZynqMpIpi};
pub use latch::{Idle, KickLatch, LatchWait, Spin};
pub use polled::PolledDoorbell;
pub use sgi::ZynqSgi;
