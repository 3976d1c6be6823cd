//! Both roles over a virtio loopback in one process.

use core::time::Duration;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex as StdMutex;

use openamp_metal::{Clock, IoRegion};
use openamp_virtio::{Loopback, LoopbackEnd, Transport};

use crate::wire::{Header, NsMessage, NS_DESTROY};
use crate::*;

const NUM: u32 = 16;

struct StdClock(std::time::Instant);
impl Clock for StdClock {
    fn now_ns(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

fn busy() -> BusyWait<StdClock> {
    BusyWait(StdClock(std::time::Instant::now()))
}

type Dev<'a, 'cb> = RpmsgDevice<'a, 'cb, LoopbackEnd<'a>, BusyWait<StdClock>, 16, 8>;

/// Ring memory: the rings need their alignment from the allocation itself.
#[repr(C, align(64))]
struct Memory([u8; 0x8000]);

fn memory() -> Box<Memory> {
    Box::new(Memory([0; 0x8000]))
}

fn region(mem: &mut Memory) -> IoRegion<'_> {
    IoRegion::from_slice(&mut mem.0)
}

fn pair<'a, 'cb>(r: IoRegion<'a>) -> (Dev<'a, 'cb>, Dev<'a, 'cb>) {
    let lb = Loopback::new(r, NUM, 16, 2).unwrap();
    lb.format(7, wire::VIRTIO_RPMSG_F_NS).unwrap();
    let host = Dev::new_host(lb.driver(), busy(), Config::default()).unwrap();
    let remote = Dev::new_remote(
        lb.device(),
        busy(),
        Config::default(),
        Duration::from_secs(1),
    )
    .unwrap();
    (host, remote)
}

fn recv_bytes(dev: &Dev<'_, '_>, ep: EndpointId) -> (u32, Vec<u8>) {
    let m = dev.recv_timeout(ep, Duration::from_secs(1)).unwrap();
    let mut v = vec![0u8; m.len()];
    assert_eq!(m.read(&mut v).unwrap(), m.len());
    (m.src(), v)
}

#[test]
fn echo_both_ways_with_name_service_binding() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    assert!(host.name_service() && remote.name_service());
    let r_ep = remote
        .create_endpoint(EndpointConfig::named("echo").unwrap())
        .unwrap();
    // The host learns the name from the announcement, before creating its endpoint.
    host.poll().unwrap();
    let h_ep = host
        .create_endpoint(EndpointConfig::named("echo").unwrap())
        .unwrap();
    assert_eq!(host.dest(h_ep).unwrap(), remote.addr(r_ep).unwrap());
    // The host announced its endpoint too (it asked for no destination), so
    // the remote's endpoint binds to it.
    assert_eq!(remote.dest(r_ep).unwrap(), ADDR_ANY);
    remote.poll().unwrap();
    assert_eq!(remote.dest(r_ep).unwrap(), host.addr(h_ep).unwrap());
    for size in [0, 1, 100, 496] {
        let data: Vec<u8> = (0..size).map(|i| i as u8).collect();
        host.send(h_ep, &data).unwrap();
        let (src, got) = recv_bytes(&remote, r_ep);
        assert_eq!(got, data);
        assert_eq!(src, host.addr(h_ep).unwrap());
        remote.send(r_ep, &got).unwrap();
        assert_eq!(recv_bytes(&host, h_ep).1, data);
    }
    assert_eq!(
        host.stats().sent,
        4 + 1,
        "four messages and one announcement"
    );
    assert_eq!(remote.stats().received, 4);
    assert_eq!(remote.stats().name_service, 1);
}

#[test]
fn oversize_payloads_are_rejected_with_the_limit() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let h = host
        .create_endpoint(EndpointConfig::anonymous().dest(1024))
        .unwrap();
    let r = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1024).dest(1024))
        .unwrap();
    assert_eq!(
        host.try_send(h, &[0; 497]),
        Err(Error::TooLarge { len: 497, max: 496 })
    );
    assert_eq!(
        remote.try_send(r, &[0; 497]),
        Err(Error::TooLarge { len: 497, max: 496 })
    );
    assert_eq!(host.max_payload(), 496);
    // Nothing was consumed by the failed sends.
    assert_eq!(host.stats().sent, 0);
    host.try_send(h, &[1; 496]).unwrap();
    assert_eq!(recv_bytes(&remote, r).1, vec![1; 496]);
}

