#![doc = include_str!("../README.md")]

mod error;
mod fd;
mod shm;

pub use error::{Error, Result};
pub use fd::set_inheritable;
pub use shm::{SharedMemory, OPENAMP_SHM_PATH};
