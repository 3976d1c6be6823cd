//! RPMsg in either role against a hostile peer that writes raw ring memory.
//!
//! The input picks our role (host: the peer is a hostile virtio device;
//! remote: the peer is a hostile virtio driver), the ring size, buffer
//! sizes, features and conventions, then runs a script that mixes our
//! calls (endpoints with and without callbacks, sends, zero-copy buffers
//! held across calls, receives, polls, waits) with the peer's moves:
//! messages with any header (lengths, addresses, flags), name-service
//! messages (names with and without a NUL, floods of announcements,
//! DESTROY of names nobody has), used and descriptor lengths of any size,
//! raw writes anywhere in the shared memory, and status changes (reset,
//! NEEDS_RESET, FAILED) between our calls and while we wait.
//!
//! Always: no panic, no hang (time is simulated and every wait bounded),
//! a peer found reset stays reset and every call then says so, and an
//! endpoint's destination is only ever an address the peer used or we
//! gave. Until the peer writes raw memory: every message each side takes
//! is one the other sent, to that address, with those bytes, in order.

#![no_main]

use core::time::Duration;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use openamp_metal::IoRegion;
use openamp_rpmsg::conventions::{
    NamePadding, Reserved, StatusWrites, TxDescriptorLen, TxReuse, UsedLen,
};
use openamp_rpmsg::wire::{
    Header, Name, NsMessage, ADDR_ANY, HEADER_LEN, NS_ADDR, NS_CREATE, NS_DESTROY, NS_MSG_LEN,
    VIRTIO_RPMSG_F_NS,
};
use openamp_rpmsg::{
    Config, Conventions, EndpointConfig, EndpointId, Error, RpmsgDevice, RpmsgOps, RxBuffer,
    TxBuffer, Wait,
};
use openamp_virtio::{
    Chain, DeviceQueue, DeviceStatus, DriverQueue, Loopback, LoopbackEnd, Segment, Transport,
    STATUS_DRIVER_OK, STATUS_FAILED, STATUS_NEEDS_RESET, VIRTIO_RING_F_EVENT_IDX,
};

/// Ring entries at most (the queues' `N`), endpoints at most (`E`).
const N: usize = 16;
const E: usize = 8;
const MAX_OPS: usize = 48;
const PAGE: usize = 4096;
const MEM: usize = 6 * PAGE;
/// Simulated time that passes at each look at the clock: every timeout
/// (even OpenAMP's 15 s for a free buffer) ends after a few hundred looks.
const STEP_NS: u64 = 100_000_000;

type Dev<'a, 'cb> = RpmsgDevice<'a, 'cb, LoopbackEnd<'a>, WaitRef<'a>, N, E>;

#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct Page([u8; PAGE]);

thread_local! {
    /// The shared memory, kept from run to run (allocation is costly under
    /// ASan) and zeroed at the start of each.
    static POOL: RefCell<Vec<Page>> = const { RefCell::new(Vec::new()) };
}

fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

macro_rules! trace {
    ($($t:tt)*) => {
        if tracing() {
            eprintln!($($t)*);
        }
    };
}

/// Reads the fuzzer's bytes; zeros once they run out.
struct Input<'d>(&'d [u8]);

impl Input<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn bytes(&mut self, n: usize) -> u64 {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
    }
    fn u8(&mut self) -> u8 {
        self.bytes(1) as u8
    }
    fn u16(&mut self) -> u16 {
        self.bytes(2) as u16
    }
    fn u32(&mut self) -> u32 {
        self.bytes(4) as u32
    }
}

/// Simulated time, and the peer's moves while we wait.
struct FuzzWait<'a> {
    now: AtomicU64,
    mem: IoRegion<'a>,
    /// Raw word writes to make, one per wait; `None` closes the channel.
    later: Mutex<VecDeque<Option<(usize, u32)>>>,
}

#[derive(Clone, Copy)]
struct WaitRef<'a>(&'a FuzzWait<'a>);

impl Wait for WaitRef<'_> {
    fn now_ns(&self) -> u64 {
        self.0.now.fetch_add(STEP_NS, Ordering::Relaxed)
    }

    fn wait(&self, _timeout: Duration) -> openamp_metal::Result<()> {
        match self.0.later.lock().unwrap().pop_front() {
            Some(Some((off, v))) => {
                let _ = self.0.mem.write_u32(off & !3, v);
                Ok(())
            }
            Some(None) => Err(openamp_metal::Error::PeerClosed),
            None => Ok(()),
        }
    }
}

/// Byte `i` of payload pattern `seed`.
fn pattern(seed: u32, i: usize) -> u8 {
    (seed as usize).wrapping_mul(31).wrapping_add(i * 7) as u8
}

fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Names both sides use: empty, ordinary, OpenAMP's demo, 31 bytes (the
/// longest we can create), and on the wire only: 32 bytes without a NUL
/// and a name with leftover bytes after its NUL (as OpenAMP C sends).
const NAMES: [&[u8]; 7] = [
    b"",
    b"echo",
    b"rpmsg-openamp-demo-channel",
    b"abcdefghijklmnopqrstuvwxyz01234",
    b"abcdefghijklmnopqrstuvwxyz012345",
    b"echo\0\x15\xad\x55\xc3junk",
    b"e",
];

fn wire_name(i: u8) -> [u8; 32] {
    let mut n = [0u8; 32];
    match usize::from(i) {
        i @ 0..=6 => n[..NAMES[i].len()].copy_from_slice(NAMES[i]),
        // A flood: n0, n1, ...
        i => {
            let s = format!("n{}", i - 7);
            n[..s.len()].copy_from_slice(s.as_bytes());
        }
    }
    n
}

/// A message as its receiver must see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Msg {
    src: u32,
    dst: u32,
    len: usize,
    hash: u64,
    /// Name service: name, address and flags of the announcement.
    ns: Option<(Name, u32, u32)>,
}

