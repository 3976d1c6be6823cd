//! Both roles of a split virtqueue, over rings of 1..=1024 entries, with
//! buffers in page-mapped ("scattered") physical memory and either side
//! behind a simulated non-coherent cache.
//!
//! The input first picks a configuration (ring size, alignment, EVENT_IDX,
//! which sides are cached and their line size, the physical page map of the
//! buffers); sizes the ring code refuses must be refused with an error, not
//! a panic. Then it runs a script against our `DriverQueue` and our
//! `DeviceQueue` on the same ring: honest operations of either side, and a
//! hostile peer's writes (descriptors, available and used entries, indices,
//! any field, buffer bytes) into the memory both see.
//!
//! While no hostile write happened, the two sides must agree exactly: chains
//! arrive in order with the segments and bytes the driver offered, come back
//! with the bytes the device wrote, and no kick or interrupt a sleeping side
//! waits for is ever skipped. This only holds through the cache if each side
//! flushes what it wrote and invalidates what it reads. Always, hostile or
//! not: no panic, every buffer inside the region, every descriptor naming
//! exactly the physical bytes of its buffer, and a broken queue stays broken.

#![no_main]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use libfuzzer_sys::fuzz_target;
use openamp_metal::{CacheMaintenance, IoAttr, IoRegion, PhysMap};
use openamp_virtio::{
    Chain, DeviceQueue, DriverQueue, Error, QueueConfig, Segment, VringLayout, VRING_DESC_F_NEXT,
    VRING_DESC_F_WRITE,
};

/// `FUZZ_TRACE=1` prints each step, to read a crash.
fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

macro_rules! trace {
    ($($t:tt)*) => {
        if tracing() {
            eprintln!($($t)*);
        }
    };
}

/// Most operations run per input: keeps every run short.
const MAX_OPS: usize = 64;
const PAGE: usize = 4096;
/// The buffer region: four pages of the allocation.
const BUF_PAGES: usize = 4;
const BUF_SIZE: usize = BUF_PAGES * PAGE;
/// Honest buffers are carved from slots of this size, each its own cache lines.
const SLOT: usize = 256;
const SLOTS: usize = BUF_SIZE / SLOT;

#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct Page([u8; PAGE]);

/// Reads the fuzzer's bytes; zeros once they run out.
struct Input<'d>(&'d [u8]);

impl Input<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn bytes(&mut self, n: usize) -> u64 {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
    }
    fn u8(&mut self) -> u8 {
        self.bytes(1) as u8
    }
    fn u16(&mut self) -> u16 {
        self.bytes(2) as u16
    }
    fn u32(&mut self) -> u32 {
        self.bytes(4) as u32
    }
    fn u64(&mut self) -> u64 {
        self.bytes(8)
    }
}

/// A tiny deterministic generator, so that page maps cost few input bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// A write-back cache in front of `main` for one side, which sees `copy`.
///
/// Lines hold whatever was last loaded, forever (a cache that never evicts
/// is allowed to do that). `flush` writes every line it touches back: the
/// queues flush what they wrote (or hand over), so a real cache has those
/// lines dirty. `invalidate` reloads lines, losing dirty data in lines
/// wholly inside the range and cleaning the partial lines at its edges
/// first, as the trait says; there a line counts as dirty when it differs
/// from what was loaded (the model cannot see stores of equal bytes).
struct SimCache<'m> {
    main: IoRegion<'m>,
    copy: IoRegion<'m>,
    line: usize,
    snap: RefCell<&'m mut [u8]>,
    calls: Cell<u64>,
}

impl SimCache<'_> {
    /// The offset of `addr..addr + len` in the copy; the call must be inside
    /// the mapping (the trait promises implementations live ranges).
    fn offset(&self, addr: *mut u8, len: usize) -> usize {
        let base = self.copy.as_ptr() as usize;
        let a = addr as usize;
        assert!(
            a >= base && a - base + len <= self.copy.size(),
            "cache maintenance of {len} bytes at {a:#x} outside the mapping"
        );
        self.calls.set(self.calls.get() + 1);
        a - base
    }

    fn lines(&self, off: usize, len: usize) -> impl Iterator<Item = usize> {
        let start = off & !(self.line - 1);
        (start..off + len).step_by(self.line)
    }

    /// Writes line `at` back if it is dirty, or if `always`.
    fn write_back(&self, at: usize, snap: &mut [u8], always: bool) {
        let mut c = [0u8; 64];
        let c = &mut c[..self.line];
        self.copy.read_bytes(at, c).unwrap();
        if always || c != &snap[at..at + self.line] {
            self.main.write_bytes(at, c).unwrap();
            snap[at..at + self.line].copy_from_slice(c);
        }
    }
}

#[derive(Clone, Copy)]
struct Maint<'c, 'm>(Option<&'c SimCache<'m>>);

