//! A peer that is gone before the RPMsg device is set up (found by the
//! soak, which kills the remote right after the host connected and the
//! host right after the remote accepted it): set-up must say `PeerReset`,
//! as every later call does, not a raw "channel closed" error.
//!
//! Real parts: the shared file in a private directory, laid out as the
//! Linux-process platform does, and a Unix socket pair whose other end is
//! closed.

use std::time::{Duration, Instant};

use openamp_examples_linux::Device;
use openamp_metal_sys_linux::{MonotonicClock, PrivateDir, SharedMemory, SocketNotifier};
use openamp_remoteproc::linux::LinuxProcessLayout;
use openamp_rpmsg::{Config, Error, NotifyWait};

fn shm(dir: &PrivateDir) -> (LinuxProcessLayout, SharedMemory) {
    let layout = LinuxProcessLayout::in_dir(dir.path());
    let shm = SharedMemory::open_or_create(&layout.shm_path, layout.shm_size).unwrap();
    // What the remote writes before it listens.
    layout.init_shm(&shm.region()).unwrap();
    (layout, shm)
}

#[test]
fn a_host_gone_before_driver_ok_is_peer_reset_for_the_remote() {
    let dir = PrivateDir::new("openamp-rs-gone-remote-").unwrap();
    let (layout, shm) = shm(&dir);
    let (kick, host_end) = SocketNotifier::pair().unwrap();
    drop(host_end); // the host died after connecting
    let transport = layout.attach_remote(shm.region(), &kick).unwrap();
    let wait = NotifyWait {
        kicks: &kick,
        clock: MonotonicClock,
    };
    let start = Instant::now();
    let r = Device::new_remote(transport, wait, Config::default(), Duration::from_secs(5));
    assert!(
        matches!(r, Err(Error::PeerReset { .. })),
        "got {:?}",
        r.err()
    );
    assert!(start.elapsed() < Duration::from_secs(1), "noticed late");
}

#[test]
fn a_remote_gone_before_the_host_device_is_peer_reset_for_the_host() {
    let dir = PrivateDir::new("openamp-rs-gone-host-").unwrap();
    let (layout, shm) = shm(&dir);
    let (kick, remote_end) = SocketNotifier::pair().unwrap();
    drop(remote_end); // the remote died after the host connected
    let transport = layout.host_transport(shm.region(), &kick).unwrap();
    let wait = NotifyWait {
        kicks: &kick,
        clock: MonotonicClock,
    };
    let r = Device::new_host(transport, wait, Config::default());
    assert!(
        matches!(r, Err(Error::PeerReset { .. })),
        "got {:?}",
        r.err()
    );
}
