//! Which cache lines a maintenance operation on a byte range touches, at
//! which level, with which operation, in which order. Pure arithmetic on
//! addresses: `cache.rs` carries the steps out on the core, and the host
//! tests (`tests/cache_plan.rs`, which include this file) check them.
//!
//! Two rules:
//! - Edges: a line only partly inside the range may hold dirty bytes of
//!   someone else's just outside it, so an invalidate cleans it as well
//!   (clean+invalidate) instead of discarding them. Each level decides this
//!   from the caller's range and its own line size, never from a range
//!   another level has already rounded.
//! - Order: a clean goes inner (L1) then outer (L2), so that dirty data
//!   moves outward into memory; an invalidate goes outer then inner, so that
//!   an L1 line refilled in between (by a speculative fetch) is read from
//!   memory and not from a stale L2 line.

/// One maintenance operation on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Write a dirty line back, keep it cached.
    Clean,
    /// Drop the line, dirty or not.
    Invalidate,
    /// Write a dirty line back, then drop it.
    CleanInvalidate,
}

/// A cache level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The core's own data cache (L1), maintained through the core.
    Inner,
    /// A cache outside the core (the Zynq-7000's PL310 L2), maintained
    /// through its registers.
    Outer,
}

/// One step of a plan: `op` on the line at `line` (aligned) in `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Where the line is cached.
    pub level: Level,
    /// What to do to it.
    pub op: Op,
    /// Its address, aligned down to the level's line size.
    pub line: usize,
}

/// The levels `op` visits, in order.
pub fn order(op: Op) -> [Level; 2] {
    match op {
        Op::Clean => [Level::Inner, Level::Outer],
        Op::Invalidate | Op::CleanInvalidate => [Level::Outer, Level::Inner],
    }
}

/// The lines of one level over the caller's range.
#[derive(Debug, Clone)]
struct Lines {
    level: Level,
    op: Op,
    /// Line size, a power of two.
    size: usize,
    /// The caller's range (`end` saturated at the top of the address space).
    start: usize,
    end: usize,
    /// The next line's address, or `None` when done.
    next: Option<usize>,
}

impl Lines {
    fn new(level: Level, op: Op, addr: usize, len: usize, size: usize) -> Self {
        assert!(size.is_power_of_two(), "line size {size}");
        let end = addr.saturating_add(len);
        Lines {
            level,
            op,
            size,
            start: addr,
            end,
            next: (len > 0).then_some(addr & !(size - 1)),
        }
    }
}

impl Iterator for Lines {
    type Item = Step;
    fn next(&mut self) -> Option<Step> {
        let a = self.next.filter(|&a| a < self.end)?;
        // `a < end`, so `end - a` cannot wrap (nor can `a + size` be needed).
        let partial = a < self.start || self.end - a < self.size;
        self.next = a.checked_add(self.size);
        let op = match self.op {
            Op::Invalidate if partial => Op::CleanInvalidate,
            op => op,
        };
        Some(Step {
            level: self.level,
            op,
            line: a,
        })
    }
}

/// The steps of `op` over `len` bytes at `addr`, for an inner cache of
/// `inner`-byte lines and, if there is one, an outer cache of `outer`-byte
/// lines (both powers of two). Empty when `len` is 0.
pub fn steps(
    op: Op,
    addr: usize,
    len: usize,
    inner: usize,
    outer: Option<usize>,
) -> impl Iterator<Item = Step> {
    let [first, second] = order(op);
    let level = move |level: Level| {
        let size = match level {
            Level::Inner => Some(inner),
            Level::Outer => outer,
        };
        size.map(|size| Lines::new(level, op, addr, len, size))
            .into_iter()
            .flatten()
    };
    level(first).chain(level(second))
}
