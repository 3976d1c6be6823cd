#![doc = include_str!("../README.md")]
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Every target we support is little-endian; the wire formats assume it.
#[cfg(not(target_endian = "little"))]
compile_error!("openamp-metal supports little-endian targets only");

pub mod cache;
mod error;
pub mod fmt;
pub mod io;
pub mod mutex;
pub mod notify;
pub mod sys;
pub mod time;

pub use cache::{CacheMaintenance, NoCache};
pub use error::Error;
pub use io::{IoAttr, IoRegion, PhysMap};
pub use mutex::{Mutex, MutexGuard};
pub use notify::{Notify, WaitNotify};
pub use sys::System;
pub use time::{Clock, Deadline};

/// `embedded-hal`'s delay trait, the way every layer sleeps.
pub use embedded_hal::delay::DelayNs;

/// The result type of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
