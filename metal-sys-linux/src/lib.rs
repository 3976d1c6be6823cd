#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod fd;
pub mod linux_process;
pub mod notify;
mod private_dir;
mod shm;
mod time;
pub mod uio;

pub use error::{Error, Result};
pub use fd::set_inheritable;
pub use linux_process::{LinuxProcess, LinuxProcessConfig, OPENAMP_SHM_SIZE};
pub use notify::{EventFd, Peer, PeerCred, SocketListener, SocketNotifier, OPENAMP_EVENT_SOCKET};
pub use private_dir::PrivateDir;
pub use shm::{SharedMemory, OPENAMP_SHM_PATH};
pub use time::{LinuxDelay, LinuxSystem, MonotonicClock};
pub use uio::{UioDevice, UioIrq, UioMapInfo, UioPaths};
