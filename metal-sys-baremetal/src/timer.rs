//! The machine's time base: a `Clock` and a busy-waiting `DelayNs`.
//!
//! - A53: the generic timer (CNTPCT_EL0 at CNTFRQ_EL0).
//! - A9: the MPCore global timer, 64 bits.
//! - R5: TTC0 counter 0, extended in software (see `Ttc`).

use openamp_metal::{Clock, DelayNs};

/// Busy-waits `ns` nanoseconds on `clock`.
fn spin_ns(clock: &impl Clock, ns: u32) {
    let end = clock.now_ns().saturating_add(u64::from(ns));
    while clock.now_ns() < end {
        core::hint::spin_loop();
    }
}

/// Converts `ticks` of a `hz` counter to nanoseconds without overflow.
fn ticks_to_ns(ticks: u64, hz: u64) -> u64 {
    if hz == 0 {
        return 0;
    }
    ((u128::from(ticks) * 1_000_000_000) / u128::from(hz)) as u64
}

/// The Arm generic timer of the A53: CNTPCT_EL0, at a known rate.
///
/// The rate comes from the hardware's CNTFRQ_EL0, which the boot firmware
/// (the FSBL, or ARM Trusted Firmware) writes; only the highest exception
/// level may write it, so an image at EL1 cannot fix a zero there.
/// [`new`](Self::new) refuses a zero (every deadline would be unreachable);
/// [`with_frequency`](Self::with_frequency) takes the rate from the
/// application's configuration instead.
#[cfg(feature = "zynqmp-a53")]
#[derive(Debug, Clone, Copy)]
pub struct GenericTimer {
    hz: u64,
}

#[cfg(feature = "zynqmp-a53")]
impl GenericTimer {
    /// The timer at the rate in CNTFRQ_EL0.
    ///
    /// # Panics
    /// If CNTFRQ_EL0 is 0 (no boot firmware set it): use
    /// [`with_frequency`](Self::with_frequency) or [`from_cntfrq`](Self::from_cntfrq).
    pub fn new() -> Self {
        match Self::from_cntfrq() {
            Some(t) => t,
            None => panic!("CNTFRQ_EL0 is 0: the boot firmware did not set the generic timer's rate; give it with GenericTimer::with_frequency"),
        }
    }

    /// The timer at the rate in CNTFRQ_EL0, or `None` if that is 0.
    pub fn from_cntfrq() -> Option<Self> {
        let frq: u64;
        // SAFETY: reading CNTFRQ_EL0 has no side effects.
        unsafe {
            core::arch::asm!("mrs {}, cntfrq_el0", out(reg) frq, options(nomem, nostack, preserves_flags))
        };
        let hz = frq & 0xFFFF_FFFF;
        (hz != 0).then_some(GenericTimer { hz })
    }

    /// The timer counting at `hz` (from configuration: the board's
    /// reference clock), whatever CNTFRQ_EL0 says.
    ///
    /// # Panics
    /// If `hz` is 0.
    pub const fn with_frequency(hz: u64) -> Self {
        assert!(hz != 0, "a timer rate of 0 Hz");
        GenericTimer { hz }
    }

    /// Counter ticks per second.
    pub fn frequency(&self) -> u64 {
        self.hz
    }

    fn counter() -> u64 {
        let cnt: u64;
        // SAFETY: CNTPCT_EL0 is readable at EL1 and reading it has no side
        // effects; `isb` keeps the read from being hoisted.
        unsafe {
            core::arch::asm!("isb", "mrs {0}, cntpct_el0", out(reg) cnt, options(nomem, nostack, preserves_flags))
        };
        cnt
    }
}

#[cfg(feature = "zynqmp-a53")]
impl Default for GenericTimer {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "zynqmp-a53")]
impl Clock for GenericTimer {
    fn now_ns(&self) -> u64 {
        ticks_to_ns(Self::counter(), self.hz)
    }
}

#[cfg(feature = "zynqmp-a53")]
impl DelayNs for GenericTimer {
    fn delay_ns(&mut self, ns: u32) {
        spin_ns(self, ns);
    }
}

/// The Cortex-A9 MPCore global timer.
#[cfg(feature = "zynq7000")]
#[derive(Debug, Clone, Copy)]
pub struct GlobalTimer {
    hz: u64,
}

#[cfg(feature = "zynq7000")]
impl GlobalTimer {
    const COUNT_LO: usize = crate::machine::zynq7000::GLOBAL_TIMER;
    const COUNT_HI: usize = Self::COUNT_LO + 4;
    const CONTROL: usize = Self::COUNT_LO + 8;

    /// Starts the timer (if it is not running) clocked at `hz`
    /// (see [`GLOBAL_TIMER_HZ`](crate::machine::zynq7000::GLOBAL_TIMER_HZ)).
    pub fn new(hz: u64) -> Self {
        // SAFETY: the global timer's registers are at a fixed, always-mapped
        // address on every Zynq-7000; setting the enable bit only starts it.
        unsafe {
            let ctl = Self::CONTROL as *mut u32;
            ctl.write_volatile(ctl.read_volatile() | 1);
        }
        GlobalTimer { hz }
    }