#[test]
fn a_full_ring_would_block_and_recovers() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let h = host
        .create_endpoint(EndpointConfig::anonymous().dest(1024))
        .unwrap();
    let r = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1024))
        .unwrap();
    for i in 0..NUM {
        host.try_send(h, &[i as u8]).unwrap();
    }
    assert_eq!(host.try_send(h, b"x"), Err(Error::WouldBlock));
    assert_eq!(
        host.send_timeout(h, b"x", Duration::from_millis(5)),
        Err(Error::Timeout),
        "blocking send gives up at its timeout"
    );
    // Messages arrive in order; taking one frees a buffer for the host.
    for i in 0..NUM {
        assert_eq!(recv_bytes(&remote, r).1, vec![i as u8]);
    }
    host.try_send(h, b"again").unwrap();
    assert_eq!(recv_bytes(&remote, r).1, b"again");
}

#[test]
fn remote_runs_out_of_host_buffers_then_gets_them_back() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let h = host
        .create_endpoint(EndpointConfig::anonymous().addr(2000))
        .unwrap();
    let r = remote
        .create_endpoint(EndpointConfig::anonymous().dest(2000))
        .unwrap();
    for i in 0..NUM {
        remote.try_send(r, &[i as u8; 3]).unwrap();
    }
    assert_eq!(remote.try_send(r, b"x"), Err(Error::WouldBlock));
    for i in 0..NUM {
        assert_eq!(recv_bytes(&host, h).1, vec![i as u8; 3]);
    }
    remote.try_send(r, b"x").unwrap();
}

#[test]
fn unknown_addresses_are_counted_and_dropped() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let h = host
        .create_endpoint(EndpointConfig::anonymous().dest(4321))
        .unwrap();
    let r = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1234))
        .unwrap();
    host.try_send(h, b"lost").unwrap();
    host.try_send_to(h, 1234, b"found").unwrap();
    assert_eq!(recv_bytes(&remote, r).1, b"found");
    assert_eq!(remote.stats().dropped_unknown_addr, 1);
    // The dropped message's buffer came back: the host can fill the ring.
    for _ in 0..NUM {
        host.try_send_to(h, 1234, b"x").unwrap();
        drop(remote.try_recv(r).unwrap());
    }
}

#[test]
fn callbacks_can_reply_and_destroy() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let seen = AtomicUsize::new(0);
    let echo = |dev: &dyn RpmsgOps<'_>, ep: EndpointId, msg: RxBuffer<'_>| {
        let mut b = [0u8; 512];
        let n = msg.read(&mut b).unwrap();
        seen.fetch_add(1, Ordering::Relaxed);
        if &b[..n] == b"bye" {
            dev.destroy_endpoint(ep).unwrap();
        } else {
            dev.try_send_to(ep, msg.src(), &b[..n]).unwrap();
        }
    };
    let r = remote
        .create_endpoint(EndpointConfig::named("cb").unwrap().callback(&echo))
        .unwrap();
    host.poll().unwrap();
    let h = host
        .create_endpoint(EndpointConfig::named("cb").unwrap())
        .unwrap();
    host.send(h, b"one").unwrap();
    host.send(h, b"two").unwrap();
    assert_eq!(remote.poll().unwrap(), 2);
    assert_eq!(recv_bytes(&host, h).1, b"one");
    assert_eq!(recv_bytes(&host, h).1, b"two");
    host.send(h, b"bye").unwrap();
    assert_eq!(remote.poll().unwrap(), 1);
    assert_eq!(remote.addr(r), Err(Error::NoSuchEndpoint { slot: 0 }));
    // The destroy was announced: the host's endpoint is unbound again.
    host.poll().unwrap();
    assert_eq!(host.dest(h).unwrap(), ADDR_ANY);
    assert_eq!(seen.load(Ordering::Relaxed), 3);
}

