/// Everything that can go wrong in the RPMsg layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A payload does not fit in one buffer.
    #[error("payload of {len} bytes exceeds the buffer limit of {max} bytes")]
    TooLarge {
        /// The payload's length.
        len: usize,
        /// The most one buffer carries after its 16-byte header.
        max: usize,
    },
    /// No transmit buffer is free right now (non-blocking send).
    #[error("no transmit buffer is free")]
    WouldBlock,
    /// A blocking call ran out of time.
    #[error("timed out")]
    Timeout,
    /// The endpoint handle names no live endpoint (destroyed, or never made).
    #[error("no such endpoint (slot {slot})")]
    NoSuchEndpoint {
        /// The handle's slot.
        slot: u16,
    },
    /// A local endpoint already has this address.
    #[error("address {addr} is already in use")]
    AddressInUse {
        /// The address asked for.
        addr: u32,
    },
    /// The address is reserved (below 1024 and not asked for explicitly, or
    /// the name-service address 53).
    #[error("address {addr} is reserved")]
    ReservedAddress {
        /// The address asked for.
        addr: u32,
    },
    /// Every dynamic address is taken.
    #[error("no dynamic address left")]
    NoFreeAddress,
    /// Every endpoint slot is taken.
    #[error("all {max} endpoint slots are in use")]
    TooManyEndpoints {
        /// The number of slots.
        max: usize,
    },
    /// The endpoint has no peer address yet (nobody announced its name).
    #[error("endpoint {addr} has no destination yet")]
    NotBound {
        /// The endpoint's own address.
        addr: u32,
    },
    /// An endpoint name is longer than 31 bytes (the wire carries 32, and
    /// Linux keeps 31 and a NUL).
    #[error("endpoint name of {len} bytes is longer than 31")]
    NameTooLong {
        /// The name's length.
        len: usize,
    },
    /// An endpoint name contains a NUL byte, which would end it early.
    #[error("endpoint name has a NUL byte at {at}")]
    NameHasNul {
        /// Where the NUL is.
        at: usize,
    },
    /// The peer went away or restarted: its status lost DRIVER_OK, it asked
    /// for a reset, or its notification channel closed. The device must be
    /// set up anew.
    #[error("the peer reset or went away (status {status:#04x})")]
    PeerReset {
        /// The device status byte when this was noticed.
        status: u8,
    },
    /// The virtqueues reported an error (see [`openamp_virtio::Error`]).
    #[error("virtqueue: {0}")]
    Virtio(#[from] openamp_virtio::Error),
    /// The portability layer reported an error.
    #[error("{0}")]
    Metal(#[from] openamp_metal::Error),
    /// A buffer the transport offers is too small to carry even a header.
    #[error("buffer of {len} bytes cannot hold a 16-byte RPMsg header")]
    BufferTooSmall {
        /// The buffer's length.
        len: u32,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {what}")]
    InvalidConfig {
        /// What is wrong.
        what: &'static str,
    },
}
