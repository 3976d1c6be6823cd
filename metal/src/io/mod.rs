//! [`IoRegion`]: a window of memory shared with another core.
//!
//! The other core may be buggy or hostile and writes whenever it likes, so no
//! safe method here hands out a Rust reference into the window: every access is
//! a bounds-checked atomic operation, or a copy made of atomic operations to or
//! from memory that we own.
//!
//! # Why every access is atomic
//!
//! An `IoRegion` is a `Copy` handle that is `Send` and `Sync`, and
//! [`IoRegion::from_slice`] is safe, so two threads of one program can hold
//! copies of one region and use them at the same time: that is how the
//! in-process host/remote pairs, the loopback transport and their tests work.
//! In Rust's memory model such concurrent use is a data race (undefined
//! behaviour) unless every access is atomic. So every access is:
//!
//! - typed reads and writes ([`IoRegion::read`], [`IoRegion::write_u32`], ...)
//!   are relaxed atomic loads and stores of the type's own width, at its
//!   natural alignment; [`IoRegion::load_u32`], [`IoRegion::store_u8`], ...
//!   take an explicit [`Ordering`] for the fields that publish or consume
//!   other data;
//! - block copies ([`IoRegion::read_bytes`], [`IoRegion::write_bytes`],
//!   [`IoRegion::fill`], [`IoRegion::copy_within`]) are loops of relaxed
//!   atomic accesses: one `AtomicUsize` for each aligned machine word that
//!   lies wholly inside the range and one `AtomicU8` for each byte at either
//!   edge. This is the approach of the proposal for byte-wise atomic memcpy
//!   (a racing copy may tear between words, but it is not undefined
//!   behaviour); the code is our own.
//!
//! The alternative was a type split: only an `unsafe` constructor would give a
//! region that may be shared between threads, and the copies could stay
//! `memcpy`. We chose atomics because they cost nothing where it matters: a
//! relaxed atomic load or store is the same single `mov` (x86_64) or
//! `ldr`/`str` (Arm) as a plain one, so a word loop runs at memory speed and
//! only loses the compiler's right to merge words into vector moves (`cargo
//! xtask bench` reports the copy's bytes/s next to `memcpy`'s). A type split
//! would instead put an `unsafe` block, and a promise about other threads
//! that the caller cannot check any better than we can, in every program
//! that shares a region between threads. Towards the other core none of this
//! matters (its accesses are outside Rust's model and each of ours is one
//! single-copy-atomic instruction either way); it is about our own threads.
//!
//! # Access widths
//!
//! Rust's model has one more rule: two atomic accesses that race (neither
//! happens before the other) and of which one writes must not overlap
//! partially, that is, they must cover exactly the same bytes. Miri checks
//! it. `IoRegion` cannot check it, because whether two accesses race
//! depends on the protocol; instead the protocols built on it keep to one
//! width per location wherever two parties may meet:
//!
//! - every ring field is accessed at one width by both sides: the `u16`
//!   flags, indices, avail entries and event fields with the `u16` methods,
//!   the descriptors and used elements as `u32` words with the `u32`
//!   methods, the vdev status byte with [`IoRegion::load_u8`] and
//!   [`IoRegion::store_u8`];
//! - buffers are only copied by the side that owns them, and ownership
//!   passes through a release store and an acquire load of a ring index.
//!   That orders the writer's copy before the reader's, so the two may use
//!   different extents and widths (the reader reads a header, then a
//!   payload of another length) without racing;
//! - the copies split a range by address alone, so two copies of the same
//!   range (a hostile peer rewriting a buffer while we read it, in a test)
//!   make identical accesses and are fine even when they race.
//!
//! What is left to the user is not to race accesses of different widths on
//! the same bytes from two threads, such as `read_u32(0)` against
//! `write_u16(2, ..)`, or copies whose edges differ. Every CPU we target
//! executes that as written (each access is one single-copy-atomic
//! instruction), but Rust's model does not yet give it a meaning, and Miri
//! reports it.
//!
//! # Under Miri, stores are swaps
//!
//! The protocols do write one location with different widths at different
//! times, ordered: a ring is zeroed by `fill`'s words and then written by
//! `u16` and `u32` stores; a buffer gets messages of different lengths,
//! whose last words are whole words once and single bytes the next time.
//! Rust's model allows that. The Miri we run does not model it: an atomic
//! store that partly overlaps an earlier atomic store of another extent
//! makes it panic ("cannot have partially overlapping store buffer when
//! previous write was atomic"), while an atomic read-modify-write of the
//! new extent is handled. So when built for Miri, and only then, every
//! atomic store of this module is a `swap` with the same ordering, its
//! result ignored. For what Miri checks here (data races, mixed-size
//! races, bounds, alignment), a swap is the same kind of access as a store.
//! A swap also reads the latest value, which can only hide a weak-memory
//! outcome if another thread writes the same location, and every ring field
//! has a single writer.

