//! The device side of a split virtqueue: takes offered buffers, returns them used.

use core::sync::atomic::Ordering;

use openamp_metal::{CacheMaintenance, IoRegion, NoCache};

use crate::queue::{CheckN, QueueConfig, Segment};
use crate::ring::{
    fence, need_event, Ring, VringLayout, VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_INDIRECT,
    VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_USED_F_NO_NOTIFY,
};
use crate::{Error, Result};

/// A validated copy of one descriptor of a chain we hold.
#[derive(Debug, Clone, Copy, Default)]
struct Held {
    offset: usize,
    len: u32,
    writable: bool,
    next: u16,
}

/// A chain taken from the available ring, validated and copied.
///
/// It is a token: pass it back to [`DeviceQueue::push_used`]. Its buffers
/// are read from our private copy ([`DeviceQueue::segments`]), so a driver
/// that rewrites the descriptors afterwards changes nothing here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    /// The head descriptor's id.
    pub head: u16,
    /// Number of descriptors.
    pub descriptors: u16,
    /// Total bytes of the device-readable buffers.
    pub readable: u32,
    /// Total bytes of the device-writable buffers.
    pub writable: u32,
}

/// One buffer of a [`Chain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainSegment {
    /// Where it lies in the buffer region.
    pub buf: Segment,
    /// Whether the device may write it (else it reads it).
    pub writable: bool,
}

/// The buffers of a chain, in order (see [`DeviceQueue::segments`]).
#[derive(Debug, Clone)]
pub struct Segments<'q, const N: usize> {
    held: &'q [Held; N],
    next: u16,
    left: u16,
}

impl<const N: usize> Iterator for Segments<'_, N> {
    type Item = ChainSegment;
    fn next(&mut self) -> Option<ChainSegment> {
        if self.left == 0 {
            return None;
        }
        let h = self.held.get(usize::from(self.next))?;
        self.left -= 1;
        self.next = h.next;
        Some(ChainSegment {
            buf: Segment::new(h.offset, h.len),
            writable: h.writable,
        })
    }
}

/// The device side of a legacy split virtqueue of at most `N` entries.
///
/// The device owns the used ring and writes it; it reads `avail.flags`,
/// `avail.idx`, the available ring, `used_event` and the descriptors, and
/// checks each of them before use: indices, descriptor ids, `next` links
/// (no loops, no chain longer than the ring, no descriptor in two chains we
/// hold), flags, and every `addr..addr + len` against the buffer region.
///
/// Error policy: an available index that runs more than a ring ahead marks
/// the queue broken ([`Error::AvailIdxOutOfRange`]). A bad chain (any other
/// peer error from [`pop_avail`](Self::pop_avail)) is consumed from the
/// available ring and dropped: it is not returned used (the driver broke the
/// protocol and loses those descriptors), and the queue stays usable.
#[derive(Debug)]
pub struct DeviceQueue<'a, const N: usize, C: CacheMaintenance = NoCache> {
    ring: Ring<'a>,
    buffers: IoRegion<'a>,
    cache: C,
    event_idx: bool,
    held: [Held; N],
    /// Descriptor `i` is part of a chain we hold.
    in_use: [bool; N],
    /// For each head of a chain we hold, its length; else 0.
    chain_len: [u16; N],
    last_avail: u16,
    used_idx: u16,
    /// `used_idx` when we last decided whether to notify.
    notified_idx: u16,
    notifications: bool,
    broken: bool,
}

impl<'a, const N: usize, C: CacheMaintenance> DeviceQueue<'a, N, C> {
    /// Makes a queue over a ring the driver has set up, starting fresh:
    /// writes `used.flags`, `used.idx` and `avail_event` to 0, and expects
    /// the first chain at available index 0.
    pub fn new(
        ring: IoRegion<'a>,
        buffers: IoRegion<'a>,
        config: QueueConfig,
        cache: C,
    ) -> Result<Self> {
        let q = Self::attach(ring, buffers, config, cache, 0)?;
        let l = q.ring.layout;
        q.ring
            .store_u16(&q.cache, l.used_offset(), 0, Ordering::Relaxed)?;
        q.ring
            .store_u16(&q.cache, l.avail_event_offset(), 0, Ordering::Relaxed)?;
        // Release: publishes the flags above with the index.
        q.ring
            .store_u16(&q.cache, l.used_idx_offset(), 0, Ordering::Release)?;
        Ok(q)
    }

