#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

/// Size of the header before every payload.
pub const HEADER_LEN: usize = 16;
/// Default buffer size, header included.
pub const DEFAULT_BUFFER_SIZE: usize = 512;
/// The name-service endpoint address.
pub const NS_ADDR: u32 = 53;
/// "Any address" when creating an endpoint.
pub const ADDR_ANY: u32 = 0xFFFF_FFFF;
/// First address handed out dynamically.
pub const FIRST_DYNAMIC_ADDR: u32 = 1024;
