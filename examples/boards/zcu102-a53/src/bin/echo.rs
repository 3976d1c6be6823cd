//! ZynqMP A53 RPMsg host: loads the R5 echo firmware it embeds with
//! `openamp-remoteproc` (its boot code into R5 core 0's ATCM, through the
//! TCM's global address after zeroing both banks, the rest into DDR), wakes
//! R5 core 0 at its reset vector 0 as the hardware does, sets up the vdev from the
//! firmware's resource table, echoes every payload size, reads the R5's
//! trace buffer, stops the R5, and exits with status 0 only if every echo
//! matched.
//!
//! The R5's kicks arrive as an interrupt: the host IPI channel's (id 61 for
//! channel 7). Its handler only records the kick in a `KickLatch`; the
//! thread sleeps in `wfi` inside the RPMsg device's waits and polls the
//! device when the latch says so. Under QEMU, which connects no IPI to the
//! R5, the R5 raises that same interrupt id by setting it pending in the
//! APU's GIC; on hardware the IPI block raises it. The run fails unless
//! kicks came through the handler and woke waits.
#![no_std]
#![no_main]

extern crate alloc;

#[path = "../../../common/config.rs"]
mod config;
#[path = "../../../common/smoke.rs"]
mod smoke;

use core::sync::atomic::Ordering;
use core::time::Duration;

use openamp_metal::{Clock, IoAttr, IoRegion, Notify, PhysMap, WaitNotify};
#[cfg(not(feature = "zcu102-hw"))]
use openamp_metal_sys_baremetal::doorbell::PolledDoorbell;
use openamp_metal_sys_baremetal::doorbell::{KickLatch, LatchWait};
use openamp_metal_sys_baremetal::heap::BumpHeap;
use openamp_metal_sys_baremetal::irq::{self, Trigger, WaitForInterrupt};
#[cfg(not(feature = "zcu102-hw"))]
use openamp_metal_sys_baremetal::machine::zynqmp::QEMU_R5_0_CPU;
use openamp_metal_sys_baremetal::machine::zynqmp::{R5_RESET_VECTOR, RPU0_ATCM, RPU0_BTCM};
use openamp_metal_sys_baremetal::mmu::{self, Memory, Region};
#[cfg(feature = "zcu102-hw")]
use openamp_metal_sys_baremetal::rpu;
#[cfg(not(feature = "zcu102-hw"))]
use openamp_metal_sys_baremetal::rpu::psci_cpu_on;
use openamp_metal_sys_baremetal::timer::GenericTimer;
use openamp_metal_sys_baremetal::{entry, exit, println};
use openamp_remoteproc::elf::LoadOptions;
use openamp_remoteproc::{Error, Mapping, MemPool, Remoteproc, RemoteprocOps, Role, SliceStore};
use openamp_rpmsg::{Config, EndpointConfig, NotifyWait, RpmsgDevice};

/// The R5 firmware, built before this image by `cargo xtask build`.
static R5_ECHO: &[u8] = include_bytes!(env!("OPENAMP_R5_ECHO_ELF"));

/// Remoteproc keeps its tables (memory map, resources) on the heap.
#[global_allocator]
static HEAP: BumpHeap<{ 64 * 1024 }> = BumpHeap::new();

/// The R5's DDR as the A53 may map it: the firmware carveout, then the
/// vring and buffer carveouts (identity: the R5 sees DDR where we do).
const R5_DDR: (u64, u64) = (
    smoke::FW_CARVEOUT as u64,
    (smoke::BUFFER_POOL + smoke::BUFFER_POOL_LEN) as u64,
);

/// The A53's address of the R5's `[da, da + len)`: a TCM bank (split mode,
/// core 0) through its global address, or the R5's DDR; `None` for
/// anything else.
fn r5_to_a53(da: u64, len: u64) -> Option<u64> {
    let end = da.checked_add(len)?;
    for bank in [RPU0_ATCM, RPU0_BTCM] {
        if da >= bank.0 && end <= bank.0 + bank.2 {
            return Some(bank.1 + (da - bank.0));
        }
    }
    (da >= R5_DDR.0 && end <= R5_DDR.1).then_some(da)
}

/// The TCM's global window (RPU0's ATCM, the gap, its BTCM) and where it
/// really is: itself on hardware. QEMU models no TCM; there the R5's 0x0
/// is DDR at 0x0, so the QEMU build maps the global window onto that DDR
/// and the loader takes the hardware's path (writes through 0xFFE00000).
const TCM_WINDOW: Region = Region {
    va: RPU0_ATCM.1,
    pa: if cfg!(feature = "zcu102-hw") {
        RPU0_ATCM.1
    } else {
        RPU0_ATCM.0
    },
    len: RPU0_BTCM.1 + RPU0_BTCM.2 - RPU0_ATCM.1,
    memory: Memory::Uncached,
};

