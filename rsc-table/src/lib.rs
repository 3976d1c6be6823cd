#![doc = include_str!("../README.md")]
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(unsafe_code)]
#![deny(missing_docs, clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod builder;
#[cfg(feature = "elf")]
pub mod elf;
mod error;
pub mod layout;
mod parse;
mod write;

pub use builder::{Resource, TableHeader, VdevResource, VendorResource};
pub use error::{ElfField, Error, Field, Result};
pub use layout::{Carveout, Devmem, Header, Trace, Vdev, Vring};
pub use parse::{
    Entry, RawEntry, ResourceTable, TableEntry, VdevEntry, MAX_ENTRIES, MAX_NOTIFY_IDS,
    MAX_VRING_NUM,
};
pub use write::TableWriter;

/// What `resource_table!` expands to needs; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use openamp_metal;
}

/// Entry type of a carveout (memory the host allocates for the remote).
pub const RSC_CARVEOUT: u32 = 0;
/// Entry type of a device memory mapping.
pub const RSC_DEVMEM: u32 = 1;
/// Entry type of a trace buffer.
pub const RSC_TRACE: u32 = 2;
/// Entry type of a virtio device.
pub const RSC_VDEV: u32 = 3;
/// First vendor-specific entry type.
pub const RSC_VENDOR_START: u32 = 128;
/// Last vendor-specific entry type.
pub const RSC_VENDOR_END: u32 = 512;
/// "The host chooses" in a `da` or `pa` field.
pub const FW_RSC_ADDR_ANY: u32 = 0xFFFF_FFFF;
/// "The host assigns" in a `notifyid` field; never a duplicate.
pub const FW_RSC_NOTIFY_ID_ANY: u32 = 0xFFFF_FFFF;
/// The only table version there is.
pub const RSC_TABLE_VERSION: u32 = 1;
/// The ELF section a firmware keeps its table in.
pub const RESOURCE_TABLE_SECTION: &str = ".resource_table";
/// Virtio device id of RPMsg.
pub const VIRTIO_ID_RPMSG: u32 = 7;
/// RPMsg device feature (mask): the name service is available.
pub const VIRTIO_RPMSG_F_NS: u32 = 1 << 0;

/// Virtio device status bits, as found in a vdev's `status` byte.
///
/// Test bits, don't compare whole values: OpenAMP hosts write `DRIVER_OK`
/// alone, Linux writes `0x0F`.
pub mod status {
    /// The guest noticed the device.
    pub const ACKNOWLEDGE: u8 = 0x01;
    /// The guest knows how to drive the device.
    pub const DRIVER: u8 = 0x02;
    /// The driver is set up and ready.
    pub const DRIVER_OK: u8 = 0x04;
    /// Feature negotiation is complete.
    pub const FEATURES_OK: u8 = 0x08;
    /// The device needs a reset.
    pub const NEEDS_RESET: u8 = 0x40;
    /// The guest gave up on the device.
    pub const FAILED: u8 = 0x80;
}
