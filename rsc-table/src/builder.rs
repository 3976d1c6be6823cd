//! The firmware's side: declaring a table in Rust, laid out at compile time.
//!
//! [`resource_table!`](crate::resource_table) turns a list of named entries
//! into a `#[repr(C)]` struct whose first field is a [`TableHeader`] and whose
//! other fields are the entries, in order; the offsets are `offset_of!` of
//! those fields, computed by the compiler. The entry types here have `const`
//! constructors so the whole table is a constant.

use zerocopy::IntoBytes;

use crate::error::{Error, Result};
use crate::layout::{self, Carveout, Devmem, Trace, Vdev, Vring};

/// The table header followed by its `N` entry offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct TableHeader<const N: usize> {
    /// Version, count and reserved words.
    pub header: layout::Header,
    /// Offset of each entry from the start of the table.
    pub offsets: [u32; N],
}

impl<const N: usize> TableHeader<N> {
    /// A header for entries at `offsets`.
    pub const fn new(offsets: [u32; N]) -> Self {
        assert!(N <= u32::MAX as usize);
        TableHeader {
            header: layout::Header::new(N as u32),
            offsets,
        }
    }

    /// Writes the header and offsets at the start of `out`.
    pub fn encode(&self, out: &mut [u8]) -> Result<()> {
        put(out, 0, self.header.as_bytes())?;
        put(out, layout::HEADER_SIZE, self.offsets.as_bytes())
    }
}

/// Copies `src` to `out[at..]`, or fails if it does not fit.
fn put(out: &mut [u8], at: usize, src: &[u8]) -> Result<()> {
    let len = out.len();
    let need = at.saturating_add(src.len());
    out.get_mut(at..need)
        .ok_or(Error::BufferTooSmall { need, len })?
        .copy_from_slice(src);
    Ok(())
}

/// An entry type that can be a field of a declared table.
pub trait Resource {
    /// The entry's `type` word.
    const KIND: u32;
    /// Writes the entry's bytes at the start of `out` (padding is left alone).
    fn encode(&self, out: &mut [u8]) -> Result<()>;
}

impl Resource for Carveout {
    const KIND: u32 = crate::RSC_CARVEOUT;
    fn encode(&self, out: &mut [u8]) -> Result<()> {
        put(out, 0, self.as_bytes())
    }
}

impl Resource for Devmem {
    const KIND: u32 = crate::RSC_DEVMEM;
    fn encode(&self, out: &mut [u8]) -> Result<()> {
        put(out, 0, self.as_bytes())
    }
}

impl Resource for Trace {
    const KIND: u32 = crate::RSC_TRACE;
    fn encode(&self, out: &mut [u8]) -> Result<()> {
        put(out, 0, self.as_bytes())
    }
}

/// A virtio device entry with `N` vrings and `C` bytes of config space.
///
/// In a declared table, an entry that follows a config space whose length is
/// not a multiple of 4 starts at the next multiple of 4 (the struct is padded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct VdevResource<const N: usize, const C: usize = 0> {
    /// The fixed part; `num_of_vrings` and `config_len` match `N` and `C`.
    pub vdev: Vdev,
    /// The vrings.
    pub vrings: [Vring; N],
    /// The config space.
    pub config: [u8; C],
}

impl<const N: usize> VdevResource<N, 0> {
    /// A vdev with virtio id `id`, its own notify id, the features it offers
    /// and its vrings; no config space (see [`with_config`](Self::with_config)).
    ///
    /// # Panics
    /// If `N > 255` (at compile time in a `const`).
    pub const fn new(id: u32, notifyid: u32, dfeatures: u32, vrings: [Vring; N]) -> Self {
        assert!(N <= u8::MAX as usize, "a vdev has at most 255 vrings");
        VdevResource {
            vdev: Vdev::new(id, notifyid, dfeatures, N as u8),
            vrings,
            config: [],
        }
    }
}

