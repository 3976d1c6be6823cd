//! Addresses and constants of the supported machines.

/// Zynq-7000 (Cortex-A9 MPCore).
pub mod zynq7000 {
    /// UART0 (Cadence), the console.
    pub const UART0: usize = 0xE000_0000;
    /// UART1 (Cadence).
    pub const UART1: usize = 0xE000_1000;
    /// Private peripheral base of the A9 MPCore (SCU, GIC, timers).
    pub const MPCORE_BASE: usize = 0xF8F0_0000;
    /// The global timer, a 64-bit counter shared by both cores.
    pub const GLOBAL_TIMER: usize = MPCORE_BASE + 0x200;
    /// The GIC distributor.
    pub const GIC_DIST: usize = MPCORE_BASE + 0x1000;
    /// The GIC CPU interface.
    pub const GIC_CPU: usize = MPCORE_BASE + 0x100;
    /// The A9's private timer (one per core), the deadline timer of
    /// `irq::WaitForInterrupt`.
    pub const PRIVATE_TIMER: usize = MPCORE_BASE + 0x600;
    /// The private timer's interrupt (a PPI).
    pub const PRIVATE_TIMER_IRQ: u32 = 29;
    /// Interrupt ids the Zynq-7000 GIC implements (0..96).
    pub const GIC_LINES: usize = 96;
    /// The PL310 L2 cache controller.
    pub const L2_CACHE: usize = 0xF8F0_2000;
    /// Global (and private) timer clock on a typical board: PERIPHCLK,
    /// half the CPU clock (CPU_3x2x, 333 MHz with the usual 667 MHz CPU).
    /// A board with another CPU clock passes its own figure.
    pub const GLOBAL_TIMER_HZ: u64 = 333_333_333;
    /// L1 data cache line size.
    pub const CACHE_LINE: usize = 32;
}

/// ZynqMP (Cortex-A53 APU, Cortex-R5 RPU).
pub mod zynqmp {
    /// UART0 (Cadence): the A53's console.
    pub const UART0: usize = 0xFF00_0000;
    /// UART1 (Cadence): the R5's console.
    pub const UART1: usize = 0xFF01_0000;
    /// Triple timer counter 0 (the R5's time base).
    pub const TTC0: usize = 0xFF11_0000;
    /// TTC input clock under QEMU's model (never use it on hardware).
    pub const TTC_HZ_QEMU: u64 = 133_000_000;
    /// TTC input clock of a ZCU102 as Xilinx's designs clock it (LPD_LSBUS,
    /// 100 MHz). Another design may differ: its FSBL's clock set-up (or the
    /// hardware handoff file) says; pass that figure to `timer::Ttc::new`.
    pub const TTC_HZ_ZCU102: u64 = 100_000_000;
    /// The APU's GIC-400: distributor.
    pub const APU_GIC_DIST: usize = 0xF901_0000;
    /// The APU's GIC-400: CPU interface.
    pub const APU_GIC_CPU: usize = 0xF902_0000;
    /// The RPU's GIC (PL390): distributor.
    pub const RPU_GIC_DIST: usize = 0xF900_0000;
    /// The RPU's GIC (PL390): CPU interface.
    pub const RPU_GIC_CPU: usize = 0xF900_1000;
    /// Interrupt ids the ZynqMP GICs implement (0..192).
    pub const GIC_LINES: usize = 192;
    /// The A53's virtual timer interrupt (a PPI), the deadline timer of
    /// `irq::WaitForInterrupt`.
    pub const VIRTUAL_TIMER_IRQ: u32 = 27;
    /// Where an R5 core leaves reset with low vectors: address 0, the start
    /// of its ATCM (the other choice is 0xFFFF_0000, high vectors in OCM).
    pub const R5_RESET_VECTOR: u64 = 0;
    /// The TCMs as R5 core 0 sees them in split mode, and their global
    /// addresses (how the A53 or a DMA reaches them), for each bank:
    /// (R5 address, global address, size).
    pub const RPU0_ATCM: (u64, u64, u64) = (0x0000_0000, 0xFFE0_0000, 0x1_0000);
    /// RPU0's BTCM.
    pub const RPU0_BTCM: (u64, u64, u64) = (0x0002_0000, 0xFFE2_0000, 0x1_0000);
    /// PSCI function id of CPU_ON (SMC64 calling convention).
    pub const PSCI_CPU_ON: u32 = 0xC400_0003;
    /// PSCI MPIDR-style target of RPU core 0 as QEMU's zcu102 numbers CPUs.
    pub const QEMU_R5_0_CPU: u64 = 4;
    /// L1 data cache line of the R5.
    pub const R5_CACHE_LINE: usize = 32;