#[test]
fn zero_copy_both_ways_and_held_buffers() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let h = host
        .create_endpoint(EndpointConfig::anonymous().dest(1024))
        .unwrap();
    let r = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1024))
        .unwrap();
    let mut tx = host.try_alloc_tx().unwrap();
    assert_eq!(tx.capacity(), 496);
    tx.write_at(0, b"zero").unwrap();
    tx.write_at(4, b"-copy").unwrap();
    assert!(matches!(
        tx.write_at(490, &[0; 7]),
        Err(Error::TooLarge { len: 497, max: 496 })
    ));
    tx.send_to(h, 1024, 9).unwrap();
    // Hold the received buffer while more arrive.
    let held = remote.recv_timeout(r, Duration::from_secs(1)).unwrap();
    host.try_send(h, b"next").unwrap();
    let next = remote.recv_timeout(r, Duration::from_secs(1)).unwrap();
    let mut b = [0u8; 9];
    held.read(&mut b).unwrap();
    assert_eq!(&b, b"zero-copy");
    let mut b = [0u8; 3];
    assert_eq!(held.read_at(6, &mut b).unwrap(), 3);
    assert_eq!(&b, b"opy");
    assert_eq!(next.len(), 4);
    drop((held, next));
    // An unsent buffer goes back on drop: the whole ring is still usable.
    for _ in 0..3 {
        drop(host.try_alloc_tx().unwrap());
    }
    for _ in 0..NUM {
        host.try_send(h, b"x").unwrap();
    }
    assert_eq!(host.try_alloc_tx().unwrap_err(), Error::WouldBlock);
    // The remote sends zero-copy into a host buffer too.
    let mut rtx = remote.try_alloc_tx().unwrap();
    rtx.write_at(0, b"up").unwrap();
    let h_addr = host.addr(h).unwrap();
    rtx.send_to(r, h_addr, 2).unwrap();
    assert_eq!(recv_bytes(&host, h).1, b"up");
}

#[test]
fn destroying_an_endpoint_gives_its_waiting_buffers_back() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let h = host
        .create_endpoint(EndpointConfig::anonymous().dest(1024))
        .unwrap();
    let r = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1024))
        .unwrap();
    for _ in 0..NUM {
        host.try_send(h, b"pending").unwrap();
    }
    remote.poll().unwrap(); // files them all under the endpoint
    remote.destroy_endpoint(r).unwrap();
    assert_eq!(
        remote.try_recv(r).unwrap_err(),
        Error::NoSuchEndpoint { slot: 0 }
    );
    let r2 = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1024))
        .unwrap();
    assert_ne!(r, r2, "a new endpoint in the same slot has a new handle");
    for _ in 0..NUM {
        host.try_send(h, b"fresh").unwrap();
    }
    for _ in 0..NUM {
        assert_eq!(recv_bytes(&remote, r2).1, b"fresh");
    }
}

#[test]
fn endpoint_cycles_with_name_service() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let unbound = AtomicUsize::new(0);
    let on_unbind = |_: &dyn RpmsgOps<'_>, _: EndpointId| {
        unbound.fetch_add(1, Ordering::Relaxed);
    };
    let cycles = if cfg!(miri) { 10 } else { 1000 };
    for i in 0..cycles {
        let h = host
            .create_endpoint(EndpointConfig::named("cycle").unwrap().unbind(&on_unbind))
            .unwrap();
        let r = remote
            .create_endpoint(EndpointConfig::named("cycle").unwrap())
            .unwrap();
        assert_eq!(
            host.wait_bound(h, Duration::from_secs(1)).unwrap(),
            remote.addr(r).unwrap()
        );
        host.send(h, &[i as u8]).unwrap();
        assert_eq!(recv_bytes(&remote, r).1, vec![i as u8]);
        remote.destroy_endpoint(r).unwrap();
        host.poll().unwrap();
        assert_eq!(host.dest(h).unwrap(), ADDR_ANY);
        host.destroy_endpoint(h).unwrap();
        remote.poll().unwrap();
    }
    assert_eq!(unbound.load(Ordering::Relaxed), cycles);
    // Dynamic addresses keep moving on instead of being reused at once.
    assert!(host.stats().name_service >= cycles as u64);
}

#[test]
fn bind_callback_hears_unclaimed_names() {
    let mut mem = memory();
    let (mut host, remote) = {
        let (h, r) = pair(region(&mut mem));
        (h, r)
    };
    let names = StdMutex::new(Vec::new());
    let on_bind = |_: &dyn RpmsgOps<'_>, name: &Name, addr: u32| {
        names.lock().unwrap().push((name.trimmed().to_vec(), addr));
    };
    host.set_bind_callback(&on_bind);
    let r = remote
        .create_endpoint(EndpointConfig::named("svc").unwrap())
        .unwrap();
    host.poll().unwrap();
    assert_eq!(
        *names.lock().unwrap(),
        vec![(b"svc".to_vec(), remote.addr(r).unwrap())]
    );
}

