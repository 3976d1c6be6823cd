//! The byte layout of a legacy split virtqueue, and the one place where this
//! crate touches ring memory.

use core::sync::atomic::Ordering;

use openamp_metal::{CacheMaintenance, IoRegion};

/// The fence the queues order their notification decisions with: loom's
/// under the loom model, so that it sees them.
#[cfg(not(all(test, loom)))]
pub(crate) use core::sync::atomic::fence;
#[cfg(all(test, loom))]
pub(crate) use loom::sync::atomic::fence;

/// What ring memory is accessed through: the region itself, or under the
/// loom model (`--cfg loom`, tests only) loom cells standing for its fields.
#[cfg(not(all(test, loom)))]
type RingMem<'a> = IoRegion<'a>;
#[cfg(all(test, loom))]
type RingMem<'a> = crate::loom_ring::LoomMem<'a>;

use crate::{Error, Result};

/// Descriptor flag: the chain goes on in `next`.
pub const VRING_DESC_F_NEXT: u16 = 1;
/// Descriptor flag: the buffer is written by the device (else read by it).
pub const VRING_DESC_F_WRITE: u16 = 2;
/// Descriptor flag: the buffer holds a table of descriptors (not supported here).
pub const VRING_DESC_F_INDIRECT: u16 = 4;
/// Available-ring flag: the driver asks not to be interrupted.
pub const VRING_AVAIL_F_NO_INTERRUPT: u16 = 1;
/// Used-ring flag: the device asks not to be notified.
pub const VRING_USED_F_NO_NOTIFY: u16 = 1;
/// The largest ring size virtio allows.
pub const MAX_QUEUE_SIZE: usize = 32768;

/// Size in bytes of one descriptor.
const DESC_SIZE: usize = 16;
/// Size in bytes of one used element (`id: u32`, `len: u32`).
const USED_ELEM_SIZE: usize = 8;

/// Where each field of a legacy split vring lies, relative to its base.
///
/// ```
/// use openamp_virtio::VringLayout;
/// // OpenAMP's Linux-process platform: 256 entries, aligned to 0x1000.
/// let l = VringLayout::new(256, 0x1000)?;
/// assert_eq!(l.avail_offset(), 0x1000);
/// assert_eq!(l.used_offset(), 0x2000);
/// assert_eq!(l.size(), 0x2000 + 6 + 8 * 256);
/// # Ok::<(), openamp_virtio::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VringLayout {
    num: u16,
    align: u32,
    used: usize,
}

impl VringLayout {
    /// The layout of a ring of `num` entries (a power of two up to 32768)
    /// whose used ring is aligned to `align` (a power of two, at least 4).
    pub const fn new(num: u32, align: u32) -> Result<Self> {
        if !num.is_power_of_two() || num as usize > MAX_QUEUE_SIZE {
            return Err(Error::InvalidQueueSize {
                num,
                max: MAX_QUEUE_SIZE,
            });
        }
        if !align.is_power_of_two() || align < 4 {
            return Err(Error::InvalidAlign { align });
        }
        let n = num as usize;
        // At most 16 * 32768 + 6 + 2 * 32768 + 2^31: no overflow on 32-bit.
        let avail_end = DESC_SIZE * n + 6 + 2 * n;
        let a = align as usize;
        let used = (avail_end + a - 1) & !(a - 1);
        Ok(VringLayout {
            num: num as u16,
            align,
            used,
        })
    }

    /// Bytes needed for a ring of `num` entries aligned to `align`.
    pub const fn size_for(num: u32, align: u32) -> Result<usize> {
        match Self::new(num, align) {
            Ok(l) => Ok(l.size()),
            Err(e) => Err(e),
        }
    }

    /// Number of entries (`1..=32768`).
    pub const fn num(&self) -> u16 {
        self.num
    }
    /// The used ring's alignment.
    pub const fn align(&self) -> u32 {
        self.align
    }
    /// `num - 1`: a free-running index ANDed with this is its slot.
    pub(crate) const fn mask(&self) -> u16 {
        self.num.wrapping_sub(1)
    }
    /// Offset of descriptor `i`.
    pub const fn desc_offset(&self, i: u16) -> usize {
        DESC_SIZE * i as usize
    }
    /// Offset of the available ring (its `flags`).
    pub const fn avail_offset(&self) -> usize {
        DESC_SIZE * self.num as usize
    }
    /// Offset of the available ring's `idx`.
    pub const fn avail_idx_offset(&self) -> usize {
        self.avail_offset() + 2
    }
    /// Offset of available-ring slot `slot`.
    pub const fn avail_ring_offset(&self, slot: u16) -> usize {
        self.avail_offset() + 4 + 2 * slot as usize
    }
    /// Offset of `used_event` (after the available ring).
    pub const fn used_event_offset(&self) -> usize {
        self.avail_offset() + 4 + 2 * self.num as usize
    }
    /// Offset of the used ring (its `flags`).
    pub const fn used_offset(&self) -> usize {
        self.used
    }
    /// Offset of the used ring's `idx`.
    pub const fn used_idx_offset(&self) -> usize {
        self.used + 2
    }
    /// Offset of used element `slot` (its `id`; `len` follows at +4).
    pub const fn used_ring_offset(&self, slot: u16) -> usize {
        self.used + 4 + USED_ELEM_SIZE * slot as usize
    }
    /// Offset of `avail_event` (after the used ring).
    pub const fn avail_event_offset(&self) -> usize {
        self.used + 4 + USED_ELEM_SIZE * self.num as usize
    }
    /// Total size of the ring in bytes.
    pub const fn size(&self) -> usize {
        self.avail_event_offset() + 2
    }
}

