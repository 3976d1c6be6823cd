//! Interrupts on the selected core: the GIC, the IRQ vector's dispatch to
//! handlers registered by id, and sleeping until an interrupt.
//!
//! ```ignore
//! use openamp_metal_sys_baremetal::doorbell::{KickLatch, LatchWait};
//! use openamp_metal_sys_baremetal::{gic::Trigger, irq, timer::MachineTimer};
//!
//! static KICKS: KickLatch = KickLatch::new();
//! fn doorbell_irq(_id: u32) {
//!     // acknowledge the device here if it needs it (e.g. ZynqMpIpi::poll)
//!     KICKS.signal();
//! }
//!
//! irq::init()?;
//! irq::register(61, Trigger::Level, doorbell_irq)?;
//! irq::enable();
//! let timer = MachineTimer::new(..);
//! let kicks = LatchWait::new(&KICKS, timer, irq::WaitForInterrupt::new(timer));
//! // NotifyWait { kicks: &kicks, clock: timer } for the RPMsg device
//! ```
//!
//! # What may run in interrupt context
//!
//! Handlers run with this core's interrupts masked (they do not nest), on
//! the stack of the code they interrupted. A handler may call only what
//! takes no lock that this core's thread could hold:
//!
//! - [`KickLatch::signal`](crate::doorbell::KickLatch::signal), the way to
//!   hand a kick to the thread;
//! - the doorbells' register operations that take no lock:
//!   `ZynqMpIpi::poll` (acknowledges an IPI), `ZynqSgi::notify`,
//!   [`Gic`] methods through [`gic`];
//! - atomics, `critical_section::with` (it nests), the console (lines may
//!   interleave with the thread's).
//!
//! **None of `openamp_rpmsg::RpmsgDevice`'s methods** (`poll`,
//! `wait_and_poll`, `try_recv`, `send`, ...), nor anything else built on
//! `openamp_metal::Mutex`: that is a spin lock that does not mask
//! interrupts, so a handler that wants it while the interrupted thread
//! holds it spins forever. Nor `WaitForInterrupt` or any wait: the
//! handler's own interrupt cannot come while it runs.

use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
#[cfg(any(feature = "zynqmp-a53", feature = "zynq7000"))]
use core::time::Duration;

use critical_section::Mutex;
use openamp_metal::{IoAttr, IoRegion, PhysMap, Result};

#[cfg(any(feature = "zynqmp-a53", feature = "zynq7000"))]
use crate::doorbell::{Idle, KickLatch};
pub use crate::gic::Trigger;
use crate::gic::{Gic, DEFAULT_PRIORITY};

/// A handler: called with the interrupt id, in interrupt context.
pub type Handler = fn(u32);

#[cfg(feature = "zynq7000")]
mod regs {
    pub use crate::machine::zynq7000::{GIC_CPU, GIC_DIST, GIC_LINES};
}
#[cfg(feature = "zynqmp-a53")]
mod regs {
    pub use crate::machine::zynqmp::{APU_GIC_CPU as GIC_CPU, APU_GIC_DIST as GIC_DIST, GIC_LINES};
}
#[cfg(feature = "zynqmp-r5")]
mod regs {
    pub use crate::machine::zynqmp::{GIC_LINES, RPU_GIC_CPU as GIC_CPU, RPU_GIC_DIST as GIC_DIST};
}
use regs::{GIC_CPU, GIC_DIST, GIC_LINES};

/// Handlers by interrupt id. Behind critical sections: registering runs in
/// the thread with interrupts masked, the dispatch in a handler (where they
/// are masked anyway).
static HANDLERS: [Mutex<Cell<Option<Handler>>>; GIC_LINES] =
    [const { Mutex::new(Cell::new(None)) }; GIC_LINES];
static READY: AtomicBool = AtomicBool::new(false);
/// Nesting depth of the dispatcher (0 or 1: handlers do not nest).
static DEPTH: AtomicU32 = AtomicU32::new(0);
/// Interrupts dispatched so far.
static TAKEN: AtomicU32 = AtomicU32::new(0);

/// The machine's GIC: the distributor and this core's CPU interface.
pub fn gic() -> Result<Gic<'static>> {
    // SAFETY: GIC_DIST and GIC_CPU are the interrupt controller's register
    // blocks, fixed by the SoC and always mapped (MMU/MPU off, or mapped as
    // device memory); every access is a volatile word through IoRegion.
    let (dist, cpu) = unsafe {
        (
            IoRegion::new(
                GIC_DIST as *mut u8,
                0x1000,
                PhysMap::Contiguous(GIC_DIST as u64),
                IoAttr::UNCACHED,
            )?,
            IoRegion::new(
                GIC_CPU as *mut u8,
                0x100,
                PhysMap::Contiguous(GIC_CPU as u64),
                IoAttr::UNCACHED,
            )?,
        )
    };
    Gic::new(dist, cpu)
}

