//! [`IoRegion`]: a window of memory shared with another core.
//!
//! The other core may be buggy or hostile and writes whenever it likes, so no
//! safe method here hands out a Rust reference into the window: every access is
//! a bounds-checked volatile or atomic operation, or a copy to or from memory
//! that we own.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, AtomicU32, Ordering};

use crate::cache::CacheMaintenance;
use crate::{Error, Result};

/// Memory attributes of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoAttr {
    /// The region is mapped cacheable and the other core does not snoop our
    /// caches: writes must be flushed and reads invalidated by hand.
    pub cached: bool,
}

impl IoAttr {
    /// Uncached (or cache-coherent) memory: no maintenance needed.
    pub const UNCACHED: IoAttr = IoAttr { cached: false };
    /// Cached memory that needs explicit maintenance.
    pub const CACHED: IoAttr = IoAttr { cached: true };
}

/// How the bytes of a region map to physical (bus) addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhysMap<'a> {
    /// The region has no physical address (private memory, tests).
    None,
    /// One physically contiguous block starting at this address.
    Contiguous(u64),
    /// One physical address per page, as libmetal allows for scattered memory.
    Pages {
        /// Physical address of each page, in the order they appear in the region.
        pages: &'a [u64],
        /// log2 of the page size.
        page_shift: u32,
    },
}

/// Scalars that can be read and written with one volatile access.
pub trait Scalar: Copy + sealed::Sealed {}
impl Scalar for u8 {}
impl Scalar for u16 {}
impl Scalar for u32 {}
impl Scalar for u64 {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
}

/// A bounds-checked window of memory shared with another core.
///
/// An `IoRegion` is a small `Copy` handle: virtual base, size, physical map and
/// attributes. The lifetime `'a` is that of the mapping it was made from; a
/// backend that keeps its mapping for the life of the program hands out
/// `IoRegion<'static>`.
///
/// ```
/// use openamp_metal::IoRegion;
/// use core::sync::atomic::Ordering;
///
/// let mut backing = [0u64; 8]; // 64 bytes, 8-aligned
/// let region = IoRegion::from_slice(bytemuck_free(&mut backing));
/// region.write_u32(4, 0xdead_beef)?;
/// assert_eq!(region.read_u32(4)?, 0xdead_beef);
/// assert_eq!(region.fetch_add_u32(4, 1, Ordering::AcqRel)?, 0xdead_beef);
/// assert!(region.read_u32(62).is_err()); // misaligned and out of range
/// # fn bytemuck_free(w: &mut [u64; 8]) -> &mut [u8] {
/// #     // SAFETY: u64 has no padding and every byte pattern is a valid u8.
/// #     unsafe { core::slice::from_raw_parts_mut(w.as_mut_ptr().cast(), 64) }
/// # }
/// # Ok::<(), openamp_metal::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct IoRegion<'a> {
    virt: NonNull<u8>,
    size: usize,
    phys: PhysMap<'a>,
    /// Offset of this region's first byte from the start of `phys`; non-zero
    /// only for sub-regions of a page-mapped region.
    phys_skip: usize,
    attr: IoAttr,
    _mem: PhantomData<&'a UnsafeCell<[u8]>>,
}

// SAFETY: an IoRegion is a description of memory that is, by construction,
// shared with another core; every access through it is volatile or atomic and
// therefore as valid from any thread as from the other core.
unsafe impl Send for IoRegion<'_> {}
// SAFETY: as above; `&IoRegion` gives no more than `IoRegion` itself.
unsafe impl Sync for IoRegion<'_> {}

impl core::fmt::Debug for IoRegion<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IoRegion")
            .field("virt", &self.virt)
            .field("size", &self.size)
            .field("phys", &self.phys)
            .field("phys_skip", &self.phys_skip)
            .field("attr", &self.attr)
            .finish()
    }
}

