//! A virtio [`Transport`] over a vdev entry of a resource table in shared
//! memory: what RPMsg runs on, in either role.
//!
//! The vdev entry holds the device status byte, the device features
//! (`dfeatures`, written by the remote), the accepted features (`gfeatures`,
//! written by the host), the config space, and one entry per vring giving its
//! device address, alignment, size and notify id. Everything that must not
//! change while the device runs (the vring addresses and sizes, the notify
//! ids, where the config space is) is read once, validated, and kept here;
//! only the status, features and config space are read from shared memory
//! on each call.

use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use openamp_metal::{IoRegion, Notify};
use openamp_rsc_table::layout::{self, VDEV_DFEATURES, VDEV_GFEATURES, VDEV_STATUS};
use openamp_rsc_table::{
    Entry, ResourceTable, TableWriter, VdevEntry, FW_RSC_ADDR_ANY, FW_RSC_NOTIFY_ID_ANY,
};
use openamp_virtio::{DeviceStatus, Transport, VringInfo, VringLayout};

use crate::mem::{AddressSpace, MemPool};
use crate::{Error, Result};

pub use openamp_virtio::Role;

/// The most bytes of a resource table that are copied for validation.
pub const MAX_TABLE_SIZE: usize = 0x10000;

/// Copies the resource table at the start of `table` (at most
/// [`MAX_TABLE_SIZE`] bytes) into memory we own, so that what is validated
/// cannot change under our feet.
pub fn copy_table(table: &IoRegion<'_>) -> Result<Vec<u8>> {
    let len = table.size().min(MAX_TABLE_SIZE);
    let mut buf = alloc::vec![0u8; len];
    table.read_bytes(0, &mut buf)?;
    Ok(buf)
}

/// The index of the first vdev entry whose own notify id is `notify_id`.
pub fn find_vdev_by_notify_id(table: &ResourceTable<'_>, notify_id: u32) -> Result<usize> {
    table
        .entries()
        .find_map(|e| match e.entry {
            Entry::Vdev(v) if v.vdev.notifyid == notify_id => Some(e.index),
            _ => None,
        })
        .ok_or(Error::NoSuchVdev { notify_id })
}

/// One vring as the transport keeps it.
#[derive(Debug, Clone, Copy)]
struct Ring<'a> {
    info: VringInfo<'a>,
    da: u32,
}

/// A virtio transport backed by a vdev entry of a resource table.
///
/// Made by the host with [`VdevTransport::host`] (the virtio driver: it
/// places vrings the table leaves to it, then negotiates with
/// [`driver_start`](openamp_virtio::transport::driver_start) and
/// [`driver_ready`](openamp_virtio::transport::driver_ready)), or by the
/// remote with [`VdevTransport::remote`] (the virtio device: it waits with
/// [`device_poll_ready`](openamp_virtio::transport::device_poll_ready)).
/// [`Transport::notify`] kicks the other side through `N` with the vring's
/// notify id.
///
/// ```
/// use openamp_metal::{IoRegion, Notify};
/// use openamp_remoteproc::vdev::VdevTransport;
/// use openamp_rsc_table::{resource_table, VdevResource, Vring, VIRTIO_ID_RPMSG};
/// use openamp_virtio::transport::{device_poll_ready, driver_ready, driver_start};
/// use openamp_virtio::Transport;
///
/// resource_table! {
///     /// One RPMsg vdev; the host places both rings.
///     const TABLE: Table = {
///         rpmsg: VdevResource<2> = VdevResource::new(VIRTIO_ID_RPMSG, 0, 1, [
///             Vring::new(0x1000, 16, 8, 1),
///             Vring::new(0x2000, 16, 8, 2),
///         ]),
///     };
/// }
/// struct NoKick;
/// impl Notify for NoKick {
///     fn notify(&self, _id: u32) -> openamp_metal::Result<()> { Ok(()) }
/// }
///
/// #[repr(C, align(4096))]
/// struct Shm([u8; 0x4000]);
/// let mut shm = Shm([0; 0x4000]);
/// let len = TABLE.write_to(&mut shm.0)?;
/// // "Physical" addresses are offsets in `shm`, as on the Linux-process platform.
/// let base = shm.0.as_mut_ptr();
/// // SAFETY: `shm` outlives the region and is only used through it.
/// let shm = unsafe {
///     IoRegion::new(base, 0x4000, openamp_metal::PhysMap::Contiguous(0), Default::default())
/// }?;
/// let table = shm.sub_region(0, len)?;
/// let pool = shm.sub_region(0x3000, 0x1000)?;
/// let host = VdevTransport::host(table, 0, &shm, None, pool, NoKick)?;
/// let remote = VdevTransport::remote(table, 0, &shm, pool, NoKick)?;
/// assert_eq!(driver_start(&host, !0)?, 1);
/// assert_eq!(device_poll_ready(&remote)?, None);
/// driver_ready(&host)?;
/// assert_eq!(device_poll_ready(&remote)?, Some(1));
/// assert_eq!(remote.vring(1)?.notify_id, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct VdevTransport<'a, N> {
    table: IoRegion<'a>,
    index: usize,
    /// Offset of the vdev entry in `table`.
    entry: usize,
    device_id: u32,
    notify_id: u32,
    rings: Vec<Ring<'a>>,
    /// Offset of the config space in `table`.
    config: usize,
    config_len: usize,
    buffers: IoRegion<'a>,
    notifier: N,
    role: Role,
}