/// Sets up the GIC for this core (distributor on, CPU interface on) and,
/// where the machine has one, the deadline timer that bounds
/// `WaitForInterrupt`'s sleeps. Interrupts stay masked at the core until
/// [`enable`].
pub fn init() -> Result<()> {
    let gic = gic()?;
    gic.init_distributor()?;
    gic.init_cpu()?;
    READY.store(true, Ordering::Release);
    wake::init()
}

/// Calls `handler` for interrupt `id` from now on, and enables `id` at the
/// GIC (an SPI is routed to this core).
pub fn register(id: u32, trigger: Trigger, handler: Handler) -> Result<()> {
    let slot = HANDLERS
        .get(id as usize)
        .ok_or(openamp_metal::Error::InvalidRegion {
            reason: "interrupt id past the machine's GIC",
        })?;
    critical_section::with(|cs| slot.borrow(cs).set(Some(handler)));
    let gic = gic()?;
    gic.configure(id, DEFAULT_PRIORITY, trigger, gic.this_cpu_mask()?)
}

/// Disables `id` at the GIC and forgets its handler.
pub fn unregister(id: u32) -> Result<()> {
    gic()?.disable(id)?;
    if let Some(slot) = HANDLERS.get(id as usize) {
        critical_section::with(|cs| slot.borrow(cs).set(None));
    }
    Ok(())
}

/// Unmasks IRQs at this core: registered interrupts are taken from now on.
pub fn enable() {
    // SAFETY: clears only this core's IRQ mask; handlers are registered
    // with the dispatcher, and an unregistered interrupt is reported.
    #[cfg(target_arch = "arm")]
    unsafe {
        core::arch::asm!("cpsie i", options(nostack))
    };
    // SAFETY: as above (DAIF.I).
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("msr daifclr, #2", options(nostack))
    };
}

/// Masks IRQs at this core.
pub fn disable() {
    // SAFETY: sets only this core's IRQ mask.
    #[cfg(target_arch = "arm")]
    unsafe {
        core::arch::asm!("cpsid i", options(nostack))
    };
    // SAFETY: as above (DAIF.I).
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("msr daifset, #2", options(nostack))
    };
}

/// Whether the caller runs in an interrupt handler.
pub fn in_interrupt() -> bool {
    DEPTH.load(Ordering::Relaxed) != 0
}

/// How many interrupts the dispatcher has handed to handlers.
pub fn taken() -> u32 {
    TAKEN.load(Ordering::Relaxed)
}

