//! A second, unprivileged local user attacks the channel (issue 19): each
//! test creates that user, lets it prepare what a local attacker could at
//! OpenAMP's fixed paths (here in a sticky, world-writable directory that
//! stands for `/dev/shm` and `/tmp`), and checks that our side neither
//! clobbers, shows, nor hands the channel to anything of theirs, and never
//! hangs. The tests need root (to create the user) and fail without it.

mod attacker;

use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use attacker::{shared_dir, Attacker};
use openamp_metal::{Error as MetalError, WaitNotify};
use openamp_metal_sys_linux::{
    set_inheritable, Error, LinuxProcessConfig, PrivateDir, SharedMemory, SocketListener,
    SocketNotifier,
};

const TIMEOUT: Duration = Duration::from_secs(20);

/// The attacker's side: run by the copies of this binary that the tests
/// start as the second user.
#[test]
#[ignore = "the attacker's side, run as the second user by the other tests"]
fn attacker_role() {
    if let Some((role, arg)) = attacker::role() {
        attacker::run_role(&role, &arg);
    }
}

/// A root-only file with known bytes, in a directory only root may enter.
fn victim(dir: &PrivateDir) -> std::path::PathBuf {
    let p = dir.join("victim");
    std::fs::write(&p, b"root's own data, not to be touched").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn q(p: &Path) -> String {
    format!("'{}'", p.display())
}

#[test]
fn shm_links_planted_by_another_user_are_not_followed() {
    let attacker = Attacker::new();
    let shared = shared_dir(Path::new("/dev/shm"));
    let root_dir = PrivateDir::new("openamp-rs-root-").unwrap();
    let victim = victim(&root_dir);
    let missing = root_dir.join("would-be-created");
    let at_victim = shared.join("openamp.shm");
    let at_missing = shared.join("missing.shm");
    attacker.sh_ok(&format!(
        "ln -s {} {} && ln -s {} {}",
        q(&victim),
        q(&at_victim),
        q(&missing),
        q(&at_missing)
    ));

    for path in [&at_victim, &at_missing] {
        for r in [
            SharedMemory::open_or_create(path, 0x80000),
            SharedMemory::open(path),
        ] {
            match r {
                Err(Error::Untrusted {
                    path: p,
                    uid,
                    reason,
                    ..
                }) => {
                    assert_eq!(&p, path);
                    assert_eq!(uid, attacker.uid);
                    assert_eq!(reason, "a symbolic link");
                }
                other => panic!("{}: unexpected {other:?}", path.display()),
            }
        }
    }
    // Both sides of the platform refuse it too.
    let config = LinuxProcessConfig {
        shm_path: at_victim.clone(),
        socket_path: shared.join("openamp.event.0"),
        ..LinuxProcessConfig::default()
    };
    assert!(matches!(
        config.remote(Duration::from_millis(100)),
        Err(Error::Untrusted { .. })
    ));
    assert!(!config.socket_path.exists(), "refused before listening");

    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"root's own data, not to be touched"
    );
    assert_eq!(std::fs::metadata(&victim).unwrap().mode() & 0o7777, 0o600);
    assert!(!missing.exists(), "no file was made through the link");
}