#[test]
fn addresses_are_checked() {
    let mut mem = memory();
    let (host, _remote) = pair(region(&mut mem));
    let a = host
        .create_endpoint(EndpointConfig::anonymous().addr(5))
        .unwrap();
    assert_eq!(host.addr(a).unwrap(), 5);
    assert_eq!(
        host.create_endpoint(EndpointConfig::anonymous().addr(5)),
        Err(Error::AddressInUse { addr: 5 })
    );
    assert_eq!(
        host.create_endpoint(EndpointConfig::anonymous().addr(53)),
        Err(Error::ReservedAddress { addr: 53 })
    );
    let d = host.create_endpoint(EndpointConfig::anonymous()).unwrap();
    assert!(host.addr(d).unwrap() >= 1024);
    assert_eq!(
        host.try_send(d, b"x"),
        Err(Error::NotBound {
            addr: host.addr(d).unwrap()
        })
    );
    for _ in 2..8 {
        host.create_endpoint(EndpointConfig::anonymous()).unwrap();
    }
    assert_eq!(
        host.create_endpoint(EndpointConfig::anonymous()),
        Err(Error::TooManyEndpoints { max: 8 })
    );
    assert!(EndpointConfig::named(&"n".repeat(33)).is_err());
}

#[test]
fn a_peer_that_resets_fails_every_call() {
    let mut mem = memory();
    let r = region(&mut mem);
    let (host, remote) = pair(r);
    let h = host
        .create_endpoint(EndpointConfig::anonymous().dest(1024))
        .unwrap();
    let _ = remote;
    // The remote restarts and rewrites its device: status back to 0.
    let lb = Loopback::new(r, NUM, 16, 2).unwrap();
    lb.device()
        .set_status(openamp_virtio::DeviceStatus(0))
        .unwrap();
    assert!(matches!(
        host.try_recv(h),
        Err(Error::PeerReset { status: 0 })
    ));
    assert!(matches!(
        host.try_send(h, b"x"),
        Err(Error::PeerReset { .. })
    ));
    assert!(host.is_reset());
}

#[test]
fn hostile_headers_are_dropped_not_trusted() {
    let mut mem = memory();
    let r = region(&mut mem);
    let (host, remote) = pair(r);
    let h = host
        .create_endpoint(EndpointConfig::anonymous().addr(1024))
        .unwrap();
    let rm = remote
        .create_endpoint(EndpointConfig::anonymous().dest(1024))
        .unwrap();
    // The remote claims a payload longer than its buffer.
    let mut tx = remote.try_alloc_tx().unwrap();
    tx.write_at(0, b"evil").unwrap();
    tx.send_to(rm, 1024, 4).unwrap();
    // Find that buffer in the host's pool and corrupt its length field.
    let lb = Loopback::new(r, NUM, 16, 2).unwrap();
    let pool = lb.driver().buffers().unwrap();
    let mut found = false;
    for i in 0..NUM as usize {
        let mut raw = [0u8; 16];
        pool.read_bytes(i * 512, &mut raw).unwrap();
        if Header::from_bytes(&raw).len == 4 {
            pool.write_u16(i * 512 + 12, 600).unwrap();
            found = true;
        }
    }
    assert!(found);
    assert!(host.try_recv(h).unwrap().is_none());
    assert_eq!(host.stats().dropped_malformed, 1);
    remote.try_send(rm, b"fine").unwrap();
    assert_eq!(recv_bytes(&host, h).1, b"fine");
}

#[test]
fn many_messages_wrap_the_ring_indices() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let h = host
        .create_endpoint(EndpointConfig::anonymous().dest(1024))
        .unwrap();
    let r = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1024))
        .unwrap();
    let n: u32 = if cfg!(miri) { 40 } else { 70_000 };
    let mut buf = [0u8; 4];
    for i in 0..n {
        host.try_send(h, &i.to_le_bytes()).unwrap();
        let m = remote.try_recv(r).unwrap().unwrap();
        m.read(&mut buf).unwrap();
        assert_eq!(u32::from_le_bytes(buf), i);
    }
}

