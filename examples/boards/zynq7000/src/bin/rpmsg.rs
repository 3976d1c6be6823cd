//! Zynq-7000: the RPMsg host and the echo remote on one Cortex-A9, over one
//! shared region laid out as on a two-core system (resource table, vrings
//! placed by the host, buffer pool).
//!
//! QEMU 7.2 models a single A9 core for `xilinx-zynq-a9` (`-smp 2` is
//! refused), so the two roles take turns on that core: the host sends, the
//! remote echoes, the host checks. Nothing here starts the second core: a
//! two-core split (one role per core) would release CPU1 (its entry at
//! 0xFFFF_FFF0, then `sev`) and use the `ZynqSgi` doorbell between the cores;
//! that is not built yet.
//!
//! It runs as firmware would on a board: MMU and L1 caches on, the shared
//! region non-cacheable (QEMU models no caches, so only the map itself is
//! checked here).
//!
//! Kicks are real interrupts even so: each role kicks the other with a
//! software-generated interrupt to this core (SGI 1 for the remote, SGI 2
//! for the host), whose handler only signals that role's `KickLatch`; each
//! device waits on its latch, sleeping in `wfi` bounded by the private
//! timer. Before the echo, a wait with no kick must end by its deadline
//! (private timer interrupt), and a wait must be ended by the global
//! timer's comparator interrupt, whose handler signals the latch.
#![no_std]
#![no_main]

extern crate alloc;

use core::time::Duration;

use echo_remote::{Echo, Stop};
use openamp_metal::{Clock, IoAttr, IoRegion, Notify, PhysMap, WaitNotify};
use openamp_metal_sys_baremetal::doorbell::{KickLatch, LatchWait};
use openamp_metal_sys_baremetal::gic::SgiTarget;
use openamp_metal_sys_baremetal::heap::BumpHeap;
use openamp_metal_sys_baremetal::irq::{self, Trigger, WaitForInterrupt};
use openamp_metal_sys_baremetal::machine::zynq7000::GLOBAL_TIMER_HZ;
use openamp_metal_sys_baremetal::mmu_a9;
use openamp_metal_sys_baremetal::timer::GlobalTimer;
use openamp_metal_sys_baremetal::{entry, exit, println};
use openamp_remoteproc::{remote, MemPool, VdevTransport};
use openamp_rpmsg::{Config, EndpointConfig, NotifyWait, RpmsgDevice};
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

/// The SGI that kicks the remote, and the one that kicks the host.
const KICK_REMOTE: u32 = 1;
const KICK_HOST: u32 = 2;

/// Kicks each role has received, recorded by [`kick_irq`].
static REMOTE_KICKS: KickLatch = KickLatch::new();
static HOST_KICKS: KickLatch = KickLatch::new();
/// Signalled by the global timer's comparator interrupt ([`comparator_irq`]).
static TIMER_KICKS: KickLatch = KickLatch::new();

/// The SGIs' handler, in interrupt context: records the kick, nothing else
/// (the RPMsg devices are the thread's).
fn kick_irq(id: u32) {
    match id {
        KICK_REMOTE => REMOTE_KICKS.signal(),
        _ => HOST_KICKS.signal(),
    }
}

/// Kicks the other role with SGI `0` to this very core.
struct SgiToSelf(u32);
impl Notify for SgiToSelf {
    fn notify(&self, _id: u32) -> openamp_metal::Result<()> {
        // send_sgi puts a DSB before the GIC write.
        irq::gic()?.send_sgi(self.0, SgiTarget::ToSelf)
    }
}

/// The global timer's comparator (offsets from GLOBAL_TIMER) and its PPI.
const COMPARATOR_LO: usize = 0x10;
const COMPARATOR_HI: usize = 0x14;
const CONTROL: usize = 0x08;
const STATUS: usize = 0x0C;
const GLOBAL_TIMER_IRQ: u32 = 27;

fn global_timer_write(offset: usize, v: u32) {
    use openamp_metal_sys_baremetal::machine::zynq7000::GLOBAL_TIMER;
    // SAFETY: the global timer's registers, fixed by the SoC and always
    // mapped; this example alone uses the comparator.
    unsafe { ((GLOBAL_TIMER + offset) as *mut u32).write_volatile(v) };
}

/// The comparator's handler: turns the comparator off, clears its event
/// and signals the latch.
fn comparator_irq(_id: u32) {
    global_timer_write(CONTROL, 1); // counter on, comparator and IRQ off
    global_timer_write(STATUS, 1);
    TIMER_KICKS.signal();
}

