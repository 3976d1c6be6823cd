//! A corpus of broken tables, each rejected with the error that names what is wrong.

mod common;

use common::{get_u32, mixed_bytes, put_u32, r5_bytes, MixedTable, R5Table};
use openamp_metal::IoRegion;
use openamp_rsc_table::{
    Entry, Error, Field, ResourceTable, TableWriter, MAX_ENTRIES, MAX_NOTIFY_IDS, RSC_VDEV,
};

const VDEV: usize = R5Table::OFFSETS[0] as usize;
const TRACE: usize = R5Table::OFFSETS[1] as usize;
const VRING0: usize = VDEV + 28;
const VRING1: usize = VRING0 + 20;

fn parse_err(bytes: &[u8]) -> Error {
    match ResourceTable::parse(bytes) {
        Ok(t) => panic!("accepted a broken table: {t:?}"),
        Err(e) => e,
    }
}

#[test]
fn the_unbroken_tables_parse() {
    assert_eq!(ResourceTable::parse(&r5_bytes()).unwrap().len(), 2);
    assert_eq!(ResourceTable::parse(&mixed_bytes()).unwrap().len(), 6);
}

#[test]
fn empty_and_truncated_headers() {
    for len in [0, 1, 15] {
        assert_eq!(
            parse_err(&r5_bytes()[..len]),
            Error::TooShort {
                field: Field::Header,
                need: 16,
                len
            }
        );
    }
}

#[test]
fn bad_version() {
    for version in [0, 2, u32::MAX] {
        let mut b = r5_bytes();
        put_u32(&mut b, 0, version);
        assert_eq!(parse_err(&b), Error::BadVersion { version });
    }
}

#[test]
fn entry_count_larger_than_the_table() {
    let mut b = r5_bytes();
    put_u32(&mut b, 4, u32::MAX);
    let max = (b.len() - 16) / 4;
    assert_eq!(parse_err(&b), Error::TooManyEntries { num: u32::MAX, max });
    // Just past what fits: the offsets array alone would run past the end.
    let mut b = r5_bytes()[..16 + 8].to_vec();
    put_u32(&mut b, 4, 3);
    assert_eq!(parse_err(&b), Error::TooManyEntries { num: 3, max: 2 });
}

#[test]
fn entry_count_past_the_limit() {
    let mut b = vec![0u8; 16 + 4 * (MAX_ENTRIES + 1) + 4];
    put_u32(&mut b, 0, 1);
    put_u32(&mut b, 4, MAX_ENTRIES as u32 + 1);
    assert_eq!(
        parse_err(&b),
        Error::TooManyEntries {
            num: MAX_ENTRIES as u32 + 1,
            max: MAX_ENTRIES
        }
    );
}

#[test]
fn truncated_inside_an_entry() {
    let b = r5_bytes();
    let cut = TRACE + 20;
    assert_eq!(
        parse_err(&b[..cut]),
        Error::OutOfBounds {
            index: 1,
            field: Field::Body,
            start: TRACE,
            end: TRACE + 48,
            len: cut
        }
    );
    // Cut inside the vdev's vrings.
    let cut = VRING1 + 4;
    assert_eq!(
        parse_err(&b[..cut]),
        Error::OutOfBounds {
            index: 0,
            field: Field::Vrings,
            start: VRING0,
            end: VRING0 + 40,
            len: cut
        }
    );
}

#[test]
fn offset_out_of_bounds() {
    for offset in [R5Table::SIZE as u32, 0x10_0000, u32::MAX - 3] {
        let mut b = r5_bytes();
        put_u32(&mut b, 16 + 4, offset);
        let start = offset as usize;
        assert_eq!(
            parse_err(&b),
            Error::OutOfBounds {
                index: 1,
                field: Field::Type,
                start,
                end: start + 4,
                len: b.len()
            }
        );
    }
}

#[test]
fn misaligned_offset() {
    let mut b = r5_bytes();
    put_u32(&mut b, 16 + 4, TRACE as u32 + 2);
    assert_eq!(
        parse_err(&b),
        Error::Misaligned {
            index: 1,
            offset: TRACE as u32 + 2
        }
    );
}

#[test]
fn offset_into_the_header() {
    for offset in [0, 4, 20] {
        let mut b = r5_bytes();
        put_u32(&mut b, 16, offset);
        assert_eq!(
            parse_err(&b),
            Error::InsideHeader {
                index: 0,
                offset,
                header_end: 24
            }
        );
    }
}

