//! The host's writes into a table that lives in shared memory.
//!
//! A [`TableWriter`] keeps no state from earlier reads: every call finds its
//! entry again (version, `num`, offset, alignment, type, extent) through the
//! [`IoRegion`], which bounds-checks every access, so a table the remote
//! changes under our feet gives an `Err`, never a stray write.

use core::sync::atomic::Ordering;

use openamp_metal::IoRegion;

use crate::error::{Error, Field, Result};
use crate::layout;
use crate::parse::range_wraps;
use crate::{RSC_CARVEOUT, RSC_TABLE_VERSION, RSC_VDEV};

/// Writes the host's fields of a resource table in shared memory.
///
/// Offset 0 of the region is the start of the table. Entries are named by
/// their index in the offset array, as [`ResourceTable`](crate::ResourceTable)
/// reports them.
#[derive(Debug, Clone, Copy)]
pub struct TableWriter<'a> {
    region: IoRegion<'a>,
}

impl<'a> TableWriter<'a> {
    /// A writer for the table at the start of `region`.
    pub fn new(region: IoRegion<'a>) -> Self {
        TableWriter { region }
    }

    /// The region the table lives in.
    pub fn region(&self) -> IoRegion<'a> {
        self.region
    }

    /// Finds entry `index`, checks its type and that `len` bytes of it are
    /// inside the region, and returns its offset.
    fn locate(&self, index: usize, expected: u32, len: usize) -> Result<usize> {
        let ver = self.region.read_u32(0)?;
        if ver != RSC_TABLE_VERSION {
            return Err(Error::BadVersion { version: ver });
        }
        let num = self.region.read_u32(4)?;
        if u32::try_from(index).map_or(true, |i| i >= num) {
            return Err(Error::NoSuchEntry { index, num });
        }
        let at = index
            .checked_mul(4)
            .and_then(|o| o.checked_add(layout::HEADER_SIZE))
            .ok_or(Error::NoSuchEntry { index, num })?;
        let offset = self.region.read_u32(at)?;
        if offset % 4 != 0 {
            return Err(Error::Misaligned { index, offset });
        }
        let start = offset as usize;
        // `num` comes from the peer: saturate rather than overflow on 32-bit targets.
        let header_end = (num as usize)
            .saturating_mul(4)
            .saturating_add(layout::HEADER_SIZE);
        if start < header_end {
            return Err(Error::InsideHeader {
                index,
                offset,
                header_end,
            });
        }
        let kind = self.region.read_u32(start)?;
        if kind != expected {
            return Err(Error::WrongType {
                index,
                expected,
                found: kind,
            });
        }
        let size = self.region.size();
        match start.checked_add(len) {
            Some(end) if end <= size => Ok(start),
            end => Err(Error::OutOfBounds {
                index,
                field: Field::Body,
                start,
                end: end.unwrap_or(usize::MAX),
                len: size,
            }),
        }
    }

    /// The offset of vring `vring` of vdev entry `index`.
    fn vring_at(&self, index: usize, vring: u8) -> Result<usize> {
        let vdev = self.locate(index, RSC_VDEV, layout::VDEV_SIZE)?;
        let num = self.region.read_u8(vdev + layout::VDEV_NUM_OF_VRINGS)?;
        if vring >= num {
            return Err(Error::NoSuchVring { index, vring, num });
        }
        let at = vdev + layout::VDEV_SIZE + usize::from(vring) * layout::VRING_SIZE;
        self.region.check(at, layout::VRING_SIZE)?;
        Ok(at)
    }

    /// Sets the device address of vring `vring` of vdev entry `index`.
    pub fn set_vring_da(&self, index: usize, vring: u8, da: u32) -> Result<()> {
        let at = self.vring_at(index, vring)?;
        Ok(self.region.write_u32(at + layout::VRING_DA, da)?)
    }

    /// Sets the physical address (the `reserved` word OpenAMP uses as `pa`)
    /// of vring `vring` of vdev entry `index`.
    pub fn set_vring_pa(&self, index: usize, vring: u8, pa: u32) -> Result<()> {
        let at = self.vring_at(index, vring)?;
        Ok(self.region.write_u32(at + layout::VRING_PA, pa)?)
    }

    /// Sets the notify id of vring `vring` of vdev entry `index`.
    pub fn set_vring_notify_id(&self, index: usize, vring: u8, id: u32) -> Result<()> {
        let at = self.vring_at(index, vring)?;
        Ok(self.region.write_u32(at + layout::VRING_NOTIFYID, id)?)
    }

    /// Sets the features the host accepted (`gfeatures`) of vdev entry `index`.
    pub fn set_vdev_gfeatures(&self, index: usize, features: u32) -> Result<()> {
        let at = self.locate(index, RSC_VDEV, layout::VDEV_SIZE)?;
        Ok(self
            .region
            .write_u32(at + layout::VDEV_GFEATURES, features)?)
    }

    /// The device features (`dfeatures`) of vdev entry `index`.
    pub fn vdev_dfeatures(&self, index: usize) -> Result<u32> {
        let at = self.locate(index, RSC_VDEV, layout::VDEV_SIZE)?;
        Ok(self.region.read_u32(at + layout::VDEV_DFEATURES)?)
    }

    /// Writes the virtio status byte of vdev entry `index`.
    ///
    /// Everything written to shared memory before this call (vrings, buffers,
    /// `gfeatures`) is visible to the remote before the status is.
    pub fn set_vdev_status(&self, index: usize, status: u8) -> Result<()> {
        let at = self.locate(index, RSC_VDEV, layout::VDEV_SIZE)?;
        // Release: the remote acts on DRIVER_OK by reading the rings and
        // features we wrote; they must not become visible after the status.
        Ok(self
            .region
            .store_u8(at + layout::VDEV_STATUS, status, Ordering::Release)?)
    }

    /// Reads the virtio status byte of vdev entry `index`.
    ///
    /// What the peer wrote before setting the status is visible after this call.
    pub fn vdev_status(&self, index: usize) -> Result<u8> {
        let at = self.locate(index, RSC_VDEV, layout::VDEV_SIZE)?;
        // Acquire: pairs with the peer's release of its status write, so our
        // later reads of rings and features are not older than the status.
        Ok(self
            .region
            .load_u8(at + layout::VDEV_STATUS, Ordering::Acquire)?)
    }

    /// Sets the physical address of carveout entry `index`.
    ///
    /// An address whose range (`pa + len`) would run past 4 GiB is refused
    /// with [`Error::RangeWraps`], as the parser would refuse the table.
    pub fn set_carveout_pa(&self, index: usize, pa: u32) -> Result<()> {
        let at = self.locate(index, RSC_CARVEOUT, layout::CARVEOUT_SIZE)?;
        self.check_carveout_range(index, at, Field::Pa, pa)?;
        Ok(self.region.write_u32(at + layout::CARVEOUT_PA, pa)?)
    }

    /// Sets the device address of carveout entry `index` (when the firmware
    /// asked for `FW_RSC_ADDR_ANY`), refused as
    /// [`set_carveout_pa`](Self::set_carveout_pa) refuses a wrapping range.
    pub fn set_carveout_da(&self, index: usize, da: u32) -> Result<()> {
        let at = self.locate(index, RSC_CARVEOUT, layout::CARVEOUT_SIZE)?;
        self.check_carveout_range(index, at, Field::Da, da)?;
        Ok(self.region.write_u32(at + layout::CARVEOUT_DA, da)?)
    }

    /// Refuses `addr` for the carveout at `at` if `addr + len` wraps.
    fn check_carveout_range(&self, index: usize, at: usize, field: Field, addr: u32) -> Result<()> {
        let len = self.region.read_u32(at + layout::CARVEOUT_LEN)?;
        if range_wraps(addr, len) {
            return Err(Error::RangeWraps {
                index,
                kind: RSC_CARVEOUT,
                field,
                addr,
                len,
            });
        }
        Ok(())
    }
}