impl<'a, N: Notify> VdevTransport<'a, N> {
    /// The host's (virtio driver's) transport for vdev entry `index` of the
    /// table at the start of `table`.
    ///
    /// Vrings at a device address are found through `mem`; a vring whose
    /// `da` is `FW_RSC_ADDR_ANY` gets memory from `pool` and its `da` (and
    /// `pa`, the word OpenAMP keeps it in) is written into the table; a vring
    /// notify id of `FW_RSC_NOTIFY_ID_ANY` gets a free id, written too.
    /// `buffers` is the memory the host's buffers come from.
    pub fn host(
        table: IoRegion<'a>,
        index: usize,
        mem: &impl AddressSpace<'a>,
        mut pool: Option<&mut MemPool<'a>>,
        buffers: IoRegion<'a>,
        notifier: N,
    ) -> Result<Self> {
        let bytes = copy_table(&table)?;
        let parsed = ResourceTable::parse(&bytes)?;
        let (entry, vdev) = vdev_at(&parsed, index)?;
        let writer = TableWriter::new(table);
        let mut used_ids: Vec<u32> = all_notify_ids(&parsed);
        let mut rings = Vec::with_capacity(usize::from(vdev.num_vrings()));
        for (i, v) in (0u8..).zip(vdev.vrings()) {
            let len = ring_len(index, i, v.da, v.num, v.align)?;
            let bad = |reason| Error::BadVring {
                index,
                vring: i,
                da: v.da,
                len,
                reason,
            };
            let (da, region) = if v.da == FW_RSC_ADDR_ANY {
                let pool = pool.as_deref_mut().ok_or(bad("no pool to place it in"))?;
                let a = pool.alloc(len, (v.align as usize).max(16))?;
                let da = crate::rsc::to_u32(index, crate::rsc::vring_field(i, false), a.da)?;
                if da % v.align != 0 {
                    return Err(bad(
                        "the pool placed it at a da that is not a multiple of align",
                    ));
                }
                let pa = a.region.offset_to_phys(0).unwrap_or(a.da);
                let pa = crate::rsc::to_u32(index, crate::rsc::vring_field(i, true), pa)?;
                writer.set_vring_da(index, i, da)?;
                writer.set_vring_pa(index, i, pa)?;
                (da, a.region)
            } else {
                let region = mem
                    .da_region(u64::from(v.da), len as u64)
                    .map_err(|_| bad("not inside mapped memory"))?;
                (v.da, region)
            };
            let notify_id = if v.notifyid == FW_RSC_NOTIFY_ID_ANY {
                let id = (0u32..)
                    .find(|id| !used_ids.contains(id))
                    .ok_or(bad("no notify id left"))?;
                used_ids.push(id);
                writer.set_vring_notify_id(index, i, id)?;
                id
            } else {
                v.notifyid
            };
            rings.push(Ring {
                info: VringInfo {
                    ring: region,
                    num: v.num,
                    align: v.align,
                    notify_id,
                },
                da,
            });
        }
        check_no_overlap(index, &table, parsed.size(), &rings, &buffers)?;
        Self::finish(
            table,
            index,
            entry,
            vdev,
            rings,
            buffers,
            notifier,
            Role::Driver,
        )
    }

