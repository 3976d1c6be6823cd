//! Notifications over AF_UNIX stream sockets, one byte per kick.
//!
//! This is how OpenAMP's "Linux process" platform signals: the remote listens
//! on a path such as [`OPENAMP_EVENT_SOCKET`], the host connects, and either
//! side writes a byte to kick the other. The value of the byte means nothing.
//!
//! Who may be at the other end is checked on both sides (see the crate's
//! README, "Threat model"): the socket file is made mode 0600 before anyone
//! can connect, each end asks the kernel who the other is (`SO_PEERCRED`)
//! and accepts only a process of our own user (or the process it started,
//! [`Peer`]), connecting never blocks past its deadline, a live listener's
//! socket is never replaced, and a listener removes its socket file only if
//! the path still names it.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use openamp_metal::{Notify, WaitNotify};
use rustix::fs::{FileType, Mode};
use rustix::io::Errno;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketAddrUnix, SocketFlags, SocketType};
use rustix::process::Pid;

use crate::error::{metal_os, Error, Result};
use crate::fd::{euid, wait_readable};

/// The socket path of OpenAMP's "Linux process" platform (notification 0).
pub const OPENAMP_EVENT_SOCKET: &str = "/tmp/openamp.event.0";

/// How often a connect that found nobody (or a full backlog) tries again.
const CONNECT_RETRY: Duration = Duration::from_millis(10);

/// Connections a listener queues before `accept`.
const BACKLOG: i32 = 8;

/// Bytes taken per read when draining kicks.
const DRAIN_CHUNK: usize = 4096;

/// Reads per [`WaitNotify::poll`] at most: a peer that writes as fast as we
/// read cannot keep one call going (what is left wakes the next one).
const DRAIN_MAX_READS: usize = 64;

/// Who the kernel says is at the other end of a Unix socket
/// (`SO_PEERCRED`): for a connected end, the process that called `connect`;
/// for the host's end, the process that called `listen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    /// Its process id (0 if it is not visible in our pid namespace).
    pub pid: u32,
    /// Its effective user id.
    pub uid: u32,
    /// Its effective group id.
    pub gid: u32,
}

