//! Unit tests: both roles on one region (they also run under Miri). Under
//! `--cfg loom` only the loom model ([`model`]) is built: the ring's fields
//! then live in loom cells that the other tests do not set up.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

use openamp_metal::{IoRegion, NoCache};

use crate::{DeviceQueue, DriverQueue, QueueConfig};

#[cfg(not(loom))]
mod basic;
mod exchange;
#[cfg(not(loom))]
mod hostile;
#[cfg(loom)]
mod model;
#[cfg(not(loom))]
mod prop;
#[cfg(not(loom))]
mod threads;

pub(crate) const MEM: usize = 0x10000;
/// Offset of the buffer region in the test memory.
pub(crate) const BUF: usize = 0x8000;

/// Page-aligned test memory: a vring at 0, buffers at `BUF`.
#[repr(C, align(4096))]
pub(crate) struct Mem(pub [u8; MEM]);

pub(crate) fn mem() -> Box<Mem> {
    Box::new(Mem([0; MEM]))
}

/// The ring region and the buffer region of `m`.
pub(crate) fn regions(m: &mut Mem) -> (IoRegion<'_>, IoRegion<'_>) {
    let all = IoRegion::from_slice(&mut m.0);
    (
        all.sub_region(0, BUF).unwrap(),
        all.sub_region(BUF, MEM - BUF).unwrap(),
    )
}

/// A driver and a device over the same ring.
pub(crate) fn pair<const N: usize>(
    m: &mut Mem,
    cfg: QueueConfig,
) -> (
    DriverQueue<'_, N>,
    DeviceQueue<'_, N>,
    IoRegion<'_>,
    IoRegion<'_>,
) {
    let (ring, bufs) = regions(m);
    let drv = DriverQueue::new(ring, bufs, cfg, NoCache).unwrap();
    let dev = DeviceQueue::new(ring, bufs, cfg, NoCache).unwrap();
    (drv, dev, ring, bufs)
}
