//! Host platforms on Linux (feature `linux`).
//!
//! - [`LinuxProcessLayout`]: OpenAMP's "Linux process" platform, where the
//!   remote is an ordinary process sharing a file in `/dev/shm`; both sides'
//!   transports over it.
//! - [`LinuxProcessPlatform`]: [`RemoteprocOps`](crate::RemoteprocOps) that
//!   spawn, signal and reap the remote program.
//! - [`SysfsRemoteproc`]: the kernel's remoteproc through
//!   `/sys/class/remoteproc/remoteprocN/` (`firmware`, `state`).

mod layout;
mod process;
mod sysfs;

pub use layout::{LinuxProcessHost, LinuxProcessLayout, LinuxProcessRemote, VringSpec};
pub use process::{LinuxProcessPlatform, ENV_SHM_PATH, ENV_SOCKET_PATH, WRONG_LISTENER};
pub use sysfs::{SysfsRemoteproc, SYSFS_REMOTEPROC};

use alloc::string::{String, ToString};

use crate::Error;

/// Converts an error of the Linux backend, naming what was being done.
pub(crate) fn sys_error(op: impl Into<String>, e: openamp_metal_sys_linux::Error) -> Error {
    let reason = e.to_string();
    match openamp_metal::Error::from(e) {
        openamp_metal::Error::Os { errno } => Error::Os {
            op: op.into(),
            errno,
            reason,
        },
        other => Error::Metal(other),
    }
}
