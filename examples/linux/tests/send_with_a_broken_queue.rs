//! A send that has handed its message over reports success (found by the
//! corruption sweep, issue 14): when the peer broke our *other* queue (its
//! available index moved back, so we refuse that queue for good), a send on
//! the healthy queue put the message in the ring and then failed while
//! working out the kicks, so the sender was told "failed" for a message the
//! peer received: a duplicate as soon as the sender retries.
//!
//! Real parts: the shared file in a private directory laid out as on the
//! Linux-process platform, our host and remote devices over it, a third
//! mapping of the file for the corrupting side, a Unix socket pair for the
//! kicks.

use std::time::Duration;

use openamp_examples_linux::Device;
use openamp_metal_sys_linux::{MonotonicClock, PrivateDir, SharedMemory, SocketNotifier};
use openamp_remoteproc::linux::LinuxProcessLayout;
use openamp_rpmsg::{Config, EndpointConfig, Error, NotifyWait};

/// vring1's available index in the layout (ring at 0x8000, 256 entries).
const VRING1_AVAIL_IDX: usize = 0x8000 + 16 * 256 + 2;

#[test]
fn a_send_is_ok_exactly_when_the_peer_gets_the_message() {
    let dir = PrivateDir::new("openamp-rs-broken-queue-").unwrap();
    let layout = LinuxProcessLayout::in_dir(dir.path());
    let shm = SharedMemory::open_or_create(&layout.shm_path, layout.shm_size).unwrap();
    let evil = SharedMemory::open(&layout.shm_path).unwrap();
    let (hk, rk) = SocketNotifier::pair().unwrap();
    let rt = layout.remote_transport(shm.region(), &rk).unwrap();
    let ht = layout.host_transport(shm.region(), &hk).unwrap();
    let wait = |k| NotifyWait {
        kicks: k,
        clock: MonotonicClock,
    };
    let host = Device::new_host(ht, wait(&hk), Config::default()).unwrap();
    let remote =
        Device::new_remote(rt, wait(&rk), Config::default(), Duration::from_secs(1)).unwrap();
    let h = host
        .create_endpoint(EndpointConfig::anonymous().addr(2000).dest(3000))
        .unwrap();
    let r = remote
        .create_endpoint(EndpointConfig::anonymous().addr(3000).dest(2000))
        .unwrap();
    host.try_send(h, b"first").unwrap();
    assert!(remote.try_recv(r).unwrap().is_some());

    // The host's next message, then its available index moved back: the
    // remote refuses its receive queue (vring1) from now on.
    host.try_send(h, b"second").unwrap();
    evil.region().write_u16(VRING1_AVAIL_IDX, 0).unwrap();
    assert!(matches!(remote.try_recv(r), Err(Error::Virtio(_))));

    // Sending goes through vring0, which is fine.
    for i in 0..4u8 {
        let sent = remote.try_send(r, &[i; 8]);
        host.poll().unwrap();
        let got = host.try_recv(h).unwrap().is_some();
        assert_eq!(
            sent.is_ok(),
            got,
            "send #{i} returned {sent:?} but the host {} it",
            if got { "received" } else { "did not receive" }
        );
    }
}