/// What callbacks saw and did, for the script to check.
#[derive(Default)]
struct Shared {
    delivered: Mutex<Vec<(EndpointId, Msg)>>,
    /// Messages callbacks sent, in order.
    sent: Mutex<Vec<Msg>>,
    /// Endpoints callbacks destroyed or created (with their config).
    destroyed: Mutex<Vec<(EndpointId, bool)>>,
    created: Mutex<Vec<(EndpointId, Name, u32)>>,
    unbound: Mutex<Vec<EndpointId>>,
    /// Whether callbacks also act (echo, destroy, create).
    act: AtomicU64,
    /// The names of our endpoints, and whether name service is on: what a
    /// callback needs to know what destroying an endpoint sends.
    names: Mutex<Vec<(EndpointId, Name)>>,
    ns: AtomicU64,
}

/// What a received message says. A buffer held across a reset refuses to
/// be read (its memory is the next session's): `None`.
fn read_msg(m: &RxBuffer<'_>) -> Option<Msg> {
    let mut b = [0u8; 1024];
    let n = match m.read(&mut b) {
        Ok(n) => n,
        Err(Error::PeerReset { .. }) => return None,
        Err(e) => panic!("reading a message failed with {e:?}"),
    };
    assert_eq!(n, m.len().min(b.len()));
    Some(Msg {
        src: m.src(),
        dst: m.dst(),
        len: m.len(),
        hash: hash(&b[..n]),
        ns: None,
    })
}

/// An endpoint of ours, as the script knows it.
#[derive(Debug, Clone, Copy)]
struct Ep {
    id: EndpointId,
    addr: u32,
    name: Name,
    init_dest: u32,
    callback: bool,
}

/// What the peer does as a virtio device (our role: host).
struct HostilDevice<'a> {
    rx: DeviceQueue<'a, N>,
    tx: DeviceQueue<'a, N>,
    held: Vec<Chain>,
}

/// What the peer does as a virtio driver (our role: remote).
struct HostileDriver<'a> {
    rx: DriverQueue<'a, N>,
    tx: DriverQueue<'a, N>,
    slot: usize,
    free: Vec<usize>,
    /// vring0 chains offered for our remote to send in: (token, slot, good).
    offered: Vec<(u16, usize, bool)>,
    /// vring1 messages in flight: (token, slot).
    sent: Vec<(u16, usize)>,
}