/// Checks the interrupt paths on their own: a wait with no kick ends at its
/// deadline (the private timer's interrupt ends the `wfi`), and a wait is
/// ended early by a kick from the comparator interrupt's handler.
fn check_interrupt_waits(timer: GlobalTimer) -> Result<(), alloc::string::String> {
    let wait = LatchWait::new(&TIMER_KICKS, timer, WaitForInterrupt::new(timer));
    // No kick: the wait sleeps in `wfi` until the private timer's interrupt
    // at its deadline (without that interrupt it would never wake). QEMU's
    // clocks follow the host's, so a loaded host may make any of this late,
    // never early: the checks allow for that.
    let before = irq::taken();
    let t0 = timer.now_ns();
    if wait
        .wait(Duration::from_millis(5))
        .map_err(fail("wait"))?
        .is_some()
    {
        return Err("a wait with no kick reported one".into());
    }
    let slept = timer.now_ns() - t0;
    let deadline_irqs = irq::taken() - before;
    if slept < 5_000_000 {
        return Err(alloc::format!("the 5 ms deadline wait took {slept} ns"));
    }
    // A kick from the comparator's handler ends a wait early.
    irq::register(GLOBAL_TIMER_IRQ, Trigger::Edge, comparator_irq).map_err(fail("irq"))?;
    let at = timer.ticks() + timer.frequency() / 200; // in 5 ms
    global_timer_write(CONTROL, 1);
    global_timer_write(STATUS, 1);
    global_timer_write(COMPARATOR_LO, at as u32);
    global_timer_write(COMPARATOR_HI, (at >> 32) as u32);
    global_timer_write(CONTROL, 0b111); // counter, comparator, IRQ on
    let late = timer.ticks() >= at; // the host held us up past the kick
    let t0 = timer.now_ns();
    let got = wait.wait(Duration::from_secs(1)).map_err(fail("wait"))?;
    let took = timer.now_ns() - t0;
    if got.is_none()
        || TIMER_KICKS.signals() != 1
        || (!late && wait.woken_by_kick() != 1)
        || took >= 500_000_000
    {
        return Err(alloc::format!(
            "the comparator's kick did not end the wait ({got:?} after {took} ns, {} signals)",
            TIMER_KICKS.signals()
        ));
    }
    println!(
        "zynq7000 rpmsg: a wait with no kick slept {slept} ns to its deadline ({deadline_irqs} interrupts); the comparator interrupt's kick ended a wait after {took} ns"
    );
    Ok(())
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
    // The cached configuration: the image cached, the shared region (which
    // on two cores the other one would write) non-cacheable.
    let base = core::ptr::addr_of_mut!(SHARED).cast::<u8>();
    mmu_a9::enable(&[mmu_a9::Region {
        addr: base as u32,
        len: SHARED_LEN as u32,
        memory: mmu_a9::Memory::Uncached,
    }])
    .map_err(fail("MMU"))?;
    if !mmu_a9::is_enabled() {
        return Err("the MMU and caches did not come on".into());
    }
    let timer = GlobalTimer::new(GLOBAL_TIMER_HZ);
    irq::init().map_err(fail("interrupts"))?;
    irq::register(KICK_REMOTE, Trigger::Edge, kick_irq).map_err(fail("interrupts"))?;
    irq::register(KICK_HOST, Trigger::Edge, kick_irq).map_err(fail("interrupts"))?;
    irq::enable();
    check_interrupt_waits(timer)?;

    // SAFETY: SHARED is this image's own static, used only through this
    // region from here on; the MMU maps it identity (physical = virtual).
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
    let host_t = VdevTransport::host(
        table,
        0,
        &shm,
        Some(&mut pool),
        buffers,
        SgiToSelf(KICK_REMOTE),
    )
    .map_err(fail("host vdev"))?;
    let host_kicks = LatchWait::new(&HOST_KICKS, timer, WaitForInterrupt::new(timer));
    let host_wait = NotifyWait {
        kicks: &host_kicks,
        clock: timer,
    };
    let host: RpmsgDevice<'_, '_, _, _> =
        RpmsgDevice::new_host(host_t, host_wait, Config::default()).map_err(fail("host"))?;

    let remote_t = remote::attach(table, 0, &shm, buffers, SgiToSelf(KICK_HOST))
        .map_err(fail("remote vdev"))?;
    let remote_kicks = LatchWait::new(&REMOTE_KICKS, timer, WaitForInterrupt::new(timer));
    let remote_wait = NotifyWait {
        kicks: &remote_kicks,
        clock: timer,
    };
    let remote: RpmsgDevice<'_, '_, _, _> = RpmsgDevice::new_remote(
        remote_t,
        remote_wait,
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
        Some(Stop::Unbound) => {}
        other => {
            return Err(alloc::format!(
                "the remote did not see the channel close ({other:?})"
            ))
        }
    }
    let (to_remote, to_host) = (REMOTE_KICKS.signals(), HOST_KICKS.signals());
    println!(
        "zynq7000 rpmsg: kicks by SGI through the handler: {to_remote} to the remote, {to_host} to the host ({} interrupts in all)",
        irq::taken()
    );
    if to_remote == 0 || to_host == 0 {
        return Err("a role received no kick through the interrupt handler".into());
    }
    Ok(count)
}
