//! A host `Remoteproc` on the Linux-process platform starts an echo remote
//! (this test binary run again in remote mode), sets up the vdev through
//! the resource table, echoes through virtio, stops the remote, starts it
//! again and echoes again.
//!
//! The remote here answers virtio buffers directly with `DeviceQueue`; an
//! RPMsg echo remote plugs in the same way (see the crate README).
#![cfg(feature = "linux")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use openamp_metal::{NoCache, WaitNotify};
use openamp_metal_sys_linux::{LinuxDelay, MonotonicClock, PrivateDir, SharedMemory};
use openamp_remoteproc::linux::{LinuxProcessLayout, LinuxProcessPlatform};
use openamp_remoteproc::{remote, Remoteproc, Role, State};
use openamp_virtio::transport::{driver_ready, driver_start};
use openamp_virtio::{DeviceQueue, DriverQueue, Segment, Transport};

const REMOTE_ENV: &str = "OPENAMP_RPROC_TEST_ECHO_REMOTE";
const TIMEOUT: Duration = Duration::from_secs(20);
const MESSAGES: usize = 300;

/// The echo remote: runs only when this binary is started in remote mode.
/// It writes its table, waits for DRIVER_OK, then echoes every buffer of
/// vring 1 into a buffer of vring 0 until it is signalled (SIGTERM's default
/// action ends it) or the host goes away.
///
/// Not a test of its own: ignored, so that a run lists it as such rather
/// than as a pass; the host test runs it in its child with `--ignored`.
#[test]
#[ignore = "the remote's side of the life cycle test, run in its child process"]
fn echo_remote_main() {
    if std::env::var_os(REMOTE_ENV).is_none() {
        // Run by hand (`--ignored`) without the host: nothing to serve.
        return;
    }
    let layout = LinuxProcessLayout::from_env();
    let side = layout.open_remote(TIMEOUT).unwrap();
    let t = side.transport().unwrap();
    let features = remote::wait_driver_ok(&t, &MonotonicClock, &mut LinuxDelay, TIMEOUT).unwrap();
    let bufs = t.buffers().unwrap();
    let v0 = t.vring(0).unwrap();
    let v1 = t.vring(1).unwrap();
    let mut to_host =
        DeviceQueue::<'_, 256>::new(v0.ring, bufs, v0.config(features), NoCache).unwrap();
    let mut from_host =
        DeviceQueue::<'_, 256>::new(v1.ring, bufs, v1.config(features), NoCache).unwrap();
    let mut msg = vec![0u8; layout.buffer_size];
    loop {
        match side.kick.wait(Duration::from_millis(100)) {
            Ok(_) => {}
            Err(openamp_metal::Error::PeerClosed) => return,
            Err(e) => panic!("{e}"),
        }
        while let Some(chain) = from_host.pop_avail().unwrap() {
            let n = from_host.read(&chain, 0, &mut msg).unwrap();
            from_host.push_used(&chain, 0).unwrap();
            let reply = loop {
                if let Some(r) = to_host.pop_avail().unwrap() {
                    break r;
                }
                std::thread::sleep(Duration::from_millis(1));
            };
            let echoed: Vec<u8> = msg[..n].iter().map(|b| b ^ 0xff).collect();
            to_host.write(&reply, 0, &echoed).unwrap();
            to_host.push_used(&reply, n as u32).unwrap();
            t.notify(0).unwrap();
        }
    }
}

fn wait_kick(n: &impl WaitNotify) {
    let start = Instant::now();
    while n.wait(Duration::from_millis(100)).unwrap().is_none() {
        assert!(start.elapsed() < TIMEOUT, "no kick from the remote");
    }
}