    /// Inter-processor interrupt (IPI) channels: base addresses, masks and
    /// GIC interrupt ids.
    ///
    /// Who owns which channel is the system's choice. ARM Trusted Firmware
    /// claims channel 0 (the APU's) for the platform management calls, so an
    /// application on the A53 must not take it. Xilinx's Linux
    /// (`zynqmp_r5_remoteproc` with the `xlnx,zynqmp-ipi-mailbox` device
    /// tree node) talks to R5 core 0 over channel 7 on the APU side and
    /// channel 1 (RPU0) on the R5 side: [`LINUX_HOST`](ipi::LINUX_HOST) and [`RPU0`](ipi::RPU0).
    pub mod ipi {
        /// One IPI channel.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Channel {
            /// The channel number (0..=10).
            pub number: u8,
            /// Base of its register block (TRIG, OBS, ISR, IMR, IER, IDR).
            pub base: usize,
            /// Its bit in other channels' TRIG/ISR registers.
            pub mask: u32,
            /// The GIC interrupt id its ISR raises (on the APU's and the
            /// RPU's GIC alike).
            pub irq: u32,
        }

        /// Channel 0, the APU's: owned by ARM Trusted Firmware.
        pub const CH0_APU: Channel = Channel {
            number: 0,
            base: APU_BASE,
            mask: APU_MASK,
            irq: 67,
        };
        /// Channel 1, R5 core 0's.
        pub const RPU0: Channel = Channel {
            number: 1,
            base: RPU0_BASE,
            mask: RPU0_MASK,
            irq: 65,
        };
        /// Channel 2, R5 core 1's.
        pub const RPU1: Channel = Channel {
            number: 2,
            base: RPU1_BASE,
            mask: RPU1_MASK,
            irq: 66,
        };
        /// Channel 7 (PL0 by name), which Xilinx's Linux uses for R5 core 0.
        pub const CH7: Channel = Channel {
            number: 7,
            base: 0xFF34_0000,
            mask: 0x0100_0000,
            irq: 61,
        };
        /// Channel 8 (PL1).
        pub const CH8: Channel = Channel {
            number: 8,
            base: 0xFF35_0000,
            mask: 0x0200_0000,
            irq: 62,
        };
        /// Channel 9 (PL2).
        pub const CH9: Channel = Channel {
            number: 9,
            base: 0xFF36_0000,
            mask: 0x0400_0000,
            irq: 63,
        };
        /// Channel 10 (PL3).
        pub const CH10: Channel = Channel {
            number: 10,
            base: 0xFF37_0000,
            mask: 0x0800_0000,
            irq: 64,
        };
        /// The APU-side channel a Linux host uses with R5 core 0: the
        /// default host channel of the examples.
        pub const LINUX_HOST: Channel = CH7;

        /// The channel numbered `n`, for the ones listed here.
        pub const fn by_number(n: u8) -> Option<Channel> {
            match n {
                0 => Some(CH0_APU),
                1 => Some(RPU0),
                2 => Some(RPU1),
                7 => Some(CH7),
                8 => Some(CH8),
                9 => Some(CH9),
                10 => Some(CH10),
                _ => None,
            }
        }

        /// APU channel (channel 0).
        pub const APU_BASE: usize = 0xFF30_0000;
        /// RPU0 channel (channel 1).
        pub const RPU0_BASE: usize = 0xFF31_0000;
        /// RPU1 channel (channel 2).
        pub const RPU1_BASE: usize = 0xFF32_0000;
        /// Bit of the APU channel in TRIG/ISR masks.
        pub const APU_MASK: u32 = 0x0000_0001;
        /// Bit of the RPU0 channel.
        pub const RPU0_MASK: u32 = 0x0000_0100;
        /// Bit of the RPU1 channel.
        pub const RPU1_MASK: u32 = 0x0000_0200;
    }
}