impl PeerCred {
    /// The credentials of the other end of a connected Unix socket.
    pub fn of(socket: impl AsFd) -> Result<Self> {
        let fd = socket.as_fd();
        let mut cred = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: `cred` and `len` are live locals of the size passed, which
        // is what SO_PEERCRED writes (a `struct ucred`); the kernel writes
        // no more than `len` bytes and checks `fd` itself. (rustix's own
        // wrapper cannot hold the pid 0 reported for a peer outside our pid
        // namespace, hence libc.)
        let r = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        };
        if r != 0 {
            return Err(Error::Os {
                op: "getsockopt(SO_PEERCRED)",
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(PeerCred {
            pid: u32::try_from(cred.pid).unwrap_or(0),
            uid: cred.uid,
            gid: cred.gid,
        })
    }
}

/// Who may be at the other end of a socket: always a process of our own
/// effective user, and maybe a particular one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Peer {
    /// Any process of our effective user (the default of
    /// [`SocketNotifier::connect_timeout`] and [`SocketListener::accept`]).
    SameUser,
    /// Exactly this process (and of our user).
    Process(u32),
    /// A process of our user in this process group: the group of a child
    /// started in a group of its own, whose id is the child's pid, so that
    /// a remote started through a shell passes too. Another user cannot
    /// put a process into that group (groups do not cross sessions).
    ProcessGroup(u32),
}

impl Peer {
    /// Whether a peer with these credentials is acceptable.
    pub fn allows(&self, cred: &PeerCred) -> bool {
        if cred.uid != euid() {
            return false;
        }
        match *self {
            Peer::SameUser => true,
            Peer::Process(pid) => pid != 0 && cred.pid == pid,
            Peer::ProcessGroup(pgid) => {
                pgid != 0 && (cred.pid == pgid || process_group(cred.pid) == Some(pgid))
            }
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uid = euid();
        match self {
            Peer::SameUser => write!(f, "a process of uid {uid}"),
            Peer::Process(pid) => write!(f, "process {pid} of uid {uid}"),
            Peer::ProcessGroup(g) => write!(f, "a process of uid {uid} in process group {g}"),
        }
    }
}

/// The process group of `pid`, if it (still) exists.
fn process_group(pid: u32) -> Option<u32> {
    let pid = Pid::from_raw(i32::try_from(pid).ok()?)?;
    rustix::process::getpgid(Some(pid))
        .ok()
        .map(|g| g.as_raw_pid() as u32)
}

fn unix_addr(path: &Path) -> Result<SocketAddrUnix> {
    SocketAddrUnix::new(path).map_err(|e| Error::path(path, e.into()))
}

fn new_socket(path: &Path) -> Result<OwnedFd> {
    rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )
    .map_err(|e| Error::path(path, e.into()))
}

/// One non-blocking connect. `Ok(None)`: nobody to connect to yet (no
/// file, nobody listening, or a full backlog), worth trying again.
fn try_connect(addr: &SocketAddrUnix) -> Result<Option<OwnedFd>, Errno> {
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    loop {
        match rustix::net::connect(&fd, addr) {
            Ok(()) => return Ok(Some(fd)),
            Err(Errno::INTR) => {}
            // AF_UNIX reports a full backlog as EAGAIN on a non-blocking
            // socket; it never connects in the background.
            Err(Errno::NOENT | Errno::CONNREFUSED | Errno::AGAIN | Errno::INPROGRESS) => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        }
    }
}

/// One end of a connected Unix stream socket, used as a two-way doorbell.
///
/// A peer that closes its end is reported as
/// [`Error::PeerClosed`](openamp_metal::Error::PeerClosed) by `wait`, `poll`
/// and `notify` (after any kicks it sent before closing were taken). Sending
/// never raises `SIGPIPE`.
#[derive(Debug)]
pub struct SocketNotifier {
    stream: UnixStream,
}

impl SocketNotifier {
    /// Connects to a listening socket at `path` (the host's side), once and
    /// without waiting; the listener must be a process of our user.
    pub fn connect(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let addr = unix_addr(path)?;
        let fd = new_socket(path)?;
        loop {
            match rustix::net::connect(&fd, &addr) {
                Ok(()) => break,
                Err(Errno::INTR) => {}
                Err(e) => return Err(Error::path(path, e.into())),
            }
        }
        Self::checked(path, fd, Peer::SameUser)
    }

    /// Connects to `path`, trying again while nobody listens there yet (or
    /// its backlog is full), for up to `timeout`; useful when both processes
    /// start at the same time. The listener must be a process of our user.
    pub fn connect_timeout(path: impl AsRef<Path>, timeout: Duration) -> Result<Self> {
        Self::connect_to(path, timeout, Peer::SameUser)
    }

    /// Connects to `path` as [`connect_timeout`](Self::connect_timeout)
    /// does, accepting only `peer` as the listener: a listener that is not
    /// is [`Error::WrongPeer`] at once (the connection is closed). No call
    /// blocks: the whole takes at most about `timeout`.
    pub fn connect_to(path: impl AsRef<Path>, timeout: Duration, peer: Peer) -> Result<Self> {
        let path = path.as_ref();
        let addr = unix_addr(path)?;
        let start = Instant::now();
        loop {
            match try_connect(&addr) {
                Ok(Some(fd)) => return Self::checked(path, fd, peer),
                Ok(None) => {}
                Err(e) => return Err(Error::path(path, e.into())),
            }
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                return Err(Error::ConnectTimeout {
                    path: path.to_owned(),
                    timeout,
                    source: std::io::Error::from(std::io::ErrorKind::TimedOut),
                });
            }
            std::thread::sleep(CONNECT_RETRY.min(timeout - elapsed));
        }
    }

    /// Wraps a connected socket after checking who is at the other end.
    fn checked(path: &Path, fd: OwnedFd, peer: Peer) -> Result<Self> {
        let found = PeerCred::of(&fd)?;
        if !peer.allows(&found) {
            return Err(Error::WrongPeer {
                path: path.to_owned(),
                expected: peer,
                found,
            });
        }
        Self::from_fd(fd)
    }

