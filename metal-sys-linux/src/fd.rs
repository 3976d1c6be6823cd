//! Small helpers around file descriptors shared by the other modules.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::OFlags;
use rustix::io::{Errno, FdFlags};

use crate::error::{Error, Result};

/// Our effective user id: the owner a shared file or socket must have, and
/// the user a peer must run as.
pub(crate) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Lets a descriptor survive `exec` (or not), so that a child process can be
/// handed a memfd or an eventfd by number.
///
/// Everything this crate opens is close-on-exec, so that no descriptor leaks
/// into unrelated children; call this just before spawning the child that
/// should inherit `fd`, and pass the number (`as_raw_fd()`) to it, e.g. in an
/// environment variable. Other children spawned meanwhile by other threads
/// inherit it too.
pub fn set_inheritable(fd: impl AsFd, inheritable: bool) -> Result<()> {
    let mut flags = rustix::io::fcntl_getfd(&fd).map_err(|e| Error::os("fcntl(F_GETFD)", e))?;
    flags.set(FdFlags::CLOEXEC, !inheritable);
    rustix::io::fcntl_setfd(&fd, flags).map_err(|e| Error::os("fcntl(F_SETFD)", e))
}

/// Waits until a read from `fd` would not block (data, end of file or an
/// error are all "readable"), or until `timeout` passed.
///
/// Returns whether `fd` became readable. Signals do not cut the wait short:
/// `EINTR` restarts it with the time that is left.
pub(crate) fn wait_readable(fd: impl AsFd, timeout: Duration) -> Result<bool, Errno> {
    // A timeout too large for `Instant` is as good as forever; it is the
    // caller's explicit choice, so we honour it in finite chunks.
    let deadline = Instant::now().checked_add(timeout);
    loop {
        let remaining = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        };
        let ts = Timespec::try_from(remaining).unwrap_or(Timespec {
            tv_sec: i64::MAX,
            tv_nsec: 0,
        });
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => {
                if remaining.is_zero() {
                    return Ok(false);
                }
                // The kernel may round the timeout; look at our own clock again.
            }
            Ok(_) => {
                if fds[0].revents().contains(PollFlags::NVAL) {
                    return Err(Errno::BADF);
                }
                return Ok(true);
            }
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Puts a descriptor in non-blocking mode; it may be shared with another
/// process, which then sees the same flag (harmless for our channels, whose
/// users all poll before reading).
pub(crate) fn set_nonblocking(fd: impl AsFd) -> Result<()> {
    let flags = rustix::fs::fcntl_getfl(&fd).map_err(|e| Error::os("fcntl(F_GETFL)", e))?;
    rustix::fs::fcntl_setfl(&fd, flags | OFlags::NONBLOCK)
        .map_err(|e| Error::os("fcntl(F_SETFL)", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn wait_readable_times_out_then_sees_data() {
        let (a, b) = UnixStream::pair().unwrap();
        let start = Instant::now();
        assert!(!wait_readable(&a, Duration::from_millis(30)).unwrap());
        assert!(start.elapsed() >= Duration::from_millis(30));
        std::io::Write::write_all(&mut &b, b"x").unwrap();
        assert!(wait_readable(&a, Duration::from_secs(5)).unwrap());
        assert!(wait_readable(&a, Duration::ZERO).unwrap());
    }

    #[test]
    fn inheritable_toggles_cloexec() {
        let (a, _b) = UnixStream::pair().unwrap();
        set_inheritable(&a, true).unwrap();
        assert!(!rustix::io::fcntl_getfd(&a)
            .unwrap()
            .contains(FdFlags::CLOEXEC));
        set_inheritable(&a, false).unwrap();
        assert!(rustix::io::fcntl_getfd(&a)
            .unwrap()
            .contains(FdFlags::CLOEXEC));
    }
}
