//! The Linux-process layout: the remote's table against OpenAMP's own image,
//! and host and remote transports against each other over a real file in
//! `/dev/shm` and a real Unix socket.
#![cfg(feature = "linux")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use openamp_metal::{NoCache, WaitNotify};
use openamp_metal_sys_linux::{PrivateDir, SharedMemory};
use openamp_remoteproc::linux::LinuxProcessLayout;
use openamp_remoteproc::{Error, Role};
use openamp_virtio::transport::{device_poll_ready, driver_ready, driver_start};
use openamp_virtio::{DeviceQueue, DriverQueue, Segment, Transport, STATUS_DRIVER_OK};

const TIMEOUT: Duration = Duration::from_secs(20);

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../vectors")
            .join(name),
    )
    .unwrap()
}

/// The layout at paths in a fresh private directory, removed on drop.
struct Paths(LinuxProcessLayout, #[allow(dead_code)] PrivateDir);
impl Paths {
    fn new(tag: &str) -> Self {
        let dir = PrivateDir::new(&format!("openamp-rs-rproc-{tag}-")).unwrap();
        Paths(LinuxProcessLayout::in_dir(dir.path()), dir)
    }
}

/// Writes a shared file as a side of ours leaves it: mode 0600.
fn write_private(path: &std::path::Path, bytes: &[u8]) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

#[test]
fn remote_writes_openamps_table_byte_for_byte() {
    let p = Paths::new("table");
    // A stale file from an earlier run must not show through.
    write_private(&p.0.shm_path, &vec![0x5a; 0x80000]);
    let shm = SharedMemory::open_or_create(&p.0.shm_path, p.0.shm_size).unwrap();
    let t = p.0.remote_transport(
        shm.region(),
        openamp_metal_sys_linux::EventFd::new().unwrap(),
    );
    let t = t.unwrap();
    assert_eq!(t.role(), Role::Device);
    drop(t);
    drop(shm);
    let written = std::fs::read(&p.0.shm_path).unwrap();
    let expected = vector("remote-initialized.shm");
    assert_eq!(written.len(), expected.len());
    if let Some(i) = written.iter().zip(&expected).position(|(a, b)| a != b) {
        panic!(
            "first difference at {i:#x}: {:#x} != {:#x}",
            written[i], expected[i]
        );
    }
}

#[test]
fn host_reads_openamps_after_echo_image() {
    let p = Paths::new("after-echo");
    write_private(&p.0.shm_path, &vector("after-echo.shm"));
    let shm = SharedMemory::open(&p.0.shm_path).unwrap();
    let (a, _b) = openamp_metal_sys_linux::SocketNotifier::pair().unwrap();
    let t = p.0.host_transport(shm.region(), &a).unwrap();
    assert_eq!(t.role(), Role::Driver);
    assert_eq!(t.device_id(), 7);
    assert_eq!(t.num_queues(), 2);
    assert!(t.status().unwrap().driver_ok());
    assert_eq!(t.status().unwrap().0, STATUS_DRIVER_OK);
    assert_eq!(t.device_features().unwrap(), 1);
    assert_eq!(t.driver_features().unwrap(), 1);
    assert_eq!(t.vring_da(0).unwrap(), 0x4000);
    assert_eq!(t.vring(1).unwrap().notify_id, 2);
    assert_eq!(t.vring(1).unwrap().ring.offset_to_phys(0).unwrap(), 0x8000);
    assert_eq!(t.buffers().unwrap().offset_to_phys(0).unwrap(), 0x10000);
    assert_eq!(t.buffers().unwrap().size(), 0x40000);
    assert_eq!(t.queue_for_notify_id(2), Some(1));
    assert_eq!(t.queue_for_notify_id(0), None);
    // The host may not set the device's features.
    assert!(t.set_device_features(0).is_err());
}

#[test]
fn a_host_without_a_table_is_refused() {
    let p = Paths::new("no-table");
    let shm = SharedMemory::open_or_create(&p.0.shm_path, p.0.shm_size).unwrap();
    let (a, _b) = openamp_metal_sys_linux::SocketNotifier::pair().unwrap();
    let err = p.0.host_transport(shm.region(), &a).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Table(openamp_rsc_table::Error::BadVersion { version: 0 })
        ),
        "{err}"
    );
}

