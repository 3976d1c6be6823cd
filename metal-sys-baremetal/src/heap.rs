//! A bump allocator for firmware that allocates only while it sets up.
//!
//! The remoteproc layer keeps a few small vectors (a copy of the resource
//! table, the vring list) that are made once at start-up. A bump allocator
//! serves that with a dozen instructions and no fragmentation; memory is
//! never given back, so it does not suit allocation in a loop.
//!
//! ```ignore
//! #[global_allocator]
//! static HEAP: BumpHeap<{ 32 * 1024 }> = BumpHeap::new();
//! ```

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

/// A bump allocator over `SIZE` bytes of its own.
#[repr(C, align(16))]
pub struct BumpHeap<const SIZE: usize> {
    memory: UnsafeCell<[u8; SIZE]>,
    next: AtomicUsize,
}

// SAFETY: `next` is only advanced with compare-exchange, so every caller gets
// a disjoint range of `memory`; nothing else touches `memory`.
unsafe impl<const SIZE: usize> Sync for BumpHeap<SIZE> {}

impl<const SIZE: usize> BumpHeap<SIZE> {
    /// An empty heap (place it in a `static`).
    pub const fn new() -> Self {
        BumpHeap {
            memory: UnsafeCell::new([0; SIZE]),
            next: AtomicUsize::new(0),
        }
    }

    /// Bytes handed out so far (alignment padding included).
    pub fn used(&self) -> usize {
        self.next.load(Ordering::Relaxed)
    }
}

impl<const SIZE: usize> Default for BumpHeap<SIZE> {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: `alloc` returns null or a block of `layout.size()` bytes, aligned
// to `layout.align()`, inside `memory` and disjoint from every other block;
// `dealloc` does nothing, which is allowed (the memory just stays used).
unsafe impl<const SIZE: usize> GlobalAlloc for BumpHeap<SIZE> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = self.memory.get() as *mut u8;
        let mut current = self.next.load(Ordering::Relaxed);
        loop {
            // Align the address, not the offset: `memory` is 16-aligned but
            // a layout may ask for more.
            let addr = (base as usize).wrapping_add(current);
            let pad = addr.wrapping_neg() & (layout.align() - 1);
            let Some(end) = current
                .checked_add(pad)
                .and_then(|s| s.checked_add(layout.size()))
            else {
                return core::ptr::null_mut();
            };
            if end > SIZE {
                return core::ptr::null_mut();
            }
            match self.next.compare_exchange_weak(
                current,
                end,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                // `current + pad` is inside `memory` (checked against SIZE).
                Ok(_) => return base.wrapping_add(current + pad),
                Err(seen) => current = seen,
            }
        }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_disjoint_and_bounded() {
        let heap = Box::<BumpHeap<256>>::default();
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        // SAFETY: the layouts are valid and non-zero-sized.
        let (a, b, c) = unsafe {
            (
                heap.alloc(l(3, 1)),
                heap.alloc(l(8, 8)),
                heap.alloc(l(64, 64)),
            )
        };
        assert!(!a.is_null() && !b.is_null() && !c.is_null());
        assert_eq!(b as usize % 8, 0);
        assert_eq!(c as usize % 64, 0);
        assert!(b as usize >= a as usize + 3);
        assert!(c as usize >= b as usize + 8);
        // SAFETY: as above.
        let too_big = unsafe { heap.alloc(l(512, 1)) };
        assert!(too_big.is_null(), "past the end is refused");
        assert!(heap.used() <= 256);
    }
}
