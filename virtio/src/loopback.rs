//! A [`Transport`] whose two ends live in one region of memory: both roles in
//! one process, or in two processes over a shared file.
//!
//! Layout of the region (offsets in bytes):
//!
//! | offset | field |
//! |---|---|
//! | 0x00 | status (`u32`, low byte used) |
//! | 0x04 | device features |
//! | 0x08 | driver features |
//! | 0x0C | device id |
//! | 0x10 | kicks to the device, one `u32` counter per queue (up to 8) |
//! | 0x30 | kicks to the driver, one `u32` counter per queue |
//! | 0x80 | config space, 128 bytes |
//! | `align_up(0x100, align)` | vring 0, then each next vring `align_up(size, align)` further |
//! | after the last vring | buffers, to the end of the region |

use core::sync::atomic::Ordering;

use openamp_metal::IoRegion;

use crate::ring::VringLayout;
use crate::status::DeviceStatus;
use crate::transport::{Transport, VringInfo};
use crate::{Error, Result};

const STATUS: usize = 0x00;
const DEVICE_FEATURES: usize = 0x04;
const DRIVER_FEATURES: usize = 0x08;
const DEVICE_ID: usize = 0x0C;
const KICKS_TO_DEVICE: usize = 0x10;
const KICKS_TO_DRIVER: usize = 0x30;
const CONFIG: usize = 0x80;
const CONFIG_LEN: usize = 0x80;
const HEADER: usize = 0x100;

/// The most queues a loopback carries.
pub const LOOPBACK_MAX_QUEUES: u16 = 8;

/// Which end of a loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The virtio driver (OpenAMP's host).
    Driver,
    /// The virtio device (OpenAMP's remote).
    Device,
}

/// A virtio device laid out in one region; see the module doc for the layout.
///
/// ```
/// use openamp_metal::IoRegion;
/// use openamp_virtio::{Loopback, Transport};
///
/// #[repr(C, align(16))]
/// struct Mem([u8; 0x4000]);
/// let mut mem = Mem([0; 0x4000]);
/// let lb = Loopback::new(IoRegion::from_slice(&mut mem.0), 16, 16, 2)?;
/// lb.format(7, 1)?;
/// assert_eq!(lb.device().device_features()?, 1);
/// assert_eq!(lb.driver().vring(1)?.num, 16);
/// # Ok::<(), openamp_virtio::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Loopback<'a> {
    mem: IoRegion<'a>,
    layout: VringLayout,
    queues: u16,
    first_vring: usize,
    stride: usize,
    buffers: usize,
}

const fn align_up(v: usize, a: usize) -> Option<usize> {
    match v.checked_add(a - 1) {
        Some(x) => Some(x & !(a - 1)),
        None => None,
    }
}

impl<'a> Loopback<'a> {
    /// Lays out `queues` vrings of `num` entries aligned to `align` in `mem`;
    /// writes nothing (see [`format`](Self::format)).
    pub fn new(mem: IoRegion<'a>, num: u32, align: u32, queues: u16) -> Result<Self> {
        let layout = VringLayout::new(num, align)?;
        if queues == 0 || queues > LOOPBACK_MAX_QUEUES {
            return Err(Error::NoSuchQueue { index: queues });
        }
        let a = (align as usize).max(16);
        let too_small = Error::RingTooSmall {
            need: usize::MAX,
            size: mem.size(),
        };
        let first_vring = align_up(HEADER, a).ok_or(too_small)?;
        let stride = align_up(layout.size(), a).ok_or(too_small)?;
        let buffers = stride
            .checked_mul(usize::from(queues))
            .and_then(|v| v.checked_add(first_vring))
            .ok_or(too_small)?;
        if buffers >= mem.size() {
            return Err(Error::RingTooSmall {
                need: buffers + 1,
                size: mem.size(),
            });
        }
        Ok(Loopback {
            mem,
            layout,
            queues,
            first_vring,
            stride,
            buffers,
        })
    }

    /// Zeroes the header and the vrings and writes the device id and the
    /// features the device offers: the state of a device just created.
    pub fn format(&self, device_id: u32, device_features: u32) -> Result<()> {
        self.mem.fill(0, self.buffers, 0)?;
        self.mem
            .store_u32(DEVICE_ID, device_id, Ordering::Relaxed)?;
        // Release: publishes the zeroed header and rings with the features.
        self.mem
            .store_u32(DEVICE_FEATURES, device_features, Ordering::Release)?;
        Ok(())
    }

