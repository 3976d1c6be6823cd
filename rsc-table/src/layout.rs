//! Byte layouts of the resource table, field for field as remoteproc defines them.
//!
//! Every type here is `#[repr(C)]` with plain `u32`/`u8` fields and no padding,
//! so [`zerocopy`] can read it from bytes by value and write it back. All
//! targets are little-endian (checked at compile time), so a native `u32` is
//! the wire's `le32`. Each entry type includes its leading `type` word (named
//! `kind` here), so an entry's struct is exactly its bytes in the table.

use core::mem::{offset_of, size_of};

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

// Native u32 fields stand for the wire's little-endian words.
#[cfg(not(target_endian = "little"))]
compile_error!("openamp-rsc-table supports little-endian targets only");

/// Length of the `name` field of carveout, devmem and trace entries.
pub const NAME_LEN: usize = 32;

/// The table header: `ver`, `num`, two reserved words.
///
/// `num` offsets (`u32` each) follow it, one per entry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Header {
    /// Table version; only [`RSC_TABLE_VERSION`](crate::RSC_TABLE_VERSION) exists.
    pub ver: u32,
    /// Number of entries (and of offsets after the header).
    pub num: u32,
    /// Reserved, zero.
    pub reserved: [u32; 2],
}

/// A carveout: memory the host allocates (or finds at `pa`) for the remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Carveout {
    /// Entry type, [`RSC_CARVEOUT`](crate::RSC_CARVEOUT).
    pub kind: u32,
    /// Device address as the remote sees it, or `FW_RSC_ADDR_ANY`.
    pub da: u32,
    /// Physical address, filled by the host, or `FW_RSC_ADDR_ANY`.
    pub pa: u32,
    /// Length in bytes.
    pub len: u32,
    /// IOMMU protection flags.
    pub flags: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// NUL-padded name.
    pub name: [u8; NAME_LEN],
}

/// A device memory mapping the remote needs (same layout as a carveout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Devmem {
    /// Entry type, [`RSC_DEVMEM`](crate::RSC_DEVMEM).
    pub kind: u32,
    /// Device address as the remote sees it.
    pub da: u32,
    /// Physical address of the device memory.
    pub pa: u32,
    /// Length in bytes.
    pub len: u32,
    /// IOMMU protection flags.
    pub flags: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// NUL-padded name.
    pub name: [u8; NAME_LEN],
}

/// A trace buffer the remote writes its log into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Trace {
    /// Entry type, [`RSC_TRACE`](crate::RSC_TRACE).
    pub kind: u32,
    /// Device address of the buffer.
    pub da: u32,
    /// Length of the buffer in bytes.
    pub len: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// NUL-padded name.
    pub name: [u8; NAME_LEN],
}

/// The fixed part of a virtio device entry.
///
/// `num_of_vrings` [`Vring`]s follow it, then `config_len` bytes of config space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Vdev {
    /// Entry type, [`RSC_VDEV`](crate::RSC_VDEV).
    pub kind: u32,
    /// Virtio device id ([`VIRTIO_ID_RPMSG`](crate::VIRTIO_ID_RPMSG) = 7 for RPMsg).
    pub id: u32,
    /// Notify id of the device itself (config changes).
    pub notifyid: u32,
    /// Features the device offers.
    pub dfeatures: u32,
    /// Features the host accepted, written by the host.
    pub gfeatures: u32,
    /// Length of the config space after the vrings.
    pub config_len: u32,
    /// Virtio device status, written by the host (see [`status`](crate::status)).
    pub status: u8,
    /// Number of vring entries that follow.
    pub num_of_vrings: u8,
    /// Reserved, zero.
    pub reserved: [u8; 2],
}

/// One vring of a virtio device entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Vring {
    /// Device address of the ring, or `FW_RSC_ADDR_ANY` for "host chooses".
    pub da: u32,
    /// Alignment of the used ring.
    pub align: u32,
    /// Number of descriptors (a power of two).
    pub num: u32,
    /// Notify id of this ring.
    pub notifyid: u32,
    /// Reserved in the kernel's layout; OpenAMP keeps the physical address here.
    pub pa: u32,
}

/// Size of [`Header`].
pub const HEADER_SIZE: usize = 16;
/// Size of [`Carveout`] and [`Devmem`].
pub const CARVEOUT_SIZE: usize = 56;
/// Size of [`Trace`].
pub const TRACE_SIZE: usize = 48;
/// Size of [`Vdev`] (without its vrings and config space).
pub const VDEV_SIZE: usize = 28;
/// Size of [`Vring`].
pub const VRING_SIZE: usize = 20;

const _: () = {
    assert!(size_of::<Header>() == HEADER_SIZE);
    assert!(size_of::<Carveout>() == CARVEOUT_SIZE);
    assert!(size_of::<Devmem>() == CARVEOUT_SIZE);
    assert!(size_of::<Trace>() == TRACE_SIZE);
    assert!(size_of::<Vdev>() == VDEV_SIZE);
    assert!(size_of::<Vring>() == VRING_SIZE);
    // Field positions the writer relies on.
    assert!(offset_of!(Vdev, gfeatures) == 16);
    assert!(offset_of!(Vdev, status) == 24);
    assert!(offset_of!(Vdev, num_of_vrings) == 25);
    assert!(offset_of!(Carveout, pa) == 8);
    assert!(offset_of!(Vring, notifyid) == 12);
};

