#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The wire format is little-endian and legacy virtio uses the CPU's order.
#[cfg(not(target_endian = "little"))]
compile_error!("openamp-virtio supports little-endian targets only");

mod device;
mod driver;
mod error;
pub mod loopback;
mod queue;
mod ring;
pub mod status;
pub mod transport;

pub use device::{Chain, ChainSegment, DeviceQueue, Segments};
pub use driver::{DriverQueue, UsedBuffer};
pub use error::Error;
pub use loopback::{Loopback, LoopbackEnd, Role};
pub use queue::{QueueConfig, Segment};
pub use ring::{
    need_event, VringLayout, MAX_QUEUE_SIZE, VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_INDIRECT,
    VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_USED_F_NO_NOTIFY,
};
pub use status::{
    DeviceStatus, STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_DRIVER_OK, STATUS_FAILED,
    STATUS_FEATURES_OK, STATUS_NEEDS_RESET, VIRTIO_RING_F_EVENT_IDX,
};
pub use transport::{Transport, VringInfo};

/// The result type of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(all(test, loom))]
mod loom_ring;
#[cfg(test)]
mod tests;