/// Waits for a kick on `n`, failing the test after the deadline.
fn wait_kick(n: &impl WaitNotify, what: &str) {
    let start = Instant::now();
    while n.wait(Duration::from_millis(100)).unwrap().is_none() {
        assert!(start.elapsed() < TIMEOUT, "no kick: {what}");
    }
}

#[test]
fn host_and_remote_transports_meet_over_dev_shm() {
    let p = Paths::new("meet");
    let layout = p.0.clone();
    let remote = std::thread::spawn(move || {
        let side = layout.open_remote(TIMEOUT).unwrap();
        let t = side.transport().unwrap();
        assert_eq!(t.role(), Role::Device);
        let start = Instant::now();
        let features = loop {
            if let Some(f) = device_poll_ready(&t).unwrap() {
                break f;
            }
            assert!(start.elapsed() < TIMEOUT, "no DRIVER_OK");
            std::thread::sleep(Duration::from_millis(1));
        };
        assert_eq!(features, 1, "NS negotiated");
        let bufs = t.buffers().unwrap();
        let v0 = t.vring(0).unwrap();
        let v1 = t.vring(1).unwrap();
        let mut to_host =
            DeviceQueue::<'_, 256>::new(v0.ring, bufs, v0.config(features), NoCache).unwrap();
        let mut from_host =
            DeviceQueue::<'_, 256>::new(v1.ring, bufs, v1.config(features), NoCache).unwrap();
        for round in 0..3u8 {
            wait_kick(&side.kick, "host sent");
            let chain = from_host.pop_avail().unwrap().expect("a message");
            let mut msg = vec![0u8; chain.readable as usize];
            from_host.read(&chain, 0, &mut msg).unwrap();
            assert_eq!(msg, vec![round; 32]);
            from_host.push_used(&chain, 0).unwrap();
            let reply = to_host.pop_avail().unwrap().expect("a receive buffer");
            let echoed: Vec<u8> = msg.iter().map(|b| b + 100).collect();
            to_host.write(&reply, 0, &echoed).unwrap();
            to_host.push_used(&reply, echoed.len() as u32).unwrap();
            t.notify(0).unwrap();
        }
    });

    let host = p.0.open_host(TIMEOUT).unwrap();
    let t = host.transport().unwrap();
    let features = driver_start(&t, !0).unwrap();
    assert_eq!(features, 1);
    let bufs = t.buffers().unwrap();
    let v0 = t.vring(0).unwrap();
    let v1 = t.vring(1).unwrap();
    let mut rx = DriverQueue::<'_, 256>::new(v0.ring, bufs, v0.config(features), NoCache).unwrap();
    let mut tx = DriverQueue::<'_, 256>::new(v1.ring, bufs, v1.config(features), NoCache).unwrap();
    // Receive buffers: the first half of the pool, 512 bytes each.
    for i in 0..4 {
        rx.add_inbuf(Segment::new(i * 512, 512)).unwrap();
    }
    driver_ready(&t).unwrap();
    for round in 0..3u8 {
        let out = Segment::new(0x20000 + usize::from(round) * 512, 32);
        bufs.write_bytes(out.offset, &[round; 32]).unwrap();
        tx.add_outbuf(out).unwrap();
        t.notify(1).unwrap();
        wait_kick(&host.kick, "remote echoed");
        let used = rx.pop_used().unwrap().expect("an echo");
        let mut got = vec![0u8; used.written as usize];
        bufs.read_bytes(used.head.offset, &mut got).unwrap();
        assert_eq!(got, vec![round + 100; 32]);
        rx.add_inbuf(used.head).unwrap();
        assert!(tx.pop_used().unwrap().is_some(), "send buffer returned");
    }
    remote.join().unwrap();
    // Both ends saw the same status byte.
    assert!(t.status().unwrap().driver_ok());
}
