//! Every pair of peer profiles, in real processes on the Linux-process
//! platform: our host writing the wire as one peer does, our remote as
//! another (see `openamp_examples_linux::profile`). Real OpenAMP C and Linux
//! peers cannot run here; these profiles replay what the wire-format notes
//! say they write, and each side must accept all of it.
//!
//! Per pair: the demo echo with either side started first, name service
//! with announcements before and after the endpoint exists, and a peer that
//! dies on either side.

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use openamp_examples_linux::profile::{self, Profile};
use openamp_examples_linux::{ping, Device, DEMO_CHANNEL};
use openamp_metal_sys_linux::PrivateDir;
use openamp_remoteproc::linux::LinuxProcessLayout;
use openamp_rpmsg::conventions::{NamePadding, StatusWrites, TxDescriptorLen, UsedLen};
use openamp_rpmsg::wire::{Header, NS_ADDR, NS_MSG_LEN};
use openamp_rpmsg::{EndpointConfig, Error, ADDR_ANY};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Host profiles: what our host writes.
const HOSTS: &[&str] = &["ours", "openamp-c", "linux", "spec"];
/// Remote profiles: what our remote writes.
const REMOTES: &[&str] = &["ours", "openamp-c", "spec", "message-len"];

fn pairs() -> impl Iterator<Item = (&'static Profile, &'static Profile)> {
    HOSTS.iter().flat_map(|h| {
        REMOTES
            .iter()
            .map(move |r| (profile::find(h).unwrap(), profile::find(r).unwrap()))
    })
}

/// Pairs that cannot work: OpenAMP C's host takes a returned buffer's used
/// `len` as its size, so a remote that returns anything but the
/// descriptor's `len` breaks it at its first payload (the defect our remote
/// had). The echo test checks that these fail and every other pair works;
/// the list is fixed here rather than derived from the profiles, so that a
/// change of our defaults that breaks a pair shows.
const INCOMPATIBLE: &[(&str, &str)] = &[("openamp-c", "spec"), ("openamp-c", "message-len")];

fn compatible(host: &Profile, remote: &Profile) -> bool {
    !INCOMPATIBLE.contains(&(host.name, remote.name))
}

fn compatible_pairs() -> impl Iterator<Item = (&'static Profile, &'static Profile)> {
    pairs().filter(|(h, r)| compatible(h, r))
}

/// A child process, killed and reaped when the test ends however it ends.
struct Kid(Option<Child>);

impl Kid {
    /// Waits for the process to exit (killing it at `timeout`), with what it
    /// printed.
    fn finish(mut self, timeout: Duration) -> Output {
        let mut child = self.0.take().unwrap();
        let deadline = Instant::now() + timeout;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let status = child.wait().unwrap();
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_end(&mut stdout)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_end(&mut stderr)
            .unwrap();
        Output {
            status,
            stdout,
            stderr,
        }
    }