impl CacheMaintenance for Maint<'_, '_> {
    fn flush(&self, addr: *mut u8, len: usize) {
        let c = self.0.expect("maintenance on an uncached region");
        let off = c.offset(addr, len);
        if len == 0 {
            return;
        }
        let mut snap = c.snap.borrow_mut();
        for at in c.lines(off, len) {
            c.write_back(at, &mut snap, true);
        }
    }

    fn invalidate(&self, addr: *mut u8, len: usize) {
        let c = self.0.expect("maintenance on an uncached region");
        let off = c.offset(addr, len);
        if len == 0 {
            return;
        }
        let mut snap = c.snap.borrow_mut();
        for at in c.lines(off, len) {
            if at < off || at + c.line > off + len {
                c.write_back(at, &mut snap, false);
            }
            let mut m = [0u8; 64];
            let m = &mut m[..c.line];
            c.main.read_bytes(at, m).unwrap();
            c.copy.write_bytes(at, m).unwrap();
            snap[at..at + c.line].copy_from_slice(m);
        }
    }
}

/// One side's view: its ring and buffer regions (over main memory, or over
/// its cache's copy) and its cache.
#[derive(Clone, Copy)]
struct View<'c, 'm> {
    ring: IoRegion<'m>,
    bufs: IoRegion<'m>,
    maint: Maint<'c, 'm>,
}

/// Most buffers in one honest chain.
const MAX_SEGS: usize = 6;
/// Bytes a device reads or writes at most per chain (stack buffers).
const IO_MAX: usize = 4096;

/// A chain the driver offered, as the model expects the device to see it.
/// Out buffer `k` holds `pattern(seed + k)`. Fixed-size, so that the script
/// loop allocates nothing (allocations are most of a run's cost under ASan).
#[derive(Debug, Clone, Copy, Default)]
struct Offered {
    head: u16,
    n: usize,
    segs: [(Segment, bool); MAX_SEGS],
    slots: [usize; MAX_SEGS],
    seed: u32,
}

impl Offered {
    fn segs(&self) -> &[(Segment, bool)] {
        &self.segs[..self.n]
    }
    /// Byte `i` of the concatenated out buffers.
    fn out_byte(&self, mut i: usize) -> u8 {
        for (k, (s, w)) in self.segs().iter().enumerate() {
            if !w {
                if i < s.len as usize {
                    return pattern(self.seed.wrapping_add(k as u32), i);
                }
                i -= s.len as usize;
            }
        }
        unreachable!("past the out buffers")
    }
}

/// A chain the device returned, as the model expects the driver to see it:
/// the device wrote `pattern(seed)` for `len` bytes.
#[derive(Debug, Clone, Copy)]
struct Returned {
    offered: Offered,
    reported: u32,
    seed: u32,
    len: usize,
}

/// Byte `i` of the data pattern `seed`.
fn pattern(seed: u32, i: usize) -> u8 {
    (seed as usize).wrapping_mul(31).wrapping_add(i * 7) as u8
}

fn fill_pattern(seed: u32, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(seed, i);
    }
}

/// Checks that `len` bytes at `offset` of `bufs` are exactly the physical
/// bytes `addr..addr + len`, at every page boundary and at both ends.
fn check_phys(bufs: &IoRegion<'_>, page: usize, offset: usize, addr: u64, len: u32) {
    let len = len as usize;
    if len == 0 {
        return;
    }
    let mut k = 0;
    while k < len {
        let phys = bufs.offset_to_phys(offset + k).unwrap();
        assert_eq!(
            Some(phys),
            addr.checked_add(k as u64),
            "byte {k} of the buffer at offset {offset:#x} is not at {addr:#x} + {k}"
        );
        // The next page boundary, or the last byte.
        let next = (offset + k + page) & !(page - 1);
        k = (next - offset).min(len - 1).max(k + 1);
    }
}

/// Whether `seg` of the buffer region crosses from a page into one that does
/// not follow it in physical memory.
fn scattered(cfg: &Config, seg: &Segment) -> bool {
    let Some(pages) = &cfg.pages else {
        return false;
    };
    if seg.len == 0 {
        return false;
    }
    let first = seg.offset >> cfg.page_shift;
    let last = (seg.offset + seg.len as usize - 1) >> cfg.page_shift;
    (first..last).any(|i| pages[i].checked_add(1 << cfg.page_shift) != Some(pages[i + 1]))
}

/// A descriptor as it is in shared memory.
fn read_desc(ring: &IoRegion<'_>, l: &VringLayout, i: u16) -> (u64, u32, u16, u16) {
    let off = l.desc_offset(i);
    let addr = ring.read_u64(off).unwrap();
    let len = ring.read_u32(off + 8).unwrap();
    let fnx = ring.read_u32(off + 12).unwrap();
    (addr, len, fnx as u16, (fnx >> 16) as u16)
}

/// Refused configurations must be refused, with the error that says why.
fn refused(e: Error) -> bool {
    matches!(
        e,
        Error::InvalidQueueSize { .. }
            | Error::InvalidAlign { .. }
            | Error::RingTooSmall { .. }
            | Error::RingMisaligned { .. }
    )
}