    /// Re-attaches to a ring in use, writing nothing: our used index is taken
    /// from `used.idx` in memory, and every chain up to it counts as
    /// returned, so the next chain is taken from available index `used.idx`.
    /// This is how a restarted device resumes a queue whose chains it had all
    /// returned.
    ///
    /// Notifications are left as the ring says: on only if `used.flags` does
    /// not ask for no kicks, or with `EVENT_IDX` if `avail_event` asks for
    /// the next chain (a device that had turned them off leaves an old one).
    /// Call [`enable_notifications`](Self::enable_notifications) before
    /// sleeping on kicks when [`notifications_enabled`](Self::notifications_enabled)
    /// says they are off.
    pub fn resume(
        ring: IoRegion<'a>,
        buffers: IoRegion<'a>,
        config: QueueConfig,
        cache: C,
    ) -> Result<Self> {
        let layout = config.layout(N)?;
        let r = Ring::new(ring, layout)?;
        // Acquire: pairs with our own earlier release store of used.idx.
        let used = r.load_u16(&cache, layout.used_idx_offset(), Ordering::Acquire)?;
        let notifications = if config.event_idx {
            r.load_u16(&cache, layout.avail_event_offset(), Ordering::Relaxed)? == used
        } else {
            r.load_u16(&cache, layout.used_offset(), Ordering::Relaxed)? & VRING_USED_F_NO_NOTIFY
                == 0
        };
        let mut q = Self::attach(ring, buffers, config, cache, used)?;
        q.notifications = notifications;
        Ok(q)
    }

    fn attach(
        ring: IoRegion<'a>,
        buffers: IoRegion<'a>,
        config: QueueConfig,
        cache: C,
        idx: u16,
    ) -> Result<Self> {
        #[allow(clippy::let_unit_value)]
        let () = CheckN::<N>::OK;
        let layout = config.layout(N)?;
        Ok(DeviceQueue {
            ring: Ring::new(ring, layout)?,
            buffers,
            cache,
            event_idx: config.event_idx,
            held: [Held::default(); N],
            in_use: [false; N],
            chain_len: [0; N],
            last_avail: idx,
            used_idx: idx,
            notified_idx: idx,
            notifications: true,
            broken: false,
        })
    }

