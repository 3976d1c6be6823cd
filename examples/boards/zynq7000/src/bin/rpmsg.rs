//! Zynq-7000: the RPMsg host and the echo remote on one Cortex-A9, over one
//! shared region laid out as on a two-core system (resource table, vrings
//! placed by the host, buffer pool).
//!
//! QEMU 7.2 models a single A9 core for `xilinx-zynq-a9` (`-smp 2` is
//! refused), so the two roles take turns on that core: the host sends, the
//! remote echoes, the host checks. On a real Zynq-7000 each role runs on its
//! own core with the same code and the `ZynqSgi` doorbell.
#![no_std]
#![no_main]

extern crate alloc;

use core::time::Duration;

use echo_remote::{Echo, Stop};
use openamp_metal::{IoAttr, IoRegion, Notify, PhysMap};
use openamp_metal_sys_baremetal::heap::BumpHeap;
use openamp_metal_sys_baremetal::machine::zynq7000::GLOBAL_TIMER_HZ;
use openamp_metal_sys_baremetal::timer::GlobalTimer;
use openamp_metal_sys_baremetal::{entry, exit, println};
use openamp_remoteproc::{remote, MemPool, VdevTransport};
use openamp_rpmsg::{BusyWait, Config, EndpointConfig, RpmsgDevice};
use openamp_rsc_table::{
    resource_table, VdevResource, Vring, FW_RSC_ADDR_ANY, VIRTIO_ID_RPMSG, VIRTIO_RPMSG_F_NS,
};

#[global_allocator]
static HEAP: BumpHeap<{ 16 * 1024 }> = BumpHeap::new();

entry!(main);

resource_table! {
    /// The remote's table: one RPMsg device whose vrings the host places.
    pub const TABLE: Table = {
        rpmsg: VdevResource<2> = VdevResource::new(VIRTIO_ID_RPMSG, 0, VIRTIO_RPMSG_F_NS, [
            Vring::new(FW_RSC_ADDR_ANY, 0x1000, 256, 1),
            Vring::new(FW_RSC_ADDR_ANY, 0x1000, 256, 2),
        ]),
    };
}

/// Layout of the shared region.
const TABLE_AT: usize = 0;
const VRINGS_AT: usize = 0x1000;
const VRINGS_LEN: usize = 0xF000;
const BUFFERS_AT: usize = 0x10000;
const BUFFERS_LEN: usize = 0x40000;
const SHARED_LEN: usize = BUFFERS_AT + BUFFERS_LEN;

#[repr(C, align(4096))]
struct Shared([u8; SHARED_LEN]);

/// The memory both roles share. Only ever touched through one IoRegion.
static mut SHARED: Shared = Shared([0; SHARED_LEN]);

/// Both roles live on this core: a kick needs no doorbell, the other role
/// looks at the rings on its next turn.
struct SameCore;
impl Notify for SameCore {
    fn notify(&self, _id: u32) -> openamp_metal::Result<()> {
        Ok(())
    }
}

fn main() -> ! {
    match run() {
        Ok(n) => {
            println!("zynq7000 rpmsg: {n} messages of 1..=496 bytes echoed between host and remote; passed");
            exit(0)
        }
        Err(e) => {
            println!("zynq7000 rpmsg FAILED: {e}");
            exit(1)
        }
    }
}

fn fail<E: core::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> alloc::string::String {
    move |e| alloc::format!("{what}: {e}")
}

fn run() -> Result<usize, alloc::string::String> {
    let base = core::ptr::addr_of_mut!(SHARED).cast::<u8>();
    // SAFETY: SHARED is this image's own static, used only through this
    // region from here on; with the MMU off, physical = virtual.
    let shm = unsafe {
        IoRegion::new(
            base,
            SHARED_LEN,
            PhysMap::Contiguous(base as u64),
            IoAttr::UNCACHED,
        )
    }
    .map_err(fail("shared region"))?;
    let phys = |off: usize| base as u64 + off as u64;

    // The remote's side writes its table, as its firmware image would hold it.
    let mut bytes = [0u8; Table::SIZE];
    TABLE.write_to(&mut bytes).map_err(fail("table"))?;
    shm.write_bytes(TABLE_AT, &bytes).map_err(fail("table"))?;
    let table = shm
        .sub_region(TABLE_AT, Table::SIZE)
        .map_err(fail("table"))?;

    // The host places the vrings and offers its buffers.
    let mut pool = MemPool::new(
        shm.sub_region(VRINGS_AT, VRINGS_LEN)
            .map_err(fail("pool"))?,
        phys(VRINGS_AT),
    );
    let buffers = shm
        .sub_region(BUFFERS_AT, BUFFERS_LEN)
        .map_err(fail("buffers"))?;
    let host_t = VdevTransport::host(table, 0, &shm, Some(&mut pool), buffers, SameCore)
        .map_err(fail("host vdev"))?;
    let timer = GlobalTimer::new(GLOBAL_TIMER_HZ);
    let host: RpmsgDevice<'_, '_, _, _> =
        RpmsgDevice::new_host(host_t, BusyWait(timer), Config::default()).map_err(fail("host"))?;

    let remote_t =
        remote::attach(table, 0, &shm, buffers, SameCore).map_err(fail("remote vdev"))?;
    let remote: RpmsgDevice<'_, '_, _, _> = RpmsgDevice::new_remote(
        remote_t,
        BusyWait(timer),
        Config::default(),
        Duration::from_secs(1),
    )
    .map_err(fail("remote"))?;
    let mut echo = Echo::new(&remote).map_err(fail("echo endpoint"))?;

    let ep = host
        .create_endpoint(EndpointConfig::named(echo_remote::CHANNEL).map_err(fail("endpoint"))?)
        .map_err(fail("endpoint"))?;
    host.wait_bound(ep, Duration::from_secs(1))
        .map_err(fail("binding"))?;
    let (mut sent, mut got) = ([0u8; 496], [0u8; 496]);
    let mut count = 0;
    for size in 1..=host.max_payload().min(496) {
        for (i, b) in sent[..size].iter_mut().enumerate() {
            *b = (i ^ size) as u8;
        }
        host.send_timeout(ep, &sent[..size], Duration::from_secs(1))
            .map_err(fail("send"))?;
        // The remote's turn.
        echo.run_once(&remote).map_err(fail("echo"))?;
        let m = host
            .recv_timeout(ep, Duration::from_secs(1))
            .map_err(fail("receive"))?;
        m.read(&mut got[..size]).map_err(fail("read"))?;
        if m.len() != size || got[..size] != sent[..size] {
            return Err(alloc::format!("echo of {size} bytes came back different"));
        }
        count += 1;
    }
    host.destroy_endpoint(ep).map_err(fail("destroy"))?;
    match echo.run_once(&remote).map_err(fail("echo"))? {
        Some(Stop::Unbound) => Ok(count),
        other => Err(alloc::format!(
            "the remote did not see the channel close ({other:?})"
        )),
    }
}
