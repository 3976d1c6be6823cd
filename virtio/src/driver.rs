//! The driver side of a split virtqueue: offers buffers, takes them back used.

use core::sync::atomic::Ordering;

use openamp_metal::{CacheMaintenance, IoRegion, NoCache};

use crate::queue::{CheckN, QueueConfig, Segment};
use crate::ring::{
    fence, need_event, RawDesc, Ring, VringLayout, VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_NEXT,
    VRING_DESC_F_WRITE, VRING_USED_F_NO_NOTIFY,
};
use crate::{Error, Result};

/// Our private copy of a descriptor we wrote. The device may rewrite the
/// table; we never read it back.
#[derive(Debug, Clone, Copy, Default)]
struct Shadow {
    offset: usize,
    len: u32,
    flags: u16,
    /// Next descriptor of the chain, or of the free list.
    next: u16,
}

/// A chain the device gave back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsedBuffer {
    /// The token [`DriverQueue::add`] returned (the head descriptor's id).
    pub id: u16,
    /// Bytes the device wrote: its used `len`, clamped to the chain's
    /// writable capacity (OpenAMP reports the whole buffer even for buffers
    /// it only read).
    pub written: u32,
    /// The used `len` exactly as the device wrote it.
    pub reported_len: u32,
    /// The head buffer (from our own records, not from shared memory).
    pub head: Segment,
    /// Number of descriptors in the chain.
    pub descriptors: u16,
}

/// The driver side of a legacy split virtqueue of at most `N` entries.
///
/// The driver owns the descriptor table and the available ring and writes
/// them; it reads only `used.flags`, `used.idx`, the used elements and
/// `avail_event`, and checks each of them before use.
///
/// Error policy: caller mistakes ([`Error::QueueFull`],
/// [`Error::BufferOutOfRange`], [`Error::EmptyChain`]) change nothing. A used
/// index that runs ahead of the buffers the device holds, or a used id that
/// names no chain in flight, marks the queue broken.
#[derive(Debug)]
pub struct DriverQueue<'a, const N: usize, C: CacheMaintenance = NoCache> {
    ring: Ring<'a>,
    buffers: IoRegion<'a>,
    cache: C,
    event_idx: bool,
    shadow: [Shadow; N],
    /// For each descriptor that heads a chain in flight, its length; else 0.
    chain_len: [u16; N],
    free_head: u16,
    num_free: u16,
    avail_idx: u16,
    last_used: u16,
    in_flight: u16,
    /// `avail_idx` when we last decided whether to notify.
    notified_idx: u16,
    interrupts: bool,
    broken: bool,
}

impl<'a, const N: usize, C: CacheMaintenance> DriverQueue<'a, N, C> {
    /// Makes a queue over `ring` (the vring memory, starting at its
    /// descriptor table) whose buffers live in `buffers`, and initialises the
    /// ring: the whole vring is zeroed, as a driver does before it offers the
    /// queue to a device.
    pub fn new(
        ring: IoRegion<'a>,
        buffers: IoRegion<'a>,
        config: QueueConfig,
        cache: C,
    ) -> Result<Self> {
        #[allow(clippy::let_unit_value)]
        let () = CheckN::<N>::OK;
        let layout = config.layout(N)?;
        let ring = Ring::new(ring, layout)?;
        ring.zero(&cache)?;
        let mut q = DriverQueue {
            ring,
            buffers,
            cache,
            event_idx: config.event_idx,
            shadow: [Shadow::default(); N],
            chain_len: [0; N],
            free_head: 0,
            num_free: 0,
            avail_idx: 0,
            last_used: 0,
            in_flight: 0,
            notified_idx: 0,
            interrupts: true,
            broken: false,
        };
        q.reset_state();
        Ok(q)
    }

    fn reset_state(&mut self) {
        let num = self.ring.layout.num();
        for (i, s) in self.shadow.iter_mut().enumerate().take(usize::from(num)) {
            // i < num <= 32768, and the last entry's next is never followed.
            *s = Shadow {
                next: (i as u16).wrapping_add(1),
                ..Shadow::default()
            };
        }
        self.chain_len = [0; N];
        self.free_head = 0;
        // 32768 entries fit in a u16; an empty free list is never walked.
        self.num_free = num;
        self.avail_idx = 0;
        self.last_used = 0;
        self.in_flight = 0;
        self.notified_idx = 0;
        self.interrupts = true;
        self.broken = false;
    }