#[test]
fn a_file_another_user_made_first_is_refused_and_left_as_it_was() {
    let attacker = Attacker::new();
    let shared = shared_dir(Path::new("/dev/shm"));
    let path = shared.join("openamp.shm");
    attacker.sh_ok(&format!(
        "head -c 4096 /dev/zero | tr '\\0' A > {p} && chmod 666 {p}",
        p = q(&path)
    ));
    for r in [
        SharedMemory::open_or_create(&path, 0x80000),
        SharedMemory::open(&path),
    ] {
        match r {
            Err(e @ Error::Untrusted { .. }) => {
                let Error::Untrusted {
                    path: p,
                    uid,
                    mode,
                    reason,
                } = &e
                else {
                    unreachable!()
                };
                assert_eq!(p, &path);
                assert_eq!(*uid, attacker.uid);
                assert_eq!(mode & 0o777, 0o666);
                assert_eq!(*reason, "owned by another user");
                let text = e.to_string();
                assert!(text.contains(&path.display().to_string()), "{text}");
                assert!(text.contains(&format!("uid {}", attacker.uid)), "{text}");
                assert!(text.contains("mode 100666"), "{text}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Not grown, not zeroed, not written.
    assert_eq!(std::fs::read(&path).unwrap(), vec![b'A'; 4096]);
}

#[test]
fn our_file_can_be_neither_read_nor_shrunk_by_another_user() {
    let attacker = Attacker::new();
    let shared = shared_dir(Path::new("/dev/shm"));
    let path = shared.join("openamp.shm");
    let shm = SharedMemory::open_or_create(&path, 0x80000).unwrap();
    shm.region().write_bytes(0, b"secret").unwrap();
    let out = attacker.sh(&format!("cat {}", q(&path)));
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("secret"));
    // truncate -s 0 killed both sides with SIGBUS when the file was theirs.
    let out = attacker.sh(&format!("truncate -s 0 {}", q(&path)));
    assert!(!out.status.success(), "the attacker shrank our file");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0x80000);
    shm.region().write_u32(0x80000 - 4, 7).unwrap();
    assert_eq!(shm.region().read_u32(0x80000 - 4).unwrap(), 7);
}

#[test]
fn a_stale_file_of_ours_another_user_holds_open_is_replaced_not_reused() {
    let attacker = Attacker::new();
    let shared = shared_dir(Path::new("/dev/shm"));
    let path = shared.join("openamp.shm");
    let go = shared.join("go");
    // Ours, but readable by all: what a careless earlier run might leave.
    std::fs::write(&path, b"old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let reader = attacker.spawn_sh(&format!(
        "exec 3< {p}; echo ready; while [ ! -e {g} ]; do sleep 0.02; done; \
         echo \"seen $(cat <&3)\"",
        p = q(&path),
        g = q(&go)
    ));
    reader.expect("ready", TIMEOUT);

    let shm = SharedMemory::open_or_create(&path, 0x1000).unwrap();
    shm.region().write_bytes(0, b"SECRET").unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600);
    std::fs::write(&go, b"").unwrap();
    let seen = reader.expect("seen ", TIMEOUT);
    assert_eq!(
        seen, "old",
        "the attacker's descriptor still shows the old file"
    );
    assert!(!attacker.sh(&format!("cat {}", q(&path))).status.success());
}

#[test]
fn a_private_dir_keeps_another_user_out() {
    let attacker = Attacker::new();
    // Even in a directory the attacker may write to.
    let shared = shared_dir(&std::env::temp_dir());
    let dir = PrivateDir::new_in(shared.path(), "openamp-rs-run-").unwrap();
    let config = LinuxProcessConfig::in_dir(dir.path());
    let shm = SharedMemory::open_or_create(&config.shm_path, 0x1000).unwrap();
    let name = dir.path().file_name().unwrap().to_str().unwrap().to_owned();
    assert!(!name.contains(&std::process::id().to_string()));
    for script in [
        format!("ls {}", q(dir.path())),
        format!("cat {}", q(&config.shm_path)),
        format!("ln -s /etc/passwd {}", q(&dir.join("x"))),
        format!("rm -f {}", q(&config.shm_path)),
        format!("mv {} {}", q(dir.path()), q(&shared.join("moved"))),
    ] {
        assert!(
            !attacker.sh(&script).status.success(),
            "the attacker could: {script}"
        );
    }
    assert!(config.shm_path.exists());
    drop(shm);
}

