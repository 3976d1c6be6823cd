#![doc = include_str!("../README.md")]
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod buffer;
pub mod conventions;
mod device;
mod endpoint;
mod error;
mod queues;
#[cfg(feature = "async")]
mod recv_future;
mod wait;
pub mod wire;

pub use buffer::{RxBuffer, TxBuffer};
pub use conventions::Conventions;
pub use device::{Config, Role, RpmsgDevice, RpmsgOps, Stats, DEFAULT_SEND_TIMEOUT, DEFAULT_SPIN};
pub use endpoint::{BindCallback, Callback, EndpointConfig, EndpointId, UnbindCallback};
pub use error::Error;
#[cfg(feature = "async")]
pub use recv_future::Recv;
pub use wait::{BusyWait, NotifyWait, Wait};
pub use wire::{Name, ADDR_ANY, NS_ADDR};

/// The result type of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests;
