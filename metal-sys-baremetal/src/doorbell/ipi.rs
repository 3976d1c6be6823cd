use core::time::Duration;

use openamp_metal::{Clock, IoRegion, Notify, Result, WaitNotify};

/// Trigger register: write a peer's mask to interrupt it.
const TRIG: usize = 0x00;
/// Interrupt status: a bit per sender; write 1 to clear.
const ISR: usize = 0x10;
/// Interrupt enable.
const IER: usize = 0x18;
/// Interrupt disable.
const IDR: usize = 0x1C;

/// A ZynqMP IPI channel used as a doorbell to one peer channel.
///
/// `regs` is this core's own channel (e.g. the RPU0 channel at
/// [`RPU0_BASE`](crate::machine::zynqmp::ipi::RPU0_BASE) on R5 core 0) and
/// `peer_mask` the peer's bit (e.g.
/// [`APU_MASK`](crate::machine::zynqmp::ipi::APU_MASK)). Kicks are received
/// by polling the status register; [`ZynqMpIpi::enable_interrupt`] lets the
/// same status raise a GIC interrupt for firmware that sleeps in `wfi`.
///
/// QEMU 7.2 models only the APU channel and does not deliver IPIs to the R5,
/// so this doorbell runs on hardware only; its register protocol is tested on
/// the host.
///
/// Which channels to use is the system's choice (see
/// [`machine::zynqmp::ipi`](crate::machine::zynqmp::ipi)): not channel 0 on
/// the A53 under ARM Trusted Firmware, and channel 7 against Xilinx's Linux.
pub struct ZynqMpIpi<'a, C: Clock> {
    regs: IoRegion<'a>,
    peer_mask: u32,
    clock: C,
}

impl<'a, C: Clock> ZynqMpIpi<'a, C> {
    /// Size of a channel's register window.
    pub const REGS_LEN: usize = 0x20;

    /// A doorbell between the channel at `regs` and the peer with `peer_mask`.
    pub fn new(regs: IoRegion<'a>, peer_mask: u32, clock: C) -> Result<Self> {
        regs.check(0, Self::REGS_LEN)?;
        Ok(ZynqMpIpi {
            regs,
            peer_mask,
            clock,
        })
    }

    /// Routes the peer's kicks to this channel's interrupt line.
    pub fn enable_interrupt(&self) -> Result<()> {
        self.regs.write_u32(IER, self.peer_mask)
    }

    /// Stops the peer's kicks from raising an interrupt (they are still latched).
    pub fn disable_interrupt(&self) -> Result<()> {
        self.regs.write_u32(IDR, self.peer_mask)
    }
}

impl<C: Clock> Notify for ZynqMpIpi<'_, C> {
    fn notify(&self, _id: u32) -> Result<()> {
        super::barrier_before_doorbell();
        self.regs.write_u32(TRIG, self.peer_mask)
    }
}

/// Takes a kick from the peer with `peer_mask` off the channel at `regs`:
/// `true` if one was latched, now cleared. Only register accesses, no lock:
/// this is what the channel's interrupt handler calls before it signals a
/// [`KickLatch`](super::KickLatch) (the IPI's interrupt is level-triggered
/// and stays asserted until the bit is cleared).
pub fn acknowledge(regs: IoRegion<'_>, peer_mask: u32) -> Result<bool> {
    if regs.read_u32(ISR)? & peer_mask == 0 {
        return Ok(false);
    }
    // Write-one-to-clear, only our peer's bit: kicks from other channels
    // stay latched for whoever serves them.
    regs.write_u32(ISR, peer_mask)?;
    Ok(true)
}

impl<C: Clock> WaitNotify for ZynqMpIpi<'_, C> {
    /// Interrupt-safe (register accesses only, see [`acknowledge`]).
    fn poll(&self) -> Result<Option<u32>> {
        Ok(acknowledge(self.regs, self.peer_mask)?.then_some(0))
    }

    fn wait(&self, timeout: Duration) -> Result<Option<u32>> {
        super::wait_polling(&self.clock, timeout, || self.poll())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::zynqmp::ipi::APU_MASK;
    use core::cell::Cell;

    struct TickClock(Cell<u64>);
    impl Clock for TickClock {
        fn now_ns(&self) -> u64 {
            self.0.set(self.0.get() + 1_000);
            self.0.get()
        }
    }

    #[repr(align(8))]
    struct Regs([u8; 0x20]);

    /// RAM stands in for the registers here: it checks what we write where,
    /// not the hardware's write-one-to-clear behaviour.
    #[test]
    fn register_protocol() {
        let mut m = Regs([0; 0x20]);
        let r = IoRegion::from_slice(&mut m.0);
        let ipi = ZynqMpIpi::new(r, APU_MASK, TickClock(Cell::new(0))).unwrap();
        ipi.notify(0).unwrap();
        assert_eq!(r.read_u32(TRIG).unwrap(), APU_MASK);
        assert_eq!(ipi.poll().unwrap(), None);
        r.write_u32(ISR, APU_MASK | 0x100).unwrap();
        assert_eq!(ipi.poll().unwrap(), Some(0));
        assert_eq!(
            r.read_u32(ISR).unwrap(),
            APU_MASK,
            "clears by writing our peer's bit only"
        );
        ipi.enable_interrupt().unwrap();
        assert_eq!(r.read_u32(IER).unwrap(), APU_MASK);
        ipi.disable_interrupt().unwrap();
        assert_eq!(r.read_u32(IDR).unwrap(), APU_MASK);
        r.write_u32(ISR, 0).unwrap();
        assert_eq!(ipi.wait(Duration::from_micros(20)).unwrap(), None);
    }
}
