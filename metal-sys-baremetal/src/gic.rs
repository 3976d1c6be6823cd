//! The Arm Generic Interrupt Controller, architecture version 2.
//!
//! Every core this crate supports has a GICv2 (or the PL390 it grew from)
//! with the same register layout: the Zynq-7000's A9 MPCore interrupt
//! controller, the ZynqMP APU's GIC-400 and the ZynqMP RPU's PL390. A
//! [`Gic`] is the distributor plus the CPU interface of the core that uses
//! it, over [`IoRegion`]s, so the register protocol builds and is tested on
//! any host; `irq` (on the selected machine) puts it to work on the selected machine.
//!
//! Interrupt ids: 0..=15 are software-generated (SGI), 16..=31 private to
//! each core (PPI: its timers), 32 and up shared peripherals (SPI), and
//! 1020..=1023 mean "nothing" when read from the acknowledge register.
//!
//! Security: with the GIC's security extensions (ZynqMP GIC-400 on
//! hardware) a non-secure core sees only group 1, and these registers show
//! that core's view; boot firmware (ARM Trusted Firmware) must have put the
//! interrupts it hands over into group 1, which it does for every SPI it
//! does not keep. QEMU's models have no security extensions.

use openamp_metal::{Error, IoRegion, Result};

/// Distributor registers (offsets from its base).
mod dist {
    pub const CTLR: usize = 0x000;
    pub const TYPER: usize = 0x004;
    pub const ISENABLER: usize = 0x100;
    pub const ICENABLER: usize = 0x180;
    pub const ISPENDR: usize = 0x200;
    pub const ICPENDR: usize = 0x280;
    pub const IPRIORITYR: usize = 0x400;
    pub const ITARGETSR: usize = 0x800;
    pub const ICFGR: usize = 0xC00;
    pub const SGIR: usize = 0xF00;
    /// Bytes of the distributor this driver touches.
    pub const LEN: usize = SGIR + 4;
}

/// CPU interface registers (offsets from its base).
mod cpu {
    pub const CTLR: usize = 0x00;
    pub const PMR: usize = 0x04;
    pub const BPR: usize = 0x08;
    pub const IAR: usize = 0x0C;
    pub const EOIR: usize = 0x10;
    /// Bytes of the CPU interface this driver touches.
    pub const LEN: usize = EOIR + 4;
}

/// Ids at or above this are special ("spurious", nothing to acknowledge).
pub const SPURIOUS_FIRST: u32 = 1020;
/// The highest interrupt id a GICv2 can have.
pub const MAX_ID: u32 = 1019;
/// The first shared peripheral interrupt id.
pub const FIRST_SPI: u32 = 32;

/// The priority [`Gic::enable`] gives: in the middle, above the CPU
/// interface's mask of [`PRIORITY_MASK`].
pub const DEFAULT_PRIORITY: u8 = 0xA0;
/// What [`Gic::init_cpu`] lets through: every priority numerically below.
pub const PRIORITY_MASK: u8 = 0xF0;

/// How an interrupt line signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Pending while the line is high (most peripherals, the timers' PPIs).
    Level,
    /// Pending on a rising edge (or a software set-pending), until acknowledged.
    Edge,
}

/// Which cores a software-generated interrupt goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SgiTarget {
    /// The cores in the mask (bit n = CPU interface n).
    List(u8),
    /// Every core but the sender.
    Others,
    /// The sender itself.
    ToSelf,
}

/// An acknowledged interrupt: its id, and the raw value to hand back to
/// [`Gic::end`] (for an SGI it also names the sending core).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acked {
    /// The interrupt id (0..=1019).
    pub id: u32,
    /// The acknowledge register's value, for end of interrupt.
    pub raw: u32,
}

impl Acked {
    /// For an SGI, the CPU interface that sent it.
    pub fn source_cpu(&self) -> u32 {
        (self.raw >> 10) & 0x7
    }
}

/// A GICv2 distributor and one core's CPU interface.
#[derive(Debug, Clone, Copy)]
pub struct Gic<'a> {
    dist: IoRegion<'a>,
    cpu: IoRegion<'a>,
}

impl<'a> Gic<'a> {
    /// The distributor at `dist` and this core's CPU interface at `cpu`.
    pub fn new(dist: IoRegion<'a>, cpu: IoRegion<'a>) -> Result<Self> {
        dist.check(0, dist::LEN)?;
        cpu.check(0, cpu::LEN)?;
        Ok(Gic { dist, cpu })
    }