impl<'a> IoRegion<'a> {
    /// Describes `size` bytes of shared memory at `virt`.
    ///
    /// Fails if `virt` is null, the range wraps the address space, or a page
    /// list is too short for `size`.
    ///
    /// # Safety
    /// `virt..virt + size` must be mapped, readable and writable for all of
    /// `'a`, and must not be accessed through Rust references anywhere while
    /// any `IoRegion` made from it exists (other cores and volatile or atomic
    /// accesses are fine).
    pub unsafe fn new(virt: *mut u8, size: usize, phys: PhysMap<'a>, attr: IoAttr) -> Result<Self> {
        let virt = NonNull::new(virt).ok_or(Error::InvalidRegion {
            reason: "null base address",
        })?;
        if (virt.as_ptr() as usize).checked_add(size).is_none() {
            return Err(Error::InvalidRegion {
                reason: "region wraps the address space",
            });
        }
        match phys {
            PhysMap::None => {}
            PhysMap::Contiguous(base) => {
                if base.checked_add(size as u64).is_none() {
                    return Err(Error::InvalidRegion {
                        reason: "physical range overflows",
                    });
                }
            }
            PhysMap::Pages { pages, page_shift } => {
                if page_shift >= usize::BITS {
                    return Err(Error::InvalidRegion {
                        reason: "page shift too large",
                    });
                }
                let pages_needed = size.div_ceil(1usize << page_shift);
                if pages.len() < pages_needed {
                    return Err(Error::InvalidRegion {
                        reason: "page list shorter than the region",
                    });
                }
            }
        }
        Ok(IoRegion {
            virt,
            size,
            phys,
            phys_skip: 0,
            attr,
            _mem: PhantomData,
        })
    }

    /// A region over memory we own exclusively for `'a` (tests, local buffers).
    ///
    /// The physical address of each byte is taken to be its virtual address.
    pub fn from_slice(mem: &'a mut [u8]) -> Self {
        let virt = NonNull::from(&mut *mem).cast::<u8>();
        IoRegion {
            virt,
            size: mem.len(),
            phys: PhysMap::Contiguous(virt.as_ptr() as usize as u64),
            phys_skip: 0,
            attr: IoAttr::UNCACHED,
            _mem: PhantomData,
        }
    }

    /// Size of the region in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Memory attributes of the region.
    pub fn attr(&self) -> IoAttr {
        self.attr
    }

    /// The virtual address of the first byte. Dereferencing it is on you.
    pub fn as_ptr(&self) -> *mut u8 {
        self.virt.as_ptr()
    }

