//! A second, unprivileged local user for the tests that play an attacker.
//!
//! [`Attacker::new`] creates a user with a unique name (`useradd`), and
//! dropping it kills what was started as that user and removes the user
//! (`userdel`), however the test ends. Creating users needs root: without
//! it the test fails, saying so (CI runs as root); it never passes quietly.
//!
//! The attacker acts through `sh -c` ([`Attacker::sh`],
//! [`Attacker::spawn_sh`]) or by running this test binary again as that
//! user ([`Attacker::spawn_role`]): the copy runs the ignored test
//! `attacker_role`, which calls [`role`] to learn what to do.
//!
//! Shared by the integration tests of `openamp-metal-sys-linux` and
//! `openamp-remoteproc` (included there by `#[path]`).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openamp_metal_sys_linux::PrivateDir;

/// The environment variable that tells a copy of the test binary which
/// attacker action to run.
pub const ROLE_ENV: &str = "OPENAMP_TEST_ATTACKER_ROLE";

/// The prefix of the users these tests create.
const PREFIX: &str = "oaatk";

/// `useradd` and `userdel` lock the account files; one at a time here,
/// and retried when another program holds the lock.
static ACCOUNTS: Mutex<()> = Mutex::new(());

/// The action a copy of the test binary started by
/// [`Attacker::spawn_role`] should run, with its argument, if this process
/// is such a copy.
pub fn role() -> Option<(String, String)> {
    let r = std::env::var(ROLE_ENV).ok()?;
    let arg = std::env::var("OPENAMP_TEST_ATTACKER_ARG").unwrap_or_default();
    Some((r, arg))
}

/// Fails the test unless it runs as root, which it needs to create and
/// remove the second user.
pub fn require_root() {
    let euid = rustix::process::geteuid().as_raw();
    assert!(
        euid == 0,
        "this test plays a second, unprivileged local user against our code and needs root \
         to create and remove that user (useradd/userdel): run it as root, as CI does \
         (running as uid {euid})"
    );
}

/// A second local user, removed on drop.
pub struct Attacker {
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its (own) group's gid.
    pub gid: u32,
    /// What was started as this user, killed and reaped on drop.
    kids: Mutex<Vec<Child>>,
    /// This test binary, where the attacker may run it.
    exe: PathBuf,
    /// A copy of the binary, if the original is out of the user's reach.
    _exe_dir: Option<PrivateDir>,
}

impl Attacker {
    /// Creates the user (the test fails without root).
    pub fn new() -> Attacker {
        require_root();
        let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        sweep_stale_users();
        let mut rnd = [0u8; 3];
        rustix::rand::getrandom(&mut rnd, rustix::rand::GetRandomFlags::empty()).unwrap();
        let name = format!(
            "{PREFIX}{}x{:02x}{:02x}{:02x}",
            std::process::id(),
            rnd[0],
            rnd[1],
            rnd[2]
        );
        accounts(&[
            "useradd",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/bin/sh",
            "--user-group",
            &name,
        ])
        .unwrap_or_else(|e| panic!("useradd {name}: {e}"));
        let (uid, gid) = lookup(&name).unwrap_or_else(|| panic!("{name} was not created"));
        assert_ne!(uid, 0);
        let (exe, exe_dir) = reachable_exe(uid, gid);
        Attacker {
            name,
            uid,
            gid,
            kids: Mutex::new(Vec::new()),
            exe,
            _exe_dir: exe_dir,
        }
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        // std drops the supplementary groups when root sets a uid.
        c.uid(self.uid)
            .gid(self.gid)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("HOME", "/")
            .current_dir("/")
            .stdin(Stdio::null());
        c
    }