    /// How many interrupt ids the distributor implements (a multiple of 32).
    pub fn lines(&self) -> Result<u32> {
        let typer = self.dist.read_u32(dist::TYPER)?;
        Ok((((typer & 0x1F) + 1) * 32).min(MAX_ID + 1))
    }

    fn check_id(&self, id: u32) -> Result<()> {
        if id > MAX_ID {
            return Err(Error::InvalidRegion {
                reason: "GIC interrupt id must be 0..=1019",
            });
        }
        Ok(())
    }

    /// Turns the distributor on (it forwards pending interrupts to the CPU
    /// interfaces). Enabling twice is harmless; the other core of a pair may
    /// have done it already.
    pub fn init_distributor(&self) -> Result<()> {
        let ctlr = self.dist.read_u32(dist::CTLR)?;
        self.dist.write_u32(dist::CTLR, ctlr | 1)
    }

    /// Sets up this core's CPU interface: lets through priorities below
    /// [`PRIORITY_MASK`], no preemption groups, signalling on.
    pub fn init_cpu(&self) -> Result<()> {
        self.cpu.write_u32(cpu::PMR, u32::from(PRIORITY_MASK))?;
        self.cpu.write_u32(cpu::BPR, 7)?;
        let ctlr = self.cpu.read_u32(cpu::CTLR)?;
        self.cpu.write_u32(cpu::CTLR, ctlr | 1)
    }

    /// Stops this core's CPU interface from signalling interrupts.
    pub fn disable_cpu(&self) -> Result<()> {
        let ctlr = self.cpu.read_u32(cpu::CTLR)?;
        self.cpu.write_u32(cpu::CTLR, ctlr & !1)
    }

    /// This core's bit in the target registers, as the distributor reports
    /// it (a uniprocessor GIC reads 0 there: then bit 0).
    pub fn this_cpu_mask(&self) -> Result<u8> {
        // ITARGETSR0..7 are read-only and banked: each byte reads as the
        // reading core's own mask.
        let m = (self.dist.read_u32(dist::ITARGETSR)? & 0xFF) as u8;
        Ok(if m == 0 { 1 } else { m })
    }

    /// Read-modify-writes the byte of `id` in a byte-per-interrupt register
    /// bank at `base`, as a word (every GICv2 allows word accesses; not all
    /// models allow byte ones).
    fn set_byte(&self, base: usize, id: u32, value: u8) -> Result<()> {
        let off = base + (id as usize & !3);
        let shift = (id % 4) * 8;
        let word = self.dist.read_u32(off)?;
        let word = (word & !(0xFF << shift)) | (u32::from(value) << shift);
        self.dist.write_u32(off, word)
    }

    /// Configures `id` (priority, trigger, for an SPI the target cores) and
    /// enables it. SGIs are always enabled on some GICs and edge-triggered
    /// on all; their trigger is left alone.
    pub fn configure(&self, id: u32, priority: u8, trigger: Trigger, targets: u8) -> Result<()> {
        self.check_id(id)?;
        self.set_byte(dist::IPRIORITYR, id, priority)?;
        if id >= 16 {
            // Two bits per interrupt; the upper one says edge.
            let off = dist::ICFGR + (id as usize / 16) * 4;
            let bit = 1 << ((id % 16) * 2 + 1);
            let cfg = self.dist.read_u32(off)?;
            let cfg = match trigger {
                Trigger::Edge => cfg | bit,
                Trigger::Level => cfg & !bit,
            };
            self.dist.write_u32(off, cfg)?;
        }
        if id >= FIRST_SPI {
            self.set_byte(dist::ITARGETSR, id, targets)?;
        }
        self.enable(id)
    }

    /// Enables `id` at the distributor.
    pub fn enable(&self, id: u32) -> Result<()> {
        self.check_id(id)?;
        self.dist
            .write_u32(dist::ISENABLER + (id as usize / 32) * 4, 1 << (id % 32))
    }

    /// Disables `id` at the distributor.
    pub fn disable(&self, id: u32) -> Result<()> {
        self.check_id(id)?;
        self.dist
            .write_u32(dist::ICENABLER + (id as usize / 32) * 4, 1 << (id % 32))
    }