    /// Two connected ends, for kicks between threads of one process or a
    /// child that inherits one end.
    pub fn pair() -> Result<(Self, Self)> {
        let (a, b) = UnixStream::pair().map_err(|source| Error::Os {
            op: "socketpair",
            source,
        })?;
        Ok((Self::from_stream(a)?, Self::from_stream(b)?))
    }

    /// Wraps a connected stream (making it non-blocking). Nothing is
    /// checked: the caller knows where it came from.
    pub fn from_stream(stream: UnixStream) -> Result<Self> {
        stream.set_nonblocking(true).map_err(|source| Error::Os {
            op: "fcntl(F_SETFL)",
            source,
        })?;
        Ok(SocketNotifier { stream })
    }

    /// Wraps a descriptor of a connected Unix stream socket, e.g. one
    /// inherited from a parent.
    pub fn from_fd(fd: OwnedFd) -> Result<Self> {
        Self::from_stream(UnixStream::from(fd))
    }

    /// Who is at the other end (`SO_PEERCRED`).
    pub fn peer_cred(&self) -> Result<PeerCred> {
        PeerCred::of(&self.stream)
    }

    /// Gives back the stream (still non-blocking).
    pub fn into_stream(self) -> UnixStream {
        self.stream
    }
}

impl AsFd for SocketNotifier {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

impl AsRawFd for SocketNotifier {
    fn as_raw_fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }
}

/// Maps the errors that mean "the other end is gone".
fn peer_error(e: Errno) -> openamp_metal::Error {
    match e {
        Errno::PIPE | Errno::CONNRESET | Errno::NOTCONN => openamp_metal::Error::PeerClosed,
        e => metal_os(e),
    }
}

impl Notify for SocketNotifier {
    fn notify(&self, _id: u32) -> openamp_metal::Result<()> {
        // NOSIGNAL: a closed peer must be an error, not a dead process.
        let flags = SendFlags::NOSIGNAL | SendFlags::DONTWAIT;
        loop {
            match rustix::net::send(&self.stream, &[1], flags) {
                Ok(_) => return Ok(()),
                // The socket buffer is full of kicks the peer has not read
                // yet; it will wake anyway, so this one can go.
                Err(Errno::AGAIN) => return Ok(()),
                Err(Errno::INTR) => {}
                Err(e) => return Err(peer_error(e)),
            }
        }
    }
}

impl WaitNotify for SocketNotifier {
    fn poll(&self) -> openamp_metal::Result<Option<u32>> {
        // Every pending byte means the same thing: take them all (until
        // EAGAIN), so that however much the peer wrote, it wakes us once.
        // A kick flood then costs us one wake-up per write of the peer.
        let mut buf = [0u8; DRAIN_CHUNK];
        let mut kicked = false;
        let mut reads = 0;
        while reads < DRAIN_MAX_READS {
            match rustix::net::recv(&self.stream, &mut buf[..], RecvFlags::DONTWAIT) {
                // End of file: report the kicks before it first, as they
                // came; the next call reports the closed peer.
                Ok((0, _)) if kicked => break,
                Ok((0, _)) => return Err(openamp_metal::Error::PeerClosed),
                Ok(_) => {
                    kicked = true;
                    reads += 1;
                }
                Err(Errno::AGAIN) => break,
                Err(Errno::INTR) => {}
                // Reported by the next call; this one has kicks.
                Err(_) if kicked => break,
                Err(e) => return Err(peer_error(e)),
            }
        }
        Ok(kicked.then_some(0))
    }

    fn wait(&self, timeout: Duration) -> openamp_metal::Result<Option<u32>> {
        super::wait_for_kick(&self.stream, timeout, || self.poll())
    }
}

/// A listening Unix socket at a path (the remote's side).
///
/// The socket file is made with mode 0600 (before `bind`, so there is no
/// moment at which another user could connect), and `accept` takes only a
/// process of our user. The file is removed when this is dropped, if the
/// path still names it.
#[derive(Debug)]
pub struct SocketListener {
    listener: UnixListener,
    path: PathBuf,
    /// The socket file made by `bind`, to know it again.
    dev: u64,
    ino: u64,
}