    /// The driver's end.
    pub fn driver(&self) -> LoopbackEnd<'a> {
        LoopbackEnd {
            lb: *self,
            role: Role::Driver,
        }
    }

    /// The device's end.
    pub fn device(&self) -> LoopbackEnd<'a> {
        LoopbackEnd {
            lb: *self,
            role: Role::Device,
        }
    }

    /// The whole region.
    pub fn region(&self) -> IoRegion<'a> {
        self.mem
    }

    fn check_queue(&self, index: u16) -> Result<()> {
        if index < self.queues {
            Ok(())
        } else {
            Err(Error::NoSuchQueue { index })
        }
    }
}

/// One end of a [`Loopback`]: a [`Transport`] whose kicks go to the other end.
#[derive(Debug, Clone, Copy)]
pub struct LoopbackEnd<'a> {
    lb: Loopback<'a>,
    role: Role,
}

impl LoopbackEnd<'_> {
    /// Which end this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Takes the count of kicks this end received for `queue` since the last call.
    pub fn take_kicks(&self, queue: u16) -> Result<u32> {
        self.lb.check_queue(queue)?;
        let base = match self.role {
            Role::Driver => KICKS_TO_DRIVER,
            Role::Device => KICKS_TO_DEVICE,
        };
        // Acquire: pairs with the release in `notify`, so what the other end
        // did before kicking is visible after this.
        Ok(self
            .lb
            .mem
            .swap_u32(base + 4 * usize::from(queue), 0, Ordering::Acquire)?)
    }
}

impl<'a> Transport<'a> for LoopbackEnd<'a> {
    fn device_id(&self) -> u32 {
        self.lb
            .mem
            .load_u32(DEVICE_ID, Ordering::Relaxed)
            .unwrap_or(0)
    }

    fn num_queues(&self) -> u16 {
        self.lb.queues
    }

    fn vring(&self, index: u16) -> Result<VringInfo<'a>> {
        self.lb.check_queue(index)?;
        let off = self.lb.first_vring + self.lb.stride * usize::from(index);
        Ok(VringInfo {
            ring: self.lb.mem.sub_region(off, self.lb.layout.size())?,
            num: u32::from(self.lb.layout.num()),
            align: self.lb.layout.align(),
            notify_id: u32::from(index),
        })
    }

    fn buffers(&self) -> Result<IoRegion<'a>> {
        let size = self.lb.mem.size() - self.lb.buffers;
        Ok(self.lb.mem.sub_region(self.lb.buffers, size)?)
    }

    fn status(&self) -> Result<DeviceStatus> {
        // Acquire: what the other side wrote before changing the status
        // (rings, buffers, features) is visible once we see the new status.
        let v = self.lb.mem.load_u32(STATUS, Ordering::Acquire)?;
        Ok(DeviceStatus(v as u8))
    }

    fn set_status(&self, status: DeviceStatus) -> Result<()> {
        // Release: publishes everything written before the status change.
        Ok(self
            .lb
            .mem
            .store_u32(STATUS, u32::from(status.0), Ordering::Release)?)
    }

    fn device_features(&self) -> Result<u32> {
        Ok(self.lb.mem.load_u32(DEVICE_FEATURES, Ordering::Acquire)?)
    }

    fn set_device_features(&self, features: u32) -> Result<()> {
        Ok(self
            .lb
            .mem
            .store_u32(DEVICE_FEATURES, features, Ordering::Release)?)
    }

    fn driver_features(&self) -> Result<u32> {
        Ok(self.lb.mem.load_u32(DRIVER_FEATURES, Ordering::Acquire)?)
    }

    fn set_driver_features(&self, features: u32) -> Result<()> {
        Ok(self
            .lb
            .mem
            .store_u32(DRIVER_FEATURES, features, Ordering::Release)?)
    }

    fn config_len(&self) -> usize {
        CONFIG_LEN
    }

    fn read_config(&self, offset: usize, dst: &mut [u8]) -> Result<()> {
        let cfg = self.lb.mem.sub_region(CONFIG, CONFIG_LEN)?;
        Ok(cfg.read_bytes(offset, dst)?)
    }

    fn write_config(&self, offset: usize, src: &[u8]) -> Result<()> {
        let cfg = self.lb.mem.sub_region(CONFIG, CONFIG_LEN)?;
        Ok(cfg.write_bytes(offset, src)?)
    }

    fn notify(&self, queue: u16) -> Result<()> {
        self.lb.check_queue(queue)?;
        let base = match self.role {
            Role::Driver => KICKS_TO_DEVICE,
            Role::Device => KICKS_TO_DRIVER,
        };
        // Release: what we did before the kick is visible to the receiver's
        // acquire in `take_kicks`.
        self.lb
            .mem
            .fetch_add_u32(base + 4 * usize::from(queue), 1, Ordering::Release)?;
        Ok(())
    }
}
