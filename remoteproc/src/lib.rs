#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![deny(missing_docs, clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(all(feature = "std", not(test)))]
extern crate std;

// The wire formats are little-endian, as every supported target is.
#[cfg(not(target_endian = "little"))]
compile_error!("openamp-remoteproc supports little-endian targets only");

pub mod elf;
mod error;
pub mod mem;
mod memory;
pub mod ops;
pub mod remote;
mod rproc;
pub mod rsc;
pub mod state;
pub mod store;
pub mod trace;
pub mod vdev;

#[cfg(feature = "linux")]
pub mod linux;

pub use error::{Error, Result};
pub use mem::{AddressSpace, Allocation, Mapping, MemPool, MemoryMap};
pub use memory::MemoryPlatform;
pub use ops::{OpsNotifier, RemoteprocOps};
pub use rproc::Remoteproc;
pub use state::State;
pub use store::{ImageStore, SliceStore};
pub use trace::{TraceBuffer, TraceReader};
pub use vdev::{Role, VdevTransport};
