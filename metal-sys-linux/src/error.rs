//! The error type of this crate.

use std::path::PathBuf;
use std::time::Duration;

use crate::notify::{Peer, PeerCred};

/// Everything that can go wrong while setting up Linux shared memory and
/// notifications.
///
/// Each variant names the file, device or index involved, so that the message
/// alone tells which part of the set-up failed. Trait methods of
/// `openamp_metal` ([`Notify`](openamp_metal::Notify),
/// [`WaitNotify`](openamp_metal::WaitNotify)) return [`openamp_metal::Error`]
/// instead; this type converts into it with `From`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the portability layer (region bounds, timeouts, a closed peer, ...).
    #[error(transparent)]
    Metal(#[from] openamp_metal::Error),

    /// A file, socket or device node could not be opened, created, sized or read.
    #[error("{path}: {source}")]
    Path {
        /// The path that was used.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// An operation on an already open descriptor failed.
    #[error("{op}: {source}")]
    Os {
        /// The operation (a system call name, mostly).
        op: &'static str,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A mapping was asked for, or found, with a size we cannot map.
    #[error("cannot map {size:#x} bytes: {reason}")]
    BadSize {
        /// The size in bytes.
        size: u64,
        /// Why it cannot be mapped.
        reason: &'static str,
    },

    /// No UIO device has this name under the sysfs root.
    #[error("no UIO device named {name:?} under {sysfs_dir}")]
    UioDeviceNotFound {
        /// The name that was looked for.
        name: String,
        /// The `class/uio` folder that was searched.
        sysfs_dir: PathBuf,
    },

    /// A UIO device has no memory map with this index.
    #[error("UIO device {device:?} has no map {index}")]
    UioMapNotFound {
        /// The device's name.
        device: String,
        /// The map index that was asked for.
        index: u32,
    },

    /// A sysfs attribute did not hold the number it should.
    #[error("{path}: cannot parse {value:?} as a number")]
    BadAttribute {
        /// The attribute file.
        path: PathBuf,
        /// What it held.
        value: String,
    },

    /// Nobody accepted a connection on a Unix socket before the timeout.
    #[error("could not connect to {path} within {timeout:?}: {source}")]
    ConnectTimeout {
        /// The socket path.
        path: PathBuf,
        /// How long we tried.
        timeout: Duration,
        /// The last error seen.
        #[source]
        source: std::io::Error,
    },

    /// No peer connected to a listening Unix socket before the timeout.
    #[error("no connection on {path} within {timeout:?}{}", refused_note(refused))]
    AcceptTimeout {
        /// The socket path.
        path: PathBuf,
        /// How long we waited.
        timeout: Duration,
        /// The last connection that was closed again because its
        /// credentials were not those expected, if any.
        refused: Option<PeerCred>,
    },

    /// A file where shared memory or a socket should be is not one that only
    /// this user controls: a symbolic link, something else than the kind of
    /// file expected, another user's, accessible to group or others, or a
    /// name of a file that has other names. Nothing was read from it or
    /// written to it.
    #[error("{path}: refused: {reason} (owner uid {uid}, mode {mode:o})")]
    Untrusted {
        /// The path.
        path: PathBuf,
        /// The owner of what is at the path (of the link itself, for a link).
        uid: u32,
        /// Its `st_mode`: file type and permission bits.
        mode: u32,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The process at the other end of a Unix socket is not the one we
    /// accept (another user, or not the process we started).
    #[error("{path}: the peer (pid {}, uid {}, gid {}) is not {expected}", found.pid, found.uid, found.gid)]
    WrongPeer {
        /// The socket path.
        path: PathBuf,
        /// Who we accept.
        expected: Peer,
        /// Who is there.
        found: PeerCred,
    },

    /// A live listener already has this socket path: it is left alone.
    #[error("{path}: a process is listening there already; not replaced")]
    InUse {
        /// The socket path.
        path: PathBuf,
    },
}

fn refused_note(refused: &Option<PeerCred>) -> String {
    match refused {
        Some(c) => format!(
            " (refused a connection from pid {}, uid {}, gid {})",
            c.pid, c.uid, c.gid
        ),
        None => String::new(),
    }
}

impl Error {
    pub(crate) fn path(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Path {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn os(op: &'static str, errno: rustix::io::Errno) -> Self {
        Error::Os {
            op,
            source: errno.into(),
        }
    }
}

impl From<Error> for openamp_metal::Error {
    /// Keeps the portability layer's own errors and reduces the rest to an
    /// `errno`, for code that only speaks `openamp_metal::Error`.
    fn from(e: Error) -> Self {
        let io = |source: &std::io::Error| openamp_metal::Error::Os {
            errno: source
                .raw_os_error()
                .unwrap_or(rustix::io::Errno::IO.raw_os_error()),
        };
        match e {
            Error::Metal(m) => m,
            Error::Path { source, .. } | Error::Os { source, .. } => io(&source),
            Error::ConnectTimeout { .. } | Error::AcceptTimeout { .. } => {
                openamp_metal::Error::Timeout
            }
            Error::BadSize { reason, .. } => openamp_metal::Error::InvalidRegion { reason },
            Error::UioDeviceNotFound { .. } | Error::UioMapNotFound { .. } => {
                openamp_metal::Error::Os {
                    errno: rustix::io::Errno::NODEV.raw_os_error(),
                }
            }
            Error::BadAttribute { .. } => openamp_metal::Error::Os {
                errno: rustix::io::Errno::INVAL.raw_os_error(),
            },
            Error::Untrusted { .. } | Error::WrongPeer { .. } => openamp_metal::Error::Os {
                errno: rustix::io::Errno::ACCESS.raw_os_error(),
            },
            Error::InUse { .. } => openamp_metal::Error::Os {
                errno: rustix::io::Errno::ADDRINUSE.raw_os_error(),
            },
        }
    }
}

/// Converts an OS error into the portability layer's error, as the
/// `openamp_metal` traits want it.
pub(crate) fn metal_os(errno: rustix::io::Errno) -> openamp_metal::Error {
    openamp_metal::Error::Os {
        errno: errno.raw_os_error(),
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