    /// Runs `script` with `sh -c` as the attacker and waits for it.
    pub fn sh(&self, script: &str) -> Output {
        self.command("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("running sh as the attacker")
    }

    /// Like [`sh`](Self::sh), and the script must succeed.
    pub fn sh_ok(&self, script: &str) -> String {
        let out = self.sh(script);
        assert!(
            out.status.success(),
            "attacker script failed ({}): {script}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `script` with `sh -c` as the attacker, in its own process
    /// group, without waiting.
    pub fn spawn_sh(&self, script: &str) -> Lines {
        let mut c = self.command("/bin/sh");
        c.arg("-c").arg(script);
        self.spawn(c)
    }

    /// Runs this test binary again as the attacker, where the ignored test
    /// `attacker_role` runs action `role` with `arg` (see [`role`] and
    /// [`run_role`]). A descriptor made inheritable before the call is
    /// passed by its number in `arg`.
    pub fn spawn_role(&self, role: &str, arg: &str) -> Lines {
        let mut c = self.command(&self.exe);
        c.args([
            "attacker_role",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE_ENV, role)
        .env("OPENAMP_TEST_ATTACKER_ARG", arg);
        self.spawn(c)
    }

    fn spawn(&self, mut c: Command) -> Lines {
        c.process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = c.spawn().expect("starting a process as the attacker");
        let pid = child.id();
        let lines = Lines::new(child.stdout.take().unwrap(), pid);
        self.kids.lock().unwrap().push(child);
        lines
    }

    /// Kills everything started as the attacker (by pid, and the process
    /// group each leads) and reaps it.
    pub fn kill_all(&self) {
        let mut kids = self.kids.lock().unwrap_or_else(|e| e.into_inner());
        for kid in kids.iter_mut() {
            if let Some(pid) = rustix::process::Pid::from_raw(kid.id() as i32) {
                // Not reaped yet, so the group id is still this child's.
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            let _ = kid.kill();
            let _ = kid.wait();
        }
        kids.clear();
    }

    /// Waits (at most `timeout`) for the child `lines` came from to exit;
    /// its exit status.
    pub fn wait(&self, lines: &Lines, timeout: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            {
                let mut kids = self.kids.lock().unwrap();
                let kid = kids
                    .iter_mut()
                    .find(|k| k.id() == lines.pid)
                    .expect("a child of this attacker");
                if let Some(status) = kid.try_wait().unwrap() {
                    return status;
                }
            }
            assert!(
                start.elapsed() < timeout,
                "attacker process {} did not end",
                lines.pid
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.kill_all();
        let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let mut result = accounts(&["userdel", &self.name]);
        if result.is_err() {
            // Its processes (if any escaped) keep userdel from working.
            result = accounts(&["userdel", "--force", &self.name]);
        }
        let gone = lookup(&self.name).is_none();
        if !gone && !std::thread::panicking() {
            panic!("could not remove the test user {}: {result:?}", self.name);
        } else if !gone {
            eprintln!("could not remove the test user {}: {result:?}", self.name);
        }
    }
}

/// Runs `useradd`/`userdel`, retrying while the account files are locked
/// by another program (exit codes 1 and 10) or the user still has
/// processes that are going away (8).
fn accounts(args: &[&str]) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..100 {
        let out = Command::new(args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}", args[0]))?;
        if out.status.success() {
            return Ok(());
        }
        last = format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr));
        match out.status.code() {
            Some(1 | 8 | 10) => std::thread::sleep(Duration::from_millis(100)),
            _ => break,
        }
    }
    Err(last)
}

/// uid and gid of `name`, from the password file.
fn lookup(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() > 3 && f[0] == name {
            Some((f[2].parse().ok()?, f[3].parse().ok()?))
        } else {
            None
        }
    })
}

/// Removes users of earlier runs that died before their drop could (their
/// creating process, named in the user's name, is gone).
fn sweep_stale_users() {
    let Ok(passwd) = std::fs::read_to_string("/etc/passwd") else {
        return;
    };
    for line in passwd.lines() {
        let name = line.split(':').next().unwrap_or("");
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some((pid, _)) = rest.split_once('x') else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = accounts(&["userdel", "--force", name]);
        }
    }
}

/// This test binary, or a copy of it in a directory the user may enter if
/// it lies somewhere the user cannot reach (a checkout under `/root`).
fn reachable_exe(uid: u32, gid: u32) -> (PathBuf, Option<PrivateDir>) {
    let exe = std::env::current_exe().unwrap();
    let others_may = |p: &Path, bits: u32| {
        std::fs::metadata(p)
            .map(|m| {
                let mode = m.mode();
                (m.uid() == uid && mode & (bits << 6) == bits << 6)
                    || (m.gid() == gid && mode & (bits << 3) == bits << 3)
                    || mode & bits == bits
            })
            .unwrap_or(false)
    };
    let reachable =
        others_may(&exe, 0o5) && exe.ancestors().skip(1).all(|dir| others_may(dir, 0o1));
    if reachable {
        return (exe, None);
    }
    let dir = PrivateDir::new_in(std::env::temp_dir(), "openamp-rs-attacker-exe-").unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.join("test-binary");
    std::fs::copy(&exe, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    (copy, Some(dir))
}

/// A directory anyone may create files in, sticky like `/tmp` and
/// `/dev/shm` (so only a file's owner, or root, may remove it): where the
/// tests put the paths both users can reach, instead of the real fixed
/// paths. Made in `parent` (`/dev/shm` or the temporary directory), removed
/// with everything in it on drop.
pub fn shared_dir(parent: &Path) -> PrivateDir {
    let dir = PrivateDir::new_in(parent, "openamp-rs-shared-").unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    dir
}

/// The standard output of a process started as the attacker, line by line.
pub struct Lines {
    rx: Receiver<String>,
    /// The process.
    pub pid: u32,
}

impl Lines {
    fn new(out: ChildStdout, pid: u32) -> Lines {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines { rx, pid }
    }

    /// Waits up to `timeout` for a line that starts with `prefix`; the
    /// rest of it.
    pub fn expect(&self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_string();
                    }
                }
                Err(e) => panic!(
                    "attacker process {} printed no {prefix:?} line: {e}",
                    self.pid
                ),
            }
        }
    }
}