/// One session: set up the vdev from the table and echo `MESSAGES` messages.
fn echo_session(rproc: &Remoteproc<'_, LinuxProcessPlatform<'_>>, round: u8) {
    let pool = rproc.ops().pool_region().unwrap();
    let t = rproc.create_virtio(0, Role::Driver, pool).unwrap();
    assert_eq!(t.vring_da(0).unwrap(), 0x4000);
    let features = driver_start(&t, !0).unwrap();
    assert_eq!(features, 1);
    let bufs = t.buffers().unwrap();
    let v0 = t.vring(0).unwrap();
    let v1 = t.vring(1).unwrap();
    let mut rx = DriverQueue::<'_, 256>::new(v0.ring, bufs, v0.config(features), NoCache).unwrap();
    let mut tx = DriverQueue::<'_, 256>::new(v1.ring, bufs, v1.config(features), NoCache).unwrap();
    // Receive buffers 0x10000..0x30000 of the file, send buffers after.
    for i in 0..256 {
        rx.add_inbuf(Segment::new(i * 512, 512)).unwrap();
    }
    driver_ready(&t).unwrap();
    let kick = rproc.ops().kick().unwrap();
    for m in 0..MESSAGES {
        let len = 1 + m % 496;
        let payload: Vec<u8> = (0..len).map(|i| (i + m) as u8 ^ round).collect();
        let out = Segment::new(0x20000 + (m % 256) * 512, len as u32);
        bufs.write_bytes(out.offset, &payload).unwrap();
        tx.add_outbuf(out).unwrap();
        t.notify(1).unwrap();
        let used = loop {
            if let Some(u) = rx.pop_used().unwrap() {
                break u;
            }
            wait_kick(kick);
        };
        let mut got = vec![0u8; used.written as usize];
        bufs.read_bytes(used.head.offset, &mut got).unwrap();
        let want: Vec<u8> = payload.iter().map(|b| b ^ 0xff).collect();
        assert_eq!(got, want, "message {m} of round {round}");
        rx.add_inbuf(used.head).unwrap();
        assert!(tx.pop_used().unwrap().is_some());
    }
}

#[test]
fn host_starts_echoes_stops_and_restarts_a_linux_process_remote() {
    // A fresh private directory: no other user can reach these paths.
    let dir = PrivateDir::new("openamp-rs-rproc-life-").unwrap();
    let layout = LinuxProcessLayout::in_dir(dir.path());
    let shm = SharedMemory::open_or_create(&layout.shm_path, layout.shm_size).unwrap();
    let exe = std::env::current_exe().unwrap();
    let platform = LinuxProcessPlatform::new(
        layout.clone(),
        shm.region(),
        exe,
        [
            "--exact",
            "echo_remote_main",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ],
    )
    .env(REMOTE_ENV, "1");
    let mut rproc = Remoteproc::new(platform).unwrap();
    assert_eq!(
        rproc.start().unwrap_err().to_string(),
        "cannot go from offline to running"
    );
    rproc.config().unwrap();
    rproc.prepare().unwrap();
    assert_eq!(rproc.state(), State::Ready);

    let mut pids = Vec::new();
    for round in 0..2u8 {
        rproc.start().unwrap();
        assert_eq!(rproc.state(), State::Running);
        let child = rproc.ops().pid().unwrap();
        pids.push(child);
        // The remote wrote its table before listening: take it now.
        let table = rproc.ops().table_region().unwrap();
        rproc.attach_table(table).unwrap();
        assert_eq!(rproc.resources().vdevs.len(), 1);
        let target = rproc.dispatch(2).unwrap();
        assert_eq!(target.queue, Some(1));
        echo_session(&rproc, round);
        rproc.stop().unwrap();
        assert_eq!(rproc.state(), State::Stopped);
        assert!(rproc.ops().pid().is_none());
        assert!(
            !PathBuf::from(format!("/proc/{child}")).exists(),
            "remote {child} reaped"
        );
    }
    assert_ne!(pids[0], pids[1]);
    rproc.shutdown().unwrap();
    assert_eq!(rproc.state(), State::Offline);
    rproc.remove().unwrap();
}
