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

/// `value` for table field `field` of entry `entry`, if it fits.
pub(crate) fn to_u32(entry: usize, field: &'static str, value: u64) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::AddressTooLarge {
        entry,
        field,
        value,
    })
}

/// The name of vring `i`'s `da` (`pa` with `pa`) field, for errors.
pub(crate) fn vring_field(i: u8, pa: bool) -> &'static str {
    const DA: [&str; 8] = [
        "vring 0 da",
        "vring 1 da",
        "vring 2 da",
        "vring 3 da",
        "vring 4 da",
        "vring 5 da",
        "vring 6 da",
        "vring 7 da",
    ];
    const PA: [&str; 8] = [
        "vring 0 pa",
        "vring 1 pa",
        "vring 2 pa",
        "vring 3 pa",
        "vring 4 pa",
        "vring 5 pa",
        "vring 6 pa",
        "vring 7 pa",
    ];
    let names = if pa { &PA } else { &DA };
    names
        .get(usize::from(i))
        .copied()
        .unwrap_or(if pa { "vring pa" } else { "vring da" })
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
                        writer.set_carveout_da(index, to_u32(index, "carveout da", m.da)?)?;
                        m
                    }
                };
                if c.pa == FW_RSC_ADDR_ANY {
                    let pa = m.region.offset_to_phys(0).unwrap_or(m.da);
                    writer.set_carveout_pa(index, to_u32(index, "carveout pa", pa)?)?;
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
                            let da = to_u32(index, vring_field(i, false), a.da)?;
                            let pa = to_u32(index, vring_field(i, true), pa)?;
                            writer.set_vring_da(index, i, da)?;
                            writer.set_vring_pa(index, i, pa)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Remoteproc;
    use openamp_metal::{IoAttr, PhysMap};
    use openamp_rsc_table::{
        resource_table, Carveout, Devmem, Trace, VdevResource, VendorResource, Vring,
    };

    resource_table! {
        /// One of each kind.
        const TABLE: Table = {
            fixed: Carveout = Carveout::new(0x1000, FW_RSC_ADDR_ANY, 0x1000, 0, "fixed"),
            any: Carveout = Carveout::new(FW_RSC_ADDR_ANY, FW_RSC_ADDR_ANY, 0x800, 0, "any"),
            regs: Devmem = Devmem::new(0x3000, 0x3000, 0x100, 0, "regs"),
            log: Trace = Trace::new(0x3800, 0x100, "r5_log"),
            mine: VendorResource<4> = VendorResource::new(200, [1, 2, 3, 4]),
            other: VendorResource<4> = VendorResource::new(300, [0; 4]),
            rpmsg: VdevResource<2> = VdevResource::new(7, 5, 1, [
                Vring::new(FW_RSC_ADDR_ANY, 0x100, 16, 6),
                Vring::new(0x4000, 0x100, 16, 7),
            ]),
        };
    }

    /// A platform with one flat memory at physical 0x8000_0000, device
    /// address 0; it handles vendor type 200.
    #[derive(Debug)]
    struct Flat<'a> {
        mem: IoRegion<'a>,
        vendor: Vec<(usize, u32, u8)>,
    }
    impl<'a> RemoteprocOps<'a> for Flat<'a> {
        fn mmap(&mut self, _pa: Option<u64>, da: Option<u64>, len: u64) -> Result<Mapping<'a>> {
            let da = da.ok_or(Error::Unsupported { op: "mmap any" })?;
            let region = self
                .mem
                .sub_region(da as usize, len as usize)
                .map_err(|_| Error::Unmapped { da, len })?;
            Ok(Mapping { da, region })
        }
        fn handle_rsc(&mut self, index: usize, kind: u32, entry: IoRegion<'a>) -> Result<bool> {
            if kind != 200 {
                return Ok(false);
            }
            self.vendor.push((index, kind, entry.read_u8(4)?));
            Ok(true)
        }
        fn start(&mut self) -> Result<()> {
            Ok(())
        }
        fn stop(&mut self) -> Result<()> {
            Ok(())
        }
        fn notify(&self, _: u32) -> Result<()> {
            Ok(())
        }
    }

    #[repr(C, align(4096))]
    struct Mem([u8; 0x8000]);

    #[test]
    fn every_kind_of_entry_is_handled() {
        let mut m = Mem([0; 0x8000]);
        let base = m.0.as_mut_ptr();
        // SAFETY: `m` outlives the region and is only used through it.
        #[allow(unsafe_code)]
        let mem = unsafe {
            IoRegion::new(
                base,
                0x8000,
                PhysMap::Contiguous(0x8000_0000),
                IoAttr::UNCACHED,
            )
        }
        .unwrap();
        let table = mem.sub_region(0, 0x800).unwrap();
        let mut bytes = [0u8; Table::SIZE];
        TABLE.write_to(&mut bytes).unwrap();
        table.write_bytes(0, &bytes).unwrap();
        mem.write_bytes(0x3800, b"hello from r5\n\0stale").unwrap();

        let mut rproc = Remoteproc::new(Flat {
            mem,
            vendor: Vec::new(),
        })
        .unwrap();
        rproc.set_pool(MemPool::new(
            mem.sub_region(0x5000, 0x3000).unwrap(),
            0x5000,
        ));
        rproc.config().unwrap();
        rproc.attach_table(table).unwrap();
        assert_eq!(rproc.state(), crate::State::Ready);

        let r = rproc.resources();
        // Carveouts: the fixed one got its pa, the "any" one was placed.
        let copy = crate::vdev::copy_table(&table).unwrap();
        let parsed = ResourceTable::parse(&copy).unwrap();
        let Entry::Carveout(fixed) = parsed.entry(0).unwrap().entry else {
            panic!()
        };
        assert_eq!((fixed.da, fixed.pa), (0x1000, 0x8000_1000));
        let Entry::Carveout(any) = parsed.entry(1).unwrap().entry else {
            panic!()
        };
        assert_eq!((any.da, any.pa), (0x5000, 0x8000_5000));
        assert_eq!(r.mappings.len(), 3);
        // The vdev's "any" vring was placed from the pool, after the carveout.
        let Entry::Vdev(v) = parsed.entry(6).unwrap().entry else {
            panic!()
        };
        let v0 = v.vring(0).unwrap();
        assert_eq!(v0.da, 0x5800);
        assert_eq!(v0.pa, 0x8000_5800);
        // Vendor entries: 200 handled, 300 skipped.
        assert_eq!(rproc.ops().vendor, [(4, 200, 1)]);
        assert_eq!(rproc.resources().skipped, [(5, 300)]);
        // Trace.
        let t = &rproc.traces()[0];
        assert_eq!(t.name, "r5_log");
        assert_eq!(t.text().unwrap(), "hello from r5\n");
        let mut reader = t.reader();
        assert_eq!(reader.read_new().unwrap(), "hello from r5\n");
        assert_eq!(reader.read_new().unwrap(), "");
        mem.write_bytes(0x3800 + 14, b"more\n\0").unwrap();
        assert_eq!(reader.read_new().unwrap(), "more\n");
        // Dispatch by notify id.
        assert_eq!(
            rproc.dispatch(7),
            Some(NotifyTarget {
                vdev: 6,
                queue: Some(1)
            })
        );
        assert_eq!(
            rproc.dispatch(5),
            Some(NotifyTarget {
                vdev: 6,
                queue: None
            })
        );
        assert_eq!(rproc.dispatch(8), None);
        // The vdev's transport, in both roles, over the placed rings.
        let bufs = mem.sub_region(0x7000, 0x1000).unwrap();
        let host = rproc.create_virtio(5, crate::Role::Driver, bufs).unwrap();
        assert_eq!(host.vring_da(0).unwrap(), 0x5800);
        let dev = rproc.create_virtio(5, crate::Role::Device, bufs).unwrap();
        assert_eq!(dev.vring_da(1).unwrap(), 0x4000);
        assert!(matches!(
            rproc.create_virtio(9, crate::Role::Driver, bufs),
            Err(Error::NoSuchVdev { notify_id: 9 })
        ));
    }
}