#[test]
fn overlapping_entries() {
    // Entry 1 pointing at entry 0.
    let mut b = r5_bytes();
    put_u32(&mut b, 16 + 4, VDEV as u32);
    assert_eq!(
        parse_err(&b),
        Error::Overlap {
            index: 1,
            start: VDEV,
            end: TRACE,
            other: 0
        }
    );
    // Entry 1 pointing into the middle of entry 0's vrings (an unknown type there).
    let mut b = r5_bytes();
    put_u32(&mut b, 16 + 4, VRING0 as u32);
    assert_eq!(
        parse_err(&b),
        Error::Overlap {
            index: 1,
            start: VRING0,
            end: VRING0 + 4,
            other: 0
        }
    );
    // A vdev whose config space runs over the next entry.
    let mut b = r5_bytes();
    put_u32(&mut b, VDEV + 20, 8);
    assert_eq!(
        parse_err(&b),
        Error::Overlap {
            index: 1,
            start: TRACE,
            end: TRACE + 48,
            other: 0
        }
    );
}

#[test]
fn vrings_past_the_end() {
    let mut b = r5_bytes();
    b[VDEV + 25] = 255;
    assert_eq!(
        parse_err(&b),
        Error::OutOfBounds {
            index: 0,
            field: Field::Vrings,
            start: VRING0,
            end: VRING0 + 255 * 20,
            len: b.len()
        }
    );
}

#[test]
fn config_space_past_the_end() {
    for config_len in [0x1000, u32::MAX] {
        let mut b = r5_bytes();
        put_u32(&mut b, VDEV + 20, config_len);
        let start = VRING1 + 20;
        assert_eq!(
            parse_err(&b),
            Error::OutOfBounds {
                index: 0,
                field: Field::Config,
                start,
                end: start + config_len as usize,
                len: b.len()
            }
        );
    }
}

#[test]
fn duplicate_notify_ids() {
    // Two vrings of one vdev.
    let mut b = r5_bytes();
    put_u32(&mut b, VRING1 + 12, 1);
    assert_eq!(
        parse_err(&b),
        Error::DuplicateNotifyId {
            index: 0,
            field: Field::VringNotifyId(1),
            id: 1,
            other: 0,
            other_field: Field::VringNotifyId(0)
        }
    );
    // A vdev's own id and one of its vrings.
    let mut b = r5_bytes();
    put_u32(&mut b, VDEV + 8, 2);
    assert_eq!(
        parse_err(&b),
        Error::DuplicateNotifyId {
            index: 0,
            field: Field::VringNotifyId(1),
            id: 2,
            other: 0,
            other_field: Field::NotifyId
        }
    );
    // Vrings of two different vdevs (entries 2 and 5 of the mixed table).
    let mut b = mixed_bytes();
    let rpmsg = MixedTable::OFFSETS[5] as usize;
    put_u32(&mut b, rpmsg + 28 + 20 + 12, 11);
    assert_eq!(
        parse_err(&b),
        Error::DuplicateNotifyId {
            index: 5,
            field: Field::VringNotifyId(1),
            id: 11,
            other: 2,
            other_field: Field::VringNotifyId(0)
        }
    );
}

#[test]
fn notify_id_any_is_never_a_duplicate() {
    let mut b = r5_bytes();
    put_u32(&mut b, VRING0 + 12, u32::MAX);
    put_u32(&mut b, VRING1 + 12, u32::MAX);
    put_u32(&mut b, VDEV + 8, u32::MAX);
    ResourceTable::parse(&b).unwrap();
}

#[test]
fn bad_vring_sizes() {
    for num in [0, 3, 255, 65536, u32::MAX] {
        let mut b = r5_bytes();
        put_u32(&mut b, VRING1 + 8, num);
        assert!(matches!(
            parse_err(&b),
            Error::InvalidField { index: 0, field: Field::VringNum(1), value, .. } if value == num
        ));
    }
    for align in [0, 3, 0x1001] {
        let mut b = r5_bytes();
        put_u32(&mut b, VRING0 + 4, align);
        assert!(matches!(
            parse_err(&b),
            Error::InvalidField { index: 0, field: Field::VringAlign(0), value, .. } if value == align
        ));
    }
}

#[test]
fn vdev_reserved_bytes_must_be_zero() {
    let mut b = r5_bytes();
    b[VDEV + 27] = 1;
    assert!(matches!(
        parse_err(&b),
        Error::InvalidField {
            index: 0,
            field: Field::Reserved,
            value: 0x100,
            ..
        }
    ));
}