    /// The remote's (virtio device's) transport for vdev entry `index` of its
    /// own table at the start of `table`.
    ///
    /// Every vring must have a device address (the remote's own table says
    /// where, or the host wrote it), which `mem` maps; `buffers` is the
    /// memory the host's buffers live in.
    pub fn remote(
        table: IoRegion<'a>,
        index: usize,
        mem: &impl AddressSpace<'a>,
        buffers: IoRegion<'a>,
        notifier: N,
    ) -> Result<Self> {
        let bytes = copy_table(&table)?;
        let parsed = ResourceTable::parse(&bytes)?;
        let (entry, vdev) = vdev_at(&parsed, index)?;
        let mut rings = Vec::with_capacity(usize::from(vdev.num_vrings()));
        for (i, v) in (0u8..).zip(vdev.vrings()) {
            if v.da == FW_RSC_ADDR_ANY {
                return Err(Error::VringNotAssigned { index, vring: i });
            }
            let len = ring_len(index, i, v.da, v.num, v.align)?;
            let region =
                mem.da_region(u64::from(v.da), len as u64)
                    .map_err(|_| Error::BadVring {
                        index,
                        vring: i,
                        da: v.da,
                        len,
                        reason: "not inside mapped memory",
                    })?;
            rings.push(Ring {
                info: VringInfo {
                    ring: region,
                    num: v.num,
                    align: v.align,
                    notify_id: v.notifyid,
                },
                da: v.da,
            });
        }
        check_no_overlap(index, &table, parsed.size(), &rings, &buffers)?;
        Self::finish(
            table,
            index,
            entry,
            vdev,
            rings,
            buffers,
            notifier,
            Role::Device,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        table: IoRegion<'a>,
        index: usize,
        entry: usize,
        vdev: VdevEntry<'_>,
        rings: Vec<Ring<'a>>,
        buffers: IoRegion<'a>,
        notifier: N,
        role: Role,
    ) -> Result<Self> {
        if rings.is_empty() {
            return Err(Error::NoVrings { index });
        }
        let config = entry + layout::VDEV_SIZE + rings.len() * layout::VRING_SIZE;
        let config_len = vdev.config().len();
        // The parser checked this against the copy; the region is at least
        // as long as the copy, but say so rather than trust it.
        table.check(config, config_len)?;
        Ok(VdevTransport {
            table,
            index,
            entry,
            device_id: vdev.vdev.id,
            notify_id: vdev.vdev.notifyid,
            rings,
            config,
            config_len,
            buffers,
            notifier,
            role,
        })
    }

    /// Which side this transport is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The vdev's entry index in the table.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The vdev's own notify id.
    pub fn notify_id(&self) -> u32 {
        self.notify_id
    }

    /// The device address of vring `queue`.
    pub fn vring_da(&self, queue: u16) -> Result<u32> {
        Ok(self.ring(queue)?.da)
    }

    /// The queue whose kicks carry `notify_id`, if any: how a kick received
    /// with an id is dispatched.
    pub fn queue_for_notify_id(&self, notify_id: u32) -> Option<u16> {
        self.rings
            .iter()
            .position(|r| r.info.notify_id == notify_id)
            .and_then(|q| u16::try_from(q).ok())
    }

    /// The notifier kicks go through.
    pub fn notifier(&self) -> &N {
        &self.notifier
    }

    /// The region holding the table.
    pub fn table(&self) -> IoRegion<'a> {
        self.table
    }

    fn ring(&self, queue: u16) -> Result<&Ring<'a>> {
        self.rings.get(usize::from(queue)).ok_or(Error::Virtio(
            openamp_virtio::Error::NoSuchQueue { index: queue },
        ))
    }

    fn check_role(&self, role: Role, what: &'static str) -> openamp_virtio::Result<()> {
        if self.role == role {
            Ok(())
        } else {
            Err(openamp_virtio::Error::Metal(
                openamp_metal::Error::Unsupported { what },
            ))
        }
    }
}