#[test]
fn threads_share_one_device() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let h1 = host
        .create_endpoint(EndpointConfig::anonymous().dest(1024))
        .unwrap();
    let h2 = host
        .create_endpoint(EndpointConfig::anonymous().dest(1025))
        .unwrap();
    let r1 = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1024))
        .unwrap();
    let r2 = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1025))
        .unwrap();
    let n = if cfg!(miri) { 5 } else { 2000 };
    std::thread::scope(|s| {
        for (h, r) in [(h1, r1), (h2, r2)] {
            let (host, remote) = (&host, &remote);
            s.spawn(move || {
                for i in 0..n {
                    host.send_timeout(h, &(i as u32).to_le_bytes(), Duration::from_secs(5))
                        .unwrap();
                    let m = remote.recv_timeout(r, Duration::from_secs(5)).unwrap();
                    let mut b = [0u8; 4];
                    m.read(&mut b).unwrap();
                    assert_eq!(u32::from_le_bytes(b), i as u32, "in order per endpoint");
                }
            });
        }
    });
}

/// The name-service DESTROY that OpenAMP's C remote left in the shared
/// memory image decodes as its README says.
#[test]
#[cfg_attr(miri, ignore)]
fn openamp_vector_messages_decode() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/after-echo.shm");
    let image = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let at = |off: usize| -> (Header, NsMessage) {
        let h = Header::from_bytes(image[off..off + 16].try_into().unwrap());
        let ns = NsMessage::from_bytes(image[off + 16..off + 56].try_into().unwrap());
        (h, ns)
    };
    for off in [0x2C200, 0x30200] {
        let (h, ns) = at(off);
        assert_eq!((h.src, h.dst, h.len), (1024, 53, 40));
        assert_eq!(ns.name.trimmed(), b"rpmsg-openamp-demo-channel");
        assert_eq!((ns.addr, ns.flags), (1024, NS_DESTROY));
    }
    // An echo payload: {num: u64, size: u64, data: 0xA5...}.
    let (h, _) = at(0x10000);
    assert_eq!((h.src, h.dst), (1024, 1024));
    let size = u64::from_le_bytes(image[0x10018..0x10020].try_into().unwrap()) as usize;
    assert_eq!(usize::from(h.len), 16 + size);
    assert!(image[0x10020..0x10020 + size].iter().all(|b| *b == 0xA5));
}

#[test]
fn first_message_binds_an_unbound_endpoint() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let r = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1500))
        .unwrap();
    let h = host
        .create_endpoint(EndpointConfig::anonymous().dest(1500))
        .unwrap();
    host.send(h, b"hi").unwrap();
    assert_eq!(remote.dest(r).unwrap(), ADDR_ANY);
    drop(remote.recv_timeout(r, Duration::from_secs(1)).unwrap());
    assert_eq!(
        remote.dest(r).unwrap(),
        host.addr(h).unwrap(),
        "as OpenAMP does"
    );
}

#[test]
fn an_announcement_of_our_own_binding_is_not_a_new_name() {
    let mut mem = memory();
    let (mut host, remote) = pair(region(&mut mem));
    let binds = AtomicUsize::new(0);
    let on_bind = |_: &dyn RpmsgOps<'_>, _: &Name, _: u32| {
        binds.fetch_add(1, Ordering::Relaxed);
    };
    host.set_bind_callback(&on_bind);
    let r = remote
        .create_endpoint(EndpointConfig::named("svc").unwrap())
        .unwrap();
    host.poll().unwrap();
    assert_eq!(binds.load(Ordering::Relaxed), 1);
    // The host answers with an endpoint of that name; both announce, and
    // neither side treats the other's announcement as a new channel.
    let h = host
        .create_endpoint(EndpointConfig::named("svc").unwrap())
        .unwrap();
    remote.poll().unwrap();
    host.poll().unwrap();
    assert_eq!(binds.load(Ordering::Relaxed), 1);
    assert_eq!(remote.dest(r).unwrap(), host.addr(h).unwrap());
    assert_eq!(host.dest(h).unwrap(), remote.addr(r).unwrap());
}

#[cfg(feature = "async")]
#[test]
fn async_recv_wakes_when_a_message_is_filed() {
    use std::future::Future as _;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Flag(std::sync::atomic::AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let h = host
        .create_endpoint(EndpointConfig::anonymous().dest(1024))
        .unwrap();
    let r = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1024))
        .unwrap();
    let flag = Arc::new(Flag(std::sync::atomic::AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(remote.recv(r));
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert!(!flag.0.load(Ordering::SeqCst));
    host.send(h, b"async").unwrap();
    // Whoever handles kicks polls the device; that wakes the task.
    remote.poll().unwrap();
    assert!(flag.0.load(Ordering::SeqCst));
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(m)) => assert_eq!(m.len(), 5),
        other => panic!("expected the message, got {other:?}"),
    };
}