/// The MMU on, caches on, with everything the R5 shares non-cacheable:
/// its carveout (which the loader writes and the R5 then runs from), the
/// control page, trace, vrings and buffers, the QEMU doorbell page, and
/// the TCM window.
fn mmu_on() -> openamp_metal::Result<()> {
    mmu::enable(&[
        Region::identity(R5_DDR.0, R5_DDR.1 - R5_DDR.0, Memory::Uncached),
        Region::identity(
            smoke::WINDOW as u64,
            smoke::WINDOW_LEN as u64,
            Memory::Uncached,
        ),
        TCM_WINDOW,
    ])
}
const TIMEOUT: Duration = Duration::from_secs(5);

/// The R5's kicks, recorded by [`kick_irq`].
static KICKS: KickLatch = KickLatch::new();

/// The host channel's interrupt handler, in interrupt context: it takes the
/// kick off the device (on hardware, the IPI's status bit, whose level line
/// stays up until cleared) and records it. It calls nothing of the RPMsg
/// device: that is the thread's job.
fn kick_irq(_id: u32) {
    #[cfg(feature = "zcu102-hw")]
    if let Ok(regs) = host_ipi_regs() {
        use openamp_metal_sys_baremetal::doorbell::ipi_acknowledge;
        let _ = ipi_acknowledge(regs, config::R5_IPI.mask);
    }
    KICKS.signal();
}

entry!(main);

fn main() -> ! {
    match run() {
        Ok(()) => exit(0),
        Err(e) => {
            println!("a53: echo FAILED: {e}");
            exit(1)
        }
    }
}

/// R5 core 0, as remoteproc sees it.
struct R5Core<B> {
    /// The echo's control page (the R5's "parked" word).
    control: IoRegion<'static>,
    bell: B,
}

impl<B: Notify> RemoteprocOps<'static> for R5Core<B> {
    fn mmap(
        &mut self,
        pa: Option<u64>,
        da: Option<u64>,
        len: u64,
    ) -> openamp_remoteproc::Result<Mapping<'static>> {
        let addr = da.or(pa).ok_or(Error::Unsupported {
            op: "mmap at any address",
        })?;
        let at = r5_to_a53(addr, len).ok_or(Error::Unsupported {
            op: "mmap outside the R5's TCM and DDR",
        })?;
        // SAFETY: [at, at + len) is one of R5 core 0's TCM banks (through
        // its global address) or DDR reserved for the R5 (R5_DDR), both
        // mapped non-cacheable (mmu_on) and used by nothing else of this
        // image; accesses go through IoRegion.
        let region = unsafe {
            IoRegion::new(
                at as usize as *mut u8,
                len as usize,
                PhysMap::Contiguous(at),
                IoAttr::UNCACHED,
            )
        }?;
        Ok(Mapping { da: addr, region })
    }

    /// Wakes the R5 at its reset vector (0, low vectors: its ATCM), as the
    /// PMU firmware on hardware does; never at the ELF entry.
    fn start(&mut self) -> openamp_remoteproc::Result<()> {
        self.control
            .store_u32(smoke::R5_PARKED, 0, Ordering::Release)?;
        match start_r5(R5_RESET_VECTOR) {
            0 => Ok(()),
            ret => Err(Error::Os {
                op: "waking R5 core 0".into(),
                errno: ret as i32,
                reason: alloc::format!("PSCI CPU_ON / pm_request_wakeup returned {ret}"),
            }),
        }
    }

    /// Waits for the R5 to park itself: the host closes the channel first,
    /// which ends the firmware's echo loop. (On hardware the platform
    /// management unit would also power the RPU down.)
    fn stop(&mut self) -> openamp_remoteproc::Result<()> {
        let clock = config::a53_timer();
        let deadline = clock.deadline(TIMEOUT);
        while self.control.load_u32(smoke::R5_PARKED, Ordering::Acquire)? == 0 {
            if deadline.expired(&clock) {
                return Err(Error::Timeout {
                    what: "the R5 to park",
                });
            }
        }
        Ok(())
    }

    fn notify(&self, id: u32) -> openamp_remoteproc::Result<()> {
        Ok(self.bell.notify(id)?)
    }
}

/// Any error of the layers involved, as text.
struct Failed(alloc::string::String);

impl core::fmt::Display for Failed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail<E: core::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> Failed {
    move |e| Failed(alloc::format!("{what}: {e}"))
}