impl SocketListener {
    /// Listens at `path`, with the socket file mode 0600.
    ///
    /// A socket file already at `path` is replaced only if a connect probe
    /// says nobody listens on it any more (a process that died, or OpenAMP
    /// C's remote, which leaves it behind); a live one is
    /// [`Error::InUse`] and left alone. Any other kind of file is left alone
    /// and the bind fails.
    pub fn bind(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let addr = unix_addr(path)?;
        let mut attempts = 0;
        let fd = loop {
            let fd = new_socket(path)?;
            // The file bind makes takes the socket's mode (less the umask):
            // 0600 from its first moment on.
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o600))
                .map_err(|e| Error::path(path, e.into()))?;
            match rustix::net::bind(&fd, &addr) {
                Ok(()) => break fd,
                Err(Errno::ADDRINUSE) if attempts < 4 => {
                    attempts += 1;
                    remove_if_dead(path, &addr)?;
                }
                Err(e) => return Err(Error::path(path, e.into())),
            }
        };
        let st = rustix::fs::lstat(path).map_err(|e| Error::path(path, e.into()))?;
        let reason = if FileType::from_raw_mode(st.st_mode) != FileType::Socket {
            Some("not a socket")
        } else if st.st_uid != euid() {
            Some("owned by another user")
        } else if st.st_mode & 0o077 != 0 {
            Some("group or others may connect")
        } else {
            None
        };
        if let Some(reason) = reason {
            // Not what bind made (or a kernel that ignores the socket's
            // mode): never listen there.
            return Err(Error::Untrusted {
                path: path.to_owned(),
                uid: st.st_uid,
                mode: st.st_mode,
                reason,
            });
        }
        let listener = SocketListener {
            listener: UnixListener::from(fd),
            path: path.to_owned(),
            dev: st.st_dev,
            ino: st.st_ino,
        };
        rustix::net::listen(&listener.listener, BACKLOG)
            .map_err(|e| Error::path(path, e.into()))?;
        Ok(listener)
    }

    /// Waits up to `timeout` for a process of our user to connect.
    pub fn accept(&self, timeout: Duration) -> Result<SocketNotifier> {
        self.accept_from(timeout, Peer::SameUser)
    }

    /// Waits up to `timeout` for `peer` to connect. Anyone else who
    /// connects meanwhile is disconnected at once (and named in the
    /// timeout's error if nobody right came); so is a connection whose peer
    /// already left (a probe of another [`bind`](Self::bind)).
    pub fn accept_from(&self, timeout: Duration, peer: Peer) -> Result<SocketNotifier> {
        let mut refused = None;
        let start = Instant::now();
        loop {
            let remaining = timeout.saturating_sub(start.elapsed());
            if !wait_readable(&self.listener, remaining).map_err(|e| Error::os("poll", e))? {
                return Err(Error::AcceptTimeout {
                    path: self.path.clone(),
                    timeout,
                    refused,
                });
            }
            let fd = match rustix::net::accept_with(
                &self.listener,
                SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            ) {
                Ok(fd) => fd,
                // Taken by someone else, or the peer gave up: wait again.
                Err(Errno::AGAIN | Errno::INTR | Errno::CONNABORTED) => continue,
                Err(e) => return Err(Error::path(&self.path, e.into())),
            };
            let cred = PeerCred::of(&fd)?;
            if !peer.allows(&cred) {
                refused = Some(cred);
                continue;
            }
            let mut b = [0u8; 1];
            if let Ok((0, _)) =
                rustix::net::recv(&fd, &mut b, RecvFlags::PEEK | RecvFlags::DONTWAIT)
            {
                continue;
            }
            return SocketNotifier::from_fd(fd);
        }
    }

    /// The path this listens at.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Removes the socket file at `path` if a connect probe finds nobody
/// listening; a live listener is [`Error::InUse`].
fn remove_if_dead(path: &Path, addr: &SocketAddrUnix) -> Result<()> {
    let st = match rustix::fs::lstat(path) {
        Ok(st) => st,
        // Gone meanwhile: bind again.
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(Error::path(path, e.into())),
    };
    if FileType::from_raw_mode(st.st_mode) != FileType::Socket {
        return Err(Error::path(
            path,
            std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        ));
    }
    let probe = new_socket(path)?;
    let dead = loop {
        match rustix::net::connect(&probe, addr) {
            Err(Errno::INTR) => {}
            Err(Errno::CONNREFUSED) => break true,
            Err(Errno::NOENT) => return Ok(()),
            // Connected, or a full backlog: somebody listens.
            Ok(()) | Err(Errno::AGAIN | Errno::INPROGRESS) => break false,
            Err(e) => return Err(Error::path(path, e.into())),
        }
    };
    drop(probe);
    if !dead {
        return Err(Error::InUse {
            path: path.to_owned(),
        });
    }
    // Only the file the probe found dead.
    match rustix::fs::lstat(path) {
        Ok(now) if now.st_dev == st.st_dev && now.st_ino == st.st_ino => {
            match rustix::fs::unlink(path) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(Error::path(path, e.into())),
            }
        }
        _ => Ok(()),
    }
}