/// The attacker's actions, run by the copy of the test binary (as the
/// second user) that [`Attacker::spawn_role`] starts. Each prints `ready`
/// once set up. `arg` is a path, or a descriptor number for `flood`.
///
/// - `listen`: listens at `arg` with a plain socket anyone may connect to,
///   prints `accepted` for every connection and keeps it open;
/// - `listen-full`: listens at `arg` with a backlog of 0 and fills the
///   backlog with a connection of its own, then waits;
/// - `bind-and-exit`: listens at `arg` and exits, leaving a dead socket file;
/// - `connect`: connects to `arg`, printing `connected` or `error <errno>`,
///   then `eof` when the other side closes;
/// - `bind-ours`: runs this crate's `SocketListener::bind(arg)`, printing
///   `bind <result>`;
/// - `flood`: writes 64 KiB every 10 ms to the socket `arg` (an inherited
///   descriptor) for a second, then prints `wrote <writes>` and exits.
pub fn run_role(role: &str, arg: &str) {
    use std::io::{Read, Write};
    use std::os::fd::FromRawFd;
    use std::os::unix::net::{UnixListener, UnixStream};
    let ready = || {
        println!("ready");
        std::io::stdout().flush().unwrap();
    };
    let say = |s: String| {
        println!("{s}");
        std::io::stdout().flush().unwrap();
    };
    // libtest has printed "test attacker_role ... " without a newline.
    say(String::new());
    let open_to_all = |path: &str| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
    };
    match role {
        "listen" => {
            let l = UnixListener::bind(arg).unwrap();
            open_to_all(arg);
            ready();
            let mut held = Vec::new();
            for c in l.incoming() {
                held.push(c.unwrap());
                say("accepted".into());
            }
        }
        "listen-full" => {
            use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
            let fd = rustix::net::socket(AddressFamily::UNIX, SocketType::STREAM, None).unwrap();
            let addr = SocketAddrUnix::new(arg).unwrap();
            rustix::net::bind(&fd, &addr).unwrap();
            open_to_all(arg);
            rustix::net::listen(&fd, 0).unwrap();
            // Queue connections until the kernel says the backlog is full.
            let mut queued = Vec::new();
            loop {
                let c = rustix::net::socket_with(
                    AddressFamily::UNIX,
                    SocketType::STREAM,
                    SocketFlags::NONBLOCK,
                    None,
                )
                .unwrap();
                match rustix::net::connect(&c, &addr) {
                    Ok(()) => queued.push(c),
                    Err(rustix::io::Errno::AGAIN) => break,
                    Err(e) => panic!("{e}"),
                }
            }
            say(format!("queued {}", queued.len()));
            ready();
            std::thread::sleep(Duration::from_secs(120));
        }
        "bind-and-exit" => {
            let _l = UnixListener::bind(arg).unwrap();
            open_to_all(arg);
            ready();
        }
        "connect" => match UnixStream::connect(arg) {
            Ok(mut s) => {
                say("connected".into());
                let _ = s.write_all(b"kick");
                let mut buf = [0u8; 64];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                say("eof".into());
            }
            Err(e) => say(format!("error {}", e.raw_os_error().unwrap_or(0))),
        },
        "bind-ours" => {
            let r = openamp_metal_sys_linux::SocketListener::bind(arg);
            say(format!("bind {r:?}"));
        }
        "flood" => {
            let fd: i32 = arg.parse().unwrap();
            // SAFETY: the test made this descriptor inheritable for this
            // process and passed its number; nothing else here owns it.
            let mut s = unsafe { UnixStream::from_raw_fd(fd) };
            s.set_nonblocking(false).unwrap();
            let chunk = vec![0x55u8; 64 * 1024];
            let mut writes = 0;
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(1) {
                if s.write_all(&chunk).is_err() {
                    break;
                }
                writes += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            say(format!("wrote {writes}"));
        }
        other => panic!("unknown attacker role {other:?}"),
    }
}
