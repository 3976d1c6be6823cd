#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

/// Device status: the guest noticed the device.
pub const STATUS_ACKNOWLEDGE: u8 = 0x01;
/// Device status: the guest has a driver for it.
pub const STATUS_DRIVER: u8 = 0x02;
/// Device status: the driver is ready.
pub const STATUS_DRIVER_OK: u8 = 0x04;
/// Device status: feature negotiation is complete.
pub const STATUS_FEATURES_OK: u8 = 0x08;
/// Device status: the device needs a reset.
pub const STATUS_NEEDS_RESET: u8 = 0x40;
/// Device status: the driver gave up on the device.
pub const STATUS_FAILED: u8 = 0x80;