    /// Ticks per second (also the private timers' clock).
    pub fn frequency(&self) -> u64 {
        self.hz
    }

    /// The raw 64-bit count (e.g. for the timer's comparator).
    pub fn ticks(&self) -> u64 {
        Self::count()
    }

    fn count() -> u64 {
        // Read high, low, high again: a carry between the two halves shows
        // as a changed high word, and we retry.
        loop {
            // SAFETY: fixed, always-mapped timer registers; reads have no
            // side effects.
            let (hi, lo, hi2) = unsafe {
                (
                    (Self::COUNT_HI as *const u32).read_volatile(),
                    (Self::COUNT_LO as *const u32).read_volatile(),
                    (Self::COUNT_HI as *const u32).read_volatile(),
                )
            };
            if hi == hi2 {
                return (u64::from(hi) << 32) | u64::from(lo);
            }
        }
    }
}

#[cfg(feature = "zynq7000")]
impl Clock for GlobalTimer {
    fn now_ns(&self) -> u64 {
        ticks_to_ns(Self::count(), self.hz)
    }
}

#[cfg(feature = "zynq7000")]
impl DelayNs for GlobalTimer {
    fn delay_ns(&mut self, ns: u32) {
        spin_ns(self, ns);
    }
}

/// TTC0 counter 0 of the ZynqMP, the R5's time base.
///
/// The counter is 32 bits on ZynqMP silicon but 16 bits in QEMU's model, so
/// only its low 16 bits are used and the time is extended in software at
/// every reading. Readings must therefore come at least once per 65,536
/// ticks (about 8 ms with the /16 prescaler at 133 MHz): busy waits and poll
/// loops do that by nature; code that sleeps longer between readings should
/// use its own reference.
#[cfg(feature = "zynqmp-r5")]
#[derive(Debug)]
pub struct Ttc {
    hz: u64,
    /// Last raw reading and the extended tick count; behind a critical
    /// section so that the timer is `Sync` (an interrupt handler may read it).
    state: critical_section::Mutex<core::cell::Cell<(u16, u64)>>,
}

#[cfg(feature = "zynqmp-r5")]
impl Ttc {
    const CLOCK_CTRL: usize = crate::machine::zynqmp::TTC0;
    const COUNTER_CTRL: usize = Self::CLOCK_CTRL + 0x0C;
    const COUNTER_VALUE: usize = Self::CLOCK_CTRL + 0x18;
    /// Prescaler: divide by 2^(3+1) = 16.
    const PRESCALE: u32 = 3;

    /// Starts the counter free-running; `input_hz` is the TTC's input clock
    /// (see [`TTC_HZ_QEMU`](crate::machine::zynqmp::TTC_HZ_QEMU)).
    pub fn new(input_hz: u64) -> Self {
        // SAFETY: TTC0 is at a fixed, always-mapped address on every ZynqMP;
        // these writes set its prescaler and start counter 0 from zero in
        // overflow (free-running) mode, and nothing else uses that counter.
        unsafe {
            (Self::CLOCK_CTRL as *mut u32).write_volatile((Self::PRESCALE << 1) | 1);
            (Self::COUNTER_CTRL as *mut u32).write_volatile(1 << 4);
        }
        Ttc {
            hz: input_hz >> (Self::PRESCALE + 1),
            state: critical_section::Mutex::new(core::cell::Cell::new((0, 0))),
        }
    }

    /// Ticks per second after the prescaler.
    pub fn frequency(&self) -> u64 {
        self.hz
    }

    fn ticks(&self) -> u64 {
        critical_section::with(|cs| {
            let cell = self.state.borrow(cs);
            let (last, ticks) = cell.get();
            // SAFETY: reading the counter register has no side effects.
            let now = unsafe { (Self::COUNTER_VALUE as *const u32).read_volatile() } as u16;
            let t = ticks + u64::from(now.wrapping_sub(last));
            cell.set((now, t));
            t
        })
    }
}

#[cfg(feature = "zynqmp-r5")]
impl Clock for Ttc {
    fn now_ns(&self) -> u64 {
        ticks_to_ns(self.ticks(), self.hz)
    }
}

#[cfg(feature = "zynqmp-r5")]
impl DelayNs for Ttc {
    fn delay_ns(&mut self, ns: u32) {
        spin_ns(self, ns);
    }
}

/// The time base of the selected machine, under one name for portable code.
#[cfg(feature = "zynqmp-a53")]
pub type MachineTimer = GenericTimer;
/// The time base of the selected machine, under one name for portable code.
#[cfg(feature = "zynq7000")]
pub type MachineTimer = GlobalTimer;
/// The time base of the selected machine, under one name for portable code.
#[cfg(feature = "zynqmp-r5")]
pub type MachineTimer = Ttc;