    fn kill(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The layout at paths in a fresh private directory (mode 0700, a random
/// name), removed with the directory on drop.
struct Paths(LinuxProcessLayout, #[allow(dead_code)] PrivateDir);

fn paths(test: &str, host: &Profile, remote: &Profile) -> Paths {
    let tag = format!("{test}-{}-{}-", host.name, remote.name);
    let dir = PrivateDir::new(&format!("openamp-rs-profile-{tag}")).unwrap();
    Paths(LinuxProcessLayout::in_dir(dir.path()), dir)
}

fn demo(role: &str, p: &Profile, layout: &LinuxProcessLayout, rounds: u64) -> Kid {
    let child = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--role", role, "--profile", p.name, "--rounds"])
        .arg(rounds.to_string())
        .arg("--shm")
        .arg(&layout.shm_path)
        .arg("--socket")
        .arg(&layout.socket_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start demo");
    Kid(Some(child))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_demo_echoes_across_every_profile_pair_whichever_side_starts_first() {
    for (host, remote) in pairs() {
        for host_first in [false, true] {
            let p = paths("echo", host, remote);
            let what = format!(
                "host {} + remote {}, {} first",
                host.name,
                remote.name,
                if host_first { "host" } else { "remote" }
            );
            let (h, r) = if host_first {
                let h = demo("host", host, &p.0, 1);
                std::thread::sleep(Duration::from_millis(200));
                (h, demo("remote", remote, &p.0, 1))
            } else {
                let r = demo("remote", remote, &p.0, 1);
                std::thread::sleep(Duration::from_millis(200));
                (demo("host", host, &p.0, 1), r)
            };
            let ho = h.finish(Duration::from_secs(60));
            let ro = r.finish(TIMEOUT);
            if !compatible(host, remote) {
                // As OpenAMP C's ping host against our old remote: "Failed to
                // send data" at its first payload.
                assert!(
                    !ho.status.success() && text(&ho.stderr).contains("host: send #"),
                    "{what}: the host should fail to send: {}{}",
                    text(&ho.stdout),
                    text(&ho.stderr)
                );
                continue;
            }
            assert!(
                ho.status.success(),
                "{what}: host failed: {}{}",
                text(&ho.stdout),
                text(&ho.stderr)
            );
            assert!(
                text(&ho.stdout).contains("496 messages of 1..=496 bytes echoed and checked")
                    && text(&ho.stdout).contains("dropped 0"),
                "{what}: {}",
                text(&ho.stdout)
            );
            assert!(
                ro.status.success() && text(&ro.stderr).contains("496 messages echoed"),
                "{what}: remote: {} {}",
                ro.status,
                text(&ro.stderr)
            );
        }
    }
}

/// Reads the shared file the way a C peer sees it.
struct Image(Vec<u8>);

impl Image {
    fn read(layout: &LinuxProcessLayout) -> Self {
        Image(std::fs::read(&layout.shm_path).unwrap())
    }
    fn u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.0[at..at + 4].try_into().unwrap())
    }
    fn u16(&self, at: usize) -> u16 {
        u16::from_le_bytes(self.0[at..at + 2].try_into().unwrap())
    }
}

/// The ring layout offsets of vring `q` in the image: (descriptors, used).
fn ring(layout: &LinuxProcessLayout, q: usize) -> (usize, usize) {
    let v = layout.vrings[q];
    let (da, num, align) = (v.da as usize, v.num as usize, v.align as usize);
    let used = (da + 16 * num + 6 + 2 * num).next_multiple_of(align);
    (da, used)
}

#[test]
fn name_service_across_every_profile_pair() {
    for (host, remote) in compatible_pairs() {
        let what = format!("host {} + remote {}", host.name, remote.name);
        let p = paths("ns", host, remote);
        let r = demo("remote", remote, &p.0, 1);
        let side = ping::connect(&p.0, TIMEOUT).unwrap();
        let dev: Device<'_, '_> = ping::device_with(&side, host.config()).unwrap();
        // The remote's announcement arrives before our endpoint exists.
        let deadline = Instant::now() + TIMEOUT;
        while dev.stats().name_service == 0 {
            assert!(Instant::now() < deadline, "{what}: no announcement");
            dev.wait_and_poll(Duration::from_millis(10)).unwrap();
        }
        let demo_ep = dev
            .create_endpoint(EndpointConfig::named(DEMO_CHANNEL).unwrap())
            .unwrap();
        assert_ne!(dev.dest(demo_ep).unwrap(), ADDR_ANY, "{what}: not bound");
        dev.send(demo_ep, b"first").unwrap();
        let m = dev.recv_timeout(demo_ep, TIMEOUT).unwrap();
        assert_eq!(m.len(), 5, "{what}");
        drop(m);
        check_wire(&p.0, host, remote, &what);
        // Announcements after our endpoint exists: the remote answers each
        // of our `echo-*` names with an endpoint of its own.
        for i in 0..20u32 {
            let ep = dev
                .create_endpoint(EndpointConfig::named(&format!("echo-{i}")).unwrap())
                .unwrap();
            dev.wait_bound(ep, TIMEOUT)
                .unwrap_or_else(|e| panic!("{what}: echo-{i}: {e}"));
            dev.send(ep, &i.to_le_bytes()).unwrap();
            let m = dev.recv_timeout(ep, TIMEOUT).unwrap();
            let mut b = [0u8; 4];
            m.read(&mut b).unwrap();
            assert_eq!(u32::from_le_bytes(b), i, "{what}");
            drop(m);
            dev.destroy_endpoint(ep).unwrap();
        }
        assert_eq!(dev.stats().dropped_malformed, 0, "{what}");
        // Destroying the demo endpoint ends the remote.
        dev.destroy_endpoint(demo_ep).unwrap();
        let out = r.finish(TIMEOUT);
        assert!(out.status.success(), "{what}: {}", text(&out.stderr));
    }
}

/// What each side's profile puts on the wire is there, as a C peer would
/// read it: name bytes after the NUL, transmit descriptor lengths and the
/// used lengths of consumed buffers.
fn check_wire(layout: &LinuxProcessLayout, host: &Profile, remote: &Profile, what: &str) {
    let img = Image::read(layout);
    // The vdev entry (the table's only one): gfeatures and status as each
    // host writes them. Name service must be accepted, or an OpenAMP remote
    // turns it off.
    let vdev = layout.table_offset + img.u32(layout.table_offset + 16) as usize;
    assert_eq!(img.u32(vdev + 16) & 1, 1, "{what}: gfeatures lacks NS");
    let status = img.0[vdev + 24];
    let want_status = match host.conventions.status {
        StatusWrites::Stepwise => 0x0F,
        StatusWrites::DriverOkOnly => 0x04,
    };
    assert_eq!(status, want_status, "{what}: status byte");
    // The remote's announcement, in one of the host's receive buffers.
    let pool = layout.pool_offset..layout.pool_offset + layout.pool_size / 2;
    let ann = pool
        .step_by(layout.buffer_size)
        .find(|&at| {
            let h = Header::from_bytes(img.0[at..at + 16].try_into().unwrap());
            h.dst == NS_ADDR && usize::from(h.len) == NS_MSG_LEN
        })
        .unwrap_or_else(|| panic!("{what}: the remote's announcement is not in the pool"));
    let name = &img.0[ann + 16..ann + 48];
    let nul = name.iter().position(|b| *b == 0).unwrap();
    assert_eq!(&name[..nul], DEMO_CHANNEL.as_bytes());
    let junk = name[nul + 1..].iter().any(|b| *b != 0);
    assert_eq!(
        junk,
        remote.conventions.name_padding == NamePadding::Junk,
        "{what}: bytes after the NUL"
    );
    // vring1: the host's first message (its announcement, 56 bytes) and
    // the remote's used element for it.
    let (desc, used) = ring(layout, 1);
    let id = img.u32(used + 4) as usize;
    let desc_len = img.u32(desc + 16 * id + 8);
    let used_len = img.u32(used + 8);
    assert!(img.u16(used + 2) >= 2, "{what}: nothing consumed");
    let want_desc = match host.conventions.tx_descriptor_len {
        TxDescriptorLen::WholeBuffer => 512,
        TxDescriptorLen::Message => 56,
    };
    assert_eq!(desc_len, want_desc, "{what}: transmit descriptor len");
    let want_used = match remote.conventions.used_len {
        UsedLen::Descriptor => desc_len,
        UsedLen::Written => 0,
        UsedLen::Message => 56,
    };
    assert_eq!(used_len, want_used, "{what}: used len of a consumed buffer");
}

#[test]
fn a_dead_peer_is_noticed_on_either_side_across_every_profile_pair() {
    for (host, remote) in compatible_pairs() {
        let what = format!("host {} + remote {}", host.name, remote.name);
        // The remote dies mid-stream: the host fails in time, and a new
        // remote answers a new host device.
        let p = paths("reset", host, remote);
        let mut r = demo("remote", remote, &p.0, 1);
        {
            let side = ping::connect(&p.0, TIMEOUT).unwrap();
            let dev = ping::device_with(&side, host.config()).unwrap();
            let ep = ping::bind_demo(&dev, TIMEOUT).unwrap();
            for i in 0..8u8 {
                dev.try_send(ep, &[i; 100]).unwrap();
            }
            r.kill();
            let start = Instant::now();
            let err = loop {
                match dev.recv_timeout(ep, Duration::from_secs(5)) {
                    Ok(_) => continue,
                    Err(e) => break e,
                }
            };
            assert!(matches!(err, Error::PeerReset { .. }), "{what}: {err:?}");
            assert!(start.elapsed() < Duration::from_secs(6), "{what}: late");
        }
        let _again = demo("remote", remote, &p.0, 1);
        let side = ping::connect(&p.0, TIMEOUT).unwrap();
        let dev = ping::device_with(&side, host.config()).unwrap();
        let ep = ping::bind_demo(&dev, TIMEOUT).unwrap();
        let report = ping::run(&dev, ep, 1, TIMEOUT).unwrap();
        assert_eq!(report.messages, 496, "{what}");
        dev.destroy_endpoint(ep).unwrap();
        drop(dev);
        drop(side);

        // The host dies mid-stream: the remote notices and ends.
        let p = paths("hostdies", host, remote);
        let r = demo("remote", remote, &p.0, 1);
        let mut h = demo("host", host, &p.0, 1_000_000);
        // Kill it once the echo is under way: the remote has consumed some
        // of its messages.
        let (_, used) = ring(&p.0, 1);
        let deadline = Instant::now() + TIMEOUT;
        while std::fs::read(&p.0.shm_path)
            .map(|b| b.len() < used + 4 || Image(b).u16(used + 2) < 10)
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "{what}: the echo never started");
            std::thread::sleep(Duration::from_millis(5));
        }
        h.kill();
        let start = Instant::now();
        let out = r.finish(TIMEOUT);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{what}: remote took {:?} to notice",
            start.elapsed()
        );
        assert!(out.status.success(), "{what}: {}", text(&out.stderr));
    }
}