/// While a receiver polls, the sender is asked not to kick, and does not.
#[test]
fn a_spinning_receiver_is_not_kicked() {
    let mut mem = memory();
    let r = region(&mut mem);
    let lb = Loopback::new(r, NUM, 16, 2).unwrap();
    lb.format(7, wire::VIRTIO_RPMSG_F_NS).unwrap();
    let host = Dev::new_host(lb.driver(), busy(), Config::default()).unwrap();
    let mut remote = Dev::new_remote(
        lb.device(),
        busy(),
        Config::default(),
        Duration::from_secs(1),
    )
    .unwrap();
    remote.set_spin(Duration::from_secs(5));
    let h = host
        .create_endpoint(EndpointConfig::anonymous().dest(1024))
        .unwrap();
    let r_ep = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1024))
        .unwrap();
    let device_end = lb.device();
    device_end.take_kicks(1).unwrap();
    // vring1's used flags: the remote sets NO_NOTIFY there while it polls.
    let v1 = device_end.vring(1).unwrap();
    let used_flags = openamp_virtio::VringLayout::new(NUM, 16)
        .unwrap()
        .used_offset();
    std::thread::scope(|s| {
        let t = s.spawn(|| recv_bytes(&remote, r_ep).1);
        let start = std::time::Instant::now();
        while v1.ring.load_u16(used_flags, Ordering::Acquire).unwrap() & 1 == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "the remote never started polling"
            );
            std::thread::yield_now();
        }
        host.send(h, b"quiet").unwrap();
        assert_eq!(t.join().unwrap(), b"quiet");
    });
    assert_eq!(
        device_end.take_kicks(1).unwrap(),
        0,
        "no kick while the remote polled"
    );
    // Still busy: kicks stay off until the remote is about to sleep.
    assert_eq!(
        v1.ring.load_u16(used_flags, Ordering::Acquire).unwrap() & 1,
        1
    );
    remote.set_spin(Duration::ZERO);
    assert_eq!(
        remote
            .recv_timeout(r_ep, Duration::from_millis(5))
            .unwrap_err(),
        Error::Timeout
    );
    assert_eq!(
        v1.ring.load_u16(used_flags, Ordering::Acquire).unwrap() & 1,
        0,
        "kicks wanted before sleeping"
    );
    // With polling off, every message is kicked.
    host.send(h, b"loud").unwrap();
    assert_eq!(device_end.take_kicks(1).unwrap(), 1);
}

/// The name-service CREATE that OpenAMP's C echo remote sent, as it lies in
/// `vectors/c-remote-ns.shm` (with leftover bytes after the name's NUL).
fn c_remote_announcement() -> [u8; wire::NS_MSG_LEN] {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/c-remote-ns.shm");
    let image = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = Header::from_bytes(image[0x10000..0x10010].try_into().unwrap());
    assert_eq!((header.src, header.dst, header.len), (0x400, 53, 40));
    let body: [u8; wire::NS_MSG_LEN] = image[0x10010..0x10038].try_into().unwrap();
    assert_ne!(body[27..30], [0, 0, 0], "the image's junk after the NUL");
    body
}

