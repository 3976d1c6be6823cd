#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

/// Entry type of a carveout (memory the host allocates for the remote).
pub const RSC_CARVEOUT: u32 = 0;
/// Entry type of a device memory mapping.
pub const RSC_DEVMEM: u32 = 1;
/// Entry type of a trace buffer.
pub const RSC_TRACE: u32 = 2;
/// Entry type of a virtio device.
pub const RSC_VDEV: u32 = 3;
/// "The host chooses" in a `da` or `pa` field.
pub const FW_RSC_ADDR_ANY: u32 = 0xFFFF_FFFF;
/// The only table version there is.
pub const RSC_TABLE_VERSION: u32 = 1;
