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
    /// The PL310 L2 cache controller.
    pub const L2_CACHE: usize = 0xF8F0_2000;
    /// Global timer clock on a typical board (CPU_3x2x, half the 667 MHz CPU clock).
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
    /// TTC input clock under QEMU's model; real boards usually feed 100 MHz
    /// (LPD_LSBUS): pass the right figure to `timer::Ttc::new`.
    pub const TTC_HZ_QEMU: u64 = 133_000_000;
    /// PSCI function id of CPU_ON (SMC64 calling convention).
    pub const PSCI_CPU_ON: u32 = 0xC400_0003;
    /// PSCI MPIDR-style target of RPU core 0 as QEMU's zcu102 numbers CPUs.
    pub const QEMU_R5_0_CPU: u64 = 4;
    /// L1 data cache line of the R5.
    pub const R5_CACHE_LINE: usize = 32;

    /// Inter-processor interrupt (IPI) channels: base addresses and masks.
    pub mod ipi {
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
