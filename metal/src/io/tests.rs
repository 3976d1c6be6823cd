use super::*;
use crate::NoCache;
use core::sync::atomic::Ordering::*;

/// 8-aligned backing memory, so alignment results do not depend on the allocator.
#[repr(C, align(8))]
struct Backing([u8; 64]);

fn with_region(f: impl FnOnce(IoRegion<'_>)) {
    let mut b = Backing([0; 64]);
    f(IoRegion::from_slice(&mut b.0));
}

#[test]
fn scalar_round_trips_are_little_endian() {
    with_region(|r| {
        r.write_u64(8, 0x0102_0304_0506_0708).unwrap();
        assert_eq!(r.read_u8(8).unwrap(), 0x08);
        assert_eq!(r.read_u16(8).unwrap(), 0x0708);
        assert_eq!(r.read_u32(12).unwrap(), 0x0102_0304);
        assert_eq!(r.read_u64(8).unwrap(), 0x0102_0304_0506_0708);
        r.write_u16(2, 0xbeef).unwrap();
        r.write_u8(1, 0x7f).unwrap();
        r.write_u32(4, 7).unwrap();
        let mut out = [0u8; 8];
        r.read_bytes(0, &mut out).unwrap();
        assert_eq!(out, [0, 0x7f, 0xef, 0xbe, 7, 0, 0, 0]);
    });
}

#[test]
fn out_of_range_accesses_are_errors() {
    with_region(|r| {
        let oob = |offset, len| Error::OutOfRange {
            offset,
            len,
            size: 64,
        };
        assert_eq!(r.read_u8(64).unwrap_err(), oob(64, 1));
        assert_eq!(r.read_u32(64).unwrap_err(), oob(64, 4));
        assert_eq!(r.write_u64(60, 0).unwrap_err(), oob(60, 8));
        assert_eq!(r.read_u16(usize::MAX).unwrap_err(), oob(usize::MAX, 2));
        let mut big = [0u8; 65];
        assert_eq!(r.read_bytes(0, &mut big).unwrap_err(), oob(0, 65));
        assert_eq!(r.write_bytes(1, &[0; 64]).unwrap_err(), oob(1, 64));
        assert_eq!(r.fill(usize::MAX, 2, 0).unwrap_err(), oob(usize::MAX, 2));
        assert_eq!(r.copy_within(0, 33, 32).unwrap_err(), oob(33, 32));
        assert_eq!(r.load_u32(64, Relaxed).unwrap_err(), oob(64, 4));
        assert_eq!(
            r.sub_region(60, 5).unwrap_err(),
            Error::OutOfRange {
                offset: 60,
                len: 5,
                size: 64
            }
        );
        // The last valid positions still work.
        r.write_u64(56, u64::MAX).unwrap();
        assert_eq!(r.read_u8(63).unwrap(), 0xff);
    });
}

#[test]
fn misaligned_accesses_are_errors() {
    with_region(|r| {
        assert_eq!(
            r.read_u16(1),
            Err(Error::Misaligned {
                offset: 1,
                align: 2
            })
        );
        assert_eq!(
            r.write_u32(2, 0),
            Err(Error::Misaligned {
                offset: 2,
                align: 4
            })
        );
        assert_eq!(
            r.load_u32(6, SeqCst),
            Err(Error::Misaligned {
                offset: 6,
                align: 4
            })
        );
        assert_eq!(
            r.fetch_add_u16(3, 1, SeqCst),
            Err(Error::Misaligned {
                offset: 3,
                align: 2
            })
        );
        // Alignment is of the address, not the offset: a sub-region at an odd
        // offset makes offset 0 misaligned.
        let odd = r.sub_region(1, 8).unwrap();
        assert_eq!(
            odd.read_u16(0),
            Err(Error::Misaligned {
                offset: 0,
                align: 2
            })
        );
        assert_eq!(odd.read_u8(0), Ok(0));
    });
}

#[test]
fn atomics_behave() {
    with_region(|r| {
        r.store_u32(0, 5, Release).unwrap();
        assert_eq!(r.fetch_add_u32(0, 3, AcqRel).unwrap(), 5);
        assert_eq!(r.fetch_or_u32(0, 0x100, AcqRel).unwrap(), 8);
        assert_eq!(r.fetch_and_u32(0, 0xff, AcqRel).unwrap(), 0x108);
        assert_eq!(r.swap_u32(0, 42, AcqRel).unwrap(), 8);
        assert_eq!(
            r.compare_exchange_u32(0, 1, 2, AcqRel, Acquire).unwrap(),
            Err(42)
        );
        assert_eq!(
            r.compare_exchange_u32(0, 42, 2, AcqRel, Acquire).unwrap(),
            Ok(42)
        );
        assert_eq!(r.load_u32(0, Acquire).unwrap(), 2);

        r.store_u16(6, u16::MAX, Release).unwrap();
        assert_eq!(r.fetch_add_u16(6, 1, AcqRel).unwrap(), u16::MAX);
        assert_eq!(r.load_u16(6, Acquire).unwrap(), 0, "u16 indices wrap");
        assert_eq!(r.fetch_or_u16(6, 3, AcqRel).unwrap(), 0);
        assert_eq!(r.fetch_and_u16(6, 1, AcqRel).unwrap(), 3);
        assert_eq!(r.swap_u16(6, 9, AcqRel).unwrap(), 1);
        assert_eq!(
            r.compare_exchange_u16(6, 9, 10, AcqRel, Acquire).unwrap(),
            Ok(9)
        );
    });
}

#[test]
fn atomics_from_two_threads_do_not_lose_updates() {
    let mut b = Backing([0; 64]);
    let r = IoRegion::from_slice(&mut b.0);
    let n = if cfg!(miri) { 100 } else { 100_000 };
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..n {
                    r.fetch_add_u32(16, 1, Relaxed).unwrap();
                }
            });
        }
    });
    assert_eq!(r.load_u32(16, Acquire).unwrap(), 2 * n);
}