/// Called by the IRQ vector (registers saved, IRQs masked): acknowledges
/// every pending interrupt, runs its handler and ends it.
#[unsafe(no_mangle)]
extern "C" fn __openamp_irq_dispatch() {
    if !READY.load(Ordering::Acquire) {
        super::arch::fatal(format_args!("unexpected IRQ (irq::init was not called)"));
    }
    let Ok(gic) = gic() else { return };
    // Handlers do not nest: a plain load and store suffice.
    DEPTH.store(DEPTH.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    while let Ok(Some(acked)) = gic.acknowledge() {
        let handler = HANDLERS
            .get(acked.id as usize)
            .and_then(|slot| critical_section::with(|cs| slot.borrow(cs).get()));
        let Some(handler) = handler else {
            let _ = gic.disable(acked.id);
            let _ = gic.end(acked);
            super::arch::fatal(format_args!(
                "unexpected IRQ {} (no handler registered)",
                acked.id
            ));
        };
        handler(acked.id);
        TAKEN.store(
            TAKEN.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
        let _ = gic.end(acked);
    }
    DEPTH.store(DEPTH.load(Ordering::Relaxed) - 1, Ordering::Relaxed);
}

/// Sleeps in `wfi` until an interrupt: the [`Idle`] of a
/// [`LatchWait`](crate::doorbell::LatchWait) whose latch an interrupt
/// handler signals. Needs [`init`] and [`enable`] (the handler's interrupt
/// must be registered).
///
/// It masks IRQs, checks the latch, arms the machine's deadline timer for
/// the time left (the A53's virtual timer, the A9's private timer), waits
/// with `wfi` (which wakes on a pending interrupt even while masked) and
/// unmasks, so the handler runs then: a kick that comes between the check
/// and the `wfi` ends the sleep instead of being slept through. The R5 has
/// no deadline timer here: use [`Spin`](crate::doorbell::Spin) there.
#[cfg(any(feature = "zynqmp-a53", feature = "zynq7000"))]
#[derive(Debug, Clone, Copy)]
pub struct WaitForInterrupt {
    hz: u64,
}

#[cfg(any(feature = "zynqmp-a53", feature = "zynq7000"))]
impl WaitForInterrupt {
    /// Sleeps bounded by the deadline timer, which runs at `timer`'s rate.
    pub fn new(timer: crate::timer::MachineTimer) -> Self {
        WaitForInterrupt {
            hz: timer.frequency(),
        }
    }
}

#[cfg(any(feature = "zynqmp-a53", feature = "zynq7000"))]
impl Idle for WaitForInterrupt {
    fn pause(&self, latch: &KickLatch, remaining: Duration) {
        if !READY.load(Ordering::Acquire) || in_interrupt() {
            // Nothing would wake us (no GIC set up, or our own handler's
            // interrupt cannot come): do not sleep.
            core::hint::spin_loop();
            return;
        }
        critical_section::with(|_| {
            if latch.is_pending() {
                return;
            }
            wake::arm(remaining, self.hz);
            // SAFETY: `wfi` only pauses the core until an interrupt is
            // pending (masked or not); it touches no memory.
            unsafe { core::arch::asm!("wfi", options(nomem, nostack, preserves_flags)) };
        });
        // Leaving the critical section unmasks: the pending interrupt's
        // handler runs here, before the caller looks at the latch again.
    }
}

/// The deadline timer that ends a [`WaitForInterrupt`] sleep.
mod wake {
    use openamp_metal::Result;

    /// Ticks of a `hz` timer in `d`, clamped to `max`.
    #[cfg_attr(feature = "zynqmp-r5", allow(dead_code))]
    fn ticks(d: core::time::Duration, hz: u64, max: u64) -> u64 {
        let t = d.as_nanos().saturating_mul(u128::from(hz)) / 1_000_000_000;
        (t.min(u128::from(max)) as u64).max(1)
    }

    #[cfg(feature = "zynqmp-a53")]
    pub fn init() -> Result<()> {
        use crate::machine::zynqmp::VIRTUAL_TIMER_IRQ;
        stop(0);
        super::register(VIRTUAL_TIMER_IRQ, super::Trigger::Level, stop)
    }

    /// The virtual timer's handler: stops it (its line is level).
    #[cfg(feature = "zynqmp-a53")]
    fn stop(_id: u32) {
        // SAFETY: CNTV_CTL_EL0 = 0 disables this core's virtual timer, which
        // only the deadline logic here uses.
        unsafe { core::arch::asm!("msr cntv_ctl_el0, xzr", "isb", options(nostack)) };
    }

    #[cfg(feature = "zynqmp-a53")]
    pub fn arm(remaining: core::time::Duration, hz: u64) {
        // TVAL is a signed 32-bit down-count: relative, so CNTVOFF does not matter.
        let t = ticks(remaining, hz, i32::MAX as u64);
        // SAFETY: programs this core's virtual timer (only used here) to
        // fire once after `t` ticks with its interrupt unmasked.
        unsafe {
            core::arch::asm!(
                "msr cntv_tval_el0, {t}", "mov {c}, #1", "msr cntv_ctl_el0, {c}", "isb",
                t = in(reg) t, c = out(reg) _, options(nostack)
            )
        };
    }

    #[cfg(feature = "zynq7000")]
    mod ptimer {
        use crate::machine::zynq7000::PRIVATE_TIMER;
        pub const LOAD: usize = PRIVATE_TIMER;
        pub const CONTROL: usize = PRIVATE_TIMER + 0x08;
        pub const STATUS: usize = PRIVATE_TIMER + 0x0C;
        pub fn write(reg: usize, v: u32) {
            // SAFETY: the A9 private timer's registers, fixed by the SoC and
            // always mapped; only the deadline logic here uses this timer.
            unsafe { (reg as *mut u32).write_volatile(v) };
        }
    }

    #[cfg(feature = "zynq7000")]
    pub fn init() -> Result<()> {
        use crate::machine::zynq7000::PRIVATE_TIMER_IRQ;
        stop(0);
        super::register(PRIVATE_TIMER_IRQ, super::Trigger::Edge, stop)
    }

    /// The private timer's handler: stops it and clears its event.
    #[cfg(feature = "zynq7000")]
    fn stop(_id: u32) {
        ptimer::write(ptimer::CONTROL, 0);
        ptimer::write(ptimer::STATUS, 1);
    }

    #[cfg(feature = "zynq7000")]
    pub fn arm(remaining: core::time::Duration, hz: u64) {
        let t = ticks(remaining, hz, u64::from(u32::MAX));
        ptimer::write(ptimer::CONTROL, 0);
        ptimer::write(ptimer::STATUS, 1);
        ptimer::write(ptimer::LOAD, t as u32);
        // Enable, one-shot (no auto-reload), interrupt on, prescaler 1.
        ptimer::write(ptimer::CONTROL, 0b101);
    }

    #[cfg(feature = "zynqmp-r5")]
    pub fn init() -> Result<()> {
        Ok(())
    }
}
