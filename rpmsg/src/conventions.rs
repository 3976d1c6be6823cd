//! How this side writes the points where real peers differ.
//!
//! The RPMsg and virtio specifications leave a few things open, and
//! OpenAMP C and Linux's `virtio_rpmsg_bus` fill them in differently. A
//! receiver must accept either way (this crate does, whatever its
//! [`Conventions`]); a sender should write what both accept, which is what
//! [`Conventions::default`] does. The other settings reproduce, on this
//! crate's own host and remote, what a particular peer writes, so that
//! tests can meet each real peer's conventions without running it:
//! [`Conventions::OPENAMP_C`], [`Conventions::LINUX`] and a few that no
//! well-known peer uses but the specification allows.

/// What a side writes where peers differ. See the [module](self) docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conventions {
    /// The bytes after the NUL of names this side announces.
    pub name_padding: NamePadding,
    /// What this side writes into the header's `reserved` field.
    pub reserved: Reserved,
    /// Host: the `len` written into transmit descriptors.
    pub tx_descriptor_len: TxDescriptorLen,
    /// Remote: the used `len` of the buffers it returns.
    pub used_len: UsedLen,
    /// Host: how the device status is written at start-up.
    pub status: StatusWrites,
    /// Whether this side asks the peer not to kick it where it does not need
    /// kicks: NO_INTERRUPT on the host's transmit ring, NO_NOTIFY on the
    /// remote's transmit ring, and the receive spin's temporary requests.
    /// Both OpenAMP C and Linux set them; a peer that never does must
    /// still be served.
    pub suppress_kicks: bool,
    /// Host: which transmit buffer is used next.
    pub tx_reuse: TxReuse,
    /// Host: take a returned transmit buffer's size from the used `len` the
    /// remote wrote, as OpenAMP C's host does (so a remote that returns
    /// `len` 0 leaves it no room at all). Off, the size is our own.
    pub tx_size_from_used_len: bool,
}

impl Default for Conventions {
    fn default() -> Self {
        Conventions::OURS
    }
}

impl Conventions {
    /// What this crate writes by default: accepted by OpenAMP C and by
    /// Linux, in both roles.
    pub const OURS: Conventions = Conventions {
        name_padding: NamePadding::Zeros,
        reserved: Reserved::Zero,
        tx_descriptor_len: TxDescriptorLen::WholeBuffer,
        used_len: UsedLen::Descriptor,
        status: StatusWrites::Stepwise,
        suppress_kicks: true,
        tx_reuse: TxReuse::FreshFirst,
        tx_size_from_used_len: false,
    };

    /// OpenAMP C (v2025.10.0) in either role: leftover bytes after a name's
    /// NUL, the descriptor index in `reserved`, whole-buffer descriptor and
    /// used lengths, DRIVER_OK written alone, returned transmit buffers
    /// reused before fresh ones, with their used `len` as their size.
    pub const OPENAMP_C: Conventions = Conventions {
        name_padding: NamePadding::Junk,
        reserved: Reserved::Junk,
        tx_descriptor_len: TxDescriptorLen::WholeBuffer,
        used_len: UsedLen::Descriptor,
        status: StatusWrites::DriverOkOnly,
        suppress_kicks: true,
        tx_reuse: TxReuse::ReturnedFirst,
        tx_size_from_used_len: true,
    };

    /// Linux's `virtio_rpmsg_bus` (a host only): NUL-padded names, message
    /// sizes in transmit descriptors, the status written step by step
    /// (0x0F), fresh buffers before returned ones.
    pub const LINUX: Conventions = Conventions {
        name_padding: NamePadding::Zeros,
        reserved: Reserved::Zero,
        tx_descriptor_len: TxDescriptorLen::Message,
        used_len: UsedLen::Descriptor,
        status: StatusWrites::Stepwise,
        suppress_kicks: true,
        tx_reuse: TxReuse::FreshFirst,
        tx_size_from_used_len: false,
    };
}

/// The bytes after a name's NUL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamePadding {
    /// Zeros (Linux, and what both accept).
    Zeros,
    /// Non-zero bytes, as OpenAMP C's leftover stack bytes.
    Junk,
}

/// The header's `reserved` field as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// Zero.
    Zero,
    /// Non-zero (OpenAMP C keeps a descriptor index and a hold count there).
    Junk,
}

/// The `len` of the host's transmit descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxDescriptorLen {
    /// The whole buffer (OpenAMP C's host): an OpenAMP C remote takes a
    /// buffer's size from it.
    WholeBuffer,
    /// Header plus payload (Linux's host).
    Message,
}

/// The used `len` a remote writes when it returns a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsedLen {
    /// The descriptor's `len`, for buffers it sent in and buffers it
    /// consumed (OpenAMP C's remote). OpenAMP C's host reuses that value as
    /// the returned buffer's size, so this is the only choice that works
    /// with it.
    Descriptor,
    /// Bytes written: header plus payload for a buffer sent in, 0 for a
    /// buffer only read (the virtio specification read literally).
    Written,
    /// Header plus payload, for buffers sent in and consumed alike.
    Message,
}

/// How the host writes the device status at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusWrites {
    /// Reset, ACKNOWLEDGE, DRIVER, FEATURES_OK, then DRIVER_OK: 0x0F in the
    /// end (Linux).
    Stepwise,
    /// DRIVER_OK alone, 0x04 (OpenAMP C's host).
    DriverOkOnly,
}

/// Which transmit buffer the host takes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxReuse {
    /// Buffers never used first, then the ones the remote returned (Linux).
    FreshFirst,
    /// A buffer the remote returned, as soon as it is back, before fresh
    /// ones (OpenAMP C).
    ReturnedFirst,
}

/// Junk for [`NamePadding::Junk`] and [`Reserved::Junk`]: fixed, so that a
/// test run is repeatable, and non-zero in every byte.
pub(crate) const JUNK: [u8; 4] = [0x15, 0xAD, 0x55, 0xC3];