#[test]
fn block_copy_fill_and_copy_within() {
    with_region(|r| {
        r.write_bytes(3, b"hello").unwrap();
        r.fill(8, 4, 0xaa).unwrap();
        r.copy_within(3, 5, 5).unwrap(); // overlapping move
        let mut out = [0u8; 12];
        r.read_bytes(0, &mut out).unwrap();
        assert_eq!(&out, b"\0\0\0hehello\xaa\xaa");
        r.write_bytes(64, &[]).unwrap(); // empty at the end is fine
    });
}

#[test]
fn contiguous_translation_both_ways() {
    let mut b = Backing([0; 64]);
    // SAFETY: `b` outlives the region and is not otherwise touched meanwhile.
    let r = unsafe {
        IoRegion::new(
            b.0.as_mut_ptr(),
            64,
            PhysMap::Contiguous(0x4000_0000),
            IoAttr::UNCACHED,
        )
    }
    .unwrap();
    assert_eq!(r.offset_to_phys(0x10).unwrap(), 0x4000_0010);
    assert_eq!(r.phys_to_offset(0x4000_003f).unwrap(), 0x3f);
    assert_eq!(
        r.phys_to_offset(0x4000_0040),
        Err(Error::PhysOutOfRange { phys: 0x4000_0040 })
    );
    assert_eq!(
        r.phys_to_offset(0x3fff_ffff),
        Err(Error::PhysOutOfRange { phys: 0x3fff_ffff })
    );
    let v = r.phys_to_virt(0x4000_0020).unwrap();
    assert_eq!(v, r.as_ptr().wrapping_add(0x20));
    assert_eq!(r.virt_to_phys(v).unwrap(), 0x4000_0020);
    let outside = r.as_ptr().wrapping_add(64);
    assert_eq!(
        r.virt_to_phys(outside),
        Err(Error::VirtOutOfRange {
            virt: outside as usize
        })
    );
    let sub = r.sub_region(0x20, 0x10).unwrap();
    assert_eq!(sub.offset_to_phys(0).unwrap(), 0x4000_0020);
    assert_eq!(
        sub.phys_to_offset(0x4000_001f),
        Err(Error::PhysOutOfRange { phys: 0x4000_001f })
    );
    assert_eq!(
        r.offset_to_phys(65),
        Err(Error::OutOfRange {
            offset: 65,
            len: 0,
            size: 64
        })
    );
}