/// The vdev entry at `index` and its offset.
fn vdev_at<'t>(parsed: &ResourceTable<'t>, index: usize) -> Result<(usize, VdevEntry<'t>)> {
    let e = parsed.entry(index)?;
    match e.entry {
        Entry::Vdev(v) => Ok((e.offset, v)),
        _ => Err(Error::NotAVdev { index }),
    }
}

/// Every notify id the table's vdevs and vrings use.
fn all_notify_ids(parsed: &ResourceTable<'_>) -> Vec<u32> {
    let mut ids = Vec::new();
    for e in parsed.entries() {
        if let Entry::Vdev(v) = e.entry {
            ids.push(v.vdev.notifyid);
            ids.extend(v.vrings().map(|r| r.notifyid));
        }
    }
    ids
}

/// Bytes a vring of `num` entries aligned to `align` needs. A vring whose
/// `da` is not a multiple of `align` is refused: Linux and OpenAMP align the
/// used ring's absolute address, the ring code aligns its offset from the
/// ring's start, and only an aligned start makes the two agree.
fn ring_len(index: usize, vring: u8, da: u32, num: u32, align: u32) -> Result<usize> {
    let len = VringLayout::size_for(num, align).map_err(|_| Error::BadVring {
        index,
        vring,
        da,
        len: 0,
        reason: "num or align is not a valid vring layout",
    })?;
    if da != FW_RSC_ADDR_ANY && da % align != 0 {
        return Err(Error::BadVring {
            index,
            vring,
            da,
            len,
            reason: "da is not a multiple of its align",
        });
    }
    Ok(len)
}

/// Refuses vrings that overlap each other, the resource table or the
/// buffers: each side would read the other's writes to one as entries of
/// the other. Compared as addresses in our own mapping, where all of them
/// are.
fn check_no_overlap(
    index: usize,
    table: &IoRegion<'_>,
    table_len: usize,
    rings: &[Ring<'_>],
    buffers: &IoRegion<'_>,
) -> Result<()> {
    let span = |r: &IoRegion<'_>, len: usize| {
        let start = r.as_ptr() as usize;
        (start, start.saturating_add(len))
    };
    let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
    let table_span = span(table, table_len);
    let buffer_span = span(buffers, buffers.size());
    for (i, ring) in (0u8..).zip(rings) {
        let mine = span(&ring.info.ring, ring.info.ring.size());
        let bad = |reason| Error::BadVring {
            index,
            vring: i,
            da: ring.da,
            len: ring.info.ring.size(),
            reason,
        };
        if overlaps(mine, table_span) {
            return Err(bad("overlaps the resource table"));
        }
        if overlaps(mine, buffer_span) {
            return Err(bad("overlaps the buffers"));
        }
        let earlier = rings.iter().take(usize::from(i));
        if earlier
            .map(|o| span(&o.info.ring, o.info.ring.size()))
            .any(|o| overlaps(mine, o))
        {
            return Err(bad("overlaps another vring"));
        }
    }
    Ok(())
}

