//! A second, unprivileged local user attacks the Linux host platforms
//! (issue 19): the process platform must not take another user's listener
//! for the remote it started, must notice its remote exiting instead of
//! waiting on a socket the attacker holds, must end everything it started
//! and reap it; the layout must not follow the attacker's links or use
//! their files; sysfs must not pass on the firmware names they choose.
//! The tests need root (to create the user) and fail without it.
#![cfg(feature = "linux")]

#[path = "../../metal-sys-linux/tests/attacker/mod.rs"]
mod attacker;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use attacker::{shared_dir, Attacker};
use openamp_metal::WaitNotify;
use openamp_metal_sys_linux::{PrivateDir, SharedMemory};
use openamp_remoteproc::linux::{
    LinuxProcessLayout, LinuxProcessPlatform, SysfsRemoteproc, WRONG_LISTENER,
};
use openamp_remoteproc::{Error, RemoteprocOps};

const TIMEOUT: Duration = Duration::from_secs(20);
const REMOTE_ENV: &str = "OPENAMP_RPROC_TEST_ATTACKED_REMOTE";

/// The attacker's side: run by the copies of this binary that the tests
/// start as the second user.
#[test]
#[ignore = "the attacker's side, run as the second user by the other tests"]
fn attacker_role() {
    if let Some((role, arg)) = attacker::role() {
        attacker::run_role(&role, &arg);
    }
}

/// A remote program: listens as OpenAMP's remote does and serves until the
/// host goes (and with `REMOTE_ENV=linger`, stays on after that, as a
/// hung or hostile remote would); exits with status 3 if it cannot set up.
#[test]
#[ignore = "the remote program the platform starts in these tests"]
fn remote_role() {
    let Some(mode) = std::env::var_os(REMOTE_ENV) else {
        return;
    };
    match LinuxProcessLayout::from_env().open_remote(TIMEOUT) {
        Ok(side) => loop {
            if let Err(openamp_metal::Error::PeerClosed) = side.kick.wait(TIMEOUT) {
                if mode == "linger" {
                    std::thread::sleep(Duration::from_secs(120));
                }
                return;
            }
        },
        Err(e) => {
            eprintln!("remote: {e}");
            std::process::exit(3);
        }
    }
}

fn remote_args() -> [&'static str; 5] {
    [
        "remote_role",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]
}

fn q(p: &Path) -> String {
    format!("'{}'", p.display())
}

