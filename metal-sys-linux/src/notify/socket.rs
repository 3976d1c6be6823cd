//! Notifications over AF_UNIX stream sockets, one byte per kick.
//!
//! This is how OpenAMP's "Linux process" platform signals: the remote listens
//! on a path such as [`OPENAMP_EVENT_SOCKET`], the host connects, and either
//! side writes a byte to kick the other. The value of the byte means nothing.

use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use openamp_metal::{Notify, WaitNotify};
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags};

use crate::error::{metal_os, Error, Result};
use crate::fd::wait_readable;

/// The socket path of OpenAMP's "Linux process" platform (notification 0).
pub const OPENAMP_EVENT_SOCKET: &str = "/tmp/openamp.event.0";

/// How often [`SocketNotifier::connect_timeout`] tries again.
const CONNECT_RETRY: Duration = Duration::from_millis(10);

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
    /// Connects to a listening socket at `path` (the host's side).
    pub fn connect(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let stream = UnixStream::connect(path).map_err(|e| Error::path(path, e))?;
        Self::from_stream(stream)
    }

    /// Connects to `path`, trying again while nobody listens there yet, for
    /// up to `timeout`; useful when both processes start at the same time.
    pub fn connect_timeout(path: impl AsRef<Path>, timeout: Duration) -> Result<Self> {
        let path = path.as_ref();
        let start = Instant::now();
        loop {
            match UnixStream::connect(path) {
                Ok(stream) => return Self::from_stream(stream),
                Err(e)
                    if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) =>
                {
                    let elapsed = start.elapsed();
                    if elapsed >= timeout {
                        return Err(Error::ConnectTimeout {
                            path: path.to_owned(),
                            timeout,
                            source: e,
                        });
                    }
                    std::thread::sleep(CONNECT_RETRY.min(timeout.saturating_sub(elapsed)));
                }
                Err(e) => return Err(Error::path(path, e)),
            }
        }
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

    /// Wraps a connected stream (making it non-blocking).
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
        // Take every pending kick at once (up to a buffer's worth), as they
        // all mean the same thing.
        let mut buf = [0u8; 64];
        loop {
            match rustix::net::recv(&self.stream, &mut buf[..], RecvFlags::DONTWAIT) {
                Ok((0, _)) => return Err(openamp_metal::Error::PeerClosed),
                Ok(_) => return Ok(Some(0)),
                Err(Errno::AGAIN) => return Ok(None),
                Err(Errno::INTR) => {}
                Err(e) => return Err(peer_error(e)),
            }
        }
    }

    fn wait(&self, timeout: Duration) -> openamp_metal::Result<Option<u32>> {
        super::wait_for_kick(&self.stream, timeout, || self.poll())
    }
}

/// A listening Unix socket at a path (the remote's side); the socket file is
/// removed when this is dropped.
#[derive(Debug)]
pub struct SocketListener {
    listener: UnixListener,
    path: PathBuf,
}

impl SocketListener {
    /// Listens at `path`. A socket file left there by a process that died is
    /// removed first; any other kind of file is left alone and the bind fails.
    pub fn bind(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if meta.file_type().is_socket() {
                std::fs::remove_file(path).map_err(|e| Error::path(path, e))?;
            }
        }
        let listener = UnixListener::bind(path).map_err(|e| Error::path(path, e))?;
        // Another thread may take a connection between our poll and accept;
        // a non-blocking accept then says so instead of hanging.
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::path(path, e))?;
        Ok(SocketListener {
            listener,
            path: path.to_owned(),
        })
    }

    /// Waits up to `timeout` for a peer to connect.
    pub fn accept(&self, timeout: Duration) -> Result<SocketNotifier> {
        let timed_out = || Error::AcceptTimeout {
            path: self.path.clone(),
            timeout,
        };
        let start = Instant::now();
        loop {
            let remaining = timeout.saturating_sub(start.elapsed());
            if !wait_readable(&self.listener, remaining).map_err(|e| Error::os("poll", e))? {
                return Err(timed_out());
            }
            match self.listener.accept() {
                Ok((stream, _)) => return SocketNotifier::from_stream(stream),
                // Taken by someone else, or the peer gave up: wait again.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock
                            | ErrorKind::Interrupted
                            | ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => return Err(Error::path(&self.path, e)),
            }
        }
    }

    /// The path this listens at.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AsFd for SocketListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }
}

impl Drop for SocketListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openamp_metal::Error as MetalError;

    fn unique_socket(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("openamp-rs-unit-{tag}-{}.sock", std::process::id()))
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
        let path = unique_socket("listen");
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
        let path = unique_socket("late");
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
        let path = unique_socket("nobody");
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
}