#[test]
fn the_host_refuses_a_listener_of_another_user() {
    let attacker = Attacker::new();
    let shared = shared_dir(&std::env::temp_dir());
    let path = shared.join("openamp.event.0");
    let l = attacker.spawn_role("listen", path.to_str().unwrap());
    l.expect("ready", TIMEOUT);
    match SocketNotifier::connect_timeout(&path, Duration::from_secs(5)) {
        Err(e @ Error::WrongPeer { .. }) => {
            let Error::WrongPeer { found, path: p, .. } = &e else {
                unreachable!()
            };
            assert_eq!(p, &path);
            assert_eq!(found.uid, attacker.uid);
            assert_eq!(found.pid, l.pid);
            assert!(e.to_string().contains(&format!("uid {}", attacker.uid)));
        }
        other => panic!("connected to the attacker: {other:?}"),
    }
    let config = LinuxProcessConfig {
        shm_path: shared.join("openamp.shm"),
        shm_size: 0x1000,
        socket_path: path.clone(),
    };
    assert!(matches!(
        config.host(Duration::from_secs(5)),
        Err(Error::WrongPeer { .. })
    ));
    // The attacker's socket is theirs to remove, not ours.
    assert!(path.exists());
}

#[test]
fn the_remote_accepts_only_a_process_of_its_own_user() {
    let attacker = Attacker::new();
    let shared = shared_dir(&std::env::temp_dir());
    let path = shared.join("openamp.event.0");
    let listener = SocketListener::bind(&path).unwrap();
    // Mode 0600 from the start: the attacker cannot even connect.
    assert_eq!(
        std::fs::symlink_metadata(&path).unwrap().mode() & 0o7777,
        0o600
    );
    let c = attacker.spawn_role("connect", path.to_str().unwrap());
    assert_eq!(c.expect("error ", TIMEOUT), "13", "EACCES");

    // Were the mode looser (as OpenAMP C's socket is, per umask), the
    // credentials still keep the attacker out.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let c = attacker.spawn_role("connect", path.to_str().unwrap());
    c.expect("connected", TIMEOUT);
    match listener.accept(Duration::from_millis(500)) {
        Err(Error::AcceptTimeout {
            refused: Some(cred),
            ..
        }) => assert_eq!((cred.uid, cred.pid), (attacker.uid, c.pid)),
        other => panic!("unexpected {other:?}"),
    }
    c.expect("eof", TIMEOUT);

    // The attacker connects again, then the real host: the host is taken.
    let c = attacker.spawn_role("connect", path.to_str().unwrap());
    c.expect("connected", TIMEOUT);
    let host_path = path.clone();
    let host = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        SocketNotifier::connect_timeout(&host_path, TIMEOUT).unwrap()
    });
    let remote = listener.accept(TIMEOUT).unwrap();
    let _host = host.join().unwrap();
    assert_eq!(remote.peer_cred().unwrap().uid, 0);
    assert_eq!(remote.peer_cred().unwrap().pid, std::process::id());
    c.expect("eof", TIMEOUT);
}

#[test]
fn connecting_to_a_full_backlog_gives_up_at_the_deadline() {
    let attacker = Attacker::new();
    let shared = shared_dir(&std::env::temp_dir());
    let path = shared.join("openamp.event.0");
    let l = attacker.spawn_role("listen-full", path.to_str().unwrap());
    l.expect("ready", TIMEOUT);

    let start = Instant::now();
    match SocketNotifier::connect_timeout(&path, Duration::from_millis(300)) {
        Err(Error::ConnectTimeout { path: p, .. }) => assert_eq!(p, path),
        other => panic!("unexpected {other:?}"),
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "connect blocked for {took:?}"
    );

    // The host side of the platform, likewise (its 10 s blocked for ever).
    let config = LinuxProcessConfig {
        shm_path: shared.join("openamp.shm"),
        shm_size: 0x1000,
        socket_path: path.clone(),
    };
    let start = Instant::now();
    assert!(matches!(
        config.host(Duration::from_millis(300)),
        Err(Error::ConnectTimeout { .. })
    ));
    assert!(start.elapsed() < Duration::from_secs(3));
    // And a remote does not take the path from the live listener.
    assert!(matches!(
        SocketListener::bind(&path),
        Err(Error::InUse { .. })
    ));
}

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