    /// Makes `id` pending by software (an SPI or PPI; SGIs go through
    /// [`send_sgi`](Self::send_sgi)). As a doorbell, it is preceded by
    /// [`barrier_before_doorbell`](crate::doorbell::barrier_before_doorbell).
    pub fn set_pending(&self, id: u32) -> Result<()> {
        self.check_id(id)?;
        crate::doorbell::barrier_before_doorbell();
        self.dist
            .write_u32(dist::ISPENDR + (id as usize / 32) * 4, 1 << (id % 32))
    }

    /// Clears `id`'s pending state.
    pub fn clear_pending(&self, id: u32) -> Result<()> {
        self.check_id(id)?;
        self.dist
            .write_u32(dist::ICPENDR + (id as usize / 32) * 4, 1 << (id % 32))
    }

    /// Sends SGI `id` (0..=15) to `target`.
    pub fn send_sgi(&self, id: u32, target: SgiTarget) -> Result<()> {
        if id > 15 {
            return Err(Error::InvalidRegion {
                reason: "SGI id must be 0..=15",
            });
        }
        let (filter, list) = match target {
            SgiTarget::List(mask) => (0, u32::from(mask)),
            SgiTarget::Others => (1, 0),
            SgiTarget::ToSelf => (2, 0),
        };
        crate::doorbell::barrier_before_doorbell();
        self.dist
            .write_u32(dist::SGIR, (filter << 24) | (list << 16) | id)
    }

    /// Takes the highest-priority pending interrupt: `None` if nothing is
    /// pending (the spurious ids). Every `Some` must be [`end`](Self::end)ed.
    pub fn acknowledge(&self) -> Result<Option<Acked>> {
        let raw = self.cpu.read_u32(cpu::IAR)?;
        let id = raw & 0x3FF;
        Ok((id < SPURIOUS_FIRST).then_some(Acked { id, raw }))
    }

    /// Ends an acknowledged interrupt (the CPU interface then delivers
    /// others of its priority again).
    pub fn end(&self, acked: Acked) -> Result<()> {
        self.cpu.write_u32(cpu::EOIR, acked.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(align(8))]
    struct Dist([u8; 0x1000]);
    #[repr(align(8))]
    struct Cpu([u8; 0x100]);

    fn regions<'a>(d: &'a mut Dist, c: &'a mut Cpu) -> (IoRegion<'a>, IoRegion<'a>) {
        (
            IoRegion::from_slice(&mut d.0),
            IoRegion::from_slice(&mut c.0),
        )
    }

    /// RAM stands in for the GIC: checks which bits go to which register,
    /// not the hardware's set/clear semantics.
    #[test]
    fn configure_writes_priority_trigger_target_and_enable() {
        let (mut d, mut c) = (Dist([0; 0x1000]), Cpu([0; 0x100]));
        let (dist, cpu) = regions(&mut d, &mut c);
        let gic = Gic::new(dist, cpu).unwrap();
        // Neighbours' bytes must survive the read-modify-writes.
        dist.write_u32(dist::IPRIORITYR + 60, 0x1122_3344).unwrap();
        dist.write_u32(dist::ITARGETSR + 60, 0x0101_0101).unwrap();
        dist.write_u32(dist::ICFGR + 12, 0x5555_5555).unwrap();
        gic.configure(61, 0xA0, Trigger::Edge, 0x2).unwrap();
        assert_eq!(dist.read_u32(dist::IPRIORITYR + 60).unwrap(), 0x1122_A044);
        assert_eq!(dist.read_u32(dist::ITARGETSR + 60).unwrap(), 0x0101_0201);
        // id 61 is field 13 of ICFGR3: bit 27 is its edge bit.
        assert_eq!(
            dist.read_u32(dist::ICFGR + 12).unwrap(),
            0x5555_5555 | 1 << 27
        );
        assert_eq!(dist.read_u32(dist::ISENABLER + 4).unwrap(), 1 << 29);
        gic.configure(61, 0xA0, Trigger::Level, 0x2).unwrap();
        assert_eq!(dist.read_u32(dist::ICFGR + 12).unwrap(), 0x5555_5555);
    }

