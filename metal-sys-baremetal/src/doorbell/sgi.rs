use core::time::Duration;

use openamp_metal::{Clock, IoRegion, Notify, Result, WaitNotify};

/// Distributor control register.
const ICDDCR: usize = 0x000;
/// Distributor: software-generated interrupt register.
const ICDSGIR: usize = 0xF00;
/// CPU interface control register.
const ICCICR: usize = 0x00;
/// CPU interface priority mask.
const ICCPMR: usize = 0x04;
/// CPU interface: interrupt acknowledge.
const ICCIAR: usize = 0x0C;
/// CPU interface: end of interrupt.
const ICCEOIR: usize = 0x10;
/// The interrupt id the GIC reports when nothing is pending.
const SPURIOUS: u32 = 1023;

/// A doorbell between the two Cortex-A9 cores of a Zynq-7000 over a
/// software-generated interrupt (SGI) of the GIC.
///
/// Receiving is done by polling the CPU interface's acknowledge register
/// with interrupts masked at the core, so the doorbell owns that CPU
/// interface: other interrupts it acknowledges are ended and dropped.
///
/// QEMU 7.2 models one A9 core only, so this runs on hardware; its register
/// protocol is tested on the host.
pub struct ZynqSgi<'a, C: Clock> {
    dist: IoRegion<'a>,
    cpu: IoRegion<'a>,
    sgi: u32,
    peer_cpu_mask: u32,
    clock: C,
}

impl<'a, C: Clock> ZynqSgi<'a, C> {
    /// A doorbell raising SGI `sgi` (0..=15) on the cores in `peer_cpu_mask`
    /// (bit 0 = CPU0, bit 1 = CPU1), given the GIC distributor and this
    /// core's CPU interface.
    pub fn new(
        dist: IoRegion<'a>,
        cpu: IoRegion<'a>,
        sgi: u32,
        peer_cpu_mask: u32,
        clock: C,
    ) -> Result<Self> {
        if sgi > 15 || peer_cpu_mask == 0 || peer_cpu_mask > 0xFF {
            return Err(openamp_metal::Error::InvalidRegion {
                reason: "SGI id must be 0..=15 and the CPU mask 1..=0xFF",
            });
        }
        dist.check(0, ICDSGIR + 4)?;
        cpu.check(0, ICCEOIR + 4)?;
        Ok(ZynqSgi {
            dist,
            cpu,
            sgi,
            peer_cpu_mask,
            clock,
        })
    }

    /// Enables the distributor and this core's CPU interface so that SGIs
    /// become pending and can be acknowledged.
    pub fn init(&self) -> Result<()> {
        self.dist.write_u32(ICDDCR, 1)?;
        self.cpu.write_u32(ICCPMR, 0xF0)?;
        self.cpu.write_u32(ICCICR, 1)
    }
}

impl<C: Clock> Notify for ZynqSgi<'_, C> {
    fn notify(&self, _id: u32) -> Result<()> {
        // Target-list filter 0: send to the CPUs named in bits 23:16.
        super::barrier_before_doorbell();
        self.dist
            .write_u32(ICDSGIR, (self.peer_cpu_mask << 16) | self.sgi)
    }
}

impl<C: Clock> WaitNotify for ZynqSgi<'_, C> {
    fn poll(&self) -> Result<Option<u32>> {
        let iar = self.cpu.read_u32(ICCIAR)?;
        let id = iar & 0x3FF;
        if id == SPURIOUS {
            return Ok(None);
        }
        // Every acknowledged interrupt must be ended, ours or not, or the
        // CPU interface stops delivering at that priority.
        self.cpu.write_u32(ICCEOIR, iar)?;
        Ok((id == self.sgi).then_some(0))
    }

    fn wait(&self, timeout: Duration) -> Result<Option<u32>> {
        super::wait_polling(&self.clock, timeout, || self.poll())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    struct TickClock(Cell<u64>);
    impl Clock for TickClock {
        fn now_ns(&self) -> u64 {
            self.0.set(self.0.get() + 1_000);
            self.0.get()
        }
    }

    #[repr(align(8))]
    struct Dist([u8; 0x1000]);
    #[repr(align(8))]
    struct Cpu([u8; 0x100]);

    /// RAM stands in for the GIC: checks what goes to which register.
    #[test]
    fn register_protocol() {
        let mut d = Dist([0; 0x1000]);
        let mut c = Cpu([0; 0x100]);
        let dist = IoRegion::from_slice(&mut d.0);
        let cpu = IoRegion::from_slice(&mut c.0);
        let sgi = ZynqSgi::new(dist, cpu, 3, 0b10, TickClock(Cell::new(0))).unwrap();
        sgi.init().unwrap();
        assert_eq!(dist.read_u32(ICDDCR).unwrap(), 1);
        assert_eq!(cpu.read_u32(ICCICR).unwrap(), 1);
        sgi.notify(0).unwrap();
        assert_eq!(dist.read_u32(ICDSGIR).unwrap(), 0x0002_0003);

        cpu.write_u32(ICCIAR, SPURIOUS).unwrap();
        assert_eq!(sgi.poll().unwrap(), None);
        cpu.write_u32(ICCIAR, (1 << 10) | 3).unwrap(); // SGI 3 from CPU1
        assert_eq!(sgi.poll().unwrap(), Some(0));
        assert_eq!(cpu.read_u32(ICCEOIR).unwrap(), (1 << 10) | 3);
        cpu.write_u32(ICCIAR, 5).unwrap(); // someone else's: ended, not reported
        assert_eq!(sgi.poll().unwrap(), None);
        assert_eq!(cpu.read_u32(ICCEOIR).unwrap(), 5);
        cpu.write_u32(ICCIAR, SPURIOUS).unwrap();
        assert_eq!(sgi.wait(Duration::from_micros(10)).unwrap(), None);
    }

    #[test]
    fn bad_parameters_are_rejected() {
        let mut d = Dist([0; 0x1000]);
        let mut c = Cpu([0; 0x100]);
        let dist = IoRegion::from_slice(&mut d.0);
        let cpu = IoRegion::from_slice(&mut c.0);
        assert!(ZynqSgi::new(dist, cpu, 16, 1, TickClock(Cell::new(0))).is_err());
        assert!(ZynqSgi::new(dist, cpu, 1, 0, TickClock(Cell::new(0))).is_err());
        assert!(ZynqSgi::new(
            dist,
            cpu.sub_region(0, 8).unwrap(),
            1,
            1,
            TickClock(Cell::new(0))
        )
        .is_err());
    }
}