/// Sends `body` from the remote as address 0x400 to the name service, the
/// way OpenAMP's C remote did.
fn announce_raw(remote: &Dev<'_, '_>, body: &[u8]) {
    let ep = remote
        .create_endpoint(EndpointConfig::anonymous().addr(0x400))
        .unwrap();
    let mut tx = remote.try_alloc_tx().unwrap();
    tx.write_at(0, body).unwrap();
    tx.send_to(ep, wire::NS_ADDR, body.len()).unwrap();
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_host_binds_to_openamp_c_remote_announcement() {
    let body = c_remote_announcement();
    let ns = NsMessage::from_bytes(&body);
    assert_eq!(ns.name, Name::new("rpmsg-openamp-demo-channel").unwrap());
    // The endpoint exists before the announcement arrives.
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let h = host
        .create_endpoint(EndpointConfig::named("rpmsg-openamp-demo-channel").unwrap())
        .unwrap();
    announce_raw(&remote, &body);
    host.poll().unwrap();
    assert_eq!(host.dest(h).unwrap(), 0x400);
    // The endpoint is created after the announcement arrived.
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    announce_raw(&remote, &body);
    host.poll().unwrap();
    let h = host
        .create_endpoint(EndpointConfig::named("rpmsg-openamp-demo-channel").unwrap())
        .unwrap();
    assert_eq!(host.dest(h).unwrap(), 0x400);
    // A different name with the same prefix does not bind.
    let other = host
        .create_endpoint(EndpointConfig::named("rpmsg-openamp-demo-channe").unwrap())
        .unwrap();
    assert_eq!(host.dest(other).unwrap(), ADDR_ANY);
}

/// The used element at `slot` of queue `q`, and the `len` of descriptor `d`,
/// read from ring memory the way a C peer would see them.
fn raw_ring(r: IoRegion<'_>, q: u16, slot: u16, d: u16) -> ((u32, u32), u32) {
    let lb = Loopback::new(r, NUM, 16, 2).unwrap();
    let ring = lb.device().vring(q).unwrap().ring;
    let l = openamp_virtio::VringLayout::new(NUM, 16).unwrap();
    let used = l.used_ring_offset(slot);
    let elem = (
        ring.read_u32(used).unwrap(),
        ring.read_u32(used + 4).unwrap(),
    );
    (elem, ring.read_u32(l.desc_offset(d) + 8).unwrap())
}

/// OpenAMP C's host takes a returned transmit buffer's used `len` as its
/// size, and its remote takes a buffer's size from the descriptor: both
/// must hold the whole buffer.
#[test]
fn buffers_go_back_with_their_whole_length() {
    let mut mem = memory();
    let r = region(&mut mem);
    let (host, remote) = pair(r);
    let h = host
        .create_endpoint(EndpointConfig::anonymous().dest(1024))
        .unwrap();
    let rm = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1024))
        .unwrap();
    host.send(h, b"ping").unwrap();
    let (_, got) = recv_bytes(&remote, rm);
    assert_eq!(got, b"ping");
    // vring1: the host's transmit descriptor and the remote's used element.
    let ((id, len), desc_len) = raw_ring(r, 1, 0, 0);
    assert_eq!(desc_len, 512, "transmit descriptors hold the whole buffer");
    assert_eq!((id, len), (0, 512), "a consumed buffer is returned whole");
    remote
        .try_send_to(rm, host.addr(h).unwrap(), b"pong")
        .unwrap();
    assert_eq!(recv_bytes(&host, h).1, b"pong");
    // vring0: the remote sent in the host's first receive buffer.
    let ((id, len), desc_len) = raw_ring(r, 0, 0, 0);
    assert_eq!((id, len, desc_len), (0, 512, 512));
}

/// How many transmit buffers can be taken before the device runs out.
fn count_free_tx(dev: &Dev<'_, '_>) -> usize {
    let mut held = Vec::new();
    while let Ok(tx) = dev.try_alloc_tx() {
        held.push(tx);
        assert!(held.len() <= NUM as usize, "more buffers than ring entries");
    }
    held.len()
}

/// A send that fails (a stale endpoint, a reset peer) gives its buffer back
/// once, not once in the send and again in the drop.
#[test]
fn a_failed_send_gives_its_buffer_back_once() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    for dev in [&host, &remote] {
        let stale = dev.create_endpoint(EndpointConfig::anonymous()).unwrap();
        dev.destroy_endpoint(stale).unwrap();
        let kept = dev.try_alloc_tx().unwrap();
        let tx = dev.try_alloc_tx().unwrap();
        assert!(matches!(
            tx.send_to(stale, 1024, 1),
            Err(Error::NoSuchEndpoint { .. })
        ));
        assert_eq!(count_free_tx(dev), NUM as usize - 1, "{:?}", dev.role());
        drop(kept);
        assert_eq!(count_free_tx(dev), NUM as usize, "{:?}", dev.role());
    }
}

/// The ring memory of queue `q`: its used index, as the peer sees it.
fn used_idx(r: IoRegion<'_>, q: u16) -> u16 {
    let lb = Loopback::new(r, NUM, 16, 2).unwrap();
    let ring = lb.device().vring(q).unwrap().ring;
    let l = openamp_virtio::VringLayout::new(NUM, 16).unwrap();
    ring.read_u16(l.used_idx_offset()).unwrap()
}