    /// Test hook: moves both indices to `idx`, as if `idx` chains had gone
    /// round already, so that tests reach the 16-bit wrap quickly. Only on
    /// an idle queue.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn start_at(&mut self, idx: u16) -> Result<()> {
        assert_eq!(self.in_flight, 0);
        let l = self.ring.layout;
        self.avail_idx = idx;
        self.last_used = idx;
        self.notified_idx = idx;
        self.ring
            .store_u16(&self.cache, l.avail_idx_offset(), idx, Ordering::Release)?;
        self.ring
            .store_u16(&self.cache, l.used_idx_offset(), idx, Ordering::Release)?;
        self.ring
            .store_u16(&self.cache, l.used_event_offset(), idx, Ordering::Relaxed)?;
        self.ring
            .store_u16(&self.cache, l.avail_event_offset(), idx, Ordering::Relaxed)
    }

    /// The ring's layout.
    pub fn layout(&self) -> VringLayout {
        self.ring.layout
    }
    /// The region buffers live in.
    pub fn buffers(&self) -> IoRegion<'a> {
        self.buffers
    }
    /// Free descriptors.
    pub fn num_free(&self) -> u16 {
        self.num_free
    }
    /// Chains the device holds.
    pub fn in_flight(&self) -> u16 {
        self.in_flight
    }
    /// Whether a protocol violation of the device broke the queue.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    fn check_usable(&self) -> Result<()> {
        if self.broken {
            Err(Error::Broken)
        } else {
            Ok(())
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        if e.breaks_queue() {
            self.broken = true;
        }
        e
    }

    /// Offers one buffer for the device to read. Returns its token.
    pub fn add_outbuf(&mut self, buf: Segment) -> Result<u16> {
        self.add(&[buf], &[])
    }

    /// Offers one buffer for the device to write. Returns its token.
    pub fn add_inbuf(&mut self, buf: Segment) -> Result<u16> {
        self.add(&[], &[buf])
    }

    /// Offers a chain: `out` buffers the device reads, then `inp` buffers it
    /// writes. Returns the chain's token (its head descriptor id), which
    /// [`pop_used`](Self::pop_used) gives back.
    ///
    /// The chain is published at once (the available index moves); call
    /// [`should_notify`](Self::should_notify) after one or more adds to learn
    /// whether to kick the device.
    pub fn add(&mut self, out: &[Segment], inp: &[Segment]) -> Result<u16> {
        self.check_usable()?;
        let total = out.len() + inp.len();
        if total == 0 {
            return Err(Error::EmptyChain);
        }
        if total > usize::from(self.num_free) {
            return Err(Error::QueueFull {
                needed: total,
                free: usize::from(self.num_free),
            });
        }
        // Validate every buffer before touching the ring.
        for s in out.iter().chain(inp) {
            self.buffers
                .check(s.offset, s.len as usize)
                .map_err(|_| Error::BufferOutOfRange {
                    offset: s.offset,
                    len: s.len,
                    size: self.buffers.size(),
                })?;
            // One address for the whole buffer: in a page-mapped region a
            // buffer across pages scattered in physical memory has none.
            self.buffers.phys_range(s.offset, s.len as usize)?;
        }
        let head = self.free_head;
        let mut id = head;
        for (k, s) in out.iter().chain(inp).enumerate() {
            let writable = k >= out.len();
            let last = k + 1 == total;
            let next_free = self.shadow[usize::from(id)].next;
            let flags = if writable { VRING_DESC_F_WRITE } else { 0 }
                | if last { 0 } else { VRING_DESC_F_NEXT };
            let next = if last { 0 } else { next_free };
            let addr = self.buffers.phys_range(s.offset, s.len as usize)?;
            // Hand the buffer over in memory: the device reads what we wrote,
            // and no dirty line of ours can later overwrite what it writes.
            self.buffers.flush(&self.cache, s.offset, s.len as usize)?;
            self.ring.write_desc(
                &self.cache,
                id,
                RawDesc {
                    addr,
                    len: s.len,
                    flags,
                    next,
                },
            )?;
            self.shadow[usize::from(id)] = Shadow {
                offset: s.offset,
                len: s.len,
                flags,
                next: if last { next_free } else { next },
            };
            id = next_free;
        }
        // `id` is now the first descriptor after the chain: the new free head.
        self.free_head = id;
        // total <= num_free <= 32768.
        self.num_free -= total as u16;
        self.chain_len[usize::from(head)] = total as u16;
        self.in_flight += 1;

        let slot = self.avail_idx & self.ring.layout.mask();
        let l = self.ring.layout;
        self.ring.store_u16(
            &self.cache,
            l.avail_ring_offset(slot),
            head,
            Ordering::Relaxed,
        )?;
        self.avail_idx = self.avail_idx.wrapping_add(1);
        // Release: the descriptors and the ring slot written above become
        // visible to a device that acquires this index, never after it.
        self.ring.store_u16(
            &self.cache,
            l.avail_idx_offset(),
            self.avail_idx,
            Ordering::Release,
        )?;
        Ok(head)
    }

    /// Whether the device must be kicked for the chains added since the
    /// last call. Honours `NO_NOTIFY`, or `avail_event` with `EVENT_IDX`.
    pub fn should_notify(&mut self) -> Result<bool> {
        self.check_usable()?;
        // SeqCst fence: our store of avail.idx must be globally visible
        // before we read the device's flags / avail_event. Without it the
        // device could re-enable notifications, re-check an old avail.idx
        // and sleep, while we read its old "don't notify" and skip the
        // kick: both would wait forever. The device has the mirror fence.
        fence(Ordering::SeqCst);
        let old = self.notified_idx;
        let new = self.avail_idx;
        self.notified_idx = new;
        if old == new {
            return Ok(false);
        }
        let l = self.ring.layout;
        if self.event_idx {
            let event =
                self.ring
                    .load_u16(&self.cache, l.avail_event_offset(), Ordering::Relaxed)?;
            Ok(need_event(event, new, old))
        } else {
            let flags = self
                .ring
                .load_u16(&self.cache, l.used_offset(), Ordering::Relaxed)?;
            Ok(flags & VRING_USED_F_NO_NOTIFY == 0)
        }
    }

    /// Whether the device has returned a chain we have not taken yet.
    pub fn has_used(&self) -> Result<bool> {
        self.check_usable()?;
        let idx = self.ring.load_u16(
            &self.cache,
            self.ring.layout.used_idx_offset(),
            Ordering::Relaxed,
        )?;
        Ok(idx != self.last_used)
    }

    /// Takes the next chain the device returned, if any.
    pub fn pop_used(&mut self) -> Result<Option<UsedBuffer>> {
        self.check_usable()?;
        let r = self.pop_used_inner();
        r.map_err(|e| self.fail(e))
    }

    fn pop_used_inner(&mut self) -> Result<Option<UsedBuffer>> {
        let l = self.ring.layout;
        // Acquire: the used element and the buffer contents the device wrote
        // before its release store of used.idx are visible to the reads below.
        let idx = self
            .ring
            .load_u16(&self.cache, l.used_idx_offset(), Ordering::Acquire)?;
        if idx == self.last_used {
            return Ok(None);
        }
        let pending = idx.wrapping_sub(self.last_used);
        if pending > self.in_flight {
            return Err(Error::UsedIdxOutOfRange {
                idx,
                last: self.last_used,
                in_flight: self.in_flight,
            });
        }
        let slot = self.last_used & l.mask();
        let (id32, reported_len) = self.ring.read_used(&self.cache, slot)?;
        let id = match u16::try_from(id32) {
            Ok(id) if id < l.num() && self.chain_len[usize::from(id)] != 0 => id,
            _ => return Err(Error::UsedIdNotInFlight { id: id32 }),
        };
        let count = self.chain_len[usize::from(id)];
        // Walk the chain in our shadow (never in shared memory), make the
        // device's writes visible, and sum the writable capacity.
        let mut capacity: u32 = 0;
        let mut d = id;
        let mut tail = id;
        for _ in 0..count {
            let s = self.shadow[usize::from(d)];
            if s.flags & VRING_DESC_F_WRITE != 0 {
                self.buffers
                    .invalidate(&self.cache, s.offset, s.len as usize)?;
                capacity = capacity.saturating_add(s.len);
            }
            tail = d;
            d = s.next;
        }
        let head = self.shadow[usize::from(id)];
        // Return the chain to the free list: its tail links to the old head.
        self.shadow[usize::from(tail)].next = self.free_head;
        self.free_head = id;
        self.num_free += count;
        self.chain_len[usize::from(id)] = 0;
        self.in_flight -= 1;
        self.last_used = self.last_used.wrapping_add(1);
        if self.event_idx && self.interrupts {
            self.ring.store_u16(
                &self.cache,
                l.used_event_offset(),
                self.last_used,
                Ordering::Relaxed,
            )?;
            // SeqCst fence: the new used_event must be visible before our next
            // read of used.idx, or the device may check the old event, skip the
            // interrupt, and we would miss the buffer it just returned.
            fence(Ordering::SeqCst);
        }
        Ok(Some(UsedBuffer {
            id,
            written: reported_len.min(capacity),
            reported_len,
            head: Segment::new(head.offset, head.len),
            descriptors: count,
        }))
    }

    /// Asks the device not to interrupt us when it returns buffers (a hint:
    /// it may still do so).
    pub fn disable_interrupts(&mut self) -> Result<()> {
        self.check_usable()?;
        self.interrupts = false;
        if !self.event_idx {
            let off = self.ring.layout.avail_offset();
            self.ring.store_u16(
                &self.cache,
                off,
                VRING_AVAIL_F_NO_INTERRUPT,
                Ordering::Relaxed,
            )?;
        }
        Ok(())
    }

    /// Asks the device to interrupt us when it returns buffers. Returns
    /// `true` if used buffers are already waiting: take them with
    /// [`pop_used`](Self::pop_used), as no interrupt may come for them.
    pub fn enable_interrupts(&mut self) -> Result<bool> {
        self.check_usable()?;
        self.interrupts = true;
        let l = self.ring.layout;
        if self.event_idx {
            self.ring.store_u16(
                &self.cache,
                l.used_event_offset(),
                self.last_used,
                Ordering::Relaxed,
            )?;
        } else {
            self.ring
                .store_u16(&self.cache, l.avail_offset(), 0, Ordering::Relaxed)?;
        }
        // SeqCst fence: the re-enable above must be visible before we re-read
        // used.idx; otherwise a buffer returned in between, by a device that
        // still saw "no interrupt", would wait unnoticed.
        fence(Ordering::SeqCst);
        let idx = self
            .ring
            .load_u16(&self.cache, l.used_idx_offset(), Ordering::Relaxed)?;
        Ok(idx != self.last_used)
    }
}