struct Config {
    num: u32,
    align: u32,
    event_idx: bool,
    /// Cache line size for cached sides (0: that side is uncached).
    drv_line: usize,
    dev_line: usize,
    page_shift: u32,
    pages: Option<Vec<u64>>,
    contiguous: u64,
    short_ring: bool,
    misaligned_ring: bool,
    /// Whether the page map is one a correct platform could have (distinct
    /// pages): only then must bytes travel unchanged.
    honest_map: bool,
}

fn config(inp: &mut Input<'_>) -> Config {
    let b0 = inp.u8();
    // Large rings cost their size in set-up (the driver zeroes the ring),
    // so they come one time in sixteen; the code paths are the same.
    let num = match b0 & 0x0f {
        n @ 0..=4 => 1u32 << n,
        n @ 5..=10 if b0 >> 4 == 0xf => 1u32 << n,
        n @ 5..=10 => 1u32 << (n - 5),
        11 => 2048,
        12 => 0,
        13 => 3,
        14 => u32::from(inp.u16()),
        _ => 1 << 15,
    };
    let b1 = inp.u8();
    let align = match b1 & 7 {
        0 => 16,
        1 => 4,
        2 => 32,
        3 => 64,
        4 => 4096,
        5 => 256,
        6 => 8,
        _ => [0, 2, 24, 6][usize::from(b1 >> 3 & 3)],
    };
    let event_idx = b1 & 0x20 != 0;
    let b2 = inp.u8();
    let line = if b2 & 0x80 != 0 { 64 } else { 32 };
    let (drv_line, dev_line) = match b2 >> 5 & 3 {
        0 => (0, 0),
        1 => (line, 0),
        2 => (0, line),
        _ => (line, line),
    };
    let b3 = inp.u8();
    let page_shift = 6 + u32::from(b3 & 7).min(6);
    let short_ring = b3 & 0x08 != 0 && b3 & 0x10 != 0 && b3 & 0x20 != 0;
    let misaligned_ring = b3 & 0x08 != 0 && b3 & 0x10 == 0 && b3 & 0x20 != 0;
    let seed = inp.u32();
    let mut rng = Rng(u64::from(seed) | 1 << 40);
    let npages = BUF_SIZE >> page_shift;
    let (pages, honest_map) = match b2 & 3 {
        // One contiguous block.
        0 => (None, true),
        // Scattered pages: a shuffle of page frames in a window twice as big.
        1 | 2 => {
            let mut frames: Vec<u64> = (0..2 * npages as u64).collect();
            for i in (1..frames.len()).rev() {
                frames.swap(i, (rng.next() % (i as u64 + 1)) as usize);
            }
            let base = 0x8000_0000u64;
            let pages = frames[..npages]
                .iter()
                .map(|f| base + (f << page_shift))
                .collect();
            (Some(pages), true)
        }
        // Anything: duplicates, overlaps, unaligned, near the top of the space.
        _ => {
            let pages = (0..npages)
                .map(|_| match rng.next() % 4 {
                    0 => rng.next() % 0x10000,
                    1 => u64::MAX - rng.next() % 0x10000,
                    _ => 0x8000_0000 + (rng.next() % 8 << page_shift),
                })
                .collect();
            (Some(pages), false)
        }
    };
    let contiguous = match b2 >> 2 & 3 {
        0 => 0x8000_0000,
        1 => 0,
        2 => u64::MAX - BUF_SIZE as u64,
        _ => rng.next(),
    };
    Config {
        num,
        align,
        event_idx,
        drv_line,
        dev_line,
        page_shift,
        pages,
        contiguous,
        short_ring,
        misaligned_ring,
        honest_map,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let cfg = config(&mut inp);
    // Small rings with small shadow arrays, so that most runs are fast.
    if cfg.num <= 16 && inp.u8() & 7 != 0 {
        run::<16>(&cfg, inp);
    } else {
        run::<1024>(&cfg, inp);
    }
});

/// The three regions of one allocation: all of it, the ring, the buffers.
type Regions<'m> = (IoRegion<'m>, IoRegion<'m>, IoRegion<'m>);

/// Lays the ring (at `ring_off`, `ring_len` bytes) and the buffer pages
/// (with physical map `phys`) over `mem`; `None` if the map is refused.
fn regions<'m>(
    mem: &'m mut [Page],
    ring_pages: usize,
    ring_off: usize,
    ring_len: usize,
    phys: PhysMap<'m>,
    attr: IoAttr,
) -> Option<Regions<'m>> {
    if mem.is_empty() {
        return None;
    }
    let total = mem.len() * PAGE;
    let base = mem.as_mut_ptr().cast::<u8>();
    // SAFETY: `mem` is borrowed for 'm, as long as the regions live, and is
    // only used through them from here on.
    let whole =
        unsafe { IoRegion::new(base, total, PhysMap::Contiguous(0x1000_0000), attr) }.unwrap();
    // SAFETY: as above; the buffer pages are the end of `mem`.
    let bufs = unsafe { IoRegion::new(base.wrapping_add(ring_pages * PAGE), BUF_SIZE, phys, attr) }
        .ok()?;
    Some((whole, whole.sub_region(ring_off, ring_len).unwrap(), bufs))
}