#[test]
fn a_kick_flood_costs_one_wake_up_per_write() {
    let attacker = Attacker::new();
    let (ours, theirs) = SocketNotifier::pair().unwrap();
    set_inheritable(&theirs, true).unwrap();
    let flood = attacker.spawn_role("flood", &theirs.as_raw_fd().to_string());
    drop(theirs);

    let cpu0 = thread_cpu();
    let start = Instant::now();
    let mut wake_ups = 0u64;
    loop {
        match ours.wait(TIMEOUT) {
            Ok(Some(_)) => wake_ups += 1,
            Ok(None) => panic!("the flood stopped without closing"),
            Err(MetalError::PeerClosed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    let cpu = thread_cpu() - cpu0;
    let wall = start.elapsed();
    let writes: u64 = flood.expect("wrote ", TIMEOUT).parse().unwrap();
    assert!(writes >= 10, "only {writes} writes");
    // 64 KiB per write: one byte at a time that was a thousand wake-ups
    // each; now one (two if a write lands in two parts).
    assert!(
        wake_ups <= 2 * writes + 10,
        "{wake_ups} wake-ups for {writes} writes"
    );
    assert!(
        cpu < Duration::from_millis(250),
        "{cpu:?} of CPU in {wall:?} for {writes} writes"
    );
}

#[test]
fn a_live_listener_is_never_replaced_and_only_its_own_file_is_removed() {
    let attacker = Attacker::new();
    let shared = shared_dir(&std::env::temp_dir());

    // Ours is alive: another instance (run as the attacker) cannot take it.
    let ours = shared.join("ours.sock");
    let listener = SocketListener::bind(&ours).unwrap();
    let b = attacker.spawn_role("bind-ours", ours.to_str().unwrap());
    let said = b.expect("bind ", TIMEOUT);
    assert!(said.starts_with("Err("), "{said}");
    let host = std::thread::spawn({
        let ours = ours.clone();
        move || SocketNotifier::connect_timeout(&ours, TIMEOUT).unwrap()
    });
    listener.accept(TIMEOUT).unwrap();
    host.join().unwrap();

    // The attacker's live socket: not replaced, not removed.
    let live = shared.join("live.sock");
    let l = attacker.spawn_role("listen", live.to_str().unwrap());
    l.expect("ready", TIMEOUT);
    assert!(matches!(
        SocketListener::bind(&live),
        Err(Error::InUse { path }) if path == live
    ));
    assert_eq!(
        std::fs::symlink_metadata(&live).unwrap().uid(),
        attacker.uid
    );

    // A dead one (its listener gone) is replaced after the probe.
    let dead = shared.join("dead.sock");
    let d = attacker.spawn_role("bind-and-exit", dead.to_str().unwrap());
    d.expect("ready", TIMEOUT);
    assert!(attacker.wait(&d, TIMEOUT).success());
    let replaced = SocketListener::bind(&dead).unwrap();
    assert_eq!(std::fs::symlink_metadata(&dead).unwrap().uid(), 0);
    drop(replaced);
    assert!(!dead.exists());

    // In a directory the attacker owns, they may swap our socket file for
    // theirs; our drop then leaves theirs alone.
    let theirs = shared.join("theirs");
    attacker.sh_ok(&format!("mkdir {d} && chmod 755 {d}", d = q(&theirs)));
    let path = theirs.join("openamp.event.0");
    let listener = SocketListener::bind(&path).unwrap();
    attacker.sh_ok(&format!("rm -f {}", q(&path)));
    let l = attacker.spawn_role("listen", path.to_str().unwrap());
    l.expect("ready", TIMEOUT);
    drop(listener);
    let meta = std::fs::symlink_metadata(&path).expect("the attacker's socket is still there");
    assert_eq!(meta.uid(), attacker.uid);
}
