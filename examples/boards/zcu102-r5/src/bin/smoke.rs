//! ZynqMP R5 half of the smoke test: answers the A53 through shared DDR.
#![no_std]
#![no_main]

#[path = "../../../common/smoke.rs"]
mod smoke;

use core::fmt::Write as _;
use core::time::Duration;

use openamp_metal::{IoAttr, Notify, WaitNotify};
use openamp_metal_sys_baremetal::doorbell::PolledDoorbell;
use openamp_metal_sys_baremetal::machine::zynqmp::TTC_HZ_QEMU;
use openamp_metal_sys_baremetal::timer::Ttc;
use openamp_metal_sys_baremetal::{entry, exit, println, TraceLog};
use openamp_rsc_table::{
    resource_table, Trace, VdevResource, Vring, FW_RSC_ADDR_ANY, VIRTIO_ID_RPMSG, VIRTIO_RPMSG_F_NS,
};

entry!(main);

resource_table! {
    /// What a host learns about this firmware: one RPMsg device (name
    /// service, two vrings placed by the host) and the trace buffer.
    pub static mut RESOURCE_TABLE: R5Table = {
        rpmsg: VdevResource<2> = VdevResource::new(VIRTIO_ID_RPMSG, 0, VIRTIO_RPMSG_F_NS, [
            Vring::new(FW_RSC_ADDR_ANY, 0x1000, 256, 1),
            Vring::new(FW_RSC_ADDR_ANY, 0x1000, 256, 2),
        ]),
        trace: Trace = Trace::new(smoke::TRACE_BASE as u32, smoke::TRACE_LEN as u32, "r5_trace"),
    };
}

fn main() -> ! {
    match serve() {
        Ok(rounds) => {
            println!("r5: served {rounds} rounds");
            // The A53 ends the QEMU run; nothing is left to do here.
            loop {
                core::hint::spin_loop();
            }
        }
        Err(e) => {
            println!("r5: {e}");
            exit(1)
        }
    }
}

fn serve() -> Result<u32, openamp_metal::Error> {
    let shm = smoke::shared(smoke::SHM_BASE, smoke::SHM_LEN)?;
    // The page after the smoke page, declared in the resource table above.
    let trace = smoke::shared(smoke::TRACE_BASE, smoke::TRACE_LEN)?;
    let mut log = TraceLog::new(trace);
    let table = R5Table::static_region(IoAttr::UNCACHED).map_err(|_| {
        openamp_metal::Error::InvalidRegion {
            reason: "resource table",
        }
    })?;
    let _ = writeln!(
        log,
        "r5: up; resource table of {} bytes at {:#x}",
        table.size(),
        table.as_ptr() as usize
    );
    let bell = PolledDoorbell::new(shm, smoke::BELL_R5, smoke::BELL_A53, Ttc::new(TTC_HZ_QEMU))?;
    println!("r5: up, telling the A53");
    bell.notify(0)?;
    let mut rounds = 0;
    loop {
        if bell.wait(Duration::from_secs(5))?.is_none() {
            return Err(openamp_metal::Error::Timeout);
        }
        let round = shm.read_u32(smoke::ROUND)?;
        if round == smoke::LAST_ROUND {
            let _ = writeln!(log, "r5: served {rounds} rounds");
            bell.notify(0)?;
            return Ok(rounds);
        }
        for i in 0..smoke::N {
            let v = shm.read_u32(smoke::VALUES + 4 * i)?;
            shm.write_u32(smoke::RESULTS + 4 * i, smoke::answer(v, round))?;
        }
        rounds += 1;
        bell.notify(0)?;
    }
}