impl<'a, N: Notify> Transport<'a> for VdevTransport<'a, N> {
    fn device_id(&self) -> u32 {
        self.device_id
    }

    fn num_queues(&self) -> u16 {
        // At most 255 vrings: `num_of_vrings` is a byte.
        u16::try_from(self.rings.len()).unwrap_or(u16::MAX)
    }

    fn vring(&self, index: u16) -> openamp_virtio::Result<VringInfo<'a>> {
        self.rings
            .get(usize::from(index))
            .map(|r| r.info)
            .ok_or(openamp_virtio::Error::NoSuchQueue { index })
    }

    fn buffers(&self) -> openamp_virtio::Result<IoRegion<'a>> {
        Ok(self.buffers)
    }

    fn status(&self) -> openamp_virtio::Result<DeviceStatus> {
        // An atomic byte, not a volatile one: fences order atomics only.
        // Acquire: pairs with the release store of the other side's status,
        // so the rings, buffers and features it wrote first are not read
        // older than the status that announced them.
        let s = self
            .table
            .load_u8(self.entry + VDEV_STATUS, Ordering::Acquire)?;
        Ok(DeviceStatus(s))
    }

    fn set_status(&self, status: DeviceStatus) -> openamp_virtio::Result<()> {
        // Release: the other side acts on the new status by reading what we
        // wrote before it (rings, buffers, gfeatures); those writes must not
        // become visible after the status.
        Ok(self
            .table
            .store_u8(self.entry + VDEV_STATUS, status.0, Ordering::Release)?)
    }

    fn device_features(&self) -> openamp_virtio::Result<u32> {
        Ok(self
            .table
            .load_u32(self.entry + VDEV_DFEATURES, Ordering::Acquire)?)
    }

    fn set_device_features(&self, features: u32) -> openamp_virtio::Result<()> {
        self.check_role(Role::Device, "only the device (remote) sets dfeatures")?;
        Ok(self
            .table
            .store_u32(self.entry + VDEV_DFEATURES, features, Ordering::Release)?)
    }

    fn driver_features(&self) -> openamp_virtio::Result<u32> {
        Ok(self
            .table
            .load_u32(self.entry + VDEV_GFEATURES, Ordering::Acquire)?)
    }

    fn set_driver_features(&self, features: u32) -> openamp_virtio::Result<()> {
        self.check_role(Role::Driver, "only the driver (host) sets gfeatures")?;
        Ok(self
            .table
            .store_u32(self.entry + VDEV_GFEATURES, features, Ordering::Release)?)
    }

    fn config_len(&self) -> usize {
        self.config_len
    }

    fn read_config(&self, offset: usize, dst: &mut [u8]) -> openamp_virtio::Result<()> {
        let cfg = self.table.sub_region(self.config, self.config_len)?;
        Ok(cfg.read_bytes(offset, dst)?)
    }

    fn write_config(&self, offset: usize, src: &[u8]) -> openamp_virtio::Result<()> {
        let cfg = self.table.sub_region(self.config, self.config_len)?;
        Ok(cfg.write_bytes(offset, src)?)
    }

    fn notify(&self, queue: u16) -> openamp_virtio::Result<()> {
        let id = self
            .rings
            .get(usize::from(queue))
            .ok_or(openamp_virtio::Error::NoSuchQueue { index: queue })?
            .info
            .notify_id;
        Ok(self.notifier.notify(id)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::RefCell;
    use openamp_metal::{IoAttr, PhysMap};
    use openamp_rsc_table::{resource_table, Carveout, VdevResource, Vring};
    use openamp_virtio::transport::{device_poll_ready, driver_ready, driver_start};

    resource_table! {
        /// Rings the host places, a config space, a carveout first.
        const TABLE: Table = {
            mem: Carveout = Carveout::new(0x2000, 0x2000, 0x1000, 0, "mem"),
            rpmsg: VdevResource<2, 4> = VdevResource::new(7, 9, 0b101, [
                Vring::new(FW_RSC_ADDR_ANY, 0x100, 16, FW_RSC_NOTIFY_ID_ANY),
                Vring::new(FW_RSC_ADDR_ANY, 0x100, 16, 1),
            ]).with_config([1, 2, 3, 4]),
        };
    }

    #[derive(Debug, Default)]
    struct Kicks(RefCell<Vec<u32>>);
    impl Notify for Kicks {
        fn notify(&self, id: u32) -> openamp_metal::Result<()> {
            self.0.borrow_mut().push(id);
            Ok(())
        }
    }

    #[repr(C, align(4096))]
    struct Shm([u8; 0x8000]);

    fn region(shm: &mut Shm) -> IoRegion<'_> {
        let base = shm.0.as_mut_ptr();
        // SAFETY: `shm` is borrowed for the region's life and used only through it.
        #[allow(unsafe_code)]
        let r = unsafe { IoRegion::new(base, 0x8000, PhysMap::Contiguous(0), IoAttr::UNCACHED) };
        r.unwrap()
    }

    #[test]
    fn host_places_any_rings_and_ids_and_the_remote_finds_them() {
        let mut shm = Shm([0; 0x8000]);
        let len = TABLE.write_to(&mut shm.0).unwrap();
        let shm = region(&mut shm);
        let table = shm.sub_region(0, len).unwrap();
        let bufs = shm.sub_region(0x6000, 0x2000).unwrap();
        assert_eq!(
            VdevTransport::remote(table, 1, &shm, bufs, Kicks::default()).unwrap_err(),
            Error::VringNotAssigned { index: 1, vring: 0 }
        );
        assert_eq!(
            VdevTransport::host(table, 1, &shm, None, bufs, Kicks::default()).unwrap_err(),
            Error::BadVring {
                index: 1,
                vring: 0,
                da: FW_RSC_ADDR_ANY,
                len: VringLayout::size_for(16, 0x100).unwrap(),
                reason: "no pool to place it in"
            }
        );
        assert_eq!(
            VdevTransport::host(table, 0, &shm, None, bufs, Kicks::default()).unwrap_err(),
            Error::NotAVdev { index: 0 }
        );
        let mut pool = MemPool::new(shm.sub_region(0x4000, 0x2000).unwrap(), 0x4000);
        let host =
            VdevTransport::host(table, 1, &shm, Some(&mut pool), bufs, Kicks::default()).unwrap();
        assert_eq!(host.vring_da(0).unwrap(), 0x4000);
        assert_eq!(host.vring_da(1).unwrap() % 0x100, 0);
        assert!(host.vring_da(1).unwrap() > 0x4000);
        // Vring 0's id: the lowest one not used (9 and 1 are).
        assert_eq!(host.vring(0).unwrap().notify_id, 0);
        assert_eq!(host.notify_id(), 9);
        let remote = VdevTransport::remote(table, 1, &shm, bufs, Kicks::default()).unwrap();
        assert_eq!(remote.vring_da(1).unwrap(), host.vring_da(1).unwrap());
        assert_eq!(remote.vring(0).unwrap().notify_id, 0);

        assert_eq!(driver_start(&host, 0b100).unwrap(), 0b100);
        assert_eq!(device_poll_ready(&remote).unwrap(), None);
        driver_ready(&host).unwrap();
        assert_eq!(device_poll_ready(&remote).unwrap(), Some(0b100));
        assert_eq!(remote.driver_features().unwrap(), 0b100);
        assert!(remote.set_driver_features(1).is_err());
        remote.set_device_features(0b111).unwrap();
        assert_eq!(host.device_features().unwrap(), 0b111);

        let mut cfg = [0u8; 4];
        assert_eq!(host.config_len(), 4);
        host.read_config(0, &mut cfg).unwrap();
        assert_eq!(cfg, [1, 2, 3, 4]);
        remote.write_config(2, &[9, 9]).unwrap();
        host.read_config(0, &mut cfg).unwrap();
        assert_eq!(cfg, [1, 2, 9, 9]);
        assert!(host.read_config(2, &mut cfg).is_err());

        host.notify(1).unwrap();
        remote.notify(0).unwrap();
        assert!(host.notify(2).is_err());
        assert_eq!(*host.notifier().0.borrow(), [1]);
        assert_eq!(*remote.notifier().0.borrow(), [0]);
    }

    /// The status byte publishes what was written before it, across threads
    /// (under Miri: the status was a volatile byte before, a data race).
    #[test]
    fn status_publishes_the_writes_before_it() {
        struct NoKicks;
        impl Notify for NoKicks {
            fn notify(&self, _id: u32) -> openamp_metal::Result<()> {
                Ok(())
            }
        }
        let mut shm = Shm([0; 0x8000]);
        let len = TABLE.write_to(&mut shm.0).unwrap();
        let shm = region(&mut shm);
        let table = shm.sub_region(0, len).unwrap();
        let bufs = shm.sub_region(0x6000, 0x2000).unwrap();
        let mut pool = MemPool::new(shm.sub_region(0x4000, 0x2000).unwrap(), 0x4000);
        let host = VdevTransport::host(table, 1, &shm, Some(&mut pool), bufs, NoKicks).unwrap();
        let remote = VdevTransport::remote(table, 1, &shm, bufs, NoKicks).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                host.write_config(0, &[9, 8, 7, 6]).unwrap();
                host.set_status(DeviceStatus(0x04)).unwrap();
            });
            s.spawn(|| {
                while !remote.status().unwrap().driver_ok() {
                    std::thread::yield_now();
                }
                let mut cfg = [0u8; 4];
                remote.read_config(0, &mut cfg).unwrap();
                assert_eq!(cfg, [9, 8, 7, 6]);
            });
        });
    }

    #[test]
    fn rings_outside_mapped_memory_are_refused() {
        resource_table! {
            /// A ring past the end of memory.
            const FAR: Far = {
                rpmsg: VdevResource<1> = VdevResource::new(7, 0, 0, [
                    Vring::new(0x7f00, 0x10, 16, 1),
                ]),
            };
        }
        let mut shm = Shm([0; 0x8000]);
        let len = FAR.write_to(&mut shm.0).unwrap();
        let shm = region(&mut shm);
        let table = shm.sub_region(0, len).unwrap();
        let err = VdevTransport::remote(table, 0, &shm, shm, Kicks::default()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::BadVring {
                    index: 0,
                    vring: 0,
                    da: 0x7f00,
                    ..
                }
            ),
            "{err}"
        );
    }

    resource_table! {
        /// One vring at a da that is not a multiple of its align.
        const MISALIGNED: Misaligned = {
            rpmsg: VdevResource<1> = VdevResource::new(7, 0, 0, [
                Vring::new(0x2010, 0x100, 16, 1),
            ]),
        };
    }

    resource_table! {
        /// Two vrings on top of each other.
        const STACKED: Stacked = {
            rpmsg: VdevResource<2> = VdevResource::new(7, 0, 0, [
                Vring::new(0x2000, 0x10, 16, 1),
                Vring::new(0x2100, 0x10, 16, 2),
            ]),
        };
    }

    resource_table! {
        /// A vring over the table itself.
        const ON_TABLE: OnTable = {
            rpmsg: VdevResource<1> = VdevResource::new(7, 0, 0, [
                Vring::new(0x0, 0x10, 16, 1),
            ]),
        };
    }

    fn refusal(table_bytes: &dyn Fn(&mut [u8]) -> usize, buffers: (usize, usize)) -> Error {
        let mut shm = Shm([0; 0x8000]);
        let len = table_bytes(&mut shm.0);
        let shm = region(&mut shm);
        let table = shm.sub_region(0, len).unwrap();
        let bufs = shm.sub_region(buffers.0, buffers.1).unwrap();
        VdevTransport::remote(table, 0, &shm, bufs, Kicks::default()).unwrap_err()
    }

    fn reason(err: &Error) -> &'static str {
        match err {
            Error::BadVring { reason, .. } => reason,
            other => panic!("not a vring error: {other}"),
        }
    }

    /// Layouts on which the two sides would not agree where things are.
    #[test]
    fn misaligned_and_overlapping_vrings_are_refused() {
        let far = (0x6000, 0x1000);
        let e = refusal(&|m| MISALIGNED.write_to(m).unwrap(), far);
        assert_eq!(reason(&e), "da is not a multiple of its align", "{e}");
        assert!(matches!(e, Error::BadVring { da: 0x2010, .. }));
        let e = refusal(&|m| STACKED.write_to(m).unwrap(), far);
        assert_eq!(reason(&e), "overlaps another vring", "{e}");
        assert!(matches!(e, Error::BadVring { vring: 1, .. }));
        let e = refusal(&|m| ON_TABLE.write_to(m).unwrap(), far);
        assert_eq!(reason(&e), "overlaps the resource table", "{e}");
        // Buffers over the rings of an otherwise good table.
        let e = refusal(&|m| FAR_OK.write_to(m).unwrap(), (0x2000, 0x100));
        assert_eq!(reason(&e), "overlaps the buffers", "{e}");
        // And the good table with buffers elsewhere is accepted.
        let mut shm = Shm([0; 0x8000]);
        let len = FAR_OK.write_to(&mut shm.0).unwrap();
        let shm = region(&mut shm);
        let table = shm.sub_region(0, len).unwrap();
        let bufs = shm.sub_region(0x6000, 0x1000).unwrap();
        assert!(VdevTransport::remote(table, 0, &shm, bufs, Kicks::default()).is_ok());
    }

    resource_table! {
        /// A good layout: one vring at 0x2000.
        const FAR_OK: FarOk = {
            rpmsg: VdevResource<1> = VdevResource::new(7, 0, 0, [
                Vring::new(0x2000, 0x10, 16, 1),
            ]),
        };
    }
}
