//! Two real processes share memory and kick each other.
//!
//! Each test re-runs this test binary as its child (`--exact <test>`), with
//! the environment variable `OPENAMP_TEST_ROLE` telling the copy that it is the
//! child and where to find the shared memory and the notification channel.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use openamp_metal::{Error as MetalError, IoRegion, Notify, WaitNotify};
use openamp_metal_sys_linux::{
    set_inheritable, EventFd, PrivateDir, SharedMemory, SocketListener, SocketNotifier,
};

const ROLE: &str = "OPENAMP_TEST_ROLE";
/// Long enough for a loaded machine, short enough that a broken test ends.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Where the message of each side lives in the shared memory.
const HOST_LEN: usize = 0x100;
const HOST_MSG: usize = 0x104;
const REMOTE_LEN: usize = 0x200;
const REMOTE_MSG: usize = 0x204;

/// A child process that is killed if the test fails before it ended.
struct ChildGuard {
    child: Child,
    log: PathBuf,
    _dir: PrivateDir,
}

impl ChildGuard {
    fn spawn(test: &str, role: &str, env: &[(&str, String)]) -> Self {
        let dir = PrivateDir::new_in(std::env::temp_dir(), "openamp-rs-it-log-").unwrap();
        let log = dir.join(format!("{test}.log"));
        let out = File::create(&log).unwrap();
        let child = Command::new(std::env::current_exe().unwrap())
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(ROLE, role)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        ChildGuard {
            child,
            log,
            _dir: dir,
        }
    }

    /// Waits (boundedly) for the child and checks that it succeeded.
    fn finish(mut self) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(start.elapsed() < TIMEOUT, "child did not exit");
            std::thread::sleep(Duration::from_millis(10));
        };
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(status.success(), "child failed ({status}):\n{log}");
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("child output:\n{log}");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"))
}

fn put_message(region: IoRegion<'_>, len_at: usize, msg_at: usize, msg: &[u8]) {
    region.write_bytes(msg_at, msg).unwrap();
    // Release: the bytes must be visible before the length that announces them.
    region
        .store_u32(len_at, msg.len() as u32, Ordering::Release)
        .unwrap();
}

fn get_message(region: IoRegion<'_>, len_at: usize, msg_at: usize) -> Vec<u8> {
    // Acquire: pairs with the writer's release, so the bytes are complete.
    let len = region.load_u32(len_at, Ordering::Acquire).unwrap() as usize;
    assert!(len <= 0x40, "bad length {len}");
    let mut msg = vec![0; len];
    region.read_bytes(msg_at, &mut msg).unwrap();
    msg
}

/// The host (this process) connects to the remote (the child), which listens,
/// as in OpenAMP's Linux-process platform; memory is a file in /dev/shm.
#[test]
fn shm_file_and_unix_socket() {
    if std::env::var(ROLE).as_deref() == Ok("socket-remote") {
        return socket_remote();
    }
    // A fresh private directory: no other user can reach these paths.
    let dir = PrivateDir::new("openamp-rs-it-").unwrap();
    let shm_path = dir.join("openamp.shm");
    let sock_path = dir.join("openamp.event.0");

    let shm = SharedMemory::open_or_create(&shm_path, 0x1000).unwrap();
    let child = ChildGuard::spawn(
        "shm_file_and_unix_socket",
        "socket-remote",
        &[
            ("OPENAMP_TEST_SHM", shm_path.display().to_string()),
            ("OPENAMP_TEST_SOCK", sock_path.display().to_string()),
        ],
    );
    // The child may not be listening yet.
    let kick = SocketNotifier::connect_timeout(&sock_path, TIMEOUT).unwrap();

    put_message(shm.region(), HOST_LEN, HOST_MSG, b"hello from the host");
    kick.notify(0).unwrap();
    assert_eq!(kick.wait(TIMEOUT).unwrap(), Some(0));
    assert_eq!(
        get_message(shm.region(), REMOTE_LEN, REMOTE_MSG),
        b"tsoh eht morf olleh"
    );

    // The remote exits after its reply: both directions see it gone.
    assert_eq!(kick.wait(TIMEOUT), Err(MetalError::PeerClosed));
    assert_eq!(kick.notify(0), Err(MetalError::PeerClosed));
    child.finish();
}

