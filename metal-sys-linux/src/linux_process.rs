//! OpenAMP's "Linux process" platform: host and remote as two processes.
//!
//! Memory is a file in `/dev/shm` whose byte offsets are the "physical"
//! addresses; kicks are bytes on an AF_UNIX stream socket that the remote
//! listens on and the host connects to. The defaults are OpenAMP's, so either
//! side can talk to a C OpenAMP counterpart.
//!
//! Both sides must run as the same user: the file must be a regular file of
//! that user with mode 0600, and each side checks that the other end of the
//! socket is a process of that user (see the crate's README, "Threat
//! model"). Runs that need no fixed paths use [`LinuxProcessConfig::in_dir`]
//! with a [`PrivateDir`](crate::PrivateDir).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Result;
use crate::notify::{SocketListener, SocketNotifier, OPENAMP_EVENT_SOCKET};
use crate::shm::{SharedMemory, OPENAMP_SHM_PATH};

/// The size of OpenAMP's "Linux process" shared memory file.
pub const OPENAMP_SHM_SIZE: usize = 0x80000;

/// Where the two processes meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxProcessConfig {
    /// The shared memory file (default [`OPENAMP_SHM_PATH`]).
    pub shm_path: PathBuf,
    /// Its size in bytes (default [`OPENAMP_SHM_SIZE`]).
    pub shm_size: usize,
    /// The notification socket (default [`OPENAMP_EVENT_SOCKET`]).
    pub socket_path: PathBuf,
}

impl Default for LinuxProcessConfig {
    fn default() -> Self {
        LinuxProcessConfig {
            shm_path: PathBuf::from(OPENAMP_SHM_PATH),
            shm_size: OPENAMP_SHM_SIZE,
            socket_path: PathBuf::from(OPENAMP_EVENT_SOCKET),
        }
    }
}

/// One side of a Linux-process pair: the shared memory and the doorbell.
#[derive(Debug)]
pub struct LinuxProcess {
    /// The shared memory; a byte's physical address is its file offset.
    pub shm: SharedMemory,
    /// Kicks to and from the other process.
    pub kick: SocketNotifier,
    /// Kept so that the socket file exists as long as the remote does.
    _listener: Option<SocketListener>,
}

impl LinuxProcessConfig {
    /// OpenAMP's file names (`openamp.shm`, `openamp.event.0`) inside `dir`,
    /// e.g. a [`PrivateDir`](crate::PrivateDir): no other user can reach or
    /// pre-empt them there.
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        LinuxProcessConfig {
            shm_path: dir.join("openamp.shm"),
            socket_path: dir.join("openamp.event.0"),
            ..Self::default()
        }
    }

    /// Sets up the remote's side: opens (or creates) the memory, listens, and
    /// waits up to `timeout` for the host to connect.
    pub fn remote(&self, timeout: Duration) -> Result<LinuxProcess> {
        let shm = SharedMemory::open_or_create(&self.shm_path, self.shm_size)?;
        let listener = SocketListener::bind(&self.socket_path)?;
        let kick = listener.accept(timeout)?;
        Ok(LinuxProcess {
            shm,
            kick,
            _listener: Some(listener),
        })
    }

    /// Sets up the host's side: opens (or creates) the memory and connects,
    /// retrying for up to `timeout` while the remote is not listening yet.
    pub fn host(&self, timeout: Duration) -> Result<LinuxProcess> {
        let shm = SharedMemory::open_or_create(&self.shm_path, self.shm_size)?;
        let kick = SocketNotifier::connect_timeout(&self.socket_path, timeout)?;
        Ok(LinuxProcess {
            shm,
            kick,
            _listener: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openamp_metal::{Notify, WaitNotify};

    #[test]
    fn defaults_are_openamps() {
        let c = LinuxProcessConfig::default();
        assert_eq!(c.shm_path, PathBuf::from("/dev/shm/openamp.shm"));
        assert_eq!(c.shm_size, 0x80000);
        assert_eq!(c.socket_path, PathBuf::from("/tmp/openamp.event.0"));
    }

    #[test]
    fn host_and_remote_meet() {
        let dir = crate::PrivateDir::new("openamp-rs-unit-lp-").unwrap();
        let config = LinuxProcessConfig {
            shm_size: 0x20000,
            ..LinuxProcessConfig::in_dir(dir.path())
        };
        assert_eq!(config.shm_path, dir.join("openamp.shm"));
        let remote_config = config.clone();
        let remote = std::thread::spawn(move || {
            let remote = remote_config.remote(Duration::from_secs(10)).unwrap();
            remote.shm.region().write_u32(0x4000, 0xabcd).unwrap();
            remote.kick.notify(0).unwrap();
            assert_eq!(remote.kick.wait(Duration::from_secs(10)).unwrap(), Some(0));
        });
        let host = config.host(Duration::from_secs(10)).unwrap();
        assert_eq!(host.kick.wait(Duration::from_secs(10)).unwrap(), Some(0));
        let r = host.shm.region();
        assert_eq!(r.read_u32(0x4000).unwrap(), 0xabcd);
        assert_eq!(r.offset_to_phys(0x4000).unwrap(), 0x4000);
        host.kick.notify(0).unwrap();
        remote.join().unwrap();
        assert!(!config.socket_path.exists());
    }
}
