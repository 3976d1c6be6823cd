//! The remote's side of a vdev (`remote::attach`, `remote::wait_driver_ok`)
//! against a host transport over the same memory, the default operations of
//! `RemoteprocOps`, and how `OpsNotifier` turns a platform's errors into the
//! portability layer's (issue 14: coverage of what the other tests reach
//! only in child processes that end by a signal).

use std::time::{Duration, Instant};

use openamp_metal::{Clock, DelayNs, IoRegion, Notify};
use openamp_remoteproc::vdev::VdevTransport;
use openamp_remoteproc::{remote, Error, Mapping, OpsNotifier, RemoteprocOps};
use openamp_rsc_table::{resource_table, VdevResource, Vring, VIRTIO_ID_RPMSG};
use openamp_virtio::transport::{driver_ready, driver_start};

resource_table! {
    /// One RPMsg vdev (notify id 5) with two fixed vrings.
    const TABLE: Table = {
        rpmsg: VdevResource<2> = VdevResource::new(VIRTIO_ID_RPMSG, 5, 1, [
            Vring::new(0x1000, 16, 8, 1),
            Vring::new(0x2000, 16, 8, 2),
        ]),
    };
}

struct NoKick;
impl Notify for NoKick {
    fn notify(&self, _id: u32) -> openamp_metal::Result<()> {
        Ok(())
    }
}

struct StdClock(Instant);
impl Clock for StdClock {
    fn now_ns(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

struct StdDelay;
impl DelayNs for StdDelay {
    fn delay_ns(&mut self, ns: u32) {
        std::thread::sleep(Duration::from_nanos(u64::from(ns)));
    }
}

#[repr(C, align(4096))]
struct Shm([u8; 0x4000]);

#[test]
fn the_remote_attaches_by_notify_id_and_waits_for_driver_ok() {
    let mut shm = Box::new(Shm([0; 0x4000]));
    let len = TABLE.write_to(&mut shm.0).unwrap();
    let shm = IoRegion::from_slice_at(&mut shm.0, 0).unwrap();
    let table = shm.sub_region(0, len).unwrap();
    let pool = shm.sub_region(0x3000, 0x1000).unwrap();

    assert!(matches!(
        remote::attach(table, 99, &shm, pool, NoKick),
        Err(Error::NoSuchVdev { notify_id: 99 })
    ));
    let t = remote::attach(table, 5, &shm, pool, NoKick).unwrap();
    let clock = StdClock(Instant::now());
    // No host yet: a bounded wait that says what it waited for.
    let start = Instant::now();
    assert_eq!(
        remote::wait_driver_ok(&t, &clock, &mut StdDelay, Duration::from_millis(20)),
        Err(Error::Timeout { what: "DRIVER_OK" })
    );
    assert!(start.elapsed() < Duration::from_secs(2));

    let host = VdevTransport::host(table, 0, &shm, None, pool, NoKick).unwrap();
    assert_eq!(driver_start(&host, !0).unwrap(), 1);
    driver_ready(&host).unwrap();
    assert_eq!(
        remote::wait_driver_ok(&t, &clock, &mut StdDelay, Duration::from_secs(1)),
        Ok(1)
    );
}

/// A platform with only the operations that have no default.
struct Bare(Result<(), Error>);

impl<'a> RemoteprocOps<'a> for Bare {
    fn mmap(
        &mut self,
        _pa: Option<u64>,
        _da: Option<u64>,
        _len: u64,
    ) -> Result<Mapping<'a>, Error> {
        Err(Error::Unsupported { op: "mmap" })
    }
    fn start(&mut self) -> Result<(), Error> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), Error> {
        Ok(())
    }
    fn notify(&self, _id: u32) -> Result<(), Error> {
        self.0.clone()
    }
}

#[test]
fn default_operations_do_nothing_or_say_unsupported() {
    let mut p = Bare(Ok(()));
    p.init().unwrap();
    p.config().unwrap();
    p.shutdown().unwrap();
    p.remove();
    let mut mem = [0u8; 64];
    let entry = IoRegion::from_slice(&mut mem);
    assert_eq!(p.handle_rsc(3, 200, entry), Ok(false));
    assert_eq!(p.suspend(), Err(Error::Unsupported { op: "suspend" }));
    assert_eq!(p.resume(), Err(Error::Unsupported { op: "resume" }));
    assert!(p.get_mem(0x1000, 16).is_none());
    assert!(p.mmap(None, None, 16).is_err());
}

#[test]
fn ops_notifier_keeps_the_metal_and_os_errors_and_calls_the_rest_a_closed_peer() {
    let cases = [
        (Ok(()), Ok(())),
        (
            Err(Error::Metal(openamp_metal::Error::Timeout)),
            Err(openamp_metal::Error::Timeout),
        ),
        (
            Err(Error::Os {
                op: "write".into(),
                errno: 32,
                reason: "broken pipe".into(),
            }),
            Err(openamp_metal::Error::Os { errno: 32 }),
        ),
        (
            Err(Error::Unsupported { op: "notify" }),
            Err(openamp_metal::Error::PeerClosed),
        ),
    ];
    for (from, to) in cases {
        let p = Bare(from.clone());
        assert_eq!(OpsNotifier(&p).notify(1), to, "{from:?}");
    }
}

#[test]
fn errors_name_what_went_wrong() {
    let shown = [
        (Error::Unsupported { op: "suspend" }, "suspend"),
        (Error::Timeout { what: "DRIVER_OK" }, "DRIVER_OK"),
        (
            Error::RemoteExited {
                pid: 42,
                status: "exit status: 3".into(),
            },
            "pid 42",
        ),
        (
            Error::Platform {
                op: "start",
                reason: "no such file".into(),
            },
            "no such file",
        ),
        (
            Error::BadAttribute {
                path: "/sys/x/state".into(),
                value: "weird".into(),
            },
            "weird",
        ),
        (Error::NotATrace { index: 2 }, "entry 2"),
        (
            Error::SegmentUnmapped {
                index: 1,
                da: 0x1000,
                len: 0x20,
            },
            "0x1000",
        ),
    ];
    for (e, part) in shown {
        assert!(e.to_string().contains(part), "{e}");
    }
}
