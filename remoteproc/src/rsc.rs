//! The host's handling of a resource table: carveouts, device memory, trace
//! buffers, vendor entries and vdevs.

use alloc::string::String;
use alloc::vec::Vec;

use openamp_metal::IoRegion;
use openamp_rsc_table::{Entry, ResourceTable, TableWriter, FW_RSC_ADDR_ANY};

use crate::mem::{Mapping, MemPool, MemoryMap};
use crate::ops::RemoteprocOps;
use crate::trace::TraceBuffer;
use crate::vdev::copy_table;
use crate::{Error, Result};

/// A vdev the table declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VdevInfo {
    /// Its entry index.
    pub index: usize,
    /// Its virtio device id.
    pub device_id: u32,
    /// Its own notify id.
    pub notify_id: u32,
    /// The notify ids of its vrings, in order (at most 8 kept).
    pub vring_ids: [Option<u32>; 8],
}

/// Where a kick with some notify id goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyTarget {
    /// The vdev's entry index.
    pub vdev: usize,
    /// The vring, or `None` for the vdev itself (a config change).
    pub queue: Option<u16>,
}

/// What handling a table found and set up.
#[derive(Debug, Clone, Default)]
pub struct Resources<'a> {
    /// Carveouts and device memory, mapped.
    pub mappings: Vec<Mapping<'a>>,
    /// Trace buffers.
    pub traces: Vec<TraceBuffer<'a>>,
    /// Vdevs.
    pub vdevs: Vec<VdevInfo>,
    /// Vendor and unknown entries nobody handled (index, type).
    pub skipped: Vec<(usize, u32)>,
}

impl Resources<'_> {
    /// Where a kick with `notify_id` goes, if any vdev or vring has it.
    pub fn dispatch(&self, notify_id: u32) -> Option<NotifyTarget> {
        self.vdevs.iter().find_map(|v| {
            if v.notify_id == notify_id {
                return Some(NotifyTarget {
                    vdev: v.index,
                    queue: None,
                });
            }
            let q = v.vring_ids.iter().position(|id| *id == Some(notify_id))?;
            Some(NotifyTarget {
                vdev: v.index,
                queue: u16::try_from(q).ok(),
            })
        })
    }
}

/// Finds memory for `len` bytes at device address `da`: memory mapped
/// before, then the platform's own (`get_mem`), then a new `mmap`.
pub(crate) fn map_da<'a, O: RemoteprocOps<'a>>(
    ops: &mut O,
    map: &mut MemoryMap<'a>,
    pa: Option<u64>,
    da: u64,
    len: u64,
) -> Result<IoRegion<'a>> {
    use crate::AddressSpace;
    if let Ok(r) = map.da_region(da, len) {
        return Ok(r);
    }
    let m = match ops.get_mem(da, len) {
        Some(m) => m,
        None => ops.mmap(pa, Some(da), len)?,
    };
    map.add(m.da, m.region);
    map.da_region(da, len)
}

fn to_u32(value: u64) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::AddressTooLarge { value })
}

fn opt(v: u32) -> Option<u64> {
    (v != FW_RSC_ADDR_ANY).then_some(u64::from(v))
}

/// Handles every entry of the table at the start of `table`, as a host does
/// before starting the remote.
pub fn handle_resources<'a, O: RemoteprocOps<'a>>(
    table: IoRegion<'a>,
    ops: &mut O,
    map: &mut MemoryMap<'a>,
    mut pool: Option<&mut MemPool<'a>>,
) -> Result<Resources<'a>> {
    let bytes = copy_table(&table)?;
    let parsed = ResourceTable::parse(&bytes)?;
    let writer = TableWriter::new(table);
    let mut res = Resources::default();
    for e in parsed.entries() {
        let index = e.index;
        match e.entry {
            Entry::Carveout(c) => {
                let len = u64::from(c.len);
                let m = match (opt(c.da), opt(c.pa)) {
                    (Some(da), pa) => {
                        let region = map_da(ops, map, pa, da, len)?;
                        Mapping { da, region }
                    }
                    (None, pa) => {
                        let m = match pool.as_deref_mut() {
                            Some(pool) if pa.is_none() => {
                                let a = pool.alloc(c.len as usize, 0x1000)?;
                                Mapping {
                                    da: a.da,
                                    region: a.region,
                                }
                            }
                            _ => ops.mmap(pa, None, len)?,
                        };
                        map.add(m.da, m.region);
                        writer.set_carveout_da(index, to_u32(m.da)?)?;
                        m
                    }
                };
                if c.pa == FW_RSC_ADDR_ANY {
                    let pa = m.region.offset_to_phys(0).unwrap_or(m.da);
                    writer.set_carveout_pa(index, to_u32(pa)?)?;
                }
                res.mappings.push(m);
            }
            Entry::Devmem(d) => {
                let da = u64::from(d.da);
                let region = map_da(ops, map, opt(d.pa), da, u64::from(d.len))?;
                res.mappings.push(Mapping { da, region });
            }
            Entry::Trace(t) => {
                let region = map_da(ops, map, None, u64::from(t.da), u64::from(t.len))?;
                res.traces.push(TraceBuffer {
                    index,
                    name: String::from_utf8_lossy(t.name()).into_owned(),
                    da: t.da,
                    region,
                });
            }
            Entry::Vdev(v) => {
                let mut vring_ids = [None; 8];
                for (slot, r) in vring_ids.iter_mut().zip(v.vrings()) {
                    *slot = Some(r.notifyid);
                }
                for (i, r) in (0u8..).zip(v.vrings()) {
                    let len = openamp_virtio::VringLayout::size_for(r.num, r.align)?;
                    match (opt(r.da), pool.as_deref_mut()) {
                        (Some(da), _) => {
                            map_da(ops, map, None, da, len as u64)?;
                        }
                        // Placed now, as Linux does, so that making the
                        // transport later needs no allocator.
                        (None, Some(pool)) => {
                            let a = pool.alloc(len, (r.align as usize).max(16))?;
                            let pa = a.region.offset_to_phys(0).unwrap_or(a.da);
                            writer.set_vring_da(index, i, to_u32(a.da)?)?;
                            writer.set_vring_pa(index, i, to_u32(pa)?)?;
                            map.add(a.da, a.region);
                        }
                        // Left for the transport to refuse.
                        (None, None) => {}
                    }
                }
                res.vdevs.push(VdevInfo {
                    index,
                    device_id: v.vdev.id,
                    notify_id: v.vdev.notifyid,
                    vring_ids,
                });
            }
            Entry::Vendor(raw) => {
                // The entry: its type word and the bytes up to the next entry.
                let region = table.sub_region(e.offset, raw.data.len() + 4)?;
                if !ops.handle_rsc(index, raw.kind, region)? {
                    res.skipped.push((index, raw.kind));
                }
            }
            Entry::Unknown(raw) => res.skipped.push((index, raw.kind)),
            _ => {}
        }
    }
    Ok(res)
}
