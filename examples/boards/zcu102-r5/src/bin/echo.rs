//! ZynqMP R5 RPMsg echo firmware, the remote of the A53 `echo` host.
//!
//! It declares its resource table (one RPMsg vdev with name service and two
//! vrings the host places, and a trace buffer), waits for the host's
//! DRIVER_OK, announces `rpmsg-openamp-demo-channel` and echoes every
//! message until the host destroys its endpoint.
//!
//! Kicks: on a real ZCU102 the IPI block (RPU0's channel, triggering the
//! host's, channel 7 by default). Under QEMU, which connects no IPI to the
//! R5, the host's kicks arrive in a polled word in shared DDR, and the R5
//! kicks the host by setting the host channel's interrupt id pending in the
//! APU's GIC, so that the host takes the same interrupt as on hardware.
#![no_std]
#![no_main]

extern crate alloc;

#[path = "../../../common/config.rs"]
mod config;
#[path = "../../../common/smoke.rs"]
mod smoke;

use core::fmt::Write as _;
use core::time::Duration;

use echo_remote::Echo;
use openamp_metal::{Clock, IoAttr, IoRegion, Notify, WaitNotify};
#[cfg(not(feature = "zcu102-hw"))]
use openamp_metal_sys_baremetal::doorbell::PolledDoorbell;
use openamp_metal_sys_baremetal::heap::BumpHeap;
use openamp_metal_sys_baremetal::timer::Ttc;
use openamp_metal_sys_baremetal::{entry, exit, println, TraceLog};
use openamp_rpmsg::{Config, NotifyWait, RpmsgDevice};
use openamp_rsc_table::{
    resource_table, status, TableWriter, Trace, VdevResource, Vring, FW_RSC_ADDR_ANY,
    VIRTIO_ID_RPMSG, VIRTIO_RPMSG_F_NS,
};

/// The remoteproc layer copies the table and lists the vrings once, at start.
#[global_allocator]
static HEAP: BumpHeap<{ 8 * 1024 }> = BumpHeap::new();

entry!(main);

resource_table! {
    /// One RPMsg device (name service, two 256-entry vrings placed by the
    /// host) and the trace buffer.
    pub static mut RESOURCE_TABLE: R5Table = {
        rpmsg: VdevResource<2> = VdevResource::new(VIRTIO_ID_RPMSG, 0, VIRTIO_RPMSG_F_NS, [
            Vring::new(FW_RSC_ADDR_ANY, 0x1000, 256, 1),
            Vring::new(FW_RSC_ADDR_ANY, 0x1000, 256, 2),
        ]),
        trace: Trace = Trace::new(smoke::ECHO_TRACE as u32, smoke::ECHO_TRACE_LEN as u32, "r5_trace"),
    };
}

/// The memory map with the MPU on (later regions win): everything Device,
/// DDR non-cacheable (the vrings and buffers, wherever the host puts them),
/// the TCM, the firmware's carveout cached, and inside it, non-cacheable
/// again, the control page and trace buffer and the resource table (the host
/// writes DRIVER_OK and the vring addresses there while we run).
fn mpu_on(table: usize) -> openamp_metal::Result<()> {
    use openamp_metal_sys_baremetal::mpu::{self, Memory::*, Region};
    mpu::enable(&[
        Region::new(0, 32, Device, false),
        Region::new(0, 31, Uncached, false),
        Region::new(0x0000_0000, 16, Uncached, true), // ATCM: vectors, start-up
        Region::new(0x0002_0000, 16, Uncached, false), // BTCM
        Region::new(smoke::FW_CARVEOUT as u32, 18, Cached, true),
        Region::new(smoke::R5_CONTROL as u32, 13, Uncached, false), // control, trace
        Region::new(table as u32, 8, Uncached, false),
    ])
}

fn main() -> ! {
    // Interrupts are still masked: measure how deep the stack goes.
    openamp_metal_sys_baremetal::stack::paint();
    // The cached configuration, as the firmware would run on a board.
    let table = R5Table::static_region(IoAttr::UNCACHED).map(|t| t.as_ptr() as usize);
    if table.ok().map(mpu_on).is_none_or(|r| r.is_err()) {
        println!("r5: cannot set up the MPU");
        exit(1)
    }
    let Ok(shared) = smoke::echo_shared() else {
        exit(1)
    };
    let mut log = match smoke::echo_part(smoke::ECHO_TRACE, smoke::ECHO_TRACE_LEN) {
        Ok(buf) => TraceLog::new(buf),
        Err(_) => exit(1),
    };
    let result = serve(shared, &mut log);
    match &result {
        Ok(echoed) => {
            let _ = writeln!(log, "r5: echoed {echoed} messages; host closed the channel");
            let _ = writeln!(
                log,
                "r5: stack used {} of {} bytes",
                openamp_metal_sys_baremetal::stack::high_water().unwrap_or(0),
                openamp_metal_sys_baremetal::stack::size()
            );
        }
        Err(e) => {
            let _ = writeln!(log, "r5: stopped: {e}");
            println!("r5: stopped: {e}");
        }
    }
    // Tell the host's `stop` we are parked (in our own carveout, so a host
    // that does not look, such as Linux, loses nothing), then stay parked.
    if let Ok(control) = smoke::echo_part(smoke::R5_CONTROL, 4) {
        let _ = control.store_u32(smoke::R5_PARKED, 1, core::sync::atomic::Ordering::Release);
    }
    loop {
        core::hint::spin_loop();
    }
}

/// Error text for the trace: the layers' errors, flattened.
struct Failed(&'static str, alloc::string::String);

impl core::fmt::Display for Failed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.0, self.1)
    }
}

fn fail<E: core::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> Failed {
    move |e| Failed(what, alloc::format!("{e}"))
}