fn socket_remote() {
    let shm = SharedMemory::open_or_create(env("OPENAMP_TEST_SHM"), 0x1000).unwrap();
    let listener = SocketListener::bind(env("OPENAMP_TEST_SOCK")).unwrap();
    let kick = listener.accept(TIMEOUT).unwrap();
    assert_eq!(kick.wait(TIMEOUT).unwrap(), Some(0));
    let mut msg = get_message(shm.region(), HOST_LEN, HOST_MSG);
    assert_eq!(msg, b"hello from the host");
    msg.reverse();
    put_message(shm.region(), REMOTE_LEN, REMOTE_MSG, &msg);
    kick.notify(0).unwrap();
}

/// The parent hands a memfd and two eventfds to its child by inheritance.
#[test]
fn memfd_and_inherited_eventfds() {
    if std::env::var(ROLE).as_deref() == Ok("eventfd-child") {
        return eventfd_child();
    }
    let shm = SharedMemory::memfd("openamp-rs-it", 0x4000).unwrap();
    let to_child = EventFd::new().unwrap();
    let from_child = EventFd::new().unwrap();
    let fds: [&dyn std::os::fd::AsFd; 3] = [&shm, &to_child, &from_child];
    for fd in fds {
        set_inheritable(fd, true).unwrap();
    }
    let child = ChildGuard::spawn(
        "memfd_and_inherited_eventfds",
        "eventfd-child",
        &[
            ("OPENAMP_TEST_MEMFD", shm.as_raw_fd().to_string()),
            ("OPENAMP_TEST_EV_TO", to_child.as_raw_fd().to_string()),
            ("OPENAMP_TEST_EV_FROM", from_child.as_raw_fd().to_string()),
        ],
    );
    // Children of other tests running meanwhile need not get them.
    for fd in fds {
        set_inheritable(fd, false).unwrap();
    }

    let r = shm.region();
    let pattern: Vec<u8> = (0..0x1000u32).map(|i| (i * 7 % 251) as u8).collect();
    r.write_bytes(0, &pattern).unwrap();
    r.store_u32(0x2000, 1, Ordering::Release).unwrap();
    to_child.notify(0).unwrap();

    assert_eq!(from_child.wait(TIMEOUT).unwrap(), Some(0));
    assert_eq!(r.load_u32(0x3000, Ordering::Acquire).unwrap(), 2);
    let mut back = vec![0; 0x1000];
    r.read_bytes(0x1000, &mut back).unwrap();
    assert!(back.iter().eq(pattern.iter().rev()));
    // Nothing else is pending.
    assert_eq!(from_child.poll().unwrap(), None);
    child.finish();
}

/// Takes ownership of a descriptor number inherited from the parent.
fn inherited(name: &str) -> OwnedFd {
    let fd: RawFd = env(name).parse().unwrap();
    // SAFETY: the parent made this descriptor inheritable for us and passed
    // its number; nothing else in this process knows of it, so this is its
    // only owner.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn eventfd_child() {
    let shm = SharedMemory::from_fd(inherited("OPENAMP_TEST_MEMFD")).unwrap();
    let to_child = EventFd::from_fd(inherited("OPENAMP_TEST_EV_TO")).unwrap();
    let from_child = EventFd::from_fd(inherited("OPENAMP_TEST_EV_FROM")).unwrap();
    assert_eq!(shm.size(), 0x4000);

    assert_eq!(to_child.wait(TIMEOUT).unwrap(), Some(0));
    let r = shm.region();
    assert_eq!(r.load_u32(0x2000, Ordering::Acquire).unwrap(), 1);
    let mut block = vec![0; 0x1000];
    r.read_bytes(0, &mut block).unwrap();
    for (i, b) in block.iter().enumerate() {
        assert_eq!(*b, (i as u32 * 7 % 251) as u8, "byte {i}");
    }
    block.reverse();
    r.write_bytes(0x1000, &block).unwrap();
    r.store_u32(0x3000, 2, Ordering::Release).unwrap();
    from_child.notify(0).unwrap();
}
