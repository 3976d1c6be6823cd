//! Driver and device in two processes over a file in `/dev/shm`.
//!
//! The test re-runs its own binary for the device, selected by an
//! environment variable. Both sides busy-poll with a deadline, so a bug
//! gives a failure, not a hang.

use std::fs::OpenOptions;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use memmap2::MmapMut;
use openamp_metal::{IoAttr, IoRegion, NoCache, PhysMap};
use openamp_virtio::transport::{device_poll_ready, driver_ready, driver_start};
use openamp_virtio::{DeviceQueue, DriverQueue, Loopback, Segment, Transport};

const SIZE: usize = 0x20000;
const NUM: u32 = 64;
const ALIGN: u32 = 0x1000;
const MESSAGES: u32 = 5000;
const BUF: u32 = 64;
const CHILD_ENV: &str = "OPENAMP_VIRTIO_TEST_DEVICE_SHM";
const TEST_NAME: &str = "two_processes_over_dev_shm";
const DEADLINE: Duration = Duration::from_secs(60);

fn map(path: &Path) -> MmapMut {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .unwrap();
    f.set_len(SIZE as u64).unwrap();
    // SAFETY: the file is ours (a unique name); the other process touches it
    // only through the same kind of volatile and atomic accesses.
    unsafe { MmapMut::map_mut(&f) }.unwrap()
}

/// The shared file as a region whose physical addresses are file offsets,
/// the same in both processes.
fn region(m: &mut MmapMut) -> IoRegion<'_> {
    // SAFETY: the mapping is readable, writable and alive for the borrow of
    // `m`, and is used only through this region from here on.
    unsafe {
        IoRegion::new(
            m.as_mut_ptr(),
            SIZE,
            PhysMap::Contiguous(0),
            IoAttr::UNCACHED,
        )
    }
    .unwrap()
}

fn check_deadline(start: Instant, what: &str) {
    assert!(start.elapsed() < DEADLINE, "{what}: deadline passed");
}

/// The device: receives on queue 1, echoes each message, incremented, in a
/// buffer taken from queue 0 (as an RPMsg remote does).
fn device(path: &Path) {
    let mut m = map(path);
    let lb = Loopback::new(region(&mut m), NUM, ALIGN, 2).unwrap();
    let t = lb.device();
    let start = Instant::now();
    let features = loop {
        if let Some(f) = device_poll_ready(&t).unwrap() {
            break f;
        }
        check_deadline(start, "device waiting for DRIVER_OK");
        std::thread::sleep(Duration::from_millis(1));
    };
    let bufs = t.buffers().unwrap();
    let v0 = t.vring(0).unwrap();
    let v1 = t.vring(1).unwrap();
    let mut tx = DeviceQueue::<'_, 64>::new(v0.ring, bufs, v0.config(features), NoCache).unwrap();
    let mut rx = DeviceQueue::<'_, 64>::new(v1.ring, bufs, v1.config(features), NoCache).unwrap();
    let mut done = 0;
    while done < MESSAGES {
        check_deadline(start, "device");
        let _ = t.take_kicks(1).unwrap();
        let Some(msg) = rx.pop_avail().unwrap() else {
            if rx.enable_notifications().unwrap() {
                continue;
            }
            std::hint::spin_loop();
            continue;
        };
        let mut b = [0u8; 8];
        assert_eq!(rx.read(&msg, 0, &mut b).unwrap(), 8);
        let v = u64::from_le_bytes(b);
        let out = loop {
            check_deadline(start, "device waiting for a buffer");
            if let Some(c) = tx.pop_avail().unwrap() {
                break c;
            }
            std::hint::spin_loop();
        };
        tx.write(&out, 0, &(v + 1).to_le_bytes()).unwrap();
        tx.push_used(&out, 8).unwrap();
        rx.push_used(&msg, 0).unwrap();
        if tx.should_notify().unwrap() {
            t.notify(0).unwrap();
        }
        if rx.should_notify().unwrap() {
            t.notify(1).unwrap();
        }
        done += 1;
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn two_processes_over_dev_shm() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        device(Path::new(&path));
        return;
    }
    let path = Path::new("/dev/shm").join(format!("openamp-virtio-test-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let _cleanup = RemoveOnDrop(path.clone());
    let mut m = map(&path);
    let lb = Loopback::new(region(&mut m), NUM, ALIGN, 2).unwrap();
    lb.format(7, openamp_virtio::VIRTIO_RING_F_EVENT_IDX)
        .unwrap();
    let t = lb.driver();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .spawn()
        .unwrap();

    let features = driver_start(&t, u32::MAX).unwrap();
    assert_eq!(features, openamp_virtio::VIRTIO_RING_F_EVENT_IDX);
    let bufs = t.buffers().unwrap();
    let v0 = t.vring(0).unwrap();
    let v1 = t.vring(1).unwrap();
    let mut rx = DriverQueue::<'_, 64>::new(v0.ring, bufs, v0.config(features), NoCache).unwrap();
    let mut tx = DriverQueue::<'_, 64>::new(v1.ring, bufs, v1.config(features), NoCache).unwrap();
    // Receive buffers in the first half of the pool, send buffers in the second.
    for i in 0..NUM {
        rx.add_inbuf(Segment::new((i * BUF) as usize, BUF)).unwrap();
    }
    let send_base = (NUM * BUF) as usize;
    driver_ready(&t).unwrap();

    let start = Instant::now();
    let (mut sent, mut got, mut kicks) = (0u32, 0u32, 0u32);
    let mut free: Vec<usize> = (0..NUM as usize)
        .map(|i| send_base + i * BUF as usize)
        .collect();
    let mut expected = std::collections::BTreeSet::new();
    while got < MESSAGES {
        if start.elapsed() >= DEADLINE {
            let _ = child.kill();
            panic!("driver: deadline passed ({sent} sent, {got} echoed)");
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "device process failed: {status}");
        }
        while let Some(u) = tx.pop_used().unwrap() {
            free.push(u.head.offset);
        }
        if sent < MESSAGES {
            if let Some(off) = free.pop() {
                bufs.write_bytes(off, &u64::from(sent).to_le_bytes())
                    .unwrap();
                tx.add_outbuf(Segment::new(off, 8)).unwrap();
                expected.insert(u64::from(sent) + 1);
                sent += 1;
                if tx.should_notify().unwrap() {
                    t.notify(1).unwrap();
                    kicks += 1;
                }
            }
        }
        while let Some(u) = rx.pop_used().unwrap() {
            assert_eq!(u.written, 8);
            let mut b = [0u8; 8];
            bufs.read_bytes(u.head.offset, &mut b).unwrap();
            assert!(expected.remove(&u64::from_le_bytes(b)), "unexpected echo");
            got += 1;
            rx.add_inbuf(u.head).unwrap();
            if rx.should_notify().unwrap() {
                t.notify(0).unwrap();
            }
        }
    }
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() >= DEADLINE {
            let _ = child.kill();
            panic!("device process did not exit");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    assert!(status.success());
    assert!(expected.is_empty());
    // EVENT_IDX keeps kicks well below one per message when the device is busy.
    assert!((1..=MESSAGES).contains(&kicks));
    eprintln!("{MESSAGES} messages, {kicks} kicks to the device");
}

/// Removes the shared file however the test ends.
struct RemoveOnDrop(std::path::PathBuf);
impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