/// One descriptor as it lies in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RawDesc {
    pub addr: u64,
    pub len: u32,
    pub flags: u16,
    pub next: u16,
}

/// The ring memory of one queue, with every shared access in one place.
///
/// Each accessor names its `Ordering`. When the region is cached (and the
/// peer does not snoop), a read is preceded by an invalidate of the bytes it
/// reads, and a write is followed by a flush of the bytes it wrote. The
/// [`CacheMaintenance`] implementation must complete its operation (a `DSB`
/// on ARM) before it returns, so that the program order of flushes and
/// stores here is the order the peer sees in memory.
#[derive(Debug, Clone)]
pub(crate) struct Ring<'a> {
    pub mem: RingMem<'a>,
    pub layout: VringLayout,
}

impl<'a> Ring<'a> {
    /// Checks that `mem` can hold `layout` and that its base suits descriptors.
    pub fn new(mem: IoRegion<'a>, layout: VringLayout) -> Result<Self> {
        let addr = mem.as_ptr() as usize;
        if addr % 16 != 0 {
            return Err(Error::RingMisaligned { addr });
        }
        if mem.size() < layout.size() {
            return Err(Error::RingTooSmall {
                need: layout.size(),
                size: mem.size(),
            });
        }
        #[cfg(all(test, loom))]
        let mem = RingMem::attach(mem);
        Ok(Ring { mem, layout })
    }

    pub fn load_u16(&self, c: &impl CacheMaintenance, off: usize, order: Ordering) -> Result<u16> {
        self.mem.invalidate(c, off, 2)?;
        Ok(self.mem.load_u16(off, order)?)
    }

    pub fn store_u16(
        &self,
        c: &impl CacheMaintenance,
        off: usize,
        v: u16,
        order: Ordering,
    ) -> Result<()> {
        self.mem.store_u16(off, v, order)?;
        Ok(self.mem.flush(c, off, 2)?)
    }

    /// Zeroes the whole vring, each field with the width every later access
    /// of it uses (a `u32` store per descriptor and used-element word, a
    /// `u16` store per index, flag and ring slot), and the padding before the
    /// used ring with a byte fill. A block fill over the fields would make
    /// word-wide atomic stores where the rings later make narrower ones:
    /// mixed-size atomic accesses to one location, which Rust's memory model
    /// leaves undefined when they race and Miri's weak-memory emulation
    /// cannot track. Relaxed: the caller publishes the ring afterwards.
    pub fn zero(&self, c: &impl CacheMaintenance) -> Result<()> {
        let l = self.layout;
        let z = Ordering::Relaxed;
        for off in (0..l.avail_offset()).step_by(4) {
            self.mem.store_u32(off, 0, z)?;
        }
        for off in (l.avail_offset()..l.used_event_offset() + 2).step_by(2) {
            self.mem.store_u16(off, 0, z)?;
        }
        let gap = l.used_event_offset() + 2;
        self.mem.fill(gap, l.used_offset() - gap, 0)?;
        self.mem.store_u16(l.used_offset(), 0, z)?;
        self.mem.store_u16(l.used_idx_offset(), 0, z)?;
        for off in (l.used_ring_offset(0)..l.avail_event_offset()).step_by(4) {
            self.mem.store_u32(off, 0, z)?;
        }
        self.mem.store_u16(l.avail_event_offset(), 0, z)?;
        Ok(self.mem.flush(c, 0, l.size())?)
    }