impl<const N: usize, const C: usize> VdevResource<N, C> {
    /// The same vdev with `config` as its config space.
    pub const fn with_config<const D: usize>(self, config: [u8; D]) -> VdevResource<N, D> {
        assert!(D <= u32::MAX as usize);
        let mut vdev = self.vdev;
        vdev.config_len = D as u32;
        VdevResource {
            vdev,
            vrings: self.vrings,
            config,
        }
    }
}

impl<const N: usize, const C: usize> Resource for VdevResource<N, C> {
    const KIND: u32 = crate::RSC_VDEV;
    fn encode(&self, out: &mut [u8]) -> Result<()> {
        put(out, 0, self.vdev.as_bytes())?;
        put(out, layout::VDEV_SIZE, self.vrings.as_bytes())?;
        put(
            out,
            layout::VDEV_SIZE + N * layout::VRING_SIZE,
            &self.config,
        )
    }
}

/// A vendor-specific entry: a `type` word (128..=512) and `L` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct VendorResource<const L: usize> {
    /// The `type` word.
    pub kind: u32,
    /// The payload.
    pub data: [u8; L],
}

impl<const L: usize> VendorResource<L> {
    /// A vendor entry of type `kind` with payload `data`.
    ///
    /// # Panics
    /// If `kind` is outside 128..=512 (at compile time in a `const`).
    pub const fn new(kind: u32, data: [u8; L]) -> Self {
        assert!(
            kind >= crate::RSC_VENDOR_START && kind <= crate::RSC_VENDOR_END,
            "vendor entry types are 128..=512"
        );
        VendorResource { kind, data }
    }
}

impl<const L: usize> Resource for VendorResource<L> {
    const KIND: u32 = crate::RSC_VENDOR_START;
    fn encode(&self, out: &mut [u8]) -> Result<()> {
        put(out, 0, &self.kind.to_le_bytes())?;
        put(out, 4, &self.data)
    }
}

