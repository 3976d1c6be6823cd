//! Device addresses: how the remote's addresses map to memory we can reach,
//! and a simple pool that hands out memory for "host chooses" entries.

use alloc::vec::Vec;

use openamp_metal::IoRegion;

use crate::{Error, Result};

/// Something that turns the remote's device addresses into regions of memory.
///
/// An [`IoRegion`] is an address space by itself, taking its physical
/// addresses as device addresses (true of the Linux-process platform and of
/// remotes without an IOMMU or address aliasing); a [`MemoryMap`] holds
/// several regions with their own device addresses.
pub trait AddressSpace<'a> {
    /// The `len` bytes at device address `da`, or [`Error::Unmapped`].
    fn da_region(&self, da: u64, len: u64) -> Result<IoRegion<'a>>;
}

impl<'a> AddressSpace<'a> for IoRegion<'a> {
    fn da_region(&self, da: u64, len: u64) -> Result<IoRegion<'a>> {
        let unmapped = Error::Unmapped { da, len };
        let off = self.phys_to_offset(da).map_err(|_| unmapped.clone())?;
        let len = usize::try_from(len).map_err(|_| unmapped.clone())?;
        self.sub_region(off, len).map_err(|_| unmapped)
    }
}

impl<'a, T: AddressSpace<'a> + ?Sized> AddressSpace<'a> for &T {
    fn da_region(&self, da: u64, len: u64) -> Result<IoRegion<'a>> {
        (**self).da_region(da, len)
    }
}

/// One mapping of a [`MemoryMap`]: a region and the device address of its
/// first byte.
#[derive(Debug, Clone, Copy)]
pub struct Mapping<'a> {
    /// Device address of the region's first byte.
    pub da: u64,
    /// The memory.
    pub region: IoRegion<'a>,
}

impl Mapping<'_> {
    /// Whether `len` bytes at `da` are inside this mapping.
    pub fn covers(&self, da: u64, len: u64) -> bool {
        match (da.checked_sub(self.da), da.checked_add(len)) {
            (Some(off), Some(_)) => off
                .checked_add(len)
                .is_some_and(|end| end <= self.region.size() as u64),
            _ => false,
        }
    }
}

/// The memories a remote sees, each at its device address.
///
/// ```
/// use openamp_metal::IoRegion;
/// use openamp_remoteproc::{AddressSpace, MemoryMap};
///
/// let mut tcm = [0u8; 64];
/// let mut map = MemoryMap::new();
/// map.add(0x0, IoRegion::from_slice(&mut tcm));
/// let r = map.da_region(0x10, 8)?;
/// r.write_u8(0, 1)?;
/// assert!(map.da_region(0x40, 1).is_err());
/// # Ok::<(), openamp_remoteproc::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryMap<'a> {
    maps: Vec<Mapping<'a>>,
}

impl<'a> MemoryMap<'a> {
    /// An empty map.
    pub const fn new() -> Self {
        MemoryMap { maps: Vec::new() }
    }

    /// Adds `region`, seen by the remote at device address `da`.
    pub fn add(&mut self, da: u64, region: IoRegion<'a>) {
        self.maps.push(Mapping { da, region });
    }

    /// The mappings, in the order they were added.
    pub fn mappings(&self) -> &[Mapping<'a>] {
        &self.maps
    }

    /// The mapping that covers `len` bytes at `da`, if any.
    pub fn find(&self, da: u64, len: u64) -> Option<&Mapping<'a>> {
        self.maps.iter().find(|m| m.covers(da, len))
    }
}

impl<'a> AddressSpace<'a> for MemoryMap<'a> {
    fn da_region(&self, da: u64, len: u64) -> Result<IoRegion<'a>> {
        let unmapped = || Error::Unmapped { da, len };
        let m = self.find(da, len).ok_or_else(unmapped)?;
        let off = usize::try_from(da - m.da).map_err(|_| unmapped())?;
        let len = usize::try_from(len).map_err(|_| unmapped())?;
        m.region.sub_region(off, len).map_err(|_| unmapped())
    }
}

/// A piece of memory handed out by a [`MemPool`].
#[derive(Debug, Clone, Copy)]
pub struct Allocation<'a> {
    /// The device address of its first byte.
    pub da: u64,
    /// The memory.
    pub region: IoRegion<'a>,
}

/// A bump allocator over a region, for vrings and carveouts whose table entry
/// says "host chooses" (`FW_RSC_ADDR_ANY`). Memory is never given back one
/// piece at a time; [`reset`](Self::reset) frees everything.
#[derive(Debug, Clone, Copy)]
pub struct MemPool<'a> {
    region: IoRegion<'a>,
    da: u64,
    next: usize,
}

impl<'a> MemPool<'a> {
    /// A pool over `region`, whose first byte the remote sees at `da`.
    pub const fn new(region: IoRegion<'a>, da: u64) -> Self {
        MemPool {
            region,
            da,
            next: 0,
        }
    }

    /// Bytes not yet handed out (before alignment).
    pub fn free(&self) -> usize {
        self.region.size().saturating_sub(self.next)
    }

    /// Forgets every allocation.
    pub fn reset(&mut self) {
        self.next = 0;
    }

    /// `len` bytes whose device address is a multiple of `align` (a power of
    /// two), zeroed.
    pub fn alloc(&mut self, len: usize, align: usize) -> Result<Allocation<'a>> {
        let oom = Error::OutOfMemory {
            len,
            align,
            free: self.free(),
        };
        if !align.is_power_of_two() {
            return Err(oom);
        }
        let mask = align as u64 - 1;
        let here = self.da.checked_add(self.next as u64).ok_or(oom.clone())?;
        let aligned = here.checked_add(mask).ok_or(oom.clone())? & !mask;
        let start = usize::try_from(aligned - self.da).map_err(|_| oom.clone())?;
        let end = start.checked_add(len).ok_or(oom.clone())?;
        if end > self.region.size() {
            return Err(oom);
        }
        let region = self.region.sub_region(start, len)?;
        region.fill(0, len, 0)?;
        self.next = end;
        Ok(Allocation {
            da: aligned,
            region,
        })
    }
}