#[test]
#[cfg_attr(miri, ignore)] // ~300k id comparisons: minutes under Miri
fn too_many_notify_ids() {
    // Three vdevs of 255 vrings each, all ids distinct: 768 ids, 512 in the first two.
    let entry_len = 28 + 255 * 20;
    let header = 16 + 3 * 4;
    let mut b = vec![0u8; header + 3 * entry_len];
    put_u32(&mut b, 0, 1);
    put_u32(&mut b, 4, 3);
    let mut id = 0;
    for e in 0..3 {
        let at = header + e * entry_len;
        put_u32(&mut b, 16 + 4 * e, at as u32);
        put_u32(&mut b, at, RSC_VDEV);
        put_u32(&mut b, at + 4, 7);
        put_u32(&mut b, at + 8, id);
        id += 1;
        b[at + 25] = 255;
        for r in 0..255 {
            let v = at + 28 + r * 20;
            put_u32(&mut b, v + 4, 0x1000);
            put_u32(&mut b, v + 8, 16);
            put_u32(&mut b, v + 12, id);
            id += 1;
        }
    }
    assert_eq!(
        parse_err(&b),
        Error::TooManyNotifyIds {
            index: 2,
            max: MAX_NOTIFY_IDS
        }
    );
}

#[test]
fn unknown_types_are_skipped_and_vendor_types_kept() {
    let mut b = r5_bytes();
    put_u32(&mut b, TRACE, 77);
    let t = ResourceTable::parse(&b).unwrap();
    assert!(
        matches!(t.entry(1).unwrap().entry, Entry::Unknown(r) if r.kind == 77 && r.data.len() == 44)
    );

    let m = mixed_bytes();
    let t = ResourceTable::parse(&m).unwrap();
    let oem = t.entry(3).unwrap();
    let Entry::Vendor(raw) = oem.entry else {
        panic!("{oem:?}")
    };
    assert_eq!(raw.kind, 200);
    // Its bytes run to the next entry: the payload, then padding.
    assert_eq!(&raw.data[..6], b"vendor");
    assert_eq!(
        raw.data.len(),
        MixedTable::OFFSETS[4] as usize - MixedTable::OFFSETS[3] as usize - 4
    );
}

#[test]
fn errors_name_the_entry_and_the_field() {
    let mut b = r5_bytes();
    b[VDEV + 25] = 9;
    let msg = parse_err(&b).to_string();
    assert!(msg.contains("entry 0") && msg.contains("vrings"), "{msg}");
    let mut b = r5_bytes();
    put_u32(&mut b, VRING1 + 12, 1);
    let msg = parse_err(&b).to_string();
    assert!(msg.contains("entry 0: vring 1 notifyid 1"), "{msg}");
}

#[test]
fn region_snapshot_too_small_is_an_error() {
    let mut words = common::aligned(&r5_bytes());
    let region = IoRegion::from_slice(zerocopy::IntoBytes::as_mut_bytes(&mut words[..]));
    let mut small = [0u8; 100];
    assert!(matches!(
        ResourceTable::read_from_region(&region, 0, &mut small),
        Err(Error::OutOfBounds { index: 1, .. })
    ));
    let mut big = [0u8; 4096];
    assert!(ResourceTable::read_from_region(&region, 0, &mut big).is_ok());
    assert!(matches!(
        ResourceTable::read_from_region(&region, 0x1_0000, &mut big),
        Err(Error::Region(_))
    ));
}