/// Declares a resource table: a `#[repr(C)]` struct type with one field per
/// entry, its constant value, and either a `static` in `.resource_table` or a
/// `const`.
///
/// ```
/// use openamp_rsc_table::{resource_table, Trace, VdevResource, Vring};
/// use openamp_rsc_table::{FW_RSC_ADDR_ANY, VIRTIO_ID_RPMSG, VIRTIO_RPMSG_F_NS};
///
/// resource_table! {
///     /// What the R5 firmware offers its host.
///     pub const TABLE: R5Table = {
///         /// RPMsg, with name service.
///         rpmsg: VdevResource<2> = VdevResource::new(VIRTIO_ID_RPMSG, 0, VIRTIO_RPMSG_F_NS, [
///             Vring::new(FW_RSC_ADDR_ANY, 0x1000, 256, 1),
///             Vring::new(FW_RSC_ADDR_ANY, 0x1000, 256, 2),
///         ]),
///         trace: Trace = Trace::new(0x3ed0_0000, 0x8000, "r5_log"),
///     };
/// }
/// assert_eq!(R5Table::OFFSETS, [24, 92]);
/// assert_eq!(R5Table::SIZE, 140);
/// ```
///
/// With `static mut` instead of `const`, the macro emits
/// `#[used] #[link_section = ".resource_table"] static mut NAME: Type`. It is
/// `mut` because the host writes into it (status, features, addresses): read
/// it at run time only through an [`IoRegion`](openamp_metal::IoRegion) made
/// from `&raw mut NAME`, never through a reference.
///
/// The static form also gives the type `static_region(attr)`: an
/// [`IoRegion`](openamp_metal::IoRegion) over the static, for the firmware's
/// own reads (status, `gfeatures`) through a [`TableWriter`](crate::TableWriter).
///
/// The generated type has `INIT` (the value), `OFFSETS`, `NUM_ENTRIES`,
/// `SIZE` and `write_to(&self, &mut [u8])` (its bytes, padding zeroed).
/// Entry indices follow the order of declaration.
#[macro_export]
macro_rules! resource_table {
    (
        $(#[$meta:meta])*
        $vis:vis static mut $name:ident : $ty:ident = {
            $( $(#[$fmeta:meta])* $field:ident : $fty:ty = $init:expr ),+ $(,)?
        };
    ) => {
        $crate::resource_table!(@type [$vis] $ty { $( $(#[$fmeta])* $field : $fty = $init ),+ });
        $(#[$meta])*
        #[used]
        #[link_section = ".resource_table"]
        $vis static mut $name: $ty = <$ty>::INIT;

        impl $ty {
            #[doc = concat!("An `IoRegion` over [`", stringify!($name), "`], the way to read and write it at run time.")]
            ///
            /// `attr` says whether the table's memory is cached. Every access
            /// through the region is volatile: the host writes the table too.
            #[allow(unsafe_code)]
            pub fn static_region(
                attr: $crate::__private::openamp_metal::IoAttr,
            ) -> ::core::result::Result<$crate::__private::openamp_metal::IoRegion<'static>, $crate::Error> {
                let base = (&raw mut $name).cast::<u8>();
                // SAFETY: the static lives for the whole program, is `SIZE`
                // bytes, and is memory the compiler treats as mutable (a
                // `static mut`); safe code cannot form a reference to it, and
                // unsafe code that did would break that code's own contract.
                let region = unsafe {
                    $crate::__private::openamp_metal::IoRegion::new(
                        base,
                        <$ty>::SIZE,
                        $crate::__private::openamp_metal::PhysMap::None,
                        attr,
                    )
                };
                Ok(region?)
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis const $name:ident : $ty:ident = {
            $( $(#[$fmeta:meta])* $field:ident : $fty:ty = $init:expr ),+ $(,)?
        };
    ) => {
        $crate::resource_table!(@type [$vis] $ty { $( $(#[$fmeta])* $field : $fty = $init ),+ });
        $(#[$meta])*
        $vis const $name: $ty = <$ty>::INIT;
    };
    (@type [$vis:vis] $ty:ident {
        $( $(#[$fmeta:meta])* $field:ident : $fty:ty = $init:expr ),+
    }) => {
        /// A resource table declared with `resource_table!`: the header, then
        /// each entry in the order declared.
        #[repr(C)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis struct $ty {
            /// The header and the entry offsets.
            pub header: $crate::builder::TableHeader<{ [$(stringify!($field)),+].len() }>,
            $(
                $(#[$fmeta])*
                #[doc = concat!("\n\nThe `", stringify!($field), "` entry.")]
                pub $field: $fty,
            )+
        }

        impl $ty {
            /// Number of entries.
            pub const NUM_ENTRIES: usize = [$(stringify!($field)),+].len();
            /// Offset of each entry from the start of the table, in order.
            pub const OFFSETS: [u32; [$(stringify!($field)),+].len()] =
                [$(::core::mem::offset_of!($ty, $field) as u32),+];
            /// Size of the table in bytes.
            pub const SIZE: usize = ::core::mem::size_of::<$ty>();
            /// The table as declared.
            pub const INIT: $ty = $ty {
                header: $crate::builder::TableHeader::new(<$ty>::OFFSETS),
                $( $field: $init, )+
            };

            /// Writes the table's bytes (padding zeroed) to the start of `out`
            /// and returns their number.
            pub fn write_to(&self, out: &mut [u8]) -> ::core::result::Result<usize, $crate::Error> {
                let len = out.len();
                let bytes = out
                    .get_mut(..<$ty>::SIZE)
                    .ok_or($crate::Error::BufferTooSmall { need: <$ty>::SIZE, len })?;
                bytes.fill(0);
                self.header.encode(bytes)?;
                $(
                    $crate::builder::Resource::encode(
                        &self.$field,
                        bytes
                            .get_mut(::core::mem::offset_of!($ty, $field)..)
                            .unwrap_or_default(),
                    )?;
                )+
                Ok(<$ty>::SIZE)
            }
        }

        const _: () = {
            $(
                ::core::assert!(
                    ::core::mem::offset_of!($ty, $field) % 4 == 0,
                    "resource table entries must be 4-byte aligned"
                );
                ::core::assert!(::core::mem::offset_of!($ty, $field) <= u32::MAX as usize);
            )+
        };
    };
}