    #[test]
    fn private_interrupts_keep_their_targets() {
        let (mut d, mut c) = (Dist([0; 0x1000]), Cpu([0; 0x100]));
        let (dist, cpu) = regions(&mut d, &mut c);
        let gic = Gic::new(dist, cpu).unwrap();
        gic.configure(27, 0x80, Trigger::Level, 0xFF).unwrap();
        assert_eq!(dist.read_u32(dist::ITARGETSR + 24).unwrap(), 0);
        assert_eq!(dist.read_u32(dist::IPRIORITYR + 24).unwrap(), 0x8000_0000);
        assert_eq!(dist.read_u32(dist::ISENABLER).unwrap(), 1 << 27);
        gic.configure(3, 0x80, Trigger::Level, 0).unwrap();
        assert_eq!(
            dist.read_u32(dist::ICFGR).unwrap(),
            0,
            "SGI trigger untouched"
        );
    }

    #[test]
    fn init_enable_pending_and_sgi() {
        let (mut d, mut c) = (Dist([0; 0x1000]), Cpu([0; 0x100]));
        let (dist, cpu) = regions(&mut d, &mut c);
        let gic = Gic::new(dist, cpu).unwrap();
        gic.init_distributor().unwrap();
        gic.init_cpu().unwrap();
        assert_eq!(dist.read_u32(dist::CTLR).unwrap(), 1);
        assert_eq!(cpu.read_u32(cpu::CTLR).unwrap(), 1);
        assert_eq!(cpu.read_u32(cpu::PMR).unwrap(), 0xF0);
        gic.disable_cpu().unwrap();
        assert_eq!(cpu.read_u32(cpu::CTLR).unwrap(), 0);
        gic.set_pending(65).unwrap();
        assert_eq!(dist.read_u32(dist::ISPENDR + 8).unwrap(), 1 << 1);
        gic.clear_pending(65).unwrap();
        assert_eq!(dist.read_u32(dist::ICPENDR + 8).unwrap(), 1 << 1);
        gic.disable(40).unwrap();
        assert_eq!(dist.read_u32(dist::ICENABLER + 4).unwrap(), 1 << 8);
        gic.send_sgi(5, SgiTarget::List(0b10)).unwrap();
        assert_eq!(dist.read_u32(dist::SGIR).unwrap(), 0x0002_0005);
        gic.send_sgi(1, SgiTarget::ToSelf).unwrap();
        assert_eq!(dist.read_u32(dist::SGIR).unwrap(), 0x0200_0001);
        gic.send_sgi(2, SgiTarget::Others).unwrap();
        assert_eq!(dist.read_u32(dist::SGIR).unwrap(), 0x0100_0002);
        assert!(gic.send_sgi(16, SgiTarget::ToSelf).is_err());
        assert!(gic.enable(1020).is_err());
    }

    #[test]
    fn acknowledge_and_end() {
        let (mut d, mut c) = (Dist([0; 0x1000]), Cpu([0; 0x100]));
        let (dist, cpu) = regions(&mut d, &mut c);
        let gic = Gic::new(dist, cpu).unwrap();
        cpu.write_u32(cpu::IAR, 1023).unwrap();
        assert_eq!(gic.acknowledge().unwrap(), None);
        cpu.write_u32(cpu::IAR, (1 << 10) | 3).unwrap();
        let a = gic.acknowledge().unwrap().unwrap();
        assert_eq!((a.id, a.source_cpu()), (3, 1));
        gic.end(a).unwrap();
        assert_eq!(cpu.read_u32(cpu::EOIR).unwrap(), (1 << 10) | 3);
    }

    #[test]
    fn lines_and_cpu_mask() {
        let (mut d, mut c) = (Dist([0; 0x1000]), Cpu([0; 0x100]));
        let (dist, cpu) = regions(&mut d, &mut c);
        let gic = Gic::new(dist, cpu).unwrap();
        dist.write_u32(dist::TYPER, 0x5).unwrap(); // ITLinesNumber 5: 192 ids
        assert_eq!(gic.lines().unwrap(), 192);
        assert_eq!(gic.this_cpu_mask().unwrap(), 1, "uniprocessor reads 0");
        dist.write_u32(dist::ITARGETSR, 0x0404_0404).unwrap();
        assert_eq!(gic.this_cpu_mask().unwrap(), 4);
    }

    #[test]
    fn short_windows_are_refused() {
        let (mut d, mut c) = (Dist([0; 0x1000]), Cpu([0; 0x100]));
        let (dist, cpu) = regions(&mut d, &mut c);
        assert!(Gic::new(dist.sub_region(0, 0x800).unwrap(), cpu).is_err());
        assert!(Gic::new(dist, cpu.sub_region(0, 0x10).unwrap()).is_err());
    }
}