impl AsFd for SocketListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }
}

impl Drop for SocketListener {
    fn drop(&mut self) {
        // Only our own file: if another listener has the path now (ours was
        // removed and a new one bound), it stays.
        if let Ok(st) = rustix::fs::lstat(&self.path) {
            if st.st_dev == self.dev && st.st_ino == self.ino {
                let _ = rustix::fs::unlink(&self.path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openamp_metal::Error as MetalError;

    use crate::PrivateDir;

    /// A socket path in a fresh private directory (kept alive by the
    /// caller).
    fn private_socket(tag: &str) -> (PrivateDir, PathBuf) {
        let dir = PrivateDir::new_in(std::env::temp_dir(), "openamp-rs-unit-").unwrap();
        let path = dir.join(format!("{tag}.sock"));
        (dir, path)
    }

    #[test]
    fn kicks_cross_a_pair_both_ways() {
        let (a, b) = SocketNotifier::pair().unwrap();
        assert_eq!(b.poll().unwrap(), None);
        a.notify(1).unwrap();
        a.notify(2).unwrap();
        assert_eq!(b.wait(Duration::from_secs(5)).unwrap(), Some(0));
        assert_eq!(b.poll().unwrap(), None);
        b.notify(0).unwrap();
        assert_eq!(a.poll().unwrap(), Some(0));
    }

    #[test]
    fn wait_times_out_in_time() {
        let (a, _b) = SocketNotifier::pair().unwrap();
        let start = Instant::now();
        assert_eq!(a.wait(Duration::from_millis(50)).unwrap(), None);
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(50), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn a_closed_peer_is_reported_by_wait_poll_and_notify() {
        let (a, b) = SocketNotifier::pair().unwrap();
        b.notify(0).unwrap();
        drop(b);
        // The kick sent before closing is still delivered first.
        assert_eq!(a.poll().unwrap(), Some(0));
        assert_eq!(a.wait(Duration::from_secs(5)), Err(MetalError::PeerClosed));
        assert_eq!(a.poll(), Err(MetalError::PeerClosed));
        assert_eq!(a.notify(0), Err(MetalError::PeerClosed));
    }

    #[test]
    fn a_full_socket_buffer_does_not_block_notify() {
        let (a, _b) = SocketNotifier::pair().unwrap();
        for _ in 0..1_000_000 {
            a.notify(0).unwrap();
        }
    }

    #[test]
    fn listen_accept_and_connect() {
        let (_dir, path) = private_socket("listen");
        let listener = SocketListener::bind(&path).unwrap();
        assert_eq!(listener.path(), path);
        let client_path = path.clone();
        let t = std::thread::spawn(move || {
            let c = SocketNotifier::connect_timeout(&client_path, Duration::from_secs(10)).unwrap();
            c.notify(0).unwrap();
            c
        });
        let server = listener.accept(Duration::from_secs(10)).unwrap();
        let client = t.join().unwrap();
        assert_eq!(server.wait(Duration::from_secs(5)).unwrap(), Some(0));
        server.notify(0).unwrap();
        assert_eq!(client.wait(Duration::from_secs(5)).unwrap(), Some(0));
        drop(listener);
        assert!(!path.exists());
    }

    #[test]
    fn connect_waits_for_a_late_listener_and_bind_replaces_a_stale_socket() {
        let (_dir, path) = private_socket("late");
        // A socket file nobody listens on any more.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let client_path = path.clone();
        let t = std::thread::spawn(move || {
            SocketNotifier::connect_timeout(&client_path, Duration::from_secs(10))
        });
        std::thread::sleep(Duration::from_millis(50));
        let listener = SocketListener::bind(&path).unwrap();
        let _server = listener.accept(Duration::from_secs(10)).unwrap();
        t.join().unwrap().unwrap();
    }

    #[test]
    fn timeouts_name_the_path() {
        let (_dir, path) = private_socket("nobody");
        let start = Instant::now();
        match SocketNotifier::connect_timeout(&path, Duration::from_millis(50)) {
            Err(Error::ConnectTimeout { path: p, .. }) => assert_eq!(p, path),
            other => panic!("unexpected {other:?}"),
        }
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert!(matches!(
            SocketNotifier::connect(&path),
            Err(Error::Path { .. })
        ));
        let listener = SocketListener::bind(&path).unwrap();
        match listener.accept(Duration::from_millis(30)) {
            Err(Error::AcceptTimeout { path: p, .. }) => assert_eq!(p, path),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bind_leaves_regular_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-a-socket");
        std::fs::write(&path, b"keep me").unwrap();
        assert!(matches!(
            SocketListener::bind(&path),
            Err(Error::Path { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
    }

    #[test]
    fn the_socket_file_is_0600_and_each_end_knows_the_other() {
        use std::os::unix::fs::MetadataExt;
        let (_dir, path) = private_socket("creds");
        let listener = SocketListener::bind(&path).unwrap();
        assert_eq!(
            std::fs::symlink_metadata(&path).unwrap().mode() & 0o7777,
            0o600
        );
        let me = std::process::id();
        let host =
            SocketNotifier::connect_to(&path, Duration::from_secs(5), Peer::Process(me)).unwrap();
        let remote = listener
            .accept_from(
                Duration::from_secs(5),
                Peer::ProcessGroup(rustix::process::getpgrp().as_raw_pid() as u32),
            )
            .unwrap();
        for end in [&host, &remote] {
            let c = end.peer_cred().unwrap();
            assert_eq!((c.pid, c.uid), (me, euid()));
        }
        // Not the process asked for: refused, the connection closed.
        match SocketNotifier::connect_to(&path, Duration::from_secs(5), Peer::Process(me + 1)) {
            Err(Error::WrongPeer { found, .. }) => assert_eq!(found.pid, me),
            other => panic!("unexpected {other:?}"),
        }
        assert!(!Peer::SameUser.allows(&PeerCred {
            pid: me,
            uid: euid().wrapping_add(1),
            gid: 0,
        }));
    }

    #[test]
    fn one_poll_takes_every_pending_kick() {
        let (a, b) = SocketNotifier::pair().unwrap();
        for _ in 0..100_000 {
            a.notify(0).unwrap();
        }
        // However many were written, one wake-up takes them (up to the
        // per-call bound, far above what a socket buffer holds of them).
        assert_eq!(b.poll().unwrap(), Some(0));
        assert_eq!(b.poll().unwrap(), None);
        drop(a);
        assert_eq!(b.poll(), Err(MetalError::PeerClosed));
    }

    #[test]
    fn a_live_listener_is_not_replaced_and_drop_spares_a_newer_socket() {
        let (_dir, path) = private_socket("live");
        let first = SocketListener::bind(&path).unwrap();
        // A second instance finds the first one alive and leaves it be.
        assert!(matches!(
            SocketListener::bind(&path),
            Err(Error::InUse { path: p }) if p == path
        ));
        let c = SocketNotifier::connect_timeout(&path, Duration::from_secs(5)).unwrap();
        // The second bind's probe, which went away at once, is skipped.
        let s = first.accept(Duration::from_secs(5)).unwrap();
        c.notify(0).unwrap();
        assert_eq!(s.wait(Duration::from_secs(5)).unwrap(), Some(0));

        // Someone removes the file and listens anew at the path: dropping
        // the first listener leaves the second one's file.
        std::fs::remove_file(&path).unwrap();
        let second = SocketListener::bind(&path).unwrap();
        drop(first);
        assert!(path.exists());
        let _c = SocketNotifier::connect_timeout(&path, Duration::from_secs(5)).unwrap();
        let _s = second.accept(Duration::from_secs(5)).unwrap();
        drop(second);
        assert!(!path.exists());
    }
}