enum Peer<'a> {
    Device(HostilDevice<'a>),
    Driver(HostileDriver<'a>),
}

fn conventions(b: u8, inp: &mut Input<'_>) -> Conventions {
    match b & 3 {
        0 => Conventions::OURS,
        1 => Conventions::OPENAMP_C,
        2 => Conventions::LINUX,
        _ => {
            let x = inp.u8();
            Conventions {
                name_padding: if x & 1 != 0 {
                    NamePadding::Junk
                } else {
                    NamePadding::Zeros
                },
                reserved: if x & 2 != 0 {
                    Reserved::Junk
                } else {
                    Reserved::Zero
                },
                tx_descriptor_len: if x & 4 != 0 {
                    TxDescriptorLen::Message
                } else {
                    TxDescriptorLen::WholeBuffer
                },
                used_len: [
                    UsedLen::Descriptor,
                    UsedLen::Written,
                    UsedLen::Message,
                    UsedLen::Descriptor,
                ][usize::from(x >> 3 & 3)],
                status: if x & 0x20 != 0 {
                    StatusWrites::DriverOkOnly
                } else {
                    StatusWrites::Stepwise
                },
                suppress_kicks: x & 0x40 != 0,
                tx_reuse: if x & 0x80 != 0 {
                    TxReuse::ReturnedFirst
                } else {
                    TxReuse::FreshFirst
                },
                tx_size_from_used_len: inp.u8() & 1 != 0,
            }
        }
    }
}

fn buffer_size(b: u8) -> u32 {
    match b & 7 {
        0 | 1 => 512,
        2 => 17,
        3 => 64,
        4 => 16, // refused: no room for a header
        5 => 128,
        6 => 600,
        _ => 40 + u32::from(b >> 3) * 8,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut pool = POOL.with(|p| p.take());
    if pool.len() < MEM / PAGE {
        pool.resize(MEM / PAGE, Page([0; PAGE]));
    }
    for p in pool.iter_mut() {
        p.0.fill(0);
    }
    run(&mut pool, Input(data));
    POOL.with(|p| *p.borrow_mut() = pool);
});

fn run(pool: &mut [Page], mut inp: Input<'_>) {
    let base = pool.as_mut_ptr().cast::<u8>();
    // SAFETY: `pool` is borrowed for the whole run and only used through
    // this region meanwhile.
    let mem = unsafe {
        IoRegion::new(
            base,
            pool.len() * PAGE,
            openamp_metal::PhysMap::Contiguous(0x1000_0000),
            openamp_metal::IoAttr::UNCACHED,
        )
    }
    .unwrap();
    let b0 = inp.u8();
    let host = b0 & 1 == 0;
    let num = 1u32 << (b0 >> 1 & 7).min(4);
    let align = if b0 & 0x10 != 0 { 64 } else { 16 };
    let Ok(lb) = Loopback::new(mem, num, align, 2) else {
        return;
    };
    let b1 = inp.u8();
    let mut features = if b1 & 1 != 0 { VIRTIO_RPMSG_F_NS } else { 0 };
    if b1 & 2 != 0 {
        features |= VIRTIO_RING_F_EVENT_IDX;
    }
    let peer_features = if b1 & 4 != 0 {
        inp.u32()
    } else {
        VIRTIO_RPMSG_F_NS | VIRTIO_RING_F_EVENT_IDX
    };
    let b2 = inp.u8();
    let config = Config {
        rx_buffer_size: buffer_size(b2),
        tx_buffer_size: buffer_size(b2 >> 4 | (b2 & 8)),
        features: if b1 & 8 != 0 {
            features | VIRTIO_RPMSG_F_NS
        } else {
            features
        },
        conventions: conventions(b1 >> 4, &mut inp),
    };
    let b3 = inp.u8();
    let shared = Shared::default();
    shared.act.store(u64::from(b3 & 1), Ordering::Relaxed);
    shared.ns.store(1, Ordering::Relaxed);
    let wait = FuzzWait {
        now: AtomicU64::new(0),
        mem,
        later: Mutex::new(VecDeque::new()),
    };

    // Callbacks, before the device that borrows them.
    let record = |ops: &dyn RpmsgOps, ep: EndpointId, m: RxBuffer<'_>| {
        let Some(msg) = read_msg(&m) else { return };
        shared.delivered.lock().unwrap().push((ep, msg));
        drop(m);
        let _ = ops;
    };
    let echo = |ops: &dyn RpmsgOps, ep: EndpointId, m: RxBuffer<'_>| {
        let mut b = [0u8; 1024];
        let Some(msg) = read_msg(&m) else { return };
        let n = m.read(&mut b).unwrap();
        shared.delivered.lock().unwrap().push((ep, msg));
        drop(m);
        if shared.act.load(Ordering::Relaxed) != 0 && ops.try_send_to(ep, msg.src, &b[..n]).is_ok()
        {
            let src = ops.addr(ep).unwrap();
            shared.sent.lock().unwrap().push(Msg {
                src,
                dst: msg.src,
                len: n,
                hash: hash(&b[..n]),
                ns: None,
            });
        }
    };
    let destroy = |ops: &dyn RpmsgOps, ep: EndpointId, m: RxBuffer<'_>| {
        if let Some(msg) = read_msg(&m) {
            shared.delivered.lock().unwrap().push((ep, msg));
        }
        drop(m);
        if shared.act.load(Ordering::Relaxed) != 0 {
            let addr = ops.addr(ep).unwrap_or(0);
            let ok = ops.destroy_endpoint(ep).is_ok();
            shared.destroyed.lock().unwrap().push((ep, ok));
            // Its DESTROY goes out now, between what other callbacks send.
            let name = shared
                .names
                .lock()
                .unwrap()
                .iter()
                .find(|(id, _)| *id == ep)
                .map(|(_, n)| *n);
            if let (true, Some(name)) = (ok && shared.ns.load(Ordering::Relaxed) != 0, name) {
                if !name.is_empty() && addr >= 1024 {
                    shared.sent.lock().unwrap().push(Msg {
                        src: addr,
                        dst: NS_ADDR,
                        len: NS_MSG_LEN,
                        hash: 0,
                        ns: Some((name, addr, NS_DESTROY)),
                    });
                }
            }
        }
    };
    let unbind = |ops: &dyn RpmsgOps, ep: EndpointId| {
        shared.unbound.lock().unwrap().push(ep);
        let _ = ops.dest(ep);
    };
    let bind = |ops: &dyn RpmsgOps, name: &Name, addr: u32| {
        if shared.act.load(Ordering::Relaxed) != 0 {
            let cfg = EndpointConfig {
                name: *name,
                addr: ADDR_ANY,
                dest: addr,
                // Its messages wait for the script's receives.
                callback: None,
                unbind: None,
            };
            if let Ok(ep) = ops.create_endpoint(cfg) {
                shared.created.lock().unwrap().push((ep, *name, addr));
            }
        }
    };

    let mut dev: Dev<'_, '_>;
    let peer;
    if host {
        lb.format(7, peer_features).unwrap();
        dev = match Dev::new_host(lb.driver(), WaitRef(&wait), config) {
            Ok(d) => d,
            Err(e) => {
                assert!(
                    matches!(e, Error::InvalidConfig { .. }),
                    "host set-up failed with {e:?}"
                );
                return;
            }
        };
        let t = lb.device();
        let (v0, v1) = (t.vring(0).unwrap(), t.vring(1).unwrap());
        let f = dev.features();
        let bufs = t.buffers().unwrap();
        peer = Peer::Device(HostilDevice {
            rx: DeviceQueue::new(v0.ring, bufs, v0.config(f), Default::default()).unwrap(),
            tx: DeviceQueue::new(v1.ring, bufs, v1.config(f), Default::default()).unwrap(),
            held: Vec::new(),
        });
    } else {
        lb.format(7, 0).unwrap();
        let t = lb.driver();
        let drv_features = peer_features;
        t.set_driver_features(drv_features).unwrap();
        let (v0, v1) = (t.vring(0).unwrap(), t.vring(1).unwrap());
        // The features both will use: the device offers `config.features`.
        let f = config.features & drv_features;
        let bufs = t.buffers().unwrap();
        let slot = if b3 & 2 != 0 { 512 } else { 128 };
        let mut d = HostileDriver {
            rx: DriverQueue::new(v0.ring, bufs, v0.config(f), Default::default()).unwrap(),
            tx: DriverQueue::new(v1.ring, bufs, v1.config(f), Default::default()).unwrap(),
            slot,
            free: (0..bufs.size() / slot).rev().collect(),
            offered: Vec::new(),
            sent: Vec::new(),
        };
        for _ in 0..(b3 >> 2 & 7) {
            offer(&mut d, &mut inp);
        }
        let status = match b3 >> 5 {
            0 => 0x04,
            1 => STATUS_NEEDS_RESET,
            2 => STATUS_FAILED | 0x0f,
            3 => 0,
            _ => 0x0f,
        };
        t.set_status(DeviceStatus(status)).unwrap();
        dev = match Dev::new_remote(
            lb.device(),
            WaitRef(&wait),
            config,
            Duration::from_millis(500),
        ) {
            Ok(d) => d,
            Err(e) => {
                assert!(
                    status & STATUS_DRIVER_OK == 0
                        || status & (STATUS_NEEDS_RESET | STATUS_FAILED) != 0,
                    "remote set-up failed with {e:?}, status {status:#x}"
                );
                return;
            }
        };
        assert!(status & STATUS_DRIVER_OK != 0 && status & STATUS_FAILED == 0);
        peer = Peer::Driver(d);
    }
    if b3 & 0x10 != 0 {
        dev.set_bind_callback(&bind);
    }
    if b3 & 0x08 != 0 {
        dev.set_spin(Duration::ZERO);
    }
    trace!(
        "host {host} num {num} features {:#x} config {config:?}",
        dev.features()
    );
    script(
        &dev,
        peer,
        lb,
        &shared,
        &wait,
        inp,
        [&record, &echo, &destroy],
        &unbind,
        config.rx_buffer_size,
    );
}