fn sim<'m>(
    side: &Option<Regions<'m>>,
    main: IoRegion<'m>,
    line: usize,
    snap: &'m mut [u8],
) -> Option<SimCache<'m>> {
    side.map(|(whole, _, _)| SimCache {
        main,
        copy: whole,
        line,
        snap: RefCell::new(snap),
        calls: Cell::new(0),
    })
}

/// Main memory, the two sides' cache copies and their snapshots.
#[derive(Default)]
struct Pool {
    main: Vec<Page>,
    drv: Vec<Page>,
    dev: Vec<Page>,
    drv_snap: Vec<u8>,
    dev_snap: Vec<u8>,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::default();
}

/// The first `len` bytes of `v`, zeroed.
fn fresh_bytes(v: &mut Vec<u8>, len: usize) -> &mut [u8] {
    if v.len() < len {
        v.resize(len, 0);
    }
    let mem = &mut v[..len];
    mem.fill(0);
    mem
}

/// The first `pages` pages of `v`, zeroed.
fn fresh(v: &mut Vec<Page>, pages: usize) -> &mut [Page] {
    if v.len() < pages {
        v.resize(pages, Page([0; PAGE]));
    }
    let mem = &mut v[..pages];
    for p in mem.iter_mut() {
        p.0.fill(0);
    }
    mem
}

fn view<'c, 'm>(
    side: &Option<Regions<'m>>,
    cache: Option<&'c SimCache<'m>>,
    main: &Regions<'m>,
) -> View<'c, 'm> {
    match side {
        Some((_, ring, bufs)) => View {
            ring: *ring,
            bufs: *bufs,
            maint: Maint(cache),
        },
        None => View {
            ring: main.1,
            bufs: main.2,
            maint: Maint(None),
        },
    }
}

fn run<const N: usize>(cfg: &Config, inp: Input<'_>) {
    let mut pool = POOL.with(|p| p.take());
    run_in::<N>(cfg, inp, &mut pool);
    POOL.with(|p| *p.borrow_mut() = pool);
}