#[test]
fn page_list_translation_both_ways() {
    let mut b = Backing([0; 64]);
    // Four 16-byte "pages" scattered in physical memory, out of order.
    static PAGES: [u64; 4] = [0x9000, 0x1000, 0x5000, 0x2000];
    let phys = PhysMap::Pages {
        pages: &PAGES,
        page_shift: 4,
    };
    // SAFETY: `b` outlives the region and is not otherwise touched meanwhile.
    let r = unsafe { IoRegion::new(b.0.as_mut_ptr(), 64, phys, IoAttr::UNCACHED) }.unwrap();
    assert_eq!(r.offset_to_phys(0).unwrap(), 0x9000);
    assert_eq!(r.offset_to_phys(17).unwrap(), 0x1001);
    assert_eq!(r.offset_to_phys(63).unwrap(), 0x200f);
    assert_eq!(r.phys_to_offset(0x5003).unwrap(), 35);
    assert_eq!(
        r.phys_to_offset(0x5010),
        Err(Error::PhysOutOfRange { phys: 0x5010 })
    );
    let sub = r.sub_region(20, 30).unwrap();
    assert_eq!(sub.offset_to_phys(0).unwrap(), 0x1004);
    assert_eq!(sub.offset_to_phys(12).unwrap(), 0x5000);
    assert_eq!(sub.phys_to_offset(0x1004).unwrap(), 0);
    assert_eq!(
        sub.phys_to_offset(0x9000),
        Err(Error::PhysOutOfRange { phys: 0x9000 }),
        "before the sub-region"
    );
    assert_eq!(
        sub.phys_to_offset(0x2002),
        Err(Error::PhysOutOfRange { phys: 0x2002 }),
        "past its end"
    );
}

#[test]
fn phys_range_needs_physically_contiguous_pages() {
    let mut b = Backing([0; 64]);
    // Pages 1 and 2 follow each other in physical memory; 0 and 1 do not,
    // nor do 2 and 3.
    static PAGES: [u64; 4] = [0x9000, 0x1000, 0x1010, 0x5000];
    let phys = PhysMap::Pages {
        pages: &PAGES,
        page_shift: 4,
    };
    // SAFETY: `b` outlives the region and is not otherwise touched meanwhile.
    let r = unsafe { IoRegion::new(b.0.as_mut_ptr(), 64, phys, IoAttr::UNCACHED) }.unwrap();
    assert_eq!(r.phys_range(2, 14), Ok(0x9002), "inside one page");
    assert_eq!(r.phys_range(20, 20), Ok(0x1004), "across pages 1 and 2");
    assert_eq!(r.phys_range(64, 0), Ok(0x5010), "empty, at the end");
    assert_eq!(
        r.phys_range(15, 2),
        Err(Error::NotContiguous { offset: 15, len: 2 })
    );
    assert_eq!(
        r.phys_range(16, 33),
        Err(Error::NotContiguous {
            offset: 16,
            len: 33
        })
    );
    assert!(matches!(r.phys_range(60, 8), Err(Error::OutOfRange { .. })));
    // A sub-region counts pages from where it starts in its parent.
    let sub = r.sub_region(24, 40).unwrap();
    assert_eq!(sub.phys_range(0, 24), Ok(0x1008));
    assert_eq!(
        sub.phys_range(0, 25),
        Err(Error::NotContiguous { offset: 0, len: 25 })
    );
    // A contiguous region is one block.
    // SAFETY: as above.
    let c = unsafe {
        IoRegion::new(
            b.0.as_mut_ptr(),
            64,
            PhysMap::Contiguous(0x100),
            IoAttr::UNCACHED,
        )
    }
    .unwrap();
    assert_eq!(c.phys_range(1, 63), Ok(0x101));
}