/// The hostile driver offers an empty buffer on vring0 (ours to send in):
/// usually whole, sometimes too small, readable or in two pieces.
fn offer(d: &mut HostileDriver<'_>, inp: &mut Input<'_>) {
    let Some(slot) = d.free.pop() else { return };
    let b = inp.u8();
    let off = slot * d.slot;
    let len = match b & 3 {
        0 | 1 => d.slot as u32,
        2 => u32::from(b >> 2) % (d.slot as u32 + 1),
        _ => 16 + u32::from(b >> 2),
    }
    .min(d.slot as u32);
    let seg = Segment::new(off, len);
    let r = match b >> 6 {
        0 | 1 => d.rx.add_inbuf(seg),
        // Readable only: no room to send in.
        2 => d.rx.add_outbuf(seg),
        // Two writable pieces.
        _ => {
            let half = len / 2;
            d.rx.add(
                &[],
                &[
                    Segment::new(off, half),
                    Segment::new(off + half as usize, len - half),
                ],
            )
        }
    };
    match r {
        Ok(tok) => {
            let good = b >> 6 != 2
                && if b >> 6 == 3 {
                    len / 2 >= 16
                } else {
                    len >= 16
                };
            d.offered.push((tok, slot, good));
        }
        Err(_) => d.free.push(slot),
    }
}