/// After the peer reset, buffers of the old session are not written into
/// the rings it set up since: not by a dropped message, not by destroying
/// the endpoint that held messages.
#[test]
fn nothing_of_an_old_session_is_written_after_a_reset() {
    for detected_first in [true, false] {
        let mut mem = memory();
        let r = region(&mut mem);
        let (host, remote) = pair(r);
        let h = host
            .create_endpoint(EndpointConfig::anonymous().dest(1024))
            .unwrap();
        let rm = remote
            .create_endpoint(EndpointConfig::anonymous().addr(1024))
            .unwrap();
        host.send(h, b"one").unwrap();
        host.send(h, b"two").unwrap();
        let held = remote.recv_timeout(rm, Duration::from_secs(1)).unwrap();
        remote.poll().unwrap(); // "two" waits, filed, for its endpoint
                                // The host goes away: its status drops to 0.
        let lb = Loopback::new(r, NUM, 16, 2).unwrap();
        lb.driver()
            .set_status(openamp_virtio::DeviceStatus(0))
            .unwrap();
        if detected_first {
            assert!(matches!(remote.poll(), Err(Error::PeerReset { .. })));
        }
        // ...and sets the rings up anew (a fresh host zeroes them).
        let fresh = lb.region();
        fresh.fill(0, fresh.size().min(0x2000), 0).unwrap();
        drop(held);
        assert_eq!(used_idx(r, 1), 0, "a dropped buffer went into the new ring");
        let _ = remote.destroy_endpoint(rm);
        assert_eq!(used_idx(r, 1), 0, "destroy wrote the old buffers back");
        assert!(remote.is_reset());
    }
}

/// An endpoint handle stays stale however often its slot is reused.
#[test]
#[cfg_attr(miri, ignore)]
fn a_stale_endpoint_never_matches_a_new_one() {
    let mut mem = memory();
    let (host, _remote) = pair(region(&mut mem));
    let stale = host.create_endpoint(EndpointConfig::anonymous()).unwrap();
    host.destroy_endpoint(stale).unwrap();
    // More cycles than a u16 generation has values.
    for _ in 0..=u16::MAX as u32 + 1 {
        let ep = host.create_endpoint(EndpointConfig::anonymous()).unwrap();
        assert!(host.addr(stale).is_err());
        host.destroy_endpoint(ep).unwrap();
    }
}

#[test]
fn reading_past_the_end_of_a_message_is_empty_not_a_panic() {
    let mut mem = memory();
    let (host, remote) = pair(region(&mut mem));
    let h = host
        .create_endpoint(EndpointConfig::anonymous().dest(1024))
        .unwrap();
    let rm = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1024))
        .unwrap();
    host.send(h, b"abc").unwrap();
    let m = remote.recv_timeout(rm, Duration::from_secs(1)).unwrap();
    let mut b = [0u8; 8];
    assert_eq!(m.read_at(usize::MAX, &mut b).unwrap(), 0);
    assert_eq!(m.read_at(3, &mut b).unwrap(), 0);
    assert_eq!(m.read_at(1, &mut b).unwrap(), 2);
}

/// A malformed chain between good messages is dropped and counted; what
/// came before it (a name announcement for the bind callback) still
/// reaches its callback, and the queue goes on working.
#[test]
fn a_malformed_chain_does_not_lose_what_came_before_it() {
    let mut mem = memory();
    let r = region(&mut mem);
    let (host, mut remote) = pair(r);
    let binds = AtomicUsize::new(0);
    let on_bind = |_: &dyn RpmsgOps<'_>, _: &Name, _: u32| {
        binds.fetch_add(1, Ordering::Relaxed);
    };
    remote.set_bind_callback(&on_bind);
    host.create_endpoint(EndpointConfig::named("svc").unwrap())
        .unwrap();
    // After the announcement, the host's ring offers a chain whose head is
    // out of range.
    let lb = Loopback::new(r, NUM, 16, 2).unwrap();
    let ring = lb.driver().vring(1).unwrap().ring;
    let l = openamp_virtio::VringLayout::new(NUM, 16).unwrap();
    let idx = ring.read_u16(l.avail_idx_offset()).unwrap();
    ring.write_u16(l.avail_ring_offset(idx % NUM as u16), 0xFFFF)
        .unwrap();
    ring.write_u16(l.avail_idx_offset(), idx.wrapping_add(1))
        .unwrap();
    remote.poll().unwrap();
    assert_eq!(binds.load(Ordering::Relaxed), 1, "the bind was lost");
    assert_eq!(remote.stats().dropped_malformed, 1);
}