/// Kicking the R5 under QEMU: a polled word in shared DDR (QEMU connects
/// no IPI to the R5, and models no GIC for it).
#[cfg(not(feature = "zcu102-hw"))]
fn doorbell() -> openamp_metal::Result<impl Notify + WaitNotify + Sync> {
    let window = smoke::window()?;
    window.fill(0, smoke::SHM_LEN, 0)?;
    PolledDoorbell::new(window, smoke::BELL_A53, smoke::BELL_R5, config::a53_timer())
}

/// The host IPI channel's registers (channel 7 unless configured otherwise).
#[cfg(feature = "zcu102-hw")]
fn host_ipi_regs() -> openamp_metal::Result<IoRegion<'static>> {
    use openamp_metal_sys_baremetal::doorbell::ZynqMpIpi;
    let base = config::HOST_IPI.base;
    // SAFETY: an IPI channel's registers, fixed by the SoC and always
    // mapped; the system gives this channel to this image alone.
    unsafe {
        IoRegion::new(
            base as *mut u8,
            ZynqMpIpi::<GenericTimer>::REGS_LEN,
            PhysMap::Contiguous(base as u64),
            IoAttr::UNCACHED,
        )
    }
}

/// Kicking the R5 on a ZCU102: the host IPI channel, triggering RPU0's.
#[cfg(feature = "zcu102-hw")]
fn doorbell() -> openamp_metal::Result<impl Notify + WaitNotify + Sync> {
    use openamp_metal_sys_baremetal::doorbell::ZynqMpIpi;
    let ipi = ZynqMpIpi::new(host_ipi_regs()?, config::R5_IPI.mask, config::a53_timer())?;
    // The R5's kicks raise the channel's interrupt (see kick_irq).
    ipi.enable_interrupt()?;
    Ok(ipi)
}

/// Powers R5 core 0 on at `entry`: PSCI under QEMU, the PM API on hardware.
fn start_r5(entry: u64) -> i64 {
    #[cfg(not(feature = "zcu102-hw"))]
    return psci_cpu_on(QEMU_R5_0_CPU, entry);
    #[cfg(feature = "zcu102-hw")]
    return i64::from(openamp_metal_sys_baremetal::rpu::pm_request_wakeup(
        openamp_metal_sys_baremetal::rpu::NODE_RPU_0,
        entry,
    ));
}

/// Makes R5 core 0's TCM ready to load: on hardware the PMU powers the
/// banks for us (pm_request_node); then every word is written once, as the
/// TCM's ECC needs before anything reads it (a partial write of a word
/// whose ECC was never set reads it first and faults).
fn prepare_tcm(rproc: &mut Remoteproc<'static, R5Core<impl Notify>>) -> Result<(), Failed> {
    #[cfg(feature = "zcu102-hw")]
    for node in [rpu::NODE_TCM_0_A, rpu::NODE_TCM_0_B] {
        match rpu::pm_request_node(node) {
            0 => {}
            status => {
                return Err(Failed(alloc::format!(
                    "pm_request_node({node}) for R5 core 0's TCM returned {status}"
                )))
            }
        }
    }
    for bank in [RPU0_ATCM, RPU0_BTCM] {
        let m = rproc
            .ops_mut()
            .mmap(None, Some(bank.0), bank.2)
            .map_err(fail("TCM"))?;
        m.region.fill(0, bank.2 as usize, 0).map_err(fail("TCM"))?;
    }
    Ok(())
}