#[allow(clippy::too_many_arguments)]
fn script<'a, 'cb>(
    dev: &Dev<'a, 'cb>,
    mut peer: Peer<'a>,
    lb: Loopback<'a>,
    shared: &Shared,
    wait: &FuzzWait<'a>,
    mut inp: Input<'_>,
    callbacks: [openamp_rpmsg::Callback<'cb>; 3],
    unbind: openamp_rpmsg::UnbindCallback<'cb>,
    rx_size: u32,
) {
    let mem = lb.region();
    let bufs = lb.device().buffers().unwrap();
    shared
        .ns
        .store(u64::from(dev.name_service()), Ordering::Relaxed);
    // The largest buffer a message can reach us in.
    let rx_room = match &peer {
        Peer::Device(_) => rx_size as usize,
        Peer::Driver(d) => d.slot,
    };
    let ns = dev.name_service();
    let mut eps: Vec<Ep> = Vec::new();
    // Messages the peer sent to each of our addresses, in order.
    let mut to_us: Vec<(u32, VecDeque<Msg>)> = Vec::new();
    // Messages we sent, in order, as the peer must find them.
    let mut to_peer: VecDeque<Msg> = VecDeque::new();
    // Every address the peer used: as a source or in an announcement.
    let mut peer_addrs: Vec<u32> = Vec::new();
    let mut held_rx: Vec<RxBuffer<'_>> = Vec::new();
    let mut held_tx: Vec<TxBuffer<'_>> = Vec::new();
    let mut tainted = false;
    let mut reset = false;
    let mut seq = 0u32;
    let ready = |s: u8| s & STATUS_DRIVER_OK != 0 && s & (STATUS_NEEDS_RESET | STATUS_FAILED) == 0;

    for _ in 0..MAX_OPS {
        if inp.is_empty() {
            break;
        }
        let op = inp.u8();
        seq = seq.wrapping_add(1);
        let status = mem.read_u8(0).unwrap();
        trace!(
            "op {} ({op:#04x}) status {status:#x} tainted {tainted} reset {reset} eps {}",
            op % 20,
            eps.len()
        );
        // Take what callbacks did and saw since the last step.
        let mut r = None;
        match op % 20 {
            // ---- our side ----------------------------------------------
            // Create an endpoint.
            0 | 1 => {
                let b = inp.u8();
                let name = usize::from(b & 7);
                let cfg = match name {
                    0 => Ok(EndpointConfig::anonymous()),
                    // 32 bytes: too long to create.
                    4 => EndpointConfig::named("abcdefghijklmnopqrstuvwxyz012345"),
                    5 => EndpointConfig::named("e"),
                    7 => EndpointConfig::named("a\0b"),
                    n => EndpointConfig::named(std::str::from_utf8(NAMES[n]).unwrap()),
                };
                let Ok(mut cfg) = cfg else {
                    // Too long, or a NUL: refused before anything happens.
                    assert!(name == 4 || name == 7);
                    continue;
                };
                if b & 0x08 != 0 {
                    cfg = cfg.addr(
                        [1024, 1025, 53, 0, 4000, ADDR_ANY - 1, 1026, 2000]
                            [usize::from(inp.u8() & 7)],
                    );
                }
                if b & 0x10 != 0 {
                    cfg = cfg.dest(
                        [1024, 1025, 53, 0x400, 7, ADDR_ANY - 1, 1030, 0]
                            [usize::from(inp.u8() & 7)],
                    );
                }
                let callback = b >> 5 & 3;
                if callback != 0 {
                    cfg = cfg.callback(callbacks[usize::from(callback - 1)]);
                }
                if b & 0x80 != 0 {
                    cfg = cfg.unbind(unbind);
                }
                let announce = ns && !cfg.name.is_empty() && cfg.dest == ADDR_ANY;
                let res = dev.create_endpoint(cfg);
                trace!("  create {:?} -> {res:?}", cfg.name);
                match res {
                    Ok(id) => {
                        assert!(!reset);
                        let addr = dev.addr(id).unwrap();
                        assert!(cfg.addr == ADDR_ANY || addr == cfg.addr);
                        assert!(cfg.addr != ADDR_ANY || addr >= 1024);
                        assert!(
                            eps.iter().all(|e| e.addr != addr),
                            "two endpoints at {addr}"
                        );
                        if announce {
                            to_peer.push_back(Msg {
                                src: addr,
                                dst: NS_ADDR,
                                len: NS_MSG_LEN,
                                hash: 0,
                                ns: Some((cfg.name, addr, NS_CREATE)),
                            });
                        }
                        shared.names.lock().unwrap().push((id, cfg.name));
                        eps.push(Ep {
                            id,
                            addr,
                            name: cfg.name,
                            init_dest: cfg.dest,
                            callback: callback != 0,
                        });
                    }
                    Err(Error::PeerReset { .. }) => reset = true,
                    Err(Error::ReservedAddress { addr }) => assert_eq!(addr, NS_ADDR),
                    Err(Error::AddressInUse { addr }) => {
                        assert!(eps.iter().any(|e| e.addr == addr))
                    }
                    Err(Error::TooManyEndpoints { .. }) => assert_eq!(eps.len(), E),
                    // The announcement found no buffer in time.
                    Err(Error::Timeout) => assert!(announce),
                    Err(e) => assert!(tainted || announce, "create failed with {e:?}"),
                }
            }
            // Destroy one.
            2 => {
                if eps.is_empty() {
                    continue;
                }
                let i = usize::from(inp.u8()) % eps.len();
                let ep = eps.remove(i);
                let res = dev.destroy_endpoint(ep.id);
                trace!("  destroy {} -> {res:?}", ep.addr);
                if res.is_ok() {
                    destroyed(&ep, ns, dev.is_reset(), &mut to_peer);
                }
                if let Err(Error::PeerReset { .. }) = res {
                    reset = true;
                }
                assert!(dev.addr(ep.id).is_err(), "a destroyed endpoint lives on");
            }
            // Send from an endpoint, copying.
            3 | 4 => {
                if eps.is_empty() {
                    continue;
                }
                let ep = eps[usize::from(inp.u8()) % eps.len()];
                let len = usize::from(inp.u16()) % 700;
                let seed = seq;
                let data: Vec<u8> = (0..len).map(|i| pattern(seed, i)).collect();
                let to = if op & 0x20 != 0 {
                    Some(inp.u32() % 2048)
                } else {
                    None
                };
                let res = match (to, op & 0x40 != 0) {
                    (Some(dst), false) => dev.try_send_to(ep.id, dst, &data).map(|()| dst),
                    (Some(dst), true) => dev
                        .send_to_timeout(ep.id, dst, &data, Duration::from_millis(300))
                        .map(|()| dst),
                    (None, false) => dev.try_send(ep.id, &data).and_then(|()| dev.dest(ep.id)),
                    (None, true) => dev
                        .send_timeout(ep.id, &data, Duration::from_millis(300))
                        .and_then(|()| dev.dest(ep.id)),
                };
                trace!("  send {len} from {} -> {res:?}", ep.addr);
                match res {
                    Ok(dst) => {
                        assert!(!reset);
                        assert!(len <= dev.max_payload());
                        to_peer.push_back(Msg {
                            src: ep.addr,
                            dst,
                            len,
                            hash: hash(&data),
                            ns: None,
                        });
                    }
                    Err(Error::TooLarge { len: l, max }) => assert!(l == len && len > max),
                    Err(Error::PeerReset { .. }) => reset = true,
                    Err(Error::WouldBlock | Error::Timeout) => assert!(!reset),
                    Err(Error::NotBound { .. }) => assert_eq!(dev.dest(ep.id), Ok(ADDR_ANY)),
                    Err(e) => assert!(tainted, "send failed with {e:?}"),
                }
            }
            // Zero-copy: take a buffer, fill it, send it or keep it.
            5 => {
                if held_tx.len() < 3 {
                    match dev.try_alloc_tx() {
                        Ok(mut tx) => {
                            assert!(!reset);
                            let cap = tx.capacity();
                            let n = usize::from(inp.u8()).min(cap + 1);
                            let data: Vec<u8> = (0..n).map(|i| pattern(seq, i)).collect();
                            let w = tx.write_at(0, &data);
                            assert_eq!(w.is_ok(), n <= cap, "{w:?}");
                            held_tx.push(tx);
                            let _ = n;
                        }
                        Err(Error::PeerReset { .. }) => reset = true,
                        Err(Error::WouldBlock) => {}
                        Err(e) => assert!(tainted, "alloc failed with {e:?}"),
                    }
                } else {
                    drop(held_tx.remove(0));
                }
            }
            6 => {
                if held_tx.is_empty() || eps.is_empty() {
                    continue;
                }
                let tx = held_tx.remove(usize::from(inp.u8()) % held_tx.len());
                let ep = eps[usize::from(inp.u8()) % eps.len()];
                let len = usize::from(inp.u8());
                let dst = 1024 + u32::from(inp.u8() & 3);
                let cap = tx.capacity();
                let data: Vec<u8> = (0..len.min(cap)).map(|i| pattern(seq, i)).collect();
                let mut tx = tx;
                let _ = tx.write_at(0, &data);
                let res = tx.send_to(ep.id, dst, len);
                trace!("  zero-copy send {len} (cap {cap}) -> {res:?}");
                match res {
                    Ok(()) => {
                        assert!(!reset && len <= cap);
                        // Bytes we did not write are whatever the buffer
                        // held: compare lengths only.
                        to_peer.push_back(Msg {
                            src: ep.addr,
                            dst,
                            len,
                            hash: if len <= data.len() {
                                hash(&data[..len])
                            } else {
                                u64::MAX - 1
                            },
                            ns: None,
                        });
                    }
                    Err(Error::TooLarge { .. }) => assert!(len > cap),
                    Err(Error::PeerReset { .. }) => reset = true,
                    Err(e) => assert!(tainted, "zero-copy send failed with {e:?}"),
                }
            }
            // Receive (and maybe keep the buffer).
            7 | 8 => {
                if eps.is_empty() {
                    continue;
                }
                let ep = eps[usize::from(inp.u8()) % eps.len()];
                let ok = ready(mem.read_u8(0).unwrap());
                let res = dev.try_recv(ep.id);
                trace!("  recv at {} -> {res:?}", ep.addr);
                match res {
                    Ok(m) => {
                        assert!(!reset && (ok || tainted), "a reset peer went unnoticed");
                        if let Some(m) = m {
                            match read_msg(&m) {
                                Some(msg) => {
                                    assert_eq!(msg.dst, ep.addr);
                                    r = Some((ep.id, msg));
                                }
                                None => assert!(dev.is_reset(), "a read refused without a reset"),
                            }
                            if op & 0x80 != 0 && held_rx.len() < 4 {
                                held_rx.push(m);
                            }
                        }
                    }
                    Err(Error::PeerReset { .. }) => {
                        assert!(reset || !ok || tainted);
                        reset = true;
                    }
                    Err(e) => assert!(tainted, "recv failed with {e:?}"),
                }
            }
            // Poll (callbacks run).
            9 => {
                let ok = ready(mem.read_u8(0).unwrap());
                let res = dev.poll();
                trace!("  poll -> {res:?}");
                match res {
                    Ok(_) => assert!(!reset && (ok || tainted), "a reset peer went unnoticed"),
                    Err(Error::PeerReset { .. }) => {
                        assert!(reset || !ok || tainted);
                        reset = true;
                    }
                    Err(e) => assert!(tainted, "poll failed with {e:?}"),
                }
            }
            // Blocking calls, bounded.
            10 => {
                if op >> 5 >= 2 && eps.is_empty() {
                    continue;
                }
                let res = match op >> 5 {
                    0 | 1 => dev.wait_and_poll(Duration::from_millis(200)).map(|_| ()),
                    2 | 3 => {
                        let ep = eps[usize::from(inp.u8()) % eps.len()];
                        match dev.recv_timeout(ep.id, Duration::from_millis(300)) {
                            Ok(m) => {
                                if let Some(msg) = read_msg(&m) {
                                    assert_eq!(msg.dst, ep.addr);
                                    r = Some((ep.id, msg));
                                }
                                Ok(())
                            }
                            Err(e) => Err(e),
                        }
                    }
                    _ => {
                        let ep = eps[usize::from(inp.u8()) % eps.len()];
                        dev.wait_bound(ep.id, Duration::from_millis(300))
                            .map(|_| ())
                    }
                };
                trace!("  blocking -> {res:?}");
                match res {
                    Ok(()) => assert!(!reset),
                    Err(Error::PeerReset { .. }) => reset = true,
                    Err(Error::Timeout) => {}
                    // Its callback destroyed it meanwhile.
                    Err(Error::NoSuchEndpoint { .. }) => {
                        assert!(!shared.destroyed.lock().unwrap().is_empty())
                    }
                    Err(e) => assert!(tainted, "a blocking call failed with {e:?}"),
                }
            }
            // Let go of a held buffer.
            11 => {
                if !held_rx.is_empty() {
                    drop(held_rx.remove(usize::from(inp.u8()) % held_rx.len()));
                }
            }
            // ---- the peer ----------------------------------------------
            // A message with a hostile header.
            12 | 13 => {
                let b = inp.u8();
                let src = match b & 3 {
                    0 => 1024 + u32::from(inp.u8() & 3),
                    1 => NS_ADDR,
                    2 => inp.u32(),
                    _ => 1100,
                };
                let dst = match b >> 2 & 3 {
                    0 | 1 if !eps.is_empty() => eps[usize::from(inp.u8()) % eps.len()].addr,
                    2 => NS_ADDR,
                    _ => [inp.u32(), 1024, 1025, 0][usize::from(b >> 4 & 3)],
                };
                let len = if b & 0x40 != 0 {
                    usize::from(inp.u16())
                } else {
                    usize::from(inp.u8())
                };
                let payload: Vec<u8> = (0..len.min(2048)).map(|i| pattern(seq, i)).collect();
                let header = Header {
                    src,
                    dst,
                    reserved: if b & 0x80 != 0 { inp.u32() } else { 0 },
                    len: len as u16,
                    flags: if b & 0x80 != 0 { inp.u16() } else { 0 },
                };
                let policy = inp.u8();
                let accepted = peer_send(&mut peer, &bufs, &header, &payload, policy, &mut inp);
                trace!("  peer sends {header:?} -> accepted {accepted}");
                peer_addrs.push(src);
                if accepted && !(dst == NS_ADDR && ns) && len <= 0xffff {
                    let msg = Msg {
                        src,
                        dst,
                        len,
                        hash: hash(&payload[..len.min(payload.len())]),
                        ns: None,
                    };
                    match to_us.iter_mut().find(|(a, _)| *a == dst) {
                        Some((_, q)) => q.push_back(msg),
                        None => to_us.push((dst, VecDeque::from([msg]))),
                    }
                }
            }
            // Name service: one message, or a flood of announcements.
            14 | 15 => {
                let b = inp.u8();
                let count = if op % 20 == 15 {
                    1 + usize::from(b & 15)
                } else {
                    1
                };
                for k in 0..count {
                    let name = if count > 1 { 7 + k as u8 } else { b & 7 };
                    let addr = match inp.u8() & 3 {
                        0 => 1024,
                        1 => 1025 + u32::from(inp.u8()),
                        2 => inp.u32(),
                        _ => eps.first().map_or(1030, |e| e.addr),
                    };
                    let flags = match b >> 4 & 3 {
                        0 | 1 => NS_CREATE,
                        2 => NS_DESTROY,
                        _ => inp.u32(),
                    };
                    let mut payload = [0u8; NS_MSG_LEN];
                    payload[..32].copy_from_slice(&wire_name(name));
                    payload[32..36].copy_from_slice(&addr.to_le_bytes());
                    payload[36..].copy_from_slice(&flags.to_le_bytes());
                    let len = if b & 0x40 != 0 {
                        usize::from(inp.u8()) % 48
                    } else {
                        NS_MSG_LEN
                    };
                    let header = Header {
                        src: addr,
                        dst: NS_ADDR,
                        reserved: 0,
                        len: len as u16,
                        flags: 0,
                    };
                    let policy = if b & 0x80 != 0 { inp.u8() } else { 0 };
                    let accepted = peer_send(
                        &mut peer,
                        &bufs,
                        &header,
                        &payload[..len.min(40)],
                        policy,
                        &mut inp,
                    );
                    trace!(
                        "  peer announces {:?} {addr} flags {flags} -> {accepted}",
                        Name::from_wire(&wire_name(name))
                    );
                    peer_addrs.push(addr);
                }
            }
            // The peer takes what we sent, and checks it.
            16 => {
                let policy = inp.u8();
                let got = peer_take(&mut peer, &bufs, policy, &mut inp, !tainted);
                trace!("  peer takes {got:?}");
                if let Some(m) = got {
                    if !tainted {
                        let want = to_peer
                            .pop_front()
                            .expect("the peer got a message we never sent");
                        assert_eq!((m.src, m.dst), (want.src, want.dst), "{m:?} for {want:?}");
                        if let Some(ns) = want.ns {
                            assert_eq!(m.ns, Some(ns));
                        } else {
                            assert_eq!(m.len, want.len);
                            if want.hash != u64::MAX - 1 {
                                assert_eq!(m.hash, want.hash, "the peer got other bytes");
                            }
                        }
                    }
                }
            }
            // The remote's host offers buffers; the host's remote gives
            // back a buffer it held.
            17 => match &mut peer {
                Peer::Driver(d) => offer(d, &mut inp),
                Peer::Device(_) => {
                    let _ = peer_take(&mut peer, &bufs, 0x80, &mut inp, !tainted);
                }
            },
            // Raw writes anywhere, now or while we wait.
            18 => {
                let b = inp.u8();
                let off = usize::from(inp.u16()) % mem.size();
                let v = inp.u32();
                if b & 1 != 0 {
                    wait.later.lock().unwrap().push_back(if b & 2 != 0 {
                        Some((off, v))
                    } else {
                        None
                    });
                } else {
                    let _ = match b >> 1 & 3 {
                        0 => mem.write_u8(off, v as u8),
                        1 => mem.write_u16(off & !1, v as u16),
                        _ => mem.write_u32(off & !3, v),
                    };
                }
                tainted = true;
            }
            // Status changes.
            _ => {
                let b = inp.u8();
                let s = match b & 7 {
                    0 => 0,
                    1 => status | STATUS_NEEDS_RESET,
                    2 => status | STATUS_FAILED,
                    3 => status & !STATUS_DRIVER_OK,
                    4 => 0x0f,
                    5 => 0x04,
                    _ => b,
                };
                if b & 0x80 != 0 {
                    wait.later
                        .lock()
                        .unwrap()
                        .push_back(Some((0, u32::from(s))));
                    tainted = true;
                } else {
                    mem.write_u8(0, s).unwrap();
                }
                if !ready(s) {
                    // Whatever the peer sends from now on is a new session.
                    tainted = true;
                }
            }
        }
        // What callbacks saw: messages for endpoints with callbacks.
        let mut seen: Vec<(EndpointId, Msg)> =
            std::mem::take(&mut *shared.delivered.lock().unwrap());
        seen.extend(r);
        for (id, msg) in seen {
            let ep = eps.iter().find(|e| e.id == id).copied();
            if let Some(ep) = ep {
                assert_eq!(msg.dst, ep.addr);
            }
            assert!(
                msg.len + HEADER_LEN <= rx_room,
                "{} bytes received in {rx_room}-byte buffers",
                msg.len
            );
            if !tainted {
                let q = to_us
                    .iter_mut()
                    .find(|(a, _)| *a == msg.dst)
                    .map(|(_, q)| q)
                    .expect("a message to an address the peer never wrote to");
                // Earlier ones may have been dropped (no endpoint then).
                while let Some(m) = q.pop_front() {
                    if (m.src, m.len, m.hash) == (msg.src, msg.len, msg.hash) {
                        break;
                    }
                    assert!(!q.is_empty(), "a message the peer never sent: {msg:?}");
                }
            }
        }
        // What callbacks did.
        to_peer.extend(shared.sent.lock().unwrap().drain(..));
        for (id, ok) in shared.destroyed.lock().unwrap().drain(..) {
            if let Some(i) = eps.iter().position(|e| e.id == id) {
                eps.remove(i);
                if !ok {
                    // It may or may not have announced it.
                    tainted = true;
                }
            }
        }
        for (id, name, dest) in shared.created.lock().unwrap().drain(..) {
            let addr = dev.addr(id).unwrap();
            if ns && dest == ADDR_ANY {
                to_peer.push_back(Msg {
                    src: addr,
                    dst: NS_ADDR,
                    len: NS_MSG_LEN,
                    hash: 0,
                    ns: Some((name, addr, NS_CREATE)),
                });
            }
            eps.push(Ep {
                id,
                addr,
                name,
                init_dest: dest,
                callback: false,
            });
        }
        shared.unbound.lock().unwrap().clear();
        // Invariants.
        if reset || dev.is_reset() {
            assert!(dev.is_reset(), "a reset was reported but not kept");
            reset = true;
            assert!(matches!(dev.try_alloc_tx(), Err(Error::PeerReset { .. })));
            assert!(matches!(dev.poll(), Err(Error::PeerReset { .. })));
        }
        for ep in &eps {
            let d = dev.dest(ep.id).expect("a live endpoint vanished");
            // (Raw writes can put any source address into a message.)
            assert!(
                tainted || d == ADDR_ANY || d == ep.init_dest || peer_addrs.contains(&d),
                "endpoint {} bound to {d}, an address nobody gave",
                ep.addr
            );
            let _ = ep.callback;
        }
    }
    drop(held_rx);
    drop(held_tx);
}

/// What destroying `ep` sends: a DESTROY if it had a name and a dynamic
/// address, name service is on and the peer was not found reset.
fn destroyed(ep: &Ep, ns: bool, reset: bool, to_peer: &mut VecDeque<Msg>) {
    if ns && !reset && !ep.name.is_empty() && ep.addr >= 1024 {
        to_peer.push_back(Msg {
            src: ep.addr,
            dst: NS_ADDR,
            len: NS_MSG_LEN,
            hash: 0,
            ns: Some((ep.name, ep.addr, NS_DESTROY)),
        });
    }
}

/// The peer sends a message with `header` and `payload` (which may say
/// other lengths than it has). `policy` picks the used or descriptor length
/// it reports. Returns whether our side must take the message as it is (a
/// header that fits what the buffer and the reported length allow).
fn peer_send(
    peer: &mut Peer<'_>,
    bufs: &IoRegion<'_>,
    header: &Header,
    payload: &[u8],
    policy: u8,
    inp: &mut Input<'_>,
) -> bool {
    let mut msg = [0u8; 4096];
    msg[..HEADER_LEN].copy_from_slice(&header.to_bytes());
    let n = payload.len().min(msg.len() - HEADER_LEN);
    msg[HEADER_LEN..HEADER_LEN + n].copy_from_slice(&payload[..n]);
    let full = HEADER_LEN + n;
    let len = usize::from(header.len);
    match peer {
        Peer::Device(d) => {
            // Send in one of the host's receive buffers.
            let Ok(Some(c)) = d.rx.pop_avail() else {
                return false;
            };
            let Some(seg) = d.rx.segments(&c).ok().and_then(|mut s| s.next()) else {
                return false;
            };
            let cap = seg.buf.len as usize;
            let _ = bufs.write_bytes(seg.buf.offset, &msg[..full.min(cap)]);
            let written = full.min(c.writable as usize) as u32;
            let total = c.readable + c.writable;
            let reported = match policy & 3 {
                0 => written,
                // OpenAMP C: the whole buffer.
                1 => total,
                2 => u32::from(inp.u16()) % (total + 1),
                _ => 0,
            };
            if d.rx.push_used_reporting(&c, written, reported).is_err() {
                d.held.push(c);
                return false;
            }
            let room = cap.min(reported as usize).saturating_sub(HEADER_LEN);
            (reported as usize) >= HEADER_LEN && len <= room && len <= n
        }
        Peer::Driver(d) => {
            let Some(slot) = d.free.pop() else {
                return false;
            };
            let off = slot * d.slot;
            let _ = bufs.write_bytes(off, &msg[..full.min(d.slot)]);
            let desc = match policy & 3 {
                0 => full.min(d.slot),
                1 => d.slot,
                2 => usize::from(inp.u16()) % (d.slot + 1),
                _ => usize::from(inp.u8() & 15),
            };
            match d.tx.add_outbuf(Segment::new(off, desc as u32)) {
                Ok(tok) => d.sent.push((tok, slot)),
                Err(_) => {
                    d.free.push(slot);
                    return false;
                }
            }
            desc >= HEADER_LEN && len <= desc - HEADER_LEN && len <= n
        }
    }
}

/// The peer takes the next message we sent, if any, and gives its buffer
/// back (`policy` picks the used length a device reports).
fn peer_take(
    peer: &mut Peer<'_>,
    bufs: &IoRegion<'_>,
    policy: u8,
    inp: &mut Input<'_>,
    strict: bool,
) -> Option<Msg> {
    let parse = |off: usize, cap: usize| -> Option<Msg> {
        let mut h = [0u8; HEADER_LEN];
        bufs.read_bytes(off, &mut h).ok()?;
        let h = Header::from_bytes(&h);
        let len = usize::from(h.len);
        if HEADER_LEN + len > cap {
            // Raw writes may have changed our header since we sent it.
            assert!(!strict, "we sent {len} bytes in a {cap}-byte buffer");
            return None;
        }
        let mut p = vec![0u8; len];
        bufs.read_bytes(off + HEADER_LEN, &mut p).ok()?;
        let ns = (h.dst == NS_ADDR && len == NS_MSG_LEN).then(|| {
            let m = NsMessage::from_bytes(&p[..].try_into().unwrap());
            (m.name, m.addr, m.flags)
        });
        Some(Msg {
            src: h.src,
            dst: h.dst,
            len,
            hash: hash(&p),
            ns,
        })
    };
    match peer {
        Peer::Device(d) => {
            // Give back a receive buffer held from a refused report.
            if policy & 0x80 != 0 {
                if let Some(c) = d.held.pop() {
                    let _ = d.rx.push_used(&c, 0);
                }
                return None;
            }
            let c = d.tx.pop_avail().ok()??;
            let seg = d.tx.segments(&c).ok()?.next()?;
            let m = parse(seg.buf.offset, c.readable as usize);
            let total = c.readable + c.writable;
            let reported = match policy & 3 {
                0 => total,
                1 => 0,
                _ => u32::from(inp.u16()) % (total + 1),
            };
            let _ = d.tx.push_used_reporting(&c, 0, reported);
            m
        }
        Peer::Driver(d) => {
            // Buffers we consumed on vring1 come back first.
            while let Ok(Some(u)) = d.tx.pop_used() {
                if let Some(i) = d.sent.iter().position(|(t, _)| *t == u.id) {
                    let (_, slot) = d.sent.remove(i);
                    d.free.push(slot);
                }
            }
            let u = d.rx.pop_used().ok()??;
            let i = d.offered.iter().position(|(t, _, _)| *t == u.id)?;
            let (_, slot, good) = d.offered.remove(i);
            d.free.push(slot);
            if !good {
                // Refused as too small or readable: nothing was sent in it.
                return None;
            }
            parse(u.head.offset, u.head.len as usize)
        }
    }
}
