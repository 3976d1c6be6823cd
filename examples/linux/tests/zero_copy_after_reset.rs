//! Zero-copy buffers held across a peer reset (found by the soak, which
//! kills the remote while the host holds received and transmit buffers):
//! once the device has reported `PeerReset`, the memory of those buffers
//! belongs to whatever session comes next (a new remote zeroes the file
//! and a new host device hands the same buffers out again), so reading or
//! writing them must fail with `PeerReset` and touch nothing.
//!
//! Real parts: the shared file in a private directory, laid out as on the
//! Linux-process platform, both roles' devices over it, and a Unix socket
//! pair for the kicks (the remote's end is closed to kill it).

use std::time::Duration;

use openamp_examples_linux::Device;
use openamp_metal_sys_linux::{MonotonicClock, PrivateDir, SharedMemory, SocketNotifier};
use openamp_remoteproc::linux::LinuxProcessLayout;
use openamp_rpmsg::{Config, EndpointConfig, Error, NotifyWait};

fn snapshot(shm: &SharedMemory) -> Vec<u8> {
    let mut v = vec![0u8; shm.size()];
    shm.region().read_bytes(0, &mut v).unwrap();
    v
}

#[test]
fn buffers_held_across_a_reset_refuse_reads_and_writes() {
    let dir = PrivateDir::new("openamp-rs-zc-reset-").unwrap();
    let layout = LinuxProcessLayout::in_dir(dir.path());
    let shm = SharedMemory::open_or_create(&layout.shm_path, layout.shm_size).unwrap();
    let (host_kick, remote_kick) = SocketNotifier::pair().unwrap();
    let remote_transport = layout.remote_transport(shm.region(), &remote_kick).unwrap();
    let host_transport = layout.host_transport(shm.region(), &host_kick).unwrap();
    let host = Device::new_host(
        host_transport,
        NotifyWait {
            kicks: &host_kick,
            clock: MonotonicClock,
        },
        Config::default(),
    )
    .unwrap();
    let remote = Device::new_remote(
        remote_transport,
        NotifyWait {
            kicks: &remote_kick,
            clock: MonotonicClock,
        },
        Config::default(),
        Duration::from_secs(1),
    )
    .unwrap();
    let h = host
        .create_endpoint(EndpointConfig::anonymous().addr(1024).dest(1025))
        .unwrap();
    let r = remote
        .create_endpoint(EndpointConfig::anonymous().addr(1025).dest(1024))
        .unwrap();
    remote.try_send(r, b"held across the reset").unwrap();
    let rx = host.recv_timeout(h, Duration::from_secs(1)).unwrap();
    let mut tx = host.try_alloc_tx().unwrap();
    tx.write_at(0, b"filled before").unwrap();

    // The remote dies: its end of the socket closes.
    drop(remote);
    drop(remote_kick);
    // (Kicks sent before it died are taken first.)
    let err = (0..10)
        .find_map(|_| host.wait_and_poll(Duration::from_millis(100)).err())
        .expect("the reset went unnoticed");
    assert!(matches!(err, Error::PeerReset { .. }), "got {err:?}");

    // A new remote would now zero the file and a new host device reuse
    // these buffers: nothing may go through the old ones any more.
    let before = snapshot(&shm);
    let mut b = [0u8; 64];
    assert!(
        matches!(rx.read(&mut b), Err(Error::PeerReset { .. })),
        "a received buffer was read after the reset"
    );
    assert!(
        matches!(
            tx.write_at(0, b"after the reset"),
            Err(Error::PeerReset { .. })
        ),
        "a transmit buffer was written after the reset"
    );
    assert!(matches!(
        tx.send_to(h, 1025, 4),
        Err(Error::PeerReset { .. })
    ));
    drop(rx);
    assert!(
        snapshot(&shm) == before,
        "the shared memory changed after the reset"
    );
}