fn run() -> Result<(), Failed> {
    mmu_on().map_err(fail("MMU"))?;
    let shared = smoke::echo_shared().map_err(fail("shared memory"))?;
    // Control page, trace buffer and vring pool start out zero.
    shared
        .fill(0, smoke::BUFFER_POOL - smoke::ECHO_SHARED, 0)
        .map_err(fail("shared memory"))?;
    irq::init().map_err(fail("interrupts"))?;
    irq::register(config::HOST_IPI.irq, Trigger::Level, kick_irq).map_err(fail("interrupts"))?;
    irq::enable();
    let bell = doorbell().map_err(fail("doorbell"))?;

    let control = smoke::echo_part(smoke::R5_CONTROL, 4).map_err(fail("control page"))?;
    let mut rproc = Remoteproc::new(R5Core { control, bell }).map_err(fail("remoteproc"))?;
    let vrings =
        smoke::echo_part(smoke::VRING_POOL, smoke::VRING_POOL_LEN).map_err(fail("pool"))?;
    rproc.set_pool(MemPool::new(vrings, smoke::VRING_POOL as u64));
    rproc.config().map_err(fail("config"))?;
    prepare_tcm(&mut rproc)?;
    let image = rproc
        .load(
            &mut SliceStore::new(R5_ECHO),
            "r5-echo",
            &LoadOptions::default(),
        )
        .map_err(fail("load"))?;
    println!(
        "a53: loaded the R5 echo firmware ({} bytes, ELF entry {:#x}); waking the R5 at its reset vector {:#x}",
        R5_ECHO.len(),
        image.entry,
        R5_RESET_VECTOR
    );
    if image.entry >= RPU0_ATCM.2 {
        return Err(Failed(alloc::format!(
            "the R5 image's entry {:#x} is not in its ATCM: it would not boot from reset",
            image.entry
        )));
    }
    rproc.start().map_err(fail("start"))?;

    let clock = config::a53_timer();
    // The device's waits sleep in `wfi` until the handler's kick (or the
    // deadline timer) ends them.
    let kicks = LatchWait::new(&KICKS, clock, WaitForInterrupt::new(clock));
    let (messages, total_ns) = {
        let buffers = smoke::echo_part(smoke::BUFFER_POOL, smoke::HOST_BUFFERS_LEN)
            .map_err(fail("buffers"))?;
        let transport = rproc
            .create_virtio(0, Role::Driver, buffers)
            .map_err(fail("vdev"))?;
        let wait = NotifyWait {
            kicks: &kicks,
            clock,
        };
        let dev: RpmsgDevice<'_, '_, _, _> =
            RpmsgDevice::new_host(transport, wait, Config::default()).map_err(fail("rpmsg"))?;
        let ep = dev
            .create_endpoint(EndpointConfig::named(echo_channel()).map_err(fail("endpoint"))?)
            .map_err(fail("endpoint"))?;
        dev.wait_bound(ep, TIMEOUT)
            .map_err(fail("waiting for the R5's announcement"))?;
        println!(
            "a53: bound to the R5's {} at {}",
            echo_channel(),
            dev.dest(ep).map_err(fail("endpoint"))?
        );
        let result = echo_all(&dev, ep, &clock);
        // Closing the channel ends the R5's echo loop (name-service DESTROY).
        dev.destroy_endpoint(ep).map_err(fail("destroy"))?;
        result?
    };

    // The R5 leaves its loop, writes its last trace line and parks.
    rproc.stop().map_err(fail("stop"))?;
    for trace in rproc.traces() {
        let text = trace.text().map_err(fail("trace"))?;
        for line in text.lines() {
            println!("a53: R5 trace: {line}");
        }
    }
    let (signals, woken) = (KICKS.signals(), kicks.woken_by_kick());
    println!(
        "a53: the R5's kicks came by interrupt: the handler of id {} ran {signals} times, {woken} waits were woken by it ({} interrupts in all)",
        config::HOST_IPI.irq,
        irq::taken()
    );
    if signals == 0 || woken == 0 {
        return Err(Failed(alloc::format!(
            "no kick came through the interrupt handler ({signals} signals, {woken} wake-ups)"
        )));
    }
    println!(
        "a53: echo passed: {messages} messages of 1..=496 bytes matched; mean round trip {} us (QEMU time); heap used {} bytes",
        total_ns / 1000 / messages.max(1),
        HEAP.used()
    );
    Ok(())
}

fn echo_channel() -> &'static str {
    "rpmsg-openamp-demo-channel"
}

/// Sends every payload size once and checks each echo; returns the count
/// and the total round-trip time.
fn echo_all<'a, T: openamp_virtio::Transport<'a> + Sync, W: openamp_rpmsg::Wait>(
    dev: &RpmsgDevice<'a, '_, T, W>,
    ep: openamp_rpmsg::EndpointId,
    clock: &GenericTimer,
) -> Result<(u64, u64), Failed> {
    let (mut sent, mut got) = ([0u8; 496], [0u8; 496]);
    let mut total = 0u64;
    for size in 1..=dev.max_payload().min(496) {
        for (i, b) in sent[..size].iter_mut().enumerate() {
            *b = (i * 7 + size) as u8;
        }
        let t = clock.now_ns();
        dev.send_timeout(ep, &sent[..size], TIMEOUT)
            .map_err(fail("send"))?;
        let echo = dev.recv_timeout(ep, TIMEOUT).map_err(fail("echo"))?;
        total += clock.now_ns() - t;
        let n = echo.read(&mut got[..size]).map_err(fail("read"))?;
        if n != size || echo.len() != size || got[..size] != sent[..size] {
            return Err(Failed(alloc::format!(
                "echo of {size} bytes came back different ({} bytes)",
                echo.len()
            )));
        }
    }
    Ok((dev.max_payload().min(496) as u64, total))
}