    /// The ring's layout.
    pub fn layout(&self) -> VringLayout {
        self.ring.layout
    }
    /// The region buffers live in.
    pub fn buffers(&self) -> IoRegion<'a> {
        self.buffers
    }
    /// The next available index we will consume.
    pub fn last_avail(&self) -> u16 {
        self.last_avail
    }
    /// Our used index (as last published).
    pub fn used_idx(&self) -> u16 {
        self.used_idx
    }
    /// Whether a protocol violation of the driver broke the queue.
    pub fn is_broken(&self) -> bool {
        self.broken
    }
    /// Whether we have asked the driver to kick us for new chains (see
    /// [`enable_notifications`](Self::enable_notifications)); only then may
    /// a device that drained the ring sleep until a kick.
    pub fn notifications_enabled(&self) -> bool {
        self.notifications
    }

    fn check_usable(&self) -> Result<()> {
        if self.broken {
            Err(Error::Broken)
        } else {
            Ok(())
        }
    }

    /// Whether the driver has offered a chain we have not taken yet.
    pub fn has_avail(&self) -> Result<bool> {
        self.check_usable()?;
        let idx = self.ring.load_u16(
            &self.cache,
            self.ring.layout.avail_idx_offset(),
            Ordering::Relaxed,
        )?;
        Ok(idx != self.last_avail)
    }

    /// Takes the next chain the driver offered, if any, after validating it.
    ///
    /// With `EVENT_IDX` and notifications on, taking a chain also asks the
    /// driver to kick us for the next one (it moves `avail_event`), so a
    /// device that drains the ring until this returns `None` may then sleep
    /// until the next kick. With the ring flags, notifications stay on until
    /// [`disable_notifications`](Self::disable_notifications), and the same
    /// holds.
    pub fn pop_avail(&mut self) -> Result<Option<Chain>> {
        self.check_usable()?;
        let l = self.ring.layout;
        // Acquire: the ring slot and descriptors the driver wrote before its
        // release store of avail.idx are visible to the reads below.
        let idx = self
            .ring
            .load_u16(&self.cache, l.avail_idx_offset(), Ordering::Acquire)?;
        if idx == self.last_avail {
            return Ok(None);
        }
        if idx.wrapping_sub(self.last_avail) > l.num() {
            self.broken = true;
            return Err(Error::AvailIdxOutOfRange {
                idx,
                last: self.last_avail,
                num: l.num(),
            });
        }
        let slot = self.last_avail & l.mask();
        let head = self
            .ring
            .load_u16(&self.cache, l.avail_ring_offset(slot), Ordering::Relaxed)?;
        // The entry is consumed whether or not its chain is valid.
        self.last_avail = self.last_avail.wrapping_add(1);
        if self.event_idx && self.notifications {
            self.ring.store_u16(
                &self.cache,
                l.avail_event_offset(),
                self.last_avail,
                Ordering::Relaxed,
            )?;
            // SeqCst fence: the new avail_event must be visible before our
            // next read of avail.idx (the next call's first load). Without it
            // that read may miss a chain whose driver read the old event and
            // skipped the kick: a device that sleeps when pop_avail comes up
            // empty would then sleep for ever. The driver has the mirror
            // fence in should_notify, as we do after used_event in
            // DriverQueue::pop_used.
            fence(Ordering::SeqCst);
        }
        if head >= l.num() {
            return Err(Error::HeadOutOfRange { head, num: l.num() });
        }
        let mut count: u16 = 0;
        let r = self.walk(head, &mut count);
        match r {
            Ok((readable, writable)) => {
                self.chain_len[usize::from(head)] = count;
                Ok(Some(Chain {
                    head,
                    descriptors: count,
                    readable,
                    writable,
                }))
            }
            Err(e) => {
                // Release the descriptors this walk marked.
                let mut d = head;
                for _ in 0..count {
                    let h = self.held[usize::from(d)];
                    self.in_use[usize::from(d)] = false;
                    d = h.next;
                }
                Err(e)
            }
        }
    }

    /// Validates and copies the chain at `head` into `held`, marking each
    /// descriptor in use; `count` says how many were marked.
    fn walk(&mut self, head: u16, count: &mut u16) -> Result<(u32, u32)> {
        let num = self.ring.layout.num();
        let mut readable: u32 = 0;
        let mut writable: u32 = 0;
        let mut d = head;
        loop {
            // `d < num <= N` here: head was checked, and so is every next.
            if *count >= num {
                return Err(Error::ChainTooLong { head, num });
            }
            if self.in_use[usize::from(d)] {
                return Err(Error::DescriptorInUse { head, desc: d });
            }
            let raw = self.ring.read_desc(&self.cache, d)?;
            if raw.flags & VRING_DESC_F_INDIRECT != 0 {
                return Err(Error::IndirectNotSupported { desc: d });
            }
            let is_write = raw.flags & VRING_DESC_F_WRITE != 0;
            if !is_write && writable > 0 {
                return Err(Error::ReadableAfterWritable { desc: d });
            }
            let offset = self.translate(d, raw.addr, raw.len)?;
            let total = if is_write {
                &mut writable
            } else {
                &mut readable
            };
            *total = total
                .checked_add(raw.len)
                .ok_or(Error::ChainLengthOverflow { head })?;
            let has_next = raw.flags & VRING_DESC_F_NEXT != 0;
            // Only followed when NEXT is set: OpenAMP leaves garbage in `next`
            // of a lone descriptor.
            let next = if has_next { raw.next } else { 0 };
            self.in_use[usize::from(d)] = true;
            self.held[usize::from(d)] = Held {
                offset,
                len: raw.len,
                writable: is_write,
                next,
            };
            *count += 1;
            if !has_next {
                break;
            }
            if next >= num {
                return Err(Error::NextOutOfRange { desc: d, next, num });
            }
            d = next;
        }
        // A readable chain is the driver's message to us: make it visible.
        let mut d = head;
        for _ in 0..*count {
            let h = self.held[usize::from(d)];
            if !h.writable {
                self.buffers
                    .invalidate(&self.cache, h.offset, h.len as usize)?;
            }
            d = h.next;
        }
        Ok((readable, writable))
    }

    /// The offset in the buffer region of `len` bytes at device address
    /// `addr`, if every byte is inside it.
    fn translate(&self, desc: u16, addr: u64, len: u32) -> Result<usize> {
        let bad = Error::AddressOutOfRange { desc, addr, len };
        let offset = self.buffers.phys_to_offset(addr).map_err(|_| bad)?;
        self.buffers.check(offset, len as usize).map_err(|_| bad)?;
        // Every byte must be where the descriptor says: a page-mapped region
        // may be scattered in physical memory, and the region's bytes after
        // `offset` are then not all at `addr + k` (checking only the last
        // byte misses a page in between that lies elsewhere).
        if self.buffers.phys_range(offset, len as usize) != Ok(addr) {
            return Err(bad);
        }
        Ok(offset)
    }

    /// The buffers of a chain we hold, from our validated copy.
    pub fn segments(&self, chain: &Chain) -> Result<Segments<'_, N>> {
        self.held_len(chain.head)?;
        Ok(Segments {
            held: &self.held,
            next: chain.head,
            left: chain.descriptors,
        })
    }

    fn held_len(&self, head: u16) -> Result<u16> {
        match self.chain_len.get(usize::from(head)) {
            Some(&n) if n != 0 && head < self.ring.layout.num() => Ok(n),
            _ => Err(Error::UnknownToken { id: head }),
        }
    }

    /// Copies the chain's readable bytes, from byte `skip` of them on, into
    /// `dst`; returns the number copied (less than `dst.len()` at the end).
    pub fn read(&self, chain: &Chain, skip: usize, dst: &mut [u8]) -> Result<usize> {
        let mut skip = skip;
        let mut done = 0;
        for s in self.segments(chain)?.filter(|s| !s.writable) {
            if done == dst.len() {
                break;
            }
            let len = s.buf.len as usize;
            if skip >= len {
                skip -= len;
                continue;
            }
            let n = (len - skip).min(dst.len() - done);
            self.buffers
                .read_bytes(s.buf.offset + skip, &mut dst[done..done + n])?;
            done += n;
            skip = 0;
        }
        Ok(done)
    }

    /// Copies `src` into the chain's writable buffers, from byte `skip` of
    /// them on. Fails with [`Error::TooLarge`], copying nothing, if it does
    /// not fit.
    pub fn write(&self, chain: &Chain, skip: usize, src: &[u8]) -> Result<()> {
        let capacity = chain.writable as usize;
        if skip.checked_add(src.len()).is_none_or(|end| end > capacity) {
            return Err(Error::TooLarge {
                len: src.len(),
                capacity: capacity.saturating_sub(skip),
            });
        }
        let mut skip = skip;
        let mut done = 0;
        for s in self.segments(chain)?.filter(|s| s.writable) {
            if done == src.len() {
                break;
            }
            let len = s.buf.len as usize;
            if skip >= len {
                skip -= len;
                continue;
            }
            let n = (len - skip).min(src.len() - done);
            self.buffers
                .write_bytes(s.buf.offset + skip, &src[done..done + n])?;
            done += n;
            skip = 0;
        }
        Ok(())
    }

    /// Returns a chain to the driver, saying that `written` bytes of its
    /// writable buffers hold data. Fails, changing nothing, if we do not hold
    /// the chain or `written` exceeds its writable capacity.
    pub fn push_used(&mut self, chain: &Chain, written: u32) -> Result<()> {
        self.push_used_reporting(chain, written, written)
    }

    /// Like [`push_used`](Self::push_used), but writes `reported` as the used
    /// `len` while saying that only the first `written` writable bytes hold
    /// data.
    ///
    /// OpenAMP's C remote reports a returned buffer's whole descriptor
    /// length, even for a buffer it only read, and OpenAMP's C host takes
    /// that value as the buffer's size when it reuses it; a device meeting
    /// such a driver reports the chain's length here. `reported` may be at
    /// most the chain's total length (readable and writable bytes).
    pub fn push_used_reporting(
        &mut self,
        chain: &Chain,
        written: u32,
        reported: u32,
    ) -> Result<()> {
        self.check_usable()?;
        let count = self.held_len(chain.head)?;
        // From our own records of the chain, not from the caller's token.
        let (mut capacity, mut total) = (0u32, 0u32);
        let mut d = chain.head;
        for _ in 0..count {
            let h = self.held[usize::from(d)];
            if h.writable {
                capacity = capacity.saturating_add(h.len);
            }
            total = total.saturating_add(h.len);
            d = h.next;
        }
        if written > capacity {
            return Err(Error::WrittenTooLarge {
                id: chain.head,
                len: written,
                capacity,
            });
        }
        if reported > total {
            return Err(Error::WrittenTooLarge {
                id: chain.head,
                len: reported,
                capacity: total,
            });
        }
        // Write back the writable buffers, then release the descriptors.
        // All of them, not only the first `written` bytes: bytes written
        // past `written` (a message abandoned, a retry that reports less)
        // would otherwise stay dirty in our cache and be written back over
        // the driver's data once it reuses the buffer.
        let mut d = chain.head;
        for _ in 0..count {
            let h = self.held[usize::from(d)];
            if h.writable {
                self.buffers.flush(&self.cache, h.offset, h.len as usize)?;
            }
            self.in_use[usize::from(d)] = false;
            d = h.next;
        }
        self.chain_len[usize::from(chain.head)] = 0;
        let l = self.ring.layout;
        let slot = self.used_idx & l.mask();
        self.ring
            .write_used(&self.cache, slot, u32::from(chain.head), reported)?;
        self.used_idx = self.used_idx.wrapping_add(1);
        // Release: the used element and the buffer contents written before
        // it are visible to a driver that acquires this index.
        self.ring.store_u16(
            &self.cache,
            l.used_idx_offset(),
            self.used_idx,
            Ordering::Release,
        )?;
        Ok(())
    }

    /// Whether the driver must be interrupted for the chains returned since
    /// the last call. Honours `NO_INTERRUPT`, or `used_event` with `EVENT_IDX`.
    pub fn should_notify(&mut self) -> Result<bool> {
        self.check_usable()?;
        // SeqCst fence: our store of used.idx must be globally visible before
        // we read the driver's flags / used_event; otherwise a driver that
        // re-enabled interrupts and re-checked an old used.idx would sleep
        // while we skip the interrupt. The driver has the mirror fence.
        fence(Ordering::SeqCst);
        let old = self.notified_idx;
        let new = self.used_idx;
        self.notified_idx = new;
        if old == new {
            return Ok(false);
        }
        let l = self.ring.layout;
        if self.event_idx {
            let event =
                self.ring
                    .load_u16(&self.cache, l.used_event_offset(), Ordering::Relaxed)?;
            Ok(need_event(event, new, old))
        } else {
            let flags = self
                .ring
                .load_u16(&self.cache, l.avail_offset(), Ordering::Relaxed)?;
            Ok(flags & VRING_AVAIL_F_NO_INTERRUPT == 0)
        }
    }

    /// Asks the driver not to kick us when it offers buffers (a hint).
    pub fn disable_notifications(&mut self) -> Result<()> {
        self.check_usable()?;
        self.notifications = false;
        if !self.event_idx {
            let off = self.ring.layout.used_offset();
            self.ring
                .store_u16(&self.cache, off, VRING_USED_F_NO_NOTIFY, Ordering::Relaxed)?;
        }
        Ok(())
    }

    /// Asks the driver to kick us when it offers buffers. Returns `true` if
    /// chains are already waiting: take them with
    /// [`pop_avail`](Self::pop_avail), as no kick may come for them.
    pub fn enable_notifications(&mut self) -> Result<bool> {
        self.check_usable()?;
        self.notifications = true;
        let l = self.ring.layout;
        if self.event_idx {
            self.ring.store_u16(
                &self.cache,
                l.avail_event_offset(),
                self.last_avail,
                Ordering::Relaxed,
            )?;
        } else {
            self.ring
                .store_u16(&self.cache, l.used_offset(), 0, Ordering::Relaxed)?;
        }
        // SeqCst fence: the re-enable above must be visible before we re-read
        // avail.idx; otherwise a chain offered in between, by a driver that
        // still saw "no notify", would wait unnoticed.
        fence(Ordering::SeqCst);
        let idx = self
            .ring
            .load_u16(&self.cache, l.avail_idx_offset(), Ordering::Relaxed)?;
        Ok(idx != self.last_avail)
    }
}
