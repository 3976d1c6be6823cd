//! ZynqMP R5 half of the smoke test: answers the A53 through shared DDR.
#![no_std]
#![no_main]

#[path = "../../../common/smoke.rs"]
mod smoke;

use core::time::Duration;

use openamp_metal::{IoAttr, IoRegion, Notify, PhysMap, WaitNotify};
use openamp_metal_sys_baremetal::doorbell::PolledDoorbell;
use openamp_metal_sys_baremetal::machine::zynqmp::TTC_HZ_QEMU;
use openamp_metal_sys_baremetal::timer::Ttc;
use openamp_metal_sys_baremetal::{entry, exit, println};

entry!(main);

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
    // SAFETY: SHM_BASE..+SHM_LEN is DDR that neither image is linked into
    // (see common/smoke.rs and both memory.x); only the two cores touch it,
    // through volatile and atomic accesses.
    let shm = unsafe {
        IoRegion::new(smoke::SHM_BASE as *mut u8, smoke::SHM_LEN, PhysMap::Contiguous(smoke::SHM_BASE as u64), IoAttr::UNCACHED)
    }?;
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
