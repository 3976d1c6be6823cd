#![doc = include_str!("../README.md")]

mod error;
mod fd;
pub mod notify;
mod shm;

pub use error::{Error, Result};
pub use fd::set_inheritable;
pub use notify::{EventFd, SocketListener, SocketNotifier, OPENAMP_EVENT_SOCKET};
pub use shm::{SharedMemory, OPENAMP_SHM_PATH};