    /// Reads descriptor `i`. Every field is a relaxed atomic load: the
    /// caller's acquire load of `avail.idx` ordered these after the driver's
    /// writes. The 64-bit `addr` is read as two halves; a peer that rewrites
    /// it concurrently can only make it wrong, and it is validated anyway.
    pub fn read_desc(&self, c: &impl CacheMaintenance, i: u16) -> Result<RawDesc> {
        let off = self.layout.desc_offset(i);
        self.mem.invalidate(c, off, DESC_SIZE)?;
        let lo = self.mem.load_u32(off, Ordering::Relaxed)?;
        let hi = self.mem.load_u32(off + 4, Ordering::Relaxed)?;
        let len = self.mem.load_u32(off + 8, Ordering::Relaxed)?;
        let fn_ = self.mem.load_u32(off + 12, Ordering::Relaxed)?;
        Ok(RawDesc {
            addr: u64::from(lo) | (u64::from(hi) << 32),
            len,
            flags: fn_ as u16,
            next: (fn_ >> 16) as u16,
        })
    }

    /// Writes descriptor `i` with relaxed stores; the caller publishes it
    /// with a release store of `avail.idx`.
    pub fn write_desc(&self, c: &impl CacheMaintenance, i: u16, d: RawDesc) -> Result<()> {
        let off = self.layout.desc_offset(i);
        self.mem.store_u32(off, d.addr as u32, Ordering::Relaxed)?;
        self.mem
            .store_u32(off + 4, (d.addr >> 32) as u32, Ordering::Relaxed)?;
        self.mem.store_u32(off + 8, d.len, Ordering::Relaxed)?;
        let fn_ = u32::from(d.flags) | (u32::from(d.next) << 16);
        self.mem.store_u32(off + 12, fn_, Ordering::Relaxed)?;
        Ok(self.mem.flush(c, off, DESC_SIZE)?)
    }

    /// Reads used element `slot` as `(id, len)`, relaxed (ordered by the
    /// caller's acquire load of `used.idx`).
    pub fn read_used(&self, c: &impl CacheMaintenance, slot: u16) -> Result<(u32, u32)> {
        let off = self.layout.used_ring_offset(slot);
        self.mem.invalidate(c, off, USED_ELEM_SIZE)?;
        let id = self.mem.load_u32(off, Ordering::Relaxed)?;
        let len = self.mem.load_u32(off + 4, Ordering::Relaxed)?;
        Ok((id, len))
    }

    /// Writes used element `slot`, relaxed (published by the caller's
    /// release store of `used.idx`).
    pub fn write_used(
        &self,
        c: &impl CacheMaintenance,
        slot: u16,
        id: u32,
        len: u32,
    ) -> Result<()> {
        let off = self.layout.used_ring_offset(slot);
        self.mem.store_u32(off, id, Ordering::Relaxed)?;
        self.mem.store_u32(off + 4, len, Ordering::Relaxed)?;
        Ok(self.mem.flush(c, off, USED_ELEM_SIZE)?)
    }
}

/// Whether a side that moved its index from `old` to `new` must notify a
/// peer that asked (through `event`) to be told once the index passes it.
///
/// All arithmetic wraps, as the indices do.
pub const fn need_event(event: u16, new: u16, old: u16) -> bool {
    new.wrapping_sub(event).wrapping_sub(1) < new.wrapping_sub(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_openamp_linux_platform() {
        let l = VringLayout::new(256, 0x1000).unwrap();
        assert_eq!(l.desc_offset(1), 16);
        assert_eq!(l.avail_offset(), 0x1000);
        assert_eq!(l.avail_idx_offset(), 0x1002);
        assert_eq!(l.avail_ring_offset(3), 0x100a);
        assert_eq!(l.used_event_offset(), 0x1204);
        assert_eq!(l.used_offset(), 0x2000);
        assert_eq!(l.used_ring_offset(1), 0x200c);
        assert_eq!(l.avail_event_offset(), 0x2804);
        assert_eq!(l.size(), 0x2806);
    }

    #[test]
    fn layout_rejects_bad_sizes() {
        assert!(matches!(
            VringLayout::new(0, 16),
            Err(Error::InvalidQueueSize { num: 0, .. })
        ));
        assert!(VringLayout::new(3, 16).is_err());
        assert!(VringLayout::new(65536, 16).is_err());
        assert!(VringLayout::new(32768, 4).is_ok());
        assert!(matches!(
            VringLayout::new(4, 2),
            Err(Error::InvalidAlign { align: 2 })
        ));
        assert!(VringLayout::new(4, 24).is_err());
        let big = VringLayout::new(32768, 1 << 31).unwrap();
        assert_eq!(big.used_offset(), 1 << 31);
        assert_eq!(big.num(), 32768);
        assert_eq!(big.mask(), 32767);
    }

    #[test]
    fn need_event_wraps() {
        assert!(need_event(0, 1, 0));
        assert!(!need_event(1, 1, 0));
        assert!(need_event(5, 10, 0));
        assert!(!need_event(10, 10, 0));
        assert!(need_event(0xffff, 1, 0xfffe));
        assert!(!need_event(3, 3, 3));
    }
}