    /// Checks that `len` bytes at `offset` are inside the region.
    pub fn check(&self, offset: usize, len: usize) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(Error::OutOfRange {
                offset,
                len,
                size: self.size,
            }),
        }
    }

    /// Checks bounds and alignment for a `T` at `offset`, and returns its address.
    fn ptr_for<T>(&self, offset: usize) -> Result<*mut T> {
        let len = core::mem::size_of::<T>();
        self.check(offset, len)?;
        // In bounds, so this cannot wrap (checked in `new`).
        let addr = self.virt.as_ptr().wrapping_add(offset);
        let align = core::mem::align_of::<T>();
        if (addr as usize) % align != 0 {
            return Err(Error::Misaligned { offset, align });
        }
        Ok(addr.cast())
    }

    /// Reads a scalar at `offset` with one volatile access.
    pub fn read<T: Scalar>(&self, offset: usize) -> Result<T> {
        let p = self.ptr_for::<T>(offset)?;
        // SAFETY: `p` is in bounds and aligned (checked by `ptr_for`), the
        // memory is mapped for 'a (contract of `new`), and every bit pattern is
        // a valid `T` (sealed to plain unsigned integers).
        Ok(unsafe { p.read_volatile() })
    }

    /// Writes a scalar at `offset` with one volatile access.
    pub fn write<T: Scalar>(&self, offset: usize, value: T) -> Result<()> {
        let p = self.ptr_for::<T>(offset)?;
        // SAFETY: in bounds and aligned (checked), mapped writable for 'a.
        unsafe { p.write_volatile(value) };
        Ok(())
    }

    /// Reads a byte.
    pub fn read_u8(&self, offset: usize) -> Result<u8> {
        self.read(offset)
    }
    /// Reads an aligned little-endian `u16`.
    pub fn read_u16(&self, offset: usize) -> Result<u16> {
        self.read(offset)
    }
    /// Reads an aligned little-endian `u32`.
    pub fn read_u32(&self, offset: usize) -> Result<u32> {
        self.read(offset)
    }
    /// Reads an aligned little-endian `u64`.
    pub fn read_u64(&self, offset: usize) -> Result<u64> {
        self.read(offset)
    }
    /// Writes a byte.
    pub fn write_u8(&self, offset: usize, value: u8) -> Result<()> {
        self.write(offset, value)
    }
    /// Writes an aligned little-endian `u16`.
    pub fn write_u16(&self, offset: usize, value: u16) -> Result<()> {
        self.write(offset, value)
    }
    /// Writes an aligned little-endian `u32`.
    pub fn write_u32(&self, offset: usize, value: u32) -> Result<()> {
        self.write(offset, value)
    }
    /// Writes an aligned little-endian `u64`.
    pub fn write_u64(&self, offset: usize, value: u64) -> Result<()> {
        self.write(offset, value)
    }

    /// Runs `f` on the atomic `u32` at `offset`.
    fn with_atomic_u32<R>(&self, offset: usize, f: impl FnOnce(&AtomicU32) -> R) -> Result<R> {
        let p = self.ptr_for::<u32>(offset)?;
        // SAFETY: `p` is in bounds and 4-aligned (checked), which is
        // AtomicU32's alignment; the memory is valid for 'a; other cores only
        // touch it through atomic or volatile accesses of the same size. The
        // reference stays inside this function and never reaches safe callers.
        let atomic = unsafe { AtomicU32::from_ptr(p) };
        Ok(f(atomic))
    }

    /// Runs `f` on the atomic `u16` at `offset`.
    fn with_atomic_u16<R>(&self, offset: usize, f: impl FnOnce(&AtomicU16) -> R) -> Result<R> {
        let p = self.ptr_for::<u16>(offset)?;
        // SAFETY: as for `with_atomic_u32`, with 2-byte alignment.
        let atomic = unsafe { AtomicU16::from_ptr(p) };
        Ok(f(atomic))
    }

    /// Atomically loads the `u32` at `offset`.
    pub fn load_u32(&self, offset: usize, order: Ordering) -> Result<u32> {
        self.with_atomic_u32(offset, |a| a.load(order))
    }
    /// Atomically stores `value` at `offset`.
    pub fn store_u32(&self, offset: usize, value: u32, order: Ordering) -> Result<()> {
        self.with_atomic_u32(offset, |a| a.store(value, order))
    }
    /// Atomically swaps the `u32` at `offset`, returning the old value.
    pub fn swap_u32(&self, offset: usize, value: u32, order: Ordering) -> Result<u32> {
        self.with_atomic_u32(offset, |a| a.swap(value, order))
    }
    /// Atomic compare-and-exchange; the inner result is `Err(actual)` when the
    /// value was not `current`.
    pub fn compare_exchange_u32(
        &self,
        offset: usize,
        current: u32,
        new: u32,
        success: Ordering,
        failure: Ordering,
    ) -> Result<core::result::Result<u32, u32>> {
        self.with_atomic_u32(offset, |a| {
            a.compare_exchange(current, new, success, failure)
        })
    }
    /// Atomically adds (wrapping), returning the old value.
    pub fn fetch_add_u32(&self, offset: usize, value: u32, order: Ordering) -> Result<u32> {
        self.with_atomic_u32(offset, |a| a.fetch_add(value, order))
    }
    /// Atomically ORs in `value`, returning the old value.
    pub fn fetch_or_u32(&self, offset: usize, value: u32, order: Ordering) -> Result<u32> {
        self.with_atomic_u32(offset, |a| a.fetch_or(value, order))
    }
    /// Atomically ANDs with `value`, returning the old value.
    pub fn fetch_and_u32(&self, offset: usize, value: u32, order: Ordering) -> Result<u32> {
        self.with_atomic_u32(offset, |a| a.fetch_and(value, order))
    }

    /// Atomically loads the `u16` at `offset`.
    pub fn load_u16(&self, offset: usize, order: Ordering) -> Result<u16> {
        self.with_atomic_u16(offset, |a| a.load(order))
    }
    /// Atomically stores `value` at `offset`.
    pub fn store_u16(&self, offset: usize, value: u16, order: Ordering) -> Result<()> {
        self.with_atomic_u16(offset, |a| a.store(value, order))
    }
    /// Atomically swaps the `u16` at `offset`, returning the old value.
    pub fn swap_u16(&self, offset: usize, value: u16, order: Ordering) -> Result<u16> {
        self.with_atomic_u16(offset, |a| a.swap(value, order))
    }
    /// Atomic compare-and-exchange on a `u16`; see [`IoRegion::compare_exchange_u32`].
    pub fn compare_exchange_u16(
        &self,
        offset: usize,
        current: u16,
        new: u16,
        success: Ordering,
        failure: Ordering,
    ) -> Result<core::result::Result<u16, u16>> {
        self.with_atomic_u16(offset, |a| {
            a.compare_exchange(current, new, success, failure)
        })
    }
    /// Atomically adds (wrapping), returning the old value.
    pub fn fetch_add_u16(&self, offset: usize, value: u16, order: Ordering) -> Result<u16> {
        self.with_atomic_u16(offset, |a| a.fetch_add(value, order))
    }
    /// Atomically ORs in `value`, returning the old value.
    pub fn fetch_or_u16(&self, offset: usize, value: u16, order: Ordering) -> Result<u16> {
        self.with_atomic_u16(offset, |a| a.fetch_or(value, order))
    }
    /// Atomically ANDs with `value`, returning the old value.
    pub fn fetch_and_u16(&self, offset: usize, value: u16, order: Ordering) -> Result<u16> {
        self.with_atomic_u16(offset, |a| a.fetch_and(value, order))
    }

    /// Copies `dst.len()` bytes out of the region, starting at `offset`.
    ///
    /// The copy is a snapshot: if the peer writes meanwhile, `dst` may hold a
    /// mix of old and new bytes, which is why callers validate what they read.
    pub fn read_bytes(&self, offset: usize, dst: &mut [u8]) -> Result<()> {
        self.check(offset, dst.len())?;
        // SAFETY: the source range is inside the mapping (checked above) and
        // `dst` is memory we own exclusively, so the two cannot overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.virt.as_ptr().add(offset),
                dst.as_mut_ptr(),
                dst.len(),
            )
        };
        Ok(())
    }

    /// Copies `src` into the region at `offset`.
    pub fn write_bytes(&self, offset: usize, src: &[u8]) -> Result<()> {
        self.check(offset, src.len())?;
        // SAFETY: the destination range is inside the writable mapping
        // (checked above); `src` is ordinary memory that cannot alias it.
        unsafe {
            core::ptr::copy_nonoverlapping(src.as_ptr(), self.virt.as_ptr().add(offset), src.len())
        };
        Ok(())
    }

    /// Sets `len` bytes at `offset` to `value`.
    pub fn fill(&self, offset: usize, len: usize, value: u8) -> Result<()> {
        self.check(offset, len)?;
        // SAFETY: the range is inside the writable mapping (checked above).
        unsafe { core::ptr::write_bytes(self.virt.as_ptr().add(offset), value, len) };
        Ok(())
    }

    /// Copies `len` bytes from `src` to `dst` inside the region (ranges may overlap).
    pub fn copy_within(&self, src: usize, dst: usize, len: usize) -> Result<()> {
        self.check(src, len)?;
        self.check(dst, len)?;
        // SAFETY: both ranges are inside the mapping (checked above);
        // `ptr::copy` allows overlap.
        unsafe {
            core::ptr::copy(
                self.virt.as_ptr().add(src),
                self.virt.as_ptr().add(dst),
                len,
            )
        };
        Ok(())
    }

    /// A region covering `len` bytes at `offset` of this one.
    pub fn sub_region(&self, offset: usize, len: usize) -> Result<IoRegion<'a>> {
        self.check(offset, len)?;
        let (phys, phys_skip) = match self.phys {
            PhysMap::None => (PhysMap::None, 0),
            PhysMap::Contiguous(base) => (PhysMap::Contiguous(base + offset as u64), 0),
            pages @ PhysMap::Pages { .. } => (pages, self.phys_skip + offset),
        };
        Ok(IoRegion {
            virt: NonNull::new(self.virt.as_ptr().wrapping_add(offset)).ok_or(
                Error::InvalidRegion {
                    reason: "null sub-region",
                },
            )?,
            size: len,
            phys,
            phys_skip,
            attr: self.attr,
            _mem: PhantomData,
        })
    }

    /// The physical address of the byte at `offset`.
    pub fn offset_to_phys(&self, offset: usize) -> Result<u64> {
        // One past the end is allowed: it is where an empty buffer at the end lives.
        if offset > self.size {
            return Err(Error::OutOfRange {
                offset,
                len: 0,
                size: self.size,
            });
        }
        match self.phys {
            PhysMap::None => Err(Error::Unsupported {
                what: "region has no physical address",
            }),
            PhysMap::Contiguous(base) => Ok(base + offset as u64),
            PhysMap::Pages { pages, page_shift } => {
                let at = self.phys_skip + offset;
                let page = at >> page_shift;
                let within = (at & ((1usize << page_shift) - 1)) as u64;
                match pages.get(page) {
                    Some(p) => Ok(p + within),
                    // `offset == size` on an exact page boundary: one past the last page.
                    None => {
                        pages
                            .last()
                            .map(|p| p + (1u64 << page_shift))
                            .ok_or(Error::OutOfRange {
                                offset,
                                len: 0,
                                size: self.size,
                            })
                    }
                }
            }
        }
    }

    /// The offset in this region of physical address `phys`.
    pub fn phys_to_offset(&self, phys: u64) -> Result<usize> {
        let err = Error::PhysOutOfRange { phys };
        match self.phys {
            PhysMap::None => Err(err),
            PhysMap::Contiguous(base) => {
                let off = phys.checked_sub(base).ok_or(err)?;
                if off < self.size as u64 {
                    Ok(off as usize)
                } else {
                    Err(err)
                }
            }
            PhysMap::Pages { pages, page_shift } => {
                let page_size = 1u64 << page_shift;
                for (i, &p) in pages.iter().enumerate() {
                    if let Some(within) = phys.checked_sub(p).filter(|w| *w < page_size) {
                        let at = (i << page_shift) + within as usize;
                        if let Some(off) = at.checked_sub(self.phys_skip).filter(|o| *o < self.size)
                        {
                            return Ok(off);
                        }
                    }
                }
                Err(err)
            }
        }
    }

    /// The physical address of a virtual address inside the region.
    pub fn virt_to_phys(&self, virt: *const u8) -> Result<u64> {
        self.offset_to_phys(self.virt_to_offset(virt)?)
    }

    /// The virtual address of physical address `phys`, if the region covers it.
    pub fn phys_to_virt(&self, phys: u64) -> Result<*mut u8> {
        let off = self.phys_to_offset(phys)?;
        Ok(self.virt.as_ptr().wrapping_add(off))
    }

    /// The offset of a virtual address inside the region.
    pub fn virt_to_offset(&self, virt: *const u8) -> Result<usize> {
        let addr = virt as usize;
        let base = self.virt.as_ptr() as usize;
        match addr.checked_sub(base) {
            Some(off) if off < self.size => Ok(off),
            _ => Err(Error::VirtOutOfRange { virt: addr }),
        }
    }

    /// Writes `len` bytes at `offset` back to memory, if the region is cached.
    pub fn flush(&self, cache: &impl CacheMaintenance, offset: usize, len: usize) -> Result<()> {
        self.check(offset, len)?;
        if self.attr.cached {
            cache.flush(self.virt.as_ptr().wrapping_add(offset), len);
        }
        Ok(())
    }

    /// Discards cached copies of `len` bytes at `offset`, if the region is cached,
    /// so that the next read sees what the peer wrote.
    pub fn invalidate(
        &self,
        cache: &impl CacheMaintenance,
        offset: usize,
        len: usize,
    ) -> Result<()> {
        self.check(offset, len)?;
        if self.attr.cached {
            cache.invalidate(self.virt.as_ptr().wrapping_add(offset), len);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