fn run_in<const N: usize>(cfg: &Config, mut inp: Input<'_>, pool: &mut Pool) {
    let qcfg = QueueConfig::new(cfg.num, cfg.align).with_event_idx(cfg.event_idx);
    let layout = VringLayout::new(cfg.num, cfg.align);
    let too_big = cfg.num as usize > N;
    // A queue refuses a size above its N before it looks at the ring.
    let ring_size = match layout {
        Ok(l) if !too_big => l.size(),
        _ => 64,
    };
    let ring_pages = ring_size.div_ceil(PAGE) + 1;
    let pages = ring_pages + BUF_PAGES;
    let ring_off = if cfg.misaligned_ring { 8 } else { 0 };
    let ring_len = ring_size - usize::from(cfg.short_ring);

    // Memory is kept from run to run (allocating it each time is most of a
    // run's cost under ASan) and zeroed here.
    let pool = &mut *pool;
    let main_mem = fresh(&mut pool.main, pages);
    let drv_mem = fresh(&mut pool.drv, if cfg.drv_line > 0 { pages } else { 0 });
    let dev_mem = fresh(&mut pool.dev, if cfg.dev_line > 0 { pages } else { 0 });
    let drv_snap = fresh_bytes(&mut pool.drv_snap, pages * PAGE);
    let dev_snap = fresh_bytes(&mut pool.dev_snap, pages * PAGE);
    let phys = match &cfg.pages {
        Some(p) => PhysMap::Pages {
            pages: p,
            page_shift: cfg.page_shift,
        },
        None => PhysMap::Contiguous(cfg.contiguous),
    };
    let lay = |mem, attr| regions(mem, ring_pages, ring_off, ring_len, phys, attr);
    // A contiguous map that would run past 2^64 is refused: nothing to run.
    let Some(main) = lay(main_mem, IoAttr::UNCACHED) else {
        return;
    };
    let (main_ring, main_bufs) = (main.1, main.2);
    let drv_side = lay(drv_mem, IoAttr::CACHED);
    let dev_side = lay(dev_mem, IoAttr::CACHED);
    let drv_cache = sim(&drv_side, main.0, cfg.drv_line, drv_snap);
    let dev_cache = sim(&dev_side, main.0, cfg.dev_line, dev_snap);
    let dv = view(&drv_side, drv_cache.as_ref(), &main);
    let vv = view(&dev_side, dev_cache.as_ref(), &main);

    let drv = DriverQueue::<'_, N, _>::new(dv.ring, dv.bufs, qcfg, dv.maint);
    let dev = DeviceQueue::<'_, N, _>::new(vv.ring, vv.bufs, qcfg, vv.maint);
    let expect_refusal = layout.is_err() || too_big || cfg.short_ring || cfg.misaligned_ring;
    let (mut drv, mut dev) = match (drv, dev) {
        (Ok(a), Ok(b)) => {
            assert!(!expect_refusal, "a bad configuration was accepted");
            (a, b)
        }
        (a, b) => {
            assert!(expect_refusal, "a good configuration was refused");
            for e in [a.err(), b.err()].into_iter().flatten() {
                assert!(refused(e), "refused with {e:?}");
            }
            return;
        }
    };
    let layout = layout.unwrap();
    let num = layout.num();
    trace!(
        "num {} align {} event_idx {} lines {}/{} pages {:?} shift {}",
        cfg.num,
        cfg.align,
        cfg.event_idx,
        cfg.drv_line,
        cfg.dev_line,
        cfg.pages.as_ref().map(|p| p.len()),
        cfg.page_shift
    );
    let page = 1usize << cfg.page_shift;
    // Only with a page map a platform could have (distinct pages), and no
    // cache line holding fields or buffers of both sides (the ring alignment
    // must cover a line, as QueueConfig says), do the two sides see each
    // other's writes as written: else the model checks only robustness.
    let line = cfg.drv_line.max(cfg.dev_line);
    let mut tainted = !(cfg.honest_map && (line == 0 || cfg.align as usize >= line));

    // The model.
    let mut free_slots: Vec<usize> = (0..SLOTS).rev().collect();
    let mut avail: VecDeque<Offered> = VecDeque::with_capacity(MAX_OPS);
    let mut held: Vec<(Chain, Offered)> = Vec::with_capacity(MAX_OPS);
    let mut used: VecDeque<Returned> = VecDeque::with_capacity(MAX_OPS);
    let mut in_flight: Vec<(u16, u16)> = Vec::with_capacity(MAX_OPS); // (head, descriptors)
    let mut io = [0u8; IO_MAX];
    let (mut drv_broken, mut dev_broken) = (false, false);
    let (mut dev_notif, mut drv_intr) = (true, true);
    // A side that found nothing with kicks on sleeps until kicked; count
    // what the other side published since.
    let (mut dev_sleeping, mut drv_sleeping) = (false, false);
    let (mut added_since, mut pushed_since) = (0u32, 0u32);
    let mut seq = 0u32;

    for _ in 0..MAX_OPS {
        if inp.is_empty() {
            break;
        }
        let op = inp.u8();
        seq = seq.wrapping_add(1);
        trace!(
            "op {} ({op:#04x}) tainted {tainted} dev sleeping {dev_sleeping} (+{added_since}) drv sleeping {drv_sleeping} (+{pushed_since}) notif {dev_notif} intr {drv_intr}",
            op % 16
        );
        match op % 16 {
            // The driver offers a chain of honest buffers.
            0 | 1 => {
                let (n_out, n_in) = (usize::from(op >> 4 & 3), usize::from(op >> 6));
                let mut o = Offered {
                    seed: seq.wrapping_mul(8),
                    ..Offered::default()
                };
                for k in 0..n_out + n_in {
                    let Some(slot) = free_slots.pop() else { break };
                    let start = usize::from(inp.u8()) % SLOT;
                    let len = usize::from(inp.u8()) % (SLOT - start + 1);
                    let seg = Segment::new(slot * SLOT + start, len as u32);
                    if k < n_out {
                        fill_pattern(o.seed.wrapping_add(k as u32), &mut io[..len]);
                        dv.bufs.write_bytes(seg.offset, &io[..len]).unwrap();
                    }
                    o.segs[k] = (seg, k >= n_out);
                    o.slots[k] = slot;
                    o.n += 1;
                }
                let (mut out, mut ins) = (
                    [Segment::default(); MAX_SEGS],
                    [Segment::default(); MAX_SEGS],
                );
                let (mut no, mut ni) = (0, 0);
                for (seg, w) in o.segs() {
                    if *w {
                        ins[ni] = *seg;
                        ni += 1;
                    } else {
                        out[no] = *seg;
                        no += 1;
                    }
                }
                let free_before = drv.num_free();
                trace!("  add {:?}", o.segs());
                match drv.add(&out[..no], &ins[..ni]) {
                    Ok(head) => {
                        assert!(!drv_broken);
                        assert!(o.n > 0 && o.n <= usize::from(free_before));
                        assert_eq!(usize::from(drv.num_free()), usize::from(free_before) - o.n);
                        // What the ring says must be what we offered, at
                        // the physical addresses of our buffers.
                        let mut d = head;
                        for (i, (seg, w)) in o.segs().iter().enumerate() {
                            let (addr, len, flags, next) = read_desc(&main_ring, &layout, d);
                            assert_eq!(len, seg.len);
                            assert_eq!(flags & VRING_DESC_F_WRITE != 0, *w);
                            let last = i + 1 == o.n;
                            assert_eq!(flags & VRING_DESC_F_NEXT == 0, last);
                            check_phys(&dv.bufs, page, seg.offset, addr, seg.len);
                            d = next;
                        }
                        o.head = head;
                        in_flight.push((head, o.n as u16));
                        avail.push_back(o);
                        if dev_sleeping {
                            added_since += 1;
                        }
                    }
                    Err(e) => {
                        assert_eq!(drv.num_free(), free_before);
                        match e {
                            Error::Broken => assert!(drv_broken),
                            Error::EmptyChain => assert!(o.n == 0),
                            Error::QueueFull { .. } => assert!(o.n > usize::from(free_before)),
                            // A buffer across pages scattered in physical
                            // memory has no one address.
                            Error::Metal(openamp_metal::Error::NotContiguous { offset, len }) => {
                                assert!(o.segs().iter().any(|(s, _)| s.offset == offset
                                    && s.len as usize == len
                                    && scattered(cfg, s)))
                            }
                            Error::Metal(_) => assert!(!cfg.honest_map, "add failed with {e:?}"),
                            e => panic!("add failed with {e:?}"),
                        }
                        free_slots.extend_from_slice(&o.slots[..o.n]);
                    }
                }
            }
            // The device takes the next chain.
            2 | 3 => match dev.pop_avail() {
                Ok(Some(c)) => {
                    assert!(!dev_broken);
                    dev_sleeping = false;
                    trace!("  popped {c:?}");
                    let expected = if tainted { None } else { avail.pop_front() };
                    if let Some(o) = &expected {
                        assert_eq!(c.head, o.head);
                        assert_eq!(usize::from(c.descriptors), o.n);
                    } else {
                        assert!(tainted, "a chain nobody offered");
                    }
                    // Each buffer is inside the region and is exactly the
                    // physical bytes its descriptor names.
                    let mut d = c.head;
                    let (mut r, mut w, mut k) = (0u32, 0u32, 0usize);
                    for s in dev.segments(&c).unwrap() {
                        assert!(vv.bufs.check(s.buf.offset, s.buf.len as usize).is_ok());
                        let (addr, len, flags, next) = read_desc(&main_ring, &layout, d);
                        assert_eq!(len, s.buf.len);
                        assert_eq!(flags & VRING_DESC_F_WRITE != 0, s.writable);
                        check_phys(&vv.bufs, page, s.buf.offset, addr, len);
                        if let Some(o) = &expected {
                            assert_eq!((s.buf, s.writable), o.segs[k]);
                        }
                        if s.writable {
                            w += len;
                        } else {
                            r += len;
                        }
                        d = next;
                        k += 1;
                    }
                    assert_eq!(k, usize::from(c.descriptors));
                    assert_eq!((r, w), (c.readable, c.writable));
                    let want = (c.readable as usize).min(IO_MAX);
                    let n = dev.read(&c, 0, &mut io[..want]).unwrap();
                    assert_eq!(n, want);
                    if let Some(o) = &expected {
                        for (i, b) in io[..n].iter().enumerate() {
                            assert_eq!(*b, o.out_byte(i), "the device read other bytes at {i}");
                        }
                    }
                    held.push((c, expected.unwrap_or_default()));
                }
                Ok(None) => {
                    assert!(!dev_broken);
                    if !tainted {
                        assert!(avail.is_empty(), "the device missed an offered chain");
                    }
                    if dev_notif && !dev_sleeping {
                        dev_sleeping = true;
                        added_since = 0;
                    }
                }
                Err(e) => {
                    assert!(tainted, "honest driver, device says {e:?}");
                    assert!(!dev_broken || e == Error::Broken);
                    dev_broken |= e.breaks_queue();
                }
            },
            // The device returns a chain it holds.
            4 | 15 => {
                if held.is_empty() {
                    continue;
                }
                let i = usize::from(inp.u8()) % held.len();
                let (c, _) = held[i];
                let want = u32::from(inp.u16()) % (IO_MAX as u32 + 1);
                let written = if op & 0x80 != 0 {
                    want
                } else {
                    want.min(c.writable)
                };
                let len = written.min(c.writable) as usize;
                fill_pattern(seq, &mut io[..len]);
                if written <= c.writable {
                    dev.write(&c, 0, &io[..len]).unwrap();
                } else {
                    assert!(dev.write(&c, 0, &io[..written as usize]).is_err());
                }
                let total = c.readable.saturating_add(c.writable);
                let reported = if op % 16 == 15 {
                    u32::from(inp.u16()).min(total.saturating_add(1))
                } else {
                    written
                };
                trace!("  push {} written {written} reported {reported}", c.head);
                match dev.push_used_reporting(&c, written, reported) {
                    Ok(()) => {
                        assert!(!dev_broken);
                        assert!(written <= c.writable && reported <= total);
                        let (_, o) = held.remove(i);
                        used.push_back(Returned {
                            offered: o,
                            reported,
                            seed: seq,
                            len,
                        });
                        if drv_sleeping {
                            pushed_since += 1;
                        }
                    }
                    Err(Error::Broken) => assert!(dev_broken),
                    Err(Error::WrittenTooLarge { .. }) => {
                        assert!(written > c.writable || reported > total)
                    }
                    Err(e) => panic!("push_used failed with {e:?}"),
                }
            }
            // The driver takes the next returned chain.
            5 | 6 => match drv.pop_used() {
                Ok(Some(u)) => {
                    assert!(!drv_broken);
                    drv_sleeping = false;
                    assert!(u.written <= u.reported_len);
                    let k = in_flight
                        .iter()
                        .position(|(h, _)| *h == u.id)
                        .expect("a used id that is not in flight");
                    let (_, count) = in_flight.remove(k);
                    assert_eq!(u.descriptors, count);
                    if !tainted {
                        let r = used.pop_front().expect("a chain nobody returned");
                        assert_eq!(u.id, r.offered.head);
                        assert_eq!(u.reported_len, r.reported);
                        assert_eq!(u.head, r.offered.segs[0].0);
                        let capacity: u32 = r
                            .offered
                            .segs()
                            .iter()
                            .filter(|s| s.1)
                            .map(|s| s.0.len)
                            .sum();
                        assert_eq!(u.written, r.reported.min(capacity));
                        // The device's bytes, through our cache.
                        let n = r.len.min(u.written as usize);
                        let mut at = 0;
                        for (s, _) in r.offered.segs().iter().filter(|s| s.1) {
                            let k = (s.len as usize).min(n - at);
                            dv.bufs.read_bytes(s.offset, &mut io[..k]).unwrap();
                            for (j, b) in io[..k].iter().enumerate() {
                                assert_eq!(
                                    *b,
                                    pattern(r.seed, at + j),
                                    "the driver read other bytes"
                                );
                            }
                            at += k;
                        }
                        free_slots.extend_from_slice(&r.offered.slots[..r.offered.n]);
                    }
                }
                Ok(None) => {
                    assert!(!drv_broken);
                    if !tainted {
                        assert!(used.is_empty(), "the driver missed a returned chain");
                    }
                    if drv_intr && !drv_sleeping {
                        drv_sleeping = true;
                        pushed_since = 0;
                    }
                }
                Err(e) => {
                    assert!(tainted, "honest device, driver says {e:?}");
                    assert!(!drv_broken || e == Error::Broken);
                    drv_broken |= e.breaks_queue();
                }
            },
            // Kicks: a sleeping side must be woken for what was published.
            7 => {
                match drv.should_notify() {
                    Ok(true) => dev_sleeping = false,
                    Ok(false) => assert!(
                        tainted || !(dev_sleeping && added_since > 0),
                        "a kick the sleeping device waits for was skipped"
                    ),
                    Err(e) => assert!(drv_broken && e == Error::Broken),
                }
                match dev.should_notify() {
                    Ok(true) => drv_sleeping = false,
                    Ok(false) => assert!(
                        tainted || !(drv_sleeping && pushed_since > 0),
                        "an interrupt the sleeping driver waits for was skipped"
                    ),
                    Err(e) => assert!(dev_broken && e == Error::Broken),
                }
            }
            // Turning kicks and interrupts off and on.
            8 => {
                if op & 0x10 != 0 {
                    if op & 0x20 != 0 {
                        match dev.enable_notifications() {
                            Ok(pending) => {
                                dev_notif = true;
                                if !tainted {
                                    assert_eq!(pending, !avail.is_empty());
                                }
                                if !pending && !dev_sleeping {
                                    dev_sleeping = true;
                                    added_since = 0;
                                }
                            }
                            Err(e) => assert!(dev_broken && e == Error::Broken),
                        }
                    } else if dev.disable_notifications().is_ok() {
                        dev_notif = false;
                        dev_sleeping = false;
                    }
                } else if op & 0x20 != 0 {
                    match drv.enable_interrupts() {
                        Ok(pending) => {
                            drv_intr = true;
                            if !tainted {
                                assert_eq!(pending, !used.is_empty());
                            }
                            if !pending && !drv_sleeping {
                                drv_sleeping = true;
                                pushed_since = 0;
                            }
                        }
                        Err(e) => assert!(drv_broken && e == Error::Broken),
                    }
                } else if drv.disable_interrupts().is_ok() {
                    drv_intr = false;
                    drv_sleeping = false;
                }
            }
            // Peeking.
            9 => {
                match dev.has_avail() {
                    Ok(a) => assert!(tainted || a == !avail.is_empty()),
                    Err(e) => assert!(dev_broken && e == Error::Broken),
                }
                match drv.has_used() {
                    Ok(a) => assert!(tainted || a == !used.is_empty()),
                    Err(e) => assert!(drv_broken && e == Error::Broken),
                }
                assert_eq!(usize::from(drv.in_flight()), in_flight.len());
                let held_descs: u16 = in_flight.iter().map(|(_, n)| n).sum();
                assert_eq!(drv.num_free() + held_descs, num);
            }
            // The device restarts and resumes the ring.
            10 => {
                if !held.is_empty() {
                    // Chains it held are lost to it: only a hostile move.
                    tainted = true;
                    held.clear();
                }
                match DeviceQueue::<'_, N, _>::resume(vv.ring, vv.bufs, qcfg, vv.maint) {
                    Ok(q) => {
                        dev = q;
                        dev_broken = false;
                        // Resuming writes nothing: whether the ring asks for
                        // kicks is what the old device left, until the new
                        // one says.
                        dev_notif = false;
                        dev_sleeping = false;
                        // Whether the old device owed an interrupt for what
                        // it returned died with it: a restarted device kicks
                        // once, which wakes the driver.
                        drv_sleeping = false;
                        pushed_since = 0;
                    }
                    Err(e) => panic!("resume failed with {e:?}"),
                }
            }
            // Hostile: any 1, 2, 4 or 8 bytes of the ring.
            11 => {
                tainted = true;
                let width = 1usize << (op >> 4 & 3);
                let off = (inp.u16() as usize % layout.size()) & !(width - 1);
                let v = inp.bytes(width);
                let _ = match width {
                    1 => main_ring.write_u8(off, v as u8),
                    2 => main_ring.write_u16(off, v as u16),
                    4 => main_ring.write_u32(off, v as u32),
                    _ => main_ring.write_u64(off, v),
                };
            }
            // Hostile driver: a descriptor, an available entry, the index.
            12 => {
                tainted = true;
                let i = inp.u16() % num;
                let addr = if op & 0x10 != 0 {
                    inp.u64()
                } else {
                    main_bufs
                        .offset_to_phys(usize::from(inp.u16()) % BUF_SIZE)
                        .unwrap_or(0)
                };
                let len = if op & 0x20 != 0 {
                    inp.u32()
                } else {
                    u32::from(inp.u8()) * 8
                };
                let flags = u16::from(inp.u8() & 7);
                let next = inp.u16() % (num + 1);
                let off = layout.desc_offset(i);
                main_ring.write_u32(off, addr as u32).unwrap();
                main_ring.write_u32(off + 4, (addr >> 32) as u32).unwrap();
                main_ring.write_u32(off + 8, len).unwrap();
                main_ring
                    .write_u32(off + 12, u32::from(flags) | u32::from(next) << 16)
                    .unwrap();
                if op & 0x40 != 0 {
                    let idx = main_ring.read_u16(layout.avail_idx_offset()).unwrap();
                    let head = if op & 0x80 != 0 { inp.u16() } else { i };
                    main_ring
                        .write_u16(layout.avail_ring_offset(idx & (num - 1)), head)
                        .unwrap();
                    let step = if op & 0x80 != 0 { inp.u16() } else { 1 };
                    main_ring
                        .write_u16(layout.avail_idx_offset(), idx.wrapping_add(step))
                        .unwrap();
                }
            }
            // Hostile device: a used entry and the index.
            13 => {
                tainted = true;
                let idx = main_ring.read_u16(layout.used_idx_offset()).unwrap();
                let id = if op & 0x10 != 0 {
                    inp.u32()
                } else if let Some((h, _)) = in_flight.first() {
                    u32::from(*h)
                } else {
                    u32::from(inp.u16())
                };
                let len = if op & 0x20 != 0 {
                    inp.u32()
                } else {
                    u32::from(inp.u8())
                };
                let slot = idx & (num - 1);
                main_ring
                    .write_u32(layout.used_ring_offset(slot), id)
                    .unwrap();
                main_ring
                    .write_u32(layout.used_ring_offset(slot) + 4, len)
                    .unwrap();
                let step = if op & 0x40 != 0 { inp.u16() } else { 1 };
                main_ring
                    .write_u16(layout.used_idx_offset(), idx.wrapping_add(step))
                    .unwrap();
            }
            // Hostile: buffer bytes change under their owner.
            _ => {
                tainted = true;
                let off = usize::from(inp.u16()) % BUF_SIZE;
                let _ = main_bufs.write_u8(off, inp.u8());
            }
        }
        assert_eq!(drv.is_broken(), drv_broken);
        assert_eq!(dev.is_broken(), dev_broken);
    }
    // A cached side that moved anything maintained its cache.
    for (c, moved) in [
        (&drv_cache, drv.in_flight() > 0),
        (&dev_cache, dev.used_idx() > 0),
    ] {
        if let Some(c) = c {
            assert!(
                !moved || c.calls.get() > 0,
                "a cached side never maintained its cache"
            );
        }
    }
}
