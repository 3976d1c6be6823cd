//! ZynqMP R5 RPMsg echo firmware, the remote of the A53 `echo` host.
//!
//! It declares its resource table (one RPMsg vdev with name service and two
//! vrings the host places, and a trace buffer), waits for the host's
//! DRIVER_OK, announces `rpmsg-openamp-demo-channel` and echoes every
//! message until the host destroys its endpoint. Kicks go through a polled
//! doorbell word in shared DDR (QEMU models no usable IPI); on a real ZCU102
//! the `ZynqMpIpi` doorbell of `openamp-metal-sys-baremetal` takes its place.
#![no_std]
#![no_main]

extern crate alloc;

#[path = "../../../common/smoke.rs"]
mod smoke;

use core::fmt::Write as _;
use core::time::Duration;

use echo_remote::Echo;
use openamp_metal::{Clock, IoAttr, IoRegion, Notify, WaitNotify};
#[cfg(not(feature = "zcu102-hw"))]
use openamp_metal_sys_baremetal::doorbell::PolledDoorbell;
use openamp_metal_sys_baremetal::heap::BumpHeap;
use openamp_metal_sys_baremetal::machine::zynqmp::TTC_HZ_QEMU;
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
        trace: Trace = Trace::new(smoke::TRACE_BASE as u32, smoke::TRACE_LEN as u32, "r5_trace"),
    };
}

fn main() -> ! {
    let Ok(window) = smoke::window() else { exit(1) };
    let mut log = match window.sub_region(smoke::TRACE_BASE - smoke::WINDOW, smoke::TRACE_LEN) {
        Ok(buf) => TraceLog::new(buf),
        Err(_) => exit(1),
    };
    let result = serve(window, &mut log);
    match &result {
        Ok(echoed) => {
            let _ = writeln!(log, "r5: echoed {echoed} messages; host closed the channel");
        }
        Err(e) => {
            let _ = writeln!(log, "r5: stopped: {e}");
            println!("r5: stopped: {e}");
        }
    }
    // Tell the host's `stop` we are parked, then stay parked.
    let _ = window.store_u32(smoke::R5_HALTED, 1, core::sync::atomic::Ordering::Release);
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

/// Under QEMU: a polled word in shared DDR (QEMU delivers no IPI to the R5).
#[cfg(not(feature = "zcu102-hw"))]
fn doorbell<'a, C: Clock + Sync + 'a>(
    window: IoRegion<'a>,
    clock: C,
) -> openamp_metal::Result<impl Notify + WaitNotify + Sync + 'a> {
    PolledDoorbell::new(window, smoke::BELL_R5, smoke::BELL_A53, clock)
}

/// On a ZCU102: the IPI block, RPU0's channel, kicking and heard from the APU.
#[cfg(feature = "zcu102-hw")]
fn doorbell<'a, C: Clock + Sync + 'a>(
    _window: IoRegion<'a>,
    clock: C,
) -> openamp_metal::Result<impl Notify + WaitNotify + Sync + 'a> {
    use openamp_metal_sys_baremetal::doorbell::ZynqMpIpi;
    use openamp_metal_sys_baremetal::machine::zynqmp::ipi::{APU_MASK, RPU0_BASE};
    // SAFETY: RPU0's IPI channel registers, fixed by the SoC and always
    // mapped; this firmware is their only user on the R5.
    let regs = unsafe {
        IoRegion::new(
            RPU0_BASE as *mut u8,
            ZynqMpIpi::<C>::REGS_LEN,
            openamp_metal::PhysMap::Contiguous(RPU0_BASE as u64),
            IoAttr::UNCACHED,
        )
    }?;
    ZynqMpIpi::new(regs, APU_MASK, clock)
}

fn serve(window: IoRegion<'static>, log: &mut TraceLog<'_>) -> Result<u32, Failed> {
    let ttc = Ttc::new(TTC_HZ_QEMU);
    let bell = doorbell(window, &ttc).map_err(fail("doorbell"))?;
    let table = R5Table::static_region(IoAttr::UNCACHED).map_err(fail("resource table"))?;
    let _ = writeln!(
        log,
        "r5: up; resource table at {:#x}",
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
    // The host's buffers live in their own pool, apart from the vrings
    // (remoteproc refuses buffers that overlap a ring).
    let buffers = window
        .sub_region(smoke::BUFFER_POOL - smoke::WINDOW, smoke::BUFFER_POOL_LEN)
        .map_err(fail("buffers"))?;
    let transport = openamp_remoteproc::remote::attach(table, 0, &window, buffers, &bell)
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
