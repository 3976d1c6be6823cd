//! RPMsg between two real processes on the Linux-process platform: this
//! test is the host, the `demo` binary in `--role remote` is the echo remote.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use openamp_examples_linux::{pattern, ping, Device};
use openamp_metal_sys_linux::PrivateDir;
use openamp_remoteproc::linux::LinuxProcessLayout;
use openamp_rpmsg::{EndpointConfig, EndpointId, Error};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A remote process, killed and reaped when the test ends however it ends.
struct Remote(Child);

impl Drop for Remote {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The layout at paths in a fresh private directory (mode 0700, a random
/// name), removed with the directory on drop.
struct Paths(LinuxProcessLayout, #[allow(dead_code)] PrivateDir);

fn paths(test: &str) -> Paths {
    let dir = PrivateDir::new(&format!("openamp-rs-test-{test}-")).unwrap();
    Paths(LinuxProcessLayout::in_dir(dir.path()), dir)
}

fn start_remote(layout: &LinuxProcessLayout) -> Remote {
    let child = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--role", "remote", "--shm"])
        .arg(&layout.shm_path)
        .arg("--socket")
        .arg(&layout.socket_path)
        .spawn()
        .expect("start the remote");
    Remote(child)
}

/// An endpoint named `name` that the remote answers with its own (its bind
/// callback creates one for names starting with "echo").
fn echo_endpoint(dev: &Device<'_, '_>, name: &str) -> EndpointId {
    let ep = dev
        .create_endpoint(EndpointConfig::named(name).unwrap())
        .unwrap();
    dev.wait_bound(ep, TIMEOUT).unwrap();
    ep
}

fn size_of(seq: u64) -> usize {
    1 + (seq.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % 496
}

/// Fills `buf` with message `seq` of endpoint `lane`: its size and bytes
/// follow from both, so any loss, duplicate or reordering shows.
fn message(lane: u64, seq: u64, buf: &mut [u8]) -> usize {
    let size = size_of(seq ^ (lane << 40));
    pattern(seq ^ (lane << 40), size, buf);
    size
}

#[test]
fn a_million_messages_arrive_once_and_in_order_per_endpoint() {
    let total: u64 = std::env::var("OPENAMP_TEST_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            20_000
        } else {
            1_000_000
        });
    let p = paths("million");
    let _remote = start_remote(&p.0);
    let side = ping::connect(&p.0, TIMEOUT).unwrap();
    let dev = ping::device(&side).unwrap();
    const LANES: u64 = 4;
    const WINDOW: u64 = 16;
    let eps: Vec<EndpointId> = (0..LANES)
        .map(|i| echo_endpoint(&dev, &format!("echo-lane-{i}")))
        .collect();
    let (mut sent, mut checked) = ([0u64; LANES as usize], [0u64; LANES as usize]);
    let per_lane = total / LANES;
    let (mut out, mut expect, mut got) = ([0u8; 496], [0u8; 496], [0u8; 496]);
    let start = Instant::now();
    while checked.iter().any(|c| *c < per_lane) {
        for lane in 0..LANES as usize {
            while sent[lane] < per_lane && sent[lane] - checked[lane] < WINDOW {
                let n = message(lane as u64, sent[lane], &mut out);
                match dev.try_send(eps[lane], &out[..n]) {
                    Ok(()) => sent[lane] += 1,
                    Err(Error::WouldBlock) => break,
                    Err(e) => panic!("send: {e}"),
                }
            }
            while let Some(m) = dev.try_recv(eps[lane]).unwrap() {
                let n = message(lane as u64, checked[lane], &mut expect);
                assert_eq!(
                    m.len(),
                    n,
                    "lane {lane} message {}: wrong size",
                    checked[lane]
                );
                m.read(&mut got[..n]).unwrap();
                assert_eq!(
                    got[..n],
                    expect[..n],
                    "lane {lane} message {}: wrong bytes",
                    checked[lane]
                );
                checked[lane] += 1;
            }
        }
        if dev.stats().received == checked.iter().sum::<u64>() {
            // Nothing pending: sleep until the remote kicks (bounded).
            assert!(start.elapsed() < Duration::from_secs(600), "stalled");
            let _ = dev.wait_and_poll(Duration::from_millis(10)).unwrap();
        }
    }
    let stats = dev.stats();
    assert_eq!(checked.iter().sum::<u64>(), per_lane * LANES);
    assert_eq!(stats.dropped_unknown_addr + stats.dropped_malformed, 0);
    eprintln!(
        "{} messages echoed in {:.1?} ({:.0} round trips/s)",
        per_lane * LANES,
        start.elapsed(),
        (per_lane * LANES) as f64 / start.elapsed().as_secs_f64()
    );
}

#[test]
fn a_thousand_endpoint_cycles_with_name_service() {
    let p = paths("cycles");
    let _remote = start_remote(&p.0);
    let side = ping::connect(&p.0, TIMEOUT).unwrap();
    let dev = ping::device(&side).unwrap();
    for i in 0..1000u32 {
        // A new name each cycle: the remote's DESTROY of the previous one may
        // still be on its way, and must not bind the next.
        let ep = echo_endpoint(&dev, &format!("echo-cycle-{i}"));
        dev.send(ep, &i.to_le_bytes()).unwrap();
        let m = dev.recv_timeout(ep, TIMEOUT).unwrap();
        let mut b = [0u8; 4];
        m.read(&mut b).unwrap();
        assert_eq!(u32::from_le_bytes(b), i);
        drop(m);
        dev.destroy_endpoint(ep).unwrap();
    }
    // Everything the remote announced (1000 CREATEs, 1000 DESTROYs) arrived.
    let deadline = Instant::now() + TIMEOUT;
    while dev.stats().name_service < 2000 + 1 && Instant::now() < deadline {
        let _ = dev.wait_and_poll(Duration::from_millis(10)).unwrap();
    }
    assert!(
        dev.stats().name_service >= 2001,
        "name-service messages: {}",
        dev.stats().name_service
    );
}

#[test]
fn a_killed_remote_fails_the_host_in_time_and_a_new_one_answers() {
    let p = paths("restart");
    let mut remote = start_remote(&p.0);
    {
        let side = ping::connect(&p.0, TIMEOUT).unwrap();
        let dev = ping::device(&side).unwrap();
        let ep = ping::bind_demo(&dev, TIMEOUT).unwrap();
        ping::run(&dev, ep, 1, TIMEOUT).unwrap();
        // Kill it mid-stream: messages are in flight.
        for i in 0..8u8 {
            dev.try_send(ep, &[i; 100]).unwrap();
        }
        remote.0.kill().unwrap();
        remote.0.wait().unwrap();
        let start = Instant::now();
        let err = loop {
            match dev.recv_timeout(ep, Duration::from_secs(5)) {
                Ok(_) => continue, // echoes sent before it died
                Err(e) => break e,
            }
        };
        assert!(
            start.elapsed() < Duration::from_secs(6),
            "the host noticed only after {:?}",
            start.elapsed()
        );
        assert!(matches!(err, Error::PeerReset { .. }), "got {err:?}");
        assert!(matches!(
            dev.try_send(ep, b"x"),
            Err(Error::PeerReset { .. })
        ));
    }
    // Start it again: a new host device talks to it.
    let _again = start_remote(&p.0);
    let side = ping::connect(&p.0, TIMEOUT).unwrap();
    let dev = ping::device(&side).unwrap();
    let ep = ping::bind_demo(&dev, TIMEOUT).unwrap();
    let report = ping::run(&dev, ep, 1, TIMEOUT).unwrap();
    assert_eq!(report.messages, 496);
    dev.destroy_endpoint(ep).unwrap();
}

#[test]
fn oversize_payloads_are_rejected_and_nothing_is_sent() {
    let p = paths("oversize");
    let _remote = start_remote(&p.0);
    let side = ping::connect(&p.0, TIMEOUT).unwrap();
    let dev = ping::device(&side).unwrap();
    let ep = ping::bind_demo(&dev, TIMEOUT).unwrap();
    let sent_before = dev.stats().sent; // name service may have sent
    assert_eq!(
        dev.try_send(ep, &[0; 497]),
        Err(Error::TooLarge { len: 497, max: 496 })
    );
    assert_eq!(
        dev.send(ep, &[0; 4096]),
        Err(Error::TooLarge {
            len: 4096,
            max: 496
        })
    );
    assert!(matches!(
        dev.try_alloc_tx().unwrap().send_to(ep, 1024, 497),
        Err(Error::TooLarge { len: 497, max: 496 })
    ));
    assert_eq!(dev.stats().sent, sent_before);
    dev.send(ep, &[7; 496]).unwrap();
    let m = dev.recv_timeout(ep, TIMEOUT).unwrap();
    assert_eq!(m.len(), 496);
}