#[test]
fn invalid_descriptions_are_rejected() {
    let mut b = Backing([0; 64]);
    let p = b.0.as_mut_ptr();
    static SHORT: [u64; 1] = [0];
    // SAFETY: all five calls must fail before the memory is used, and `b`
    // outlives them anyway.
    unsafe {
        assert!(matches!(
            IoRegion::new(core::ptr::null_mut(), 1, PhysMap::None, IoAttr::UNCACHED),
            Err(Error::InvalidRegion { .. })
        ));
        assert!(matches!(
            IoRegion::new(
                p,
                64,
                PhysMap::Pages {
                    pages: &SHORT,
                    page_shift: 4
                },
                IoAttr::UNCACHED
            ),
            Err(Error::InvalidRegion { .. })
        ));
        assert!(matches!(
            IoRegion::new(p, 64, PhysMap::Contiguous(u64::MAX - 10), IoAttr::UNCACHED),
            Err(Error::InvalidRegion { .. })
        ));
        // A page near the top of the physical space: translating its last
        // byte overflowed (a panic in debug builds; found by the virtio fuzz
        // target).
        static TOP: [u64; 4] = [0x1000, 0x2000, u64::MAX - 8, 0x3000];
        assert!(matches!(
            IoRegion::new(
                p,
                64,
                PhysMap::Pages {
                    pages: &TOP,
                    page_shift: 4
                },
                IoAttr::UNCACHED
            ),
            Err(Error::InvalidRegion { .. })
        ));
        assert!(matches!(
            IoRegion::new(p, usize::MAX, PhysMap::None, IoAttr::UNCACHED),
            Err(Error::InvalidRegion { .. })
        ));
    }
    // A region with no physical map cannot translate.
    // SAFETY: `b` outlives the region and is not otherwise touched meanwhile.
    let r = unsafe { IoRegion::new(p, 64, PhysMap::None, IoAttr::UNCACHED) }.unwrap();
    assert!(matches!(
        r.offset_to_phys(0),
        Err(Error::Unsupported { .. })
    ));
    assert_eq!(r.phys_to_offset(0), Err(Error::PhysOutOfRange { phys: 0 }));
}

#[test]
fn cache_maintenance_runs_only_for_cached_regions() {
    use core::cell::RefCell;
    #[derive(Default)]
    struct Recorder(RefCell<std::vec::Vec<(&'static str, usize, usize)>>);
    impl CacheMaintenance for Recorder {
        fn flush(&self, addr: *mut u8, len: usize) {
            self.0.borrow_mut().push(("flush", addr as usize, len));
        }
        fn invalidate(&self, addr: *mut u8, len: usize) {
            self.0.borrow_mut().push(("inval", addr as usize, len));
        }
    }
    let mut b = Backing([0; 64]);
    let base = b.0.as_mut_ptr() as usize;
    let rec = Recorder::default();
    // SAFETY: `b` outlives the region and is not otherwise touched meanwhile.
    let cached =
        unsafe { IoRegion::new(b.0.as_mut_ptr(), 64, PhysMap::None, IoAttr::CACHED) }.unwrap();
    cached.flush(&rec, 8, 16).unwrap();
    cached.invalidate(&rec, 0, 64).unwrap();
    assert_eq!(
        cached.flush(&rec, 60, 8),
        Err(Error::OutOfRange {
            offset: 60,
            len: 8,
            size: 64
        })
    );
    assert_eq!(
        *rec.0.borrow(),
        [("flush", base + 8, 16), ("inval", base, 64)]
    );

    let plain = IoRegion::from_slice(&mut b.0);
    plain.flush(&rec, 0, 64).unwrap();
    plain.invalidate(&NoCache, 0, 64).unwrap();
    assert_eq!(
        rec.0.borrow().len(),
        2,
        "no maintenance for uncached memory"
    );
}

mod threads;
