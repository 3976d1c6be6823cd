//! ZynqMP A53 RPMsg host: loads the R5 echo firmware it embeds into DDR
//! with `openamp-remoteproc`, starts R5 core 0, sets up the vdev from the
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

/// The R5's memory as the A53 may map it: its image and the shared window.
const R5_MEMORY: (u64, u64) = (0x3ED0_0000, 0x4000_0000);
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

/// R5 core 0 under QEMU, as remoteproc sees it.
struct R5Core<B> {
    window: IoRegion<'static>,
    bell: B,
    entry: u64,
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
        let end = addr.checked_add(len).ok_or(Error::Unsupported {
            op: "mmap past the address space",
        })?;
        if addr < R5_MEMORY.0 || end > R5_MEMORY.1 {
            return Err(Error::Unsupported {
                op: "mmap outside the R5's memory",
            });
        }
        // SAFETY: [addr, end) is inside the DDR reserved for the R5 image and
        // the shared window (R5_MEMORY), identity-mapped with the MMU off and
        // used by nothing else of this image; accesses go through IoRegion.
        let region = unsafe {
            IoRegion::new(
                addr as usize as *mut u8,
                len as usize,
                PhysMap::Contiguous(addr),
                IoAttr::UNCACHED,
            )
        }?;
        Ok(Mapping { da: addr, region })
    }

    fn start(&mut self) -> openamp_remoteproc::Result<()> {
        self.window
            .store_u32(smoke::R5_HALTED, 0, Ordering::Release)?;
        match start_r5(self.entry) {
            0 => Ok(()),
            ret => Err(Error::Os {
                op: "PSCI CPU_ON of R5 core 0".into(),
                errno: ret as i32,
                reason: alloc::format!("PSCI returned {ret}"),
            }),
        }
    }

    /// Waits for the R5 to park itself: the host closes the channel first,
    /// which ends the firmware's echo loop. (On hardware the platform
    /// management unit would also power the RPU down.)
    fn stop(&mut self) -> openamp_remoteproc::Result<()> {
        let clock = config::a53_timer();
        let deadline = clock.deadline(TIMEOUT);
        while self.window.load_u32(smoke::R5_HALTED, Ordering::Acquire)? == 0 {
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
fn doorbell(window: IoRegion<'static>) -> openamp_metal::Result<impl Notify + WaitNotify + Sync> {
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
fn doorbell(_window: IoRegion<'static>) -> openamp_metal::Result<impl Notify + WaitNotify + Sync> {
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

fn run() -> Result<(), Failed> {
    let window = smoke::window().map_err(fail("shared window"))?;
    window
        .fill(0, smoke::VRING_POOL - smoke::WINDOW, 0)
        .map_err(fail("shared window"))?;
    irq::init().map_err(fail("interrupts"))?;
    irq::register(config::HOST_IPI.irq, Trigger::Level, kick_irq).map_err(fail("interrupts"))?;
    irq::enable();
    let bell = doorbell(window).map_err(fail("doorbell"))?;

    let mut rproc = Remoteproc::new(R5Core {
        window,
        bell,
        entry: 0,
    })
    .map_err(fail("remoteproc"))?;
    let vrings = window
        .sub_region(smoke::VRING_POOL - smoke::WINDOW, smoke::VRING_POOL_LEN)
        .map_err(fail("pool"))?;
    rproc.set_pool(MemPool::new(vrings, smoke::VRING_POOL as u64));
    rproc.config().map_err(fail("config"))?;
    let image = rproc
        .load(
            &mut SliceStore::new(R5_ECHO),
            "r5-echo",
            &LoadOptions::default(),
        )
        .map_err(fail("load"))?;
    println!(
        "a53: loaded the R5 echo firmware ({} bytes), entry {:#x}",
        R5_ECHO.len(),
        image.entry
    );
    rproc.ops_mut().entry = image.entry;
    rproc.start().map_err(fail("start"))?;

    let clock = config::a53_timer();
    // The device's waits sleep in `wfi` until the handler's kick (or the
    // deadline timer) ends them.
    let kicks = LatchWait::new(&KICKS, clock, WaitForInterrupt::new(clock));
    let (messages, total_ns) = {
        let buffers = window
            .sub_region(smoke::BUFFER_POOL - smoke::WINDOW, smoke::BUFFER_POOL_LEN)
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