/// An atomic store of `$v` with `$order` into the atomic `$a`; a swap under
/// Miri (see the module docs).
macro_rules! atomic_store {
    ($a:expr, $v:expr, $order:expr) => {{
        #[cfg(not(miri))]
        $a.store($v, $order);
        #[cfg(miri)]
        let _ = $a.swap($v, $order);
    }};
}

mod copy;

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU8, Ordering};

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

/// Scalars that [`IoRegion::read`] and [`IoRegion::write`] access with one
/// relaxed atomic load or store of their own width (`u8`, `u16`, `u32`, and
/// `u64` where the target has 64-bit words).
///
/// On 32-bit targets a `u64` is two `u32` accesses, low word first: the
/// same as the `ldrd`/`strd` pair that a plain access compiles to there, and
/// it keeps the exclusive-access instructions of a 64-bit atomic away from
/// uncached and device memory. It is not single-copy atomic.
pub trait Scalar: Copy + sealed::Sealed {}
impl Scalar for u8 {}
impl Scalar for u16 {}
impl Scalar for u32 {}
impl Scalar for u64 {}

mod sealed {
    use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU8, Ordering::Relaxed};

    /// The accesses behind [`super::Scalar`].
    pub trait Sealed: Sized {
        /// One relaxed atomic load.
        ///
        /// # Safety
        /// `p` is aligned to `size_of::<Self>()` and valid for reads and
        /// writes, and Rust code accesses it only atomically meanwhile.
        unsafe fn load(p: *mut Self) -> Self;
        /// One relaxed atomic store; safety as for [`Sealed::load`].
        unsafe fn store(p: *mut Self, v: Self);
    }

    macro_rules! atomic_scalar {
        ($t:ty, $atomic:ty) => {
            impl Sealed for $t {
                #[inline(always)]
                unsafe fn load(p: *mut Self) -> Self {
                    // SAFETY: the atomic type has the size of `$t` and an
                    // alignment no larger than its size, to which `p` is
                    // aligned; `p` is valid (caller). The reference lives
                    // for this one load.
                    unsafe { <$atomic>::from_ptr(p) }.load(Relaxed)
                }
                #[inline(always)]
                unsafe fn store(p: *mut Self, v: Self) {
                    // SAFETY: as in `load`.
                    atomic_store!(unsafe { <$atomic>::from_ptr(p) }, v, Relaxed)
                }
            }
        };
    }
    atomic_scalar!(u8, AtomicU8);
    atomic_scalar!(u16, AtomicU16);
    atomic_scalar!(u32, AtomicU32);
    #[cfg(target_pointer_width = "64")]
    atomic_scalar!(u64, core::sync::atomic::AtomicU64);

    #[cfg(not(target_pointer_width = "64"))]
    impl Sealed for u64 {
        #[inline(always)]
        unsafe fn load(p: *mut Self) -> Self {
            let p = p.cast::<u32>();
            // SAFETY: `p` is 8-aligned and valid for 8 bytes (caller), so
            // both halves are 4-aligned and valid. Little-endian: low first.
            let (lo, hi) = unsafe { (u32::load(p), u32::load(p.add(1))) };
            u64::from(lo) | (u64::from(hi) << 32)
        }
        #[inline(always)]
        unsafe fn store(p: *mut Self, v: Self) {
            let p = p.cast::<u32>();
            // SAFETY: as in `load`.
            unsafe {
                u32::store(p, v as u32);
                u32::store(p.add(1), (v >> 32) as u32);
            }
        }
    }
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
/// // Typed accesses must be naturally aligned: give the bytes an alignment.
/// #[repr(C, align(8))]
/// struct Backing([u8; 64]);
/// let mut backing = Backing([0; 64]);
/// let region = IoRegion::from_slice(&mut backing.0);
/// region.write_u32(4, 0xdead_beef)?;
/// assert_eq!(region.read_u32(4)?, 0xdead_beef);
/// assert_eq!(region.fetch_add_u32(4, 1, Ordering::AcqRel)?, 0xdead_beef);
/// assert!(region.read_u32(62).is_err()); // misaligned and out of range
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
// shared with another core and valid for 'a; every access through its safe
// methods is atomic (see the module docs), so any number of threads may use
// copies of it at once without a data race.
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
    /// Fails if `virt` is null, the range wraps the address space, a page
    /// list is too short for `size`, or a page's physical range runs past
    /// 2^64.
    ///
    /// # Safety
    /// `virt..virt + size` must be mapped, readable and writable for all of
    /// `'a`, and must not be accessed through Rust references anywhere while
    /// any `IoRegion` made from it exists (other cores, and atomic accesses
    /// by Rust code, are fine).
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
                // Translations add offsets within a page (and one past the
                // last page) to these addresses.
                let page = 1u64 << page_shift;
                if pages.iter().any(|p| p.checked_add(page).is_none()) {
                    return Err(Error::InvalidRegion {
                        reason: "a page's physical range overflows",
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
    /// Copies of the region may be used from several threads at once: every
    /// access is atomic (see the [module docs](self)).
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

    /// A region over memory we own exclusively for `'a`, whose first byte
    /// has physical (device) address `phys`: ordinary memory standing in
    /// for a remote's, addressed as its firmware sees it.
    ///
    /// Fails if `phys + mem.len()` overflows.
    ///
    /// ```
    /// # use openamp_metal::IoRegion;
    /// let mut ram = vec![0u8; 0x1000];
    /// let r = IoRegion::from_slice_at(&mut ram, 0x3ED0_0000)?;
    /// assert_eq!(r.offset_to_phys(0x10)?, 0x3ED0_0010);
    /// assert_eq!(r.phys_to_offset(0x3ED0_0FFF)?, 0xFFF);
    /// # Ok::<(), openamp_metal::Error>(())
    /// ```
    pub fn from_slice_at(mem: &'a mut [u8], phys: u64) -> Result<Self> {
        if phys.checked_add(mem.len() as u64).is_none() {
            return Err(Error::InvalidRegion {
                reason: "physical range overflows",
            });
        }
        let mut region = Self::from_slice(mem);
        region.phys = PhysMap::Contiguous(phys);
        Ok(region)
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

    /// Checks bounds and natural alignment (to its size, as an atomic
    /// needs) for a `T` at `offset`, and returns its address.
    fn ptr_for<T>(&self, offset: usize) -> Result<*mut T> {
        let len = core::mem::size_of::<T>();
        self.check(offset, len)?;
        // In bounds, so this cannot wrap (checked in `new`).
        let addr = self.virt.as_ptr().wrapping_add(offset);
        let align = len;
        if (addr as usize) % align != 0 {
            return Err(Error::Misaligned { offset, align });
        }
        Ok(addr.cast())
    }

    /// Reads a scalar at `offset` with one relaxed atomic load of its width
    /// (see [`Scalar`]); it must be naturally aligned.
    ///
    /// Relaxed means no ordering with other accesses: a field that announces
    /// other data is read with an acquire `load_*` instead.
    pub fn read<T: Scalar>(&self, offset: usize) -> Result<T> {
        let p = self.ptr_for::<T>(offset)?;
        // SAFETY: `p` is in bounds and naturally aligned (checked by
        // `ptr_for`), the memory is mapped readable and writable for 'a
        // (contract of `new`, or a `&mut` slice), Rust code reaches it only
        // through atomic accesses (every safe method here), and every bit
        // pattern is a valid `T` (sealed to plain unsigned integers).
        Ok(unsafe { T::load(p) })
    }

    /// Writes a scalar at `offset` with one relaxed atomic store of its
    /// width (see [`Scalar`]); it must be naturally aligned.
    pub fn write<T: Scalar>(&self, offset: usize, value: T) -> Result<()> {
        let p = self.ptr_for::<T>(offset)?;
        // SAFETY: as in `read`.
        unsafe { T::store(p, value) };
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
        // AtomicU32's alignment; the memory is valid for 'a; Rust code only
        // touches it through atomic accesses (every safe method here), and
        // other cores are outside Rust's model. The reference stays inside
        // this function and never reaches safe callers.
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

    /// Runs `f` on the atomic `u8` at `offset`.
    fn with_atomic_u8<R>(&self, offset: usize, f: impl FnOnce(&AtomicU8) -> R) -> Result<R> {
        let p = self.ptr_for::<u8>(offset)?;
        // SAFETY: as for `with_atomic_u32`; a byte is always aligned.
        let atomic = unsafe { AtomicU8::from_ptr(p) };
        Ok(f(atomic))
    }

    /// Atomically loads the byte at `offset`, with `order` (e.g. `Acquire`
    /// for a status byte that announces what the peer wrote before it).
    pub fn load_u8(&self, offset: usize, order: Ordering) -> Result<u8> {
        self.with_atomic_u8(offset, |a| a.load(order))
    }
    /// Atomically stores the byte `value` at `offset`, with `order` (e.g.
    /// `Release` to publish what we wrote before it).
    pub fn store_u8(&self, offset: usize, value: u8, order: Ordering) -> Result<()> {
        self.with_atomic_u8(offset, |a| atomic_store!(a, value, order))
    }

    /// Atomically loads the `u32` at `offset`.
    pub fn load_u32(&self, offset: usize, order: Ordering) -> Result<u32> {
        self.with_atomic_u32(offset, |a| a.load(order))
    }
    /// Atomically stores `value` at `offset`.
    pub fn store_u32(&self, offset: usize, value: u32, order: Ordering) -> Result<()> {
        self.with_atomic_u32(offset, |a| atomic_store!(a, value, order))
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
        self.with_atomic_u16(offset, |a| atomic_store!(a, value, order))
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
    /// The copy is made of relaxed atomic loads: words where the range
    /// covers a whole aligned word, bytes at its edges (see the [module
    /// docs](self)). It is a snapshot: if the peer writes meanwhile, `dst`
    /// may hold a mix of old and new words, which is why callers validate
    /// what they read.
    pub fn read_bytes(&self, offset: usize, dst: &mut [u8]) -> Result<()> {
        self.check(offset, dst.len())?;
        // SAFETY: the source range is inside the region (checked above),
        // which is mapped readable and writable for 'a and reached by Rust
        // code only through atomic accesses; `dst` is memory we own
        // exclusively (a `&mut`), so it is not part of the region.
        unsafe { copy::load(self.virt.as_ptr().add(offset), dst) };
        Ok(())
    }

    /// Copies `src` into the region at `offset`, with relaxed atomic stores
    /// split as in [`IoRegion::read_bytes`].
    pub fn write_bytes(&self, offset: usize, src: &[u8]) -> Result<()> {
        self.check(offset, src.len())?;
        // SAFETY: as in `read_bytes`, for the destination range; `src` is
        // borrowed shared, so nobody writes it meanwhile, and it is not part
        // of the region (no reference into the region exists).
        unsafe { copy::store(self.virt.as_ptr().add(offset), src) };
        Ok(())
    }

    /// Sets `len` bytes at `offset` to `value`, with relaxed atomic stores
    /// split as in [`IoRegion::read_bytes`].
    pub fn fill(&self, offset: usize, len: usize, value: u8) -> Result<()> {
        self.check(offset, len)?;
        // SAFETY: as in `read_bytes`, for the destination range.
        unsafe { copy::fill(self.virt.as_ptr().add(offset), len, value) };
        Ok(())
    }

    /// Copies `len` bytes from `src` to `dst` inside the region (ranges may
    /// overlap), with relaxed atomic loads and stores, through a small
    /// buffer on the stack.
    pub fn copy_within(&self, src: usize, dst: usize, len: usize) -> Result<()> {
        self.check(src, len)?;
        self.check(dst, len)?;
        // SAFETY: both ranges are inside the region (checked above), which
        // is mapped readable and writable for 'a and reached by Rust code
        // only through atomic accesses; `copy::copy_within` allows overlap.
        unsafe {
            copy::copy_within(
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

    /// The physical address of the `len` bytes at `offset`, if they are one
    /// physically contiguous block, as a device must be given a buffer. In a
    /// page-mapped region, a range that runs from one page into a page that
    /// does not follow it in physical memory is [`Error::NotContiguous`]:
    /// [`offset_to_phys`](Self::offset_to_phys) of its first byte would name
    /// other memory for the rest.
    pub fn phys_range(&self, offset: usize, len: usize) -> Result<u64> {
        self.check(offset, len)?;
        let start = self.offset_to_phys(offset)?;
        if let PhysMap::Pages { pages, page_shift } = self.phys {
            if len > 0 {
                let at = self.phys_skip + offset;
                let page = 1u64 << page_shift;
                for i in at >> page_shift..(at + len - 1) >> page_shift {
                    match (pages.get(i), pages.get(i + 1)) {
                        (Some(a), Some(b)) if a.checked_add(page) == Some(*b) => {}
                        _ => return Err(Error::NotContiguous { offset, len }),
                    }
                }
            }
        }
        Ok(start)
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
