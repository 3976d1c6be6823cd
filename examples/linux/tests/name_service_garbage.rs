//! Name-service messages a broken or hostile peer may send (found by the
//! corruption sweep, which overwrites the announcements in flight): none
//! may bind an endpoint that has no name, and every one that is thrown away
//! is counted as a dropped message.
//!
//! Real parts: the shared file in a private directory laid out as on the
//! Linux-process platform, our host and remote devices over it, a Unix
//! socket pair for the kicks; the remote's endpoint sends the raw messages
//! to the name-service address.

use std::time::Duration;

use openamp_examples_linux::Device;
use openamp_metal_sys_linux::{MonotonicClock, PrivateDir, SharedMemory, SocketNotifier};
use openamp_remoteproc::linux::LinuxProcessLayout;
use openamp_rpmsg::wire::{Name, NsMessage, NS_CREATE, NS_DESTROY};
use openamp_rpmsg::{Config, EndpointConfig, NotifyWait, ADDR_ANY, NS_ADDR};

/// Runs `f` with a host and a remote device meeting over a fresh file.
fn with_pair(f: impl FnOnce(&Device<'_, '_>, &Device<'_, '_>)) {
    let dir = PrivateDir::new("openamp-rs-ns-garbage-").unwrap();
    let layout = LinuxProcessLayout::in_dir(dir.path());
    let shm = SharedMemory::open_or_create(&layout.shm_path, layout.shm_size).unwrap();
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
    f(&host, &remote);
}

fn ns(name: &[u8], addr: u32, flags: u32) -> [u8; 40] {
    let mut raw = [0u8; 32];
    raw[..name.len()].copy_from_slice(name);
    NsMessage {
        name: Name::from_wire(&raw),
        addr,
        flags,
    }
    .to_bytes()
}

#[test]
fn an_announcement_without_a_name_binds_no_endpoint() {
    with_pair(|host, remote| {
        // Waits for its first message, as OpenAMP's unbound endpoints do.
        let nameless = host
            .create_endpoint(EndpointConfig::anonymous().addr(5000))
            .unwrap();
        let sender = remote
            .create_endpoint(EndpointConfig::anonymous().addr(3000).dest(ADDR_ANY))
            .unwrap();
        for flags in [NS_CREATE, NS_DESTROY] {
            remote
                .try_send_to(sender, NS_ADDR, &ns(b"", 0x1234, flags))
                .unwrap();
            host.poll().unwrap();
            assert_eq!(
                host.dest(nameless).unwrap(),
                ADDR_ANY,
                "a nameless announcement (flags {flags}) bound a nameless endpoint"
            );
        }
        assert_eq!(host.stats().dropped_malformed, 2);
    });
}

#[test]
fn malformed_name_service_messages_are_counted_drops() {
    with_pair(|host, remote| {
        let sender = remote
            .create_endpoint(EndpointConfig::anonymous().addr(3000).dest(ADDR_ANY))
            .unwrap();
        let good = ns(b"garbage", 3000, NS_CREATE);
        let bad: [&[u8]; 5] = [
            &good[..39],
            &[good.as_slice(), &[0]].concat(),
            &[],
            &ns(b"garbage", 3000, 2),
            &ns(b"garbage", 3000, u32::MAX),
        ];
        for (i, msg) in bad.iter().enumerate() {
            remote.try_send_to(sender, NS_ADDR, msg).unwrap();
            host.poll().unwrap();
            assert_eq!(
                host.stats().dropped_malformed,
                i as u64 + 1,
                "name-service message #{i} ({} bytes) went unnoticed",
                msg.len()
            );
        }
        // Nothing of it was taken for an announcement.
        let ep = host
            .create_endpoint(EndpointConfig::named("garbage").unwrap())
            .unwrap();
        assert_eq!(host.dest(ep).unwrap(), ADDR_ANY);
        // A good one still works, and is not a drop.
        remote.try_send_to(sender, NS_ADDR, &good).unwrap();
        host.poll().unwrap();
        assert_eq!(host.dest(ep).unwrap(), 3000);
        assert_eq!(host.stats().dropped_malformed, bad.len() as u64);
    });
}