/// Offset of `gfeatures` in a vdev entry.
pub const VDEV_GFEATURES: usize = offset_of!(Vdev, gfeatures);
/// Offset of `dfeatures` in a vdev entry.
pub const VDEV_DFEATURES: usize = offset_of!(Vdev, dfeatures);
/// Offset of `status` in a vdev entry.
pub const VDEV_STATUS: usize = offset_of!(Vdev, status);
/// Offset of `num_of_vrings` in a vdev entry.
pub const VDEV_NUM_OF_VRINGS: usize = offset_of!(Vdev, num_of_vrings);
/// Offset of `config_len` in a vdev entry.
pub const VDEV_CONFIG_LEN: usize = offset_of!(Vdev, config_len);
/// Offset of `da` in a vring entry.
pub const VRING_DA: usize = offset_of!(Vring, da);
/// Offset of `notifyid` in a vring entry.
pub const VRING_NOTIFYID: usize = offset_of!(Vring, notifyid);
/// Offset of `pa` in a vring entry.
pub const VRING_PA: usize = offset_of!(Vring, pa);
/// Offset of `da` in a carveout entry.
pub const CARVEOUT_DA: usize = offset_of!(Carveout, da);
/// Offset of `pa` in a carveout entry.
pub const CARVEOUT_PA: usize = offset_of!(Carveout, pa);
/// Offset of `len` in a carveout entry.
pub const CARVEOUT_LEN: usize = offset_of!(Carveout, len);

/// The bytes of a NUL-padded name up to its first NUL (all 32 if none).
pub fn name_bytes(name: &[u8; NAME_LEN]) -> &[u8] {
    let end = name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
    name.get(..end).unwrap_or(name)
}

/// Builds a NUL-padded name at compile time.
///
/// # Panics
/// If `s` is longer than 31 bytes (a name keeps a terminating NUL) or holds a
/// NUL; in a `const` this is a compile error.
pub const fn name(s: &str) -> [u8; NAME_LEN] {
    let bytes = s.as_bytes();
    assert!(bytes.len() < NAME_LEN, "resource name longer than 31 bytes");
    let mut out = [0u8; NAME_LEN];
    let mut i = 0;
    while i < bytes.len() {
        assert!(bytes[i] != 0, "resource name contains a NUL");
        out[i] = bytes[i];
        i += 1;
    }
    out
}

impl Header {
    /// A version-1 header for `num` entries.
    pub const fn new(num: u32) -> Self {
        Header {
            ver: crate::RSC_TABLE_VERSION,
            num,
            reserved: [0; 2],
        }
    }
}

impl Carveout {
    /// A carveout entry; `name` at most 31 bytes.
    pub const fn new(da: u32, pa: u32, len: u32, flags: u32, name: &str) -> Self {
        Carveout {
            kind: crate::RSC_CARVEOUT,
            da,
            pa,
            len,
            flags,
            reserved: 0,
            name: self::name(name),
        }
    }
    /// The name up to its NUL.
    pub fn name(&self) -> &[u8] {
        name_bytes(&self.name)
    }
}

impl Devmem {
    /// A devmem entry; `name` at most 31 bytes.
    pub const fn new(da: u32, pa: u32, len: u32, flags: u32, name: &str) -> Self {
        Devmem {
            kind: crate::RSC_DEVMEM,
            da,
            pa,
            len,
            flags,
            reserved: 0,
            name: self::name(name),
        }
    }
    /// The name up to its NUL.
    pub fn name(&self) -> &[u8] {
        name_bytes(&self.name)
    }
}

impl Trace {
    /// A trace buffer entry; `name` at most 31 bytes.
    pub const fn new(da: u32, len: u32, name: &str) -> Self {
        Trace {
            kind: crate::RSC_TRACE,
            da,
            len,
            reserved: 0,
            name: self::name(name),
        }
    }
    /// The name up to its NUL.
    pub fn name(&self) -> &[u8] {
        name_bytes(&self.name)
    }
}

impl Vdev {
    /// The fixed part of a vdev entry with `num_of_vrings` rings and no
    /// config space; status and gfeatures start at zero.
    pub const fn new(id: u32, notifyid: u32, dfeatures: u32, num_of_vrings: u8) -> Self {
        Vdev {
            kind: crate::RSC_VDEV,
            id,
            notifyid,
            dfeatures,
            gfeatures: 0,
            config_len: 0,
            status: 0,
            num_of_vrings,
            reserved: [0; 2],
        }
    }
}

impl Vring {
    /// A vring entry; `pa` starts at zero.
    pub const fn new(da: u32, align: u32, num: u32, notifyid: u32) -> Self {
        Vring {
            da,
            align,
            num,
            notifyid,
            pa: 0,
        }
    }
}