#[test]
fn writer_checks_before_writing() {
    let mut b = r5_bytes();
    let mut words = common::aligned(&b);
    let region = IoRegion::from_slice(zerocopy::IntoBytes::as_mut_bytes(&mut words[..]));
    let w = TableWriter::new(region);
    assert_eq!(
        w.set_carveout_pa(0, 1),
        Err(Error::WrongType {
            index: 0,
            expected: 0,
            found: 3
        })
    );
    assert_eq!(
        w.set_vdev_status(1, 4),
        Err(Error::WrongType {
            index: 1,
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        w.set_vdev_status(2, 4),
        Err(Error::NoSuchEntry { index: 2, num: 2 })
    );
    assert_eq!(
        w.set_vring_da(0, 2, 0),
        Err(Error::NoSuchVring {
            index: 0,
            vring: 2,
            num: 2
        })
    );
    // A table the peer corrupted after we looked: offset past the region.
    put_u32(&mut b, 16, 0x1000);
    let mut words = common::aligned(&b);
    let w = TableWriter::new(IoRegion::from_slice(zerocopy::IntoBytes::as_mut_bytes(
        &mut words[..],
    )));
    assert!(matches!(w.set_vdev_status(0, 4), Err(Error::Region(_))));
    assert_eq!(get_u32(&b, 16), 0x1000);
}

/// A carveout's, devmem's or trace buffer's range that runs past 4 GiB
/// names no memory: the host would ask its platform for a wrapped range.
#[test]
fn address_ranges_that_wrap_past_4_gib() {
    use openamp_rsc_table::{FW_RSC_ADDR_ANY, RSC_CARVEOUT, RSC_DEVMEM, RSC_TRACE};
    let mem = MixedTable::OFFSETS[0] as usize; // carveout, len 0x4_0000
    let uart = MixedTable::OFFSETS[1] as usize; // devmem, len 0x1000
    let trace = MixedTable::OFFSETS[4] as usize; // trace, len 0x1000
    let wraps = |index, kind, field, addr, len| Error::RangeWraps {
        index,
        kind,
        field,
        addr,
        len,
    };
    let cases = [
        (
            mem + 4,
            0xffff_0000,
            wraps(0, RSC_CARVEOUT, Field::Da, 0xffff_0000, 0x4_0000),
        ),
        (
            mem + 8,
            0xfffc_0001,
            wraps(0, RSC_CARVEOUT, Field::Pa, 0xfffc_0001, 0x4_0000),
        ),
        (
            uart + 4,
            0xffff_f001,
            wraps(1, RSC_DEVMEM, Field::Da, 0xffff_f001, 0x1000),
        ),
        (
            uart + 8,
            0xffff_ff00,
            wraps(1, RSC_DEVMEM, Field::Pa, 0xffff_ff00, 0x1000),
        ),
        (
            trace + 4,
            0xffff_ff00,
            wraps(4, RSC_TRACE, Field::Da, 0xffff_ff00, 0x1000),
        ),
        // The length, not the address, is what is too large.
        (
            trace + 8,
            u32::MAX,
            wraps(4, RSC_TRACE, Field::Da, 0x3ed4_0000, u32::MAX),
        ),
    ];
    for (at, value, want) in cases {
        let mut b = mixed_bytes();
        put_u32(&mut b, at, value);
        let err = parse_err(&b);
        assert_eq!(err, want);
        let msg = err.to_string();
        assert!(
            msg.starts_with("entry ") && msg.contains("wraps past 4 GiB"),
            "{msg}"
        );
    }
    // Ending exactly at 4 GiB is fine, and "the host chooses" has no range.
    for (at, value) in [
        (mem + 4, 0xfffc_0000),
        (uart + 8, 0xffff_f000),
        (trace + 4, 0xffff_f000),
        (mem + 4, FW_RSC_ADDR_ANY),
        (mem + 8, FW_RSC_ADDR_ANY),
    ] {
        let mut b = mixed_bytes();
        put_u32(&mut b, at, value);
        ResourceTable::parse(&b).unwrap_or_else(|e| panic!("{at:#x} = {value:#x}: {e}"));
    }
    let msg = {
        let mut b = mixed_bytes();
        put_u32(&mut b, trace + 4, 0xffff_ff00);
        parse_err(&b).to_string()
    };
    assert_eq!(
        msg,
        "entry 4 (trace): da 0xffffff00 + len 0x1000 wraps past 4 GiB"
    );
}

/// The host's writer refuses to write an address the parser would refuse.
#[test]
fn writer_refuses_a_carveout_address_that_wraps() {
    let b = mixed_bytes();
    let mut words = common::aligned(&b);
    let region = IoRegion::from_slice(zerocopy::IntoBytes::as_mut_bytes(&mut words[..]));
    let w = TableWriter::new(region);
    let wraps = |field, addr| {
        Err(Error::RangeWraps {
            index: 0,
            kind: openamp_rsc_table::RSC_CARVEOUT,
            field,
            addr,
            len: 0x4_0000,
        })
    };
    assert_eq!(
        w.set_carveout_da(0, 0xfffc_0001),
        wraps(Field::Da, 0xfffc_0001)
    );
    assert_eq!(
        w.set_carveout_pa(0, 0xffff_0000),
        wraps(Field::Pa, 0xffff_0000)
    );
    let mut copy = [0u8; 1024];
    let t = ResourceTable::read_from_region(&region, 0, &mut copy).unwrap();
    assert_eq!(
        t.entry(0).unwrap().entry,
        Entry::Carveout(common::MIXED.mem)
    );
    w.set_carveout_da(0, 0xfffc_0000).unwrap();
    w.set_carveout_pa(0, 0x8000_0000).unwrap();
}