/// Whether process `pid` is gone (or a zombie someone else has to reap).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// The pid a shell wrote into `file`.
fn read_pid(file: &Path) -> u32 {
    let start = Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(file) {
            if let Ok(pid) = s.trim().parse() {
                return pid;
            }
        }
        assert!(start.elapsed() < TIMEOUT, "no pid in {}", file.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Paths both users can reach (standing for `/dev/shm` and `/tmp`), and
/// our shared file there.
struct Setup {
    /// Kept for the test's length (removed with what is in it on drop).
    _shared: PrivateDir,
    layout: LinuxProcessLayout,
    shm: SharedMemory,
    mine: PrivateDir,
}

fn setup() -> Setup {
    let shared = shared_dir(Path::new("/dev/shm"));
    let layout = LinuxProcessLayout::in_dir(shared.path());
    let shm = SharedMemory::open_or_create(&layout.shm_path, layout.shm_size).unwrap();
    let mine = PrivateDir::new("openamp-rs-rproc-own-").unwrap();
    Setup {
        _shared: shared,
        layout,
        shm,
        mine,
    }
}

#[test]
fn start_refuses_another_users_listener_and_reaps_its_child() {
    let attacker = Attacker::new();
    let s = setup();
    let pid_file = s.mine.join("pid");
    let script = format!("echo $$ > {}; exec sleep 60", q(&pid_file));
    let mut p =
        LinuxProcessPlatform::new(s.layout.clone(), s.shm.region(), "/bin/sh", ["-c", &script]);
    let (result, child, l) = std::thread::scope(|scope| {
        // start() tries to connect while nobody listens yet ...
        let starting = scope.spawn(|| p.start());
        let child = read_pid(&pid_file);
        // ... and the attacker is quicker than the remote.
        let l = attacker.spawn_role("listen", s.layout.socket_path.to_str().unwrap());
        l.expect("ready", TIMEOUT);
        (starting.join().unwrap(), child, l)
    });
    match result {
        Err(Error::Platform { op, reason }) => {
            assert_eq!(op, WRONG_LISTENER);
            assert!(
                reason.contains(&format!("uid {}", attacker.uid)),
                "{reason}"
            );
        }
        other => panic!("started against the attacker's listener: {other:?}"),
    }
    assert!(p.kick().is_none() && p.pid().is_none());
    assert!(gone(child), "remote {child} reaped");
    assert!(p.exit_status().is_some_and(|s| !s.success()));
    // The attacker's listener saw our connection and lost it; theirs stays.
    l.expect("accepted", TIMEOUT);
    assert!(s.layout.socket_path.exists());
}

#[test]
fn start_reports_the_remote_exiting_when_another_user_holds_the_socket() {
    let attacker = Attacker::new();
    let s = setup();
    // A full backlog: a blocking connect waited there for ever.
    let l = attacker.spawn_role("listen-full", s.layout.socket_path.to_str().unwrap());
    l.expect("ready", TIMEOUT);
    let exe = std::env::current_exe().unwrap();
    let mut p = LinuxProcessPlatform::new(s.layout.clone(), s.shm.region(), exe, remote_args())
        .env(REMOTE_ENV, "1");
    let start = Instant::now();
    match p.start() {
        Err(Error::RemoteExited { status, .. }) => {
            assert!(status.contains("exit status: 3"), "{status}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "noticed after {took:?}");
    assert_eq!(p.exit_status().and_then(|s| s.code()), Some(3));
    assert!(p.pid().is_none());

    // Without the attacker, a program that exits at once is reported so.
    let mut p = LinuxProcessPlatform::new(
        s.layout.clone(),
        s.shm.region(),
        "/bin/sh",
        ["-c", "exit 7"],
    );
    match p.start() {
        Err(Error::RemoteExited { .. }) => {}
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(p.exit_status().and_then(|s| s.code()), Some(7));
}

#[test]
fn stop_ends_the_remotes_whole_group_even_if_it_ignores_sigterm() {
    let s = setup();
    let pid_file = s.mine.join("pid");
    let exe = std::env::current_exe().unwrap();
    // A remote started through a shell; both ignore SIGTERM, and the remote
    // stays on when the host goes.
    let script = format!(
        "trap '' TERM; \"$0\" {} & echo $! > {}; wait; wait",
        remote_args().join(" "),
        q(&pid_file)
    );
    let mut p = LinuxProcessPlatform::new(
        s.layout.clone(),
        s.shm.region(),
        "/bin/sh",
        ["-c", script.as_str(), exe.as_os_str().to_str().unwrap()],
    )
    .env(REMOTE_ENV, "linger");
    p.stop_timeout = Duration::from_millis(300);
    p.start().unwrap();
    let shell = p.pid().unwrap();
    let remote = read_pid(&pid_file);
    assert_ne!(shell, remote);
    assert!(!gone(remote));
    let start = Instant::now();
    p.stop().unwrap();
    assert!(start.elapsed() < Duration::from_secs(8));
    assert!(gone(shell), "the shell {shell} reaped");
    let start = Instant::now();
    while !gone(remote) {
        assert!(
            start.elapsed() < TIMEOUT,
            "the remote {remote} outlived stop()"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(p.exit_status().is_some_and(|s| !s.success()));
}

#[test]
fn open_remote_refuses_links_and_files_another_user_planted() {
    let attacker = Attacker::new();
    let shared = shared_dir(Path::new("/dev/shm"));
    let mine = PrivateDir::new("openamp-rs-rproc-own-").unwrap();
    let victim = mine.join("victim");
    std::fs::write(&victim, b"root only").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();

    let linked = LinuxProcessLayout::in_dir(shared.path());
    attacker.sh_ok(&format!("ln -s {} {}", q(&victim), q(&linked.shm_path)));
    let planted =
        LinuxProcessLayout::with_paths(shared.join("planted.shm"), shared.join("planted.sock"));
    attacker.sh_ok(&format!(
        "printf attacker > {p} && chmod 666 {p}",
        p = q(&planted.shm_path)
    ));
    for layout in [&linked, &planted] {
        match layout.open_remote(Duration::from_millis(100)) {
            Err(Error::Os { errno, reason, .. }) => {
                assert_eq!(errno, 13, "EACCES");
                assert!(reason.contains("refused"), "{reason}");
                assert!(
                    reason.contains(&format!("uid {}", attacker.uid)),
                    "{reason}"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!layout.socket_path.exists(), "refused before listening");
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"root only");
    assert_eq!(std::fs::read(&planted.shm_path).unwrap(), b"attacker");
}

#[test]
fn firmware_names_chosen_by_another_user_are_refused() {
    let attacker = Attacker::new();
    let shared = shared_dir(&std::env::temp_dir());
    // What an unprivileged user might ask a privileged loader to load.
    attacker.sh_ok(&format!(
        "cd {} && printf '../../../tmp/evil.elf' > up && printf 'lib/firmware/x' > slash \
         && printf '' > empty && printf 'echo.elf\\0.bak' > nul \
         && printf 'echo.elf\\nother.elf' > newline && printf '..' > dots \
         && printf 'echo.elf\\n' > trailing",
        q(shared.path())
    ));
    let sysfs = PrivateDir::new_in(std::env::temp_dir(), "openamp-rs-sysfs-").unwrap();
    let dir = sysfs.join("remoteproc0");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("state"), "offline\n").unwrap();
    std::fs::write(dir.join("firmware"), "rproc-fw\n").unwrap();
    let rproc = SysfsRemoteproc::new(sysfs.path(), 0).unwrap();

    let requests = ["up", "slash", "empty", "nul", "newline", "dots", "trailing"];
    for name in requests {
        let asked = String::from_utf8(std::fs::read(shared.join(name)).unwrap()).unwrap();
        match rproc.set_firmware(&asked) {
            Err(Error::BadAttribute { path, value }) => {
                assert_eq!(PathBuf::from(path), dir.join("firmware"));
                assert_eq!(value, asked);
            }
            other => panic!("{name} ({asked:?}): unexpected {other:?}"),
        }
        assert_eq!(rproc.firmware().unwrap(), "rproc-fw", "{name}");
    }
    rproc.set_firmware("echo-r5.elf").unwrap();
    assert_eq!(rproc.firmware().unwrap(), "echo-r5.elf");
}
