//! Ring memory for the loom model (`--cfg loom`, unit tests only).
//!
//! Loom explores only the atomics it provides, so under `cfg(loom)`
//! [`Ring`](crate::ring::Ring) keeps its fields in loom atomics instead of in
//! the region's bytes: one cell per field, of the width the ring code uses
//! for it (`u32` for descriptor and used-element words, `u16` for indices,
//! flags, ring slots and events). Everything above the cells, every load,
//! store and fence of `DriverQueue` and `DeviceQueue`, is the production
//! code; `crate::ring::fence` is loom's fence here. The region itself is
//! still used for its bounds checks and cache maintenance, so errors are
//! the same as with real memory.

use std::sync::{Arc, Mutex};

use core::sync::atomic::Ordering;
use loom::sync::atomic::{AtomicU16, AtomicU32};
use openamp_metal::{CacheMaintenance, IoRegion, Result};

use crate::ring::VringLayout;

/// One field of the ring.
#[derive(Debug)]
enum Cell {
    /// Padding before the used ring.
    None,
    /// The upper half of a `u32` field.
    Upper,
    U16(AtomicU16),
    U32(AtomicU32),
}

/// The cells of one ring, indexed by byte offset / 2.
#[derive(Debug)]
struct Cells(Vec<Cell>);

/// Rings shared with the model in the current execution, by base address.
static SHARED: Mutex<Vec<(usize, Arc<Cells>)>> = Mutex::new(Vec::new());

/// Keeps a ring's cells registered until it is dropped (at the end of a
/// model's execution; the queues keep their own reference).
#[derive(Debug)]
pub(crate) struct Shared(usize);

impl Drop for Shared {
    fn drop(&mut self) {
        SHARED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(a, _)| *a != self.0);
    }
}

/// Creates zeroed loom cells for a ring of `layout` at `region`, so that the
/// queues made over `region` in this execution share them. Call it inside
/// `loom::model`, before the threads start.
pub(crate) fn share(region: &IoRegion<'_>, layout: VringLayout) -> Shared {
    let mut cells: Vec<Cell> = (0..layout.size() / 2).map(|_| Cell::None).collect();
    let u32s = (0..layout.avail_offset())
        .step_by(4)
        .chain((layout.used_ring_offset(0)..layout.avail_event_offset()).step_by(4));
    for off in u32s {
        cells[off / 2] = Cell::U32(AtomicU32::new(0));
        cells[off / 2 + 1] = Cell::Upper;
    }
    let u16s = (layout.avail_offset()..layout.used_event_offset() + 2)
        .step_by(2)
        .chain([
            layout.used_offset(),
            layout.used_idx_offset(),
            layout.avail_event_offset(),
        ]);
    for off in u16s {
        cells[off / 2] = Cell::U16(AtomicU16::new(0));
    }
    let addr = region.as_ptr() as usize;
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    assert!(shared.iter().all(|(a, _)| *a != addr), "ring shared twice");
    shared.push((addr, Arc::new(Cells(cells))));
    Shared(addr)
}

/// The ring memory seen through loom cells, with `IoRegion`'s interface.
#[derive(Debug, Clone)]
pub(crate) struct LoomMem<'a> {
    region: IoRegion<'a>,
    cells: Arc<Cells>,
}

impl<'a> LoomMem<'a> {
    /// The cells [`share`] made for `region`.
    pub(crate) fn attach(region: IoRegion<'a>) -> Self {
        let addr = region.as_ptr() as usize;
        let shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        let cells = shared
            .iter()
            .find(|(a, _)| *a == addr)
            .map(|(_, c)| Arc::clone(c))
            .expect("a ring under loom must be made with loom_ring::share first");
        LoomMem { region, cells }
    }

    fn cell(&self, off: usize, len: usize) -> Result<&Cell> {
        self.region.check(off, len)?;
        assert!(off % len == 0, "misaligned ring access at {off}");
        Ok(&self.cells.0[off / 2])
    }

    pub(crate) fn load_u16(&self, off: usize, order: Ordering) -> Result<u16> {
        match self.cell(off, 2)? {
            Cell::U16(a) => Ok(a.load(order)),
            c => panic!("u16 load of {c:?} at {off}"),
        }
    }

    pub(crate) fn store_u16(&self, off: usize, v: u16, order: Ordering) -> Result<()> {
        match self.cell(off, 2)? {
            Cell::U16(a) => {
                a.store(v, order);
                Ok(())
            }
            c => panic!("u16 store to {c:?} at {off}"),
        }
    }

    pub(crate) fn load_u32(&self, off: usize, order: Ordering) -> Result<u32> {
        match self.cell(off, 4)? {
            Cell::U32(a) => Ok(a.load(order)),
            c => panic!("u32 load of {c:?} at {off}"),
        }
    }

    pub(crate) fn store_u32(&self, off: usize, v: u32, order: Ordering) -> Result<()> {
        match self.cell(off, 4)? {
            Cell::U32(a) => {
                a.store(v, order);
                Ok(())
            }
            c => panic!("u32 store to {c:?} at {off}"),
        }
    }

    /// Only padding is ever filled (see `Ring::zero`); it has no cells.
    pub(crate) fn fill(&self, off: usize, len: usize, _value: u8) -> Result<()> {
        self.region.check(off, len)?;
        for i in off / 2..(off + len).div_ceil(2) {
            assert!(matches!(self.cells.0[i], Cell::None), "fill over a field");
        }
        Ok(())
    }

    pub(crate) fn flush(&self, c: &impl CacheMaintenance, off: usize, len: usize) -> Result<()> {
        self.region.flush(c, off, len)
    }

    pub(crate) fn invalidate(
        &self,
        c: &impl CacheMaintenance,
        off: usize,
        len: usize,
    ) -> Result<()> {
        self.region.invalidate(c, off, len)
    }
}
