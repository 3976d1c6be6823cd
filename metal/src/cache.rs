//! Cache maintenance for memory shared with a core that does not snoop our caches.

/// Cache maintenance operations of one core.
///
/// [`IoRegion::flush`](crate::IoRegion::flush) and
/// [`IoRegion::invalidate`](crate::IoRegion::invalidate) call these only for
/// regions marked [`IoAttr::CACHED`](crate::IoAttr::CACHED), after checking
/// bounds, so implementations get ranges inside a live mapping.
pub trait CacheMaintenance {
    /// Writes dirty lines covering `addr..addr + len` back to memory.
    fn flush(&self, addr: *mut u8, len: usize);
    /// Discards lines covering `addr..addr + len`, so that the next read
    /// fetches from memory. Implementations clean partial lines at the edges
    /// first, so that bytes outside the range are not lost.
    fn invalidate(&self, addr: *mut u8, len: usize);
}

/// Cache maintenance for coherent (or uncached) memory: nothing to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCache;

impl CacheMaintenance for NoCache {
    fn flush(&self, _addr: *mut u8, _len: usize) {}
    fn invalidate(&self, _addr: *mut u8, _len: usize) {}
}