/// The QEMU doorbell: the host's kicks in a polled word, ours as the host
/// channel's interrupt, set pending in the APU's GIC.
#[cfg(not(feature = "zcu102-hw"))]
struct QemuBell<'a, C: Clock> {
    polled: PolledDoorbell<'a, C>,
    apu_gic: openamp_metal_sys_baremetal::gic::Gic<'static>,
}

#[cfg(not(feature = "zcu102-hw"))]
impl<C: Clock> Notify for QemuBell<'_, C> {
    fn notify(&self, id: u32) -> openamp_metal::Result<()> {
        self.polled.notify(id)?;
        // set_pending is preceded by a DSB: the host's handler sees our ring.
        self.apu_gic.set_pending(config::HOST_IPI.irq)
    }
}

#[cfg(not(feature = "zcu102-hw"))]
impl<C: Clock> WaitNotify for QemuBell<'_, C> {
    fn poll(&self) -> openamp_metal::Result<Option<u32>> {
        self.polled.poll()
    }
    fn wait(&self, timeout: Duration) -> openamp_metal::Result<Option<u32>> {
        self.polled.wait(timeout)
    }
}

#[cfg(not(feature = "zcu102-hw"))]
fn doorbell<'a, C: Clock + Sync + 'a>(
    clock: C,
) -> openamp_metal::Result<impl Notify + WaitNotify + Sync + 'a> {
    let window = smoke::window()?;
    use openamp_metal::PhysMap;
    use openamp_metal_sys_baremetal::machine::zynqmp::{APU_GIC_CPU, APU_GIC_DIST};
    // SAFETY: the APU GIC's register blocks, fixed by the SoC; QEMU maps
    // them for every core. Only the distributor's set-pending register is
    // written (its SPI set-pending does not depend on which core writes).
    let (dist, cpu) = unsafe {
        (
            IoRegion::new(
                APU_GIC_DIST as *mut u8,
                0x1000,
                PhysMap::Contiguous(APU_GIC_DIST as u64),
                IoAttr::UNCACHED,
            )?,
            IoRegion::new(
                APU_GIC_CPU as *mut u8,
                0x100,
                PhysMap::Contiguous(APU_GIC_CPU as u64),
                IoAttr::UNCACHED,
            )?,
        )
    };
    Ok(QemuBell {
        polled: PolledDoorbell::new(window, smoke::BELL_R5, smoke::BELL_A53, clock)?,
        apu_gic: openamp_metal_sys_baremetal::gic::Gic::new(dist, cpu)?,
    })
}

/// On a ZCU102: the IPI block, RPU0's channel, kicking and heard from the
/// host's channel (configurable, channel 7 by default).
#[cfg(feature = "zcu102-hw")]
fn doorbell<'a, C: Clock + Sync + 'a>(
    clock: C,
) -> openamp_metal::Result<impl Notify + WaitNotify + Sync + 'a> {
    use openamp_metal_sys_baremetal::doorbell::ZynqMpIpi;
    let base = config::R5_IPI.base;
    // SAFETY: RPU0's IPI channel registers, fixed by the SoC and always
    // mapped; this firmware is their only user on the R5.
    let regs = unsafe {
        IoRegion::new(
            base as *mut u8,
            ZynqMpIpi::<C>::REGS_LEN,
            openamp_metal::PhysMap::Contiguous(base as u64),
            IoAttr::UNCACHED,
        )
    }?;
    ZynqMpIpi::new(regs, config::HOST_IPI.mask, clock)
}

fn serve(shared: IoRegion<'static>, log: &mut TraceLog<'_>) -> Result<u32, Failed> {
    let ttc = Ttc::new(config::TTC_HZ);
    let bell = doorbell(&ttc).map_err(fail("doorbell"))?;
    let table = R5Table::static_region(IoAttr::UNCACHED).map_err(fail("resource table"))?;
    let _ = writeln!(
        log,
        "r5: up from its reset vector; MPU and caches {}; resource table at {:#x}",
        if openamp_metal_sys_baremetal::mpu::is_enabled() {
            "on"
        } else {
            "off"
        },
        table.as_ptr() as usize
    );

    // The vrings are placed by the host: wait for DRIVER_OK before looking.
    let writer = TableWriter::new(table);
    let deadline = ttc.deadline(Duration::from_secs(10));
    loop {
        let s = writer.vdev_status(0).map_err(fail("vdev status"))?;
        if s & status::DRIVER_OK != 0 {
            break;
        }
        if deadline.expired(&ttc) {
            return Err(Failed(
                "waiting for DRIVER_OK",
                alloc::string::String::new(),
            ));
        }
    }
    // The vrings are wherever the host put them inside the shared memory;
    // its buffers are in their own pool, apart from the vrings (remoteproc
    // refuses buffers that overlap a ring).
    let buffers =
        smoke::echo_part(smoke::BUFFER_POOL, smoke::BUFFER_POOL_LEN).map_err(fail("buffers"))?;
    let transport = openamp_remoteproc::remote::attach(table, 0, &shared, buffers, &bell)
        .map_err(fail("vdev"))?;
    let wait = NotifyWait {
        kicks: &bell,
        clock: &ttc,
    };
    let dev: RpmsgDevice<'_, '_, _, _> =
        RpmsgDevice::new_remote(transport, wait, Config::default(), Duration::from_secs(10))
            .map_err(fail("rpmsg"))?;
    let mut echo = Echo::new(&dev).map_err(fail("endpoint"))?;
    let _ = writeln!(log, "r5: announced {}", echo_remote::CHANNEL);
    echo.serve(&dev).map_err(fail("echo"))?;
    Ok(echo.echoed)
}
