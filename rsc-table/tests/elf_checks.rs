//! The ELF checks (`openamp_rsc_table::elf`) and the parser on a corpus of
//! firmware images (`common/firmware.rs`): each broken one is refused with
//! the error that names its field or segment, each valid one is accepted.
//! The inspector (`cli.rs`) and the loader (`remoteproc/tests/corpus.rs`) run
//! the same corpus.
#![cfg(feature = "elf")]

#[path = "common/firmware.rs"]
mod firmware;

use firmware::{
    broken_elfs, broken_tables, valid_elfs, Firmware, DATA_ADDR, DATA_LOAD_ADDR, DATA_OFF,
    TEXT_ADDR,
};
use openamp_rsc_table::elf::{ElfImage, ElfLimits, Segment, TableSection};
use openamp_rsc_table::{Error, ResourceTable};

/// What a host does before loading: check the image, then its table.
fn check(bytes: &[u8]) -> Result<usize, Error> {
    let image = ElfImage::from_bytes(bytes, &ElfLimits::DEFAULT)?;
    let table = image.table_bytes(bytes).expect("a .resource_table section");
    Ok(ResourceTable::parse(table)?.len())
}

/// The words a message must hold to say where the fault is.
fn where_words(e: &Error) -> Vec<String> {
    match *e {
        Error::SegmentSize { index, field, .. } => {
            vec![format!("segment {index}:"), field.to_string()]
        }
        Error::SegmentTruncated { index, .. } => {
            vec![
                format!("segment {index}:"),
                "p_offset".into(),
                "p_filesz".into(),
            ]
        }
        Error::SegmentOverlap { index, other, .. } => {
            vec![format!("segment {index} "), format!("segment {other}")]
        }
        Error::ElfTruncated { field, .. }
        | Error::BadElf { field, .. }
        | Error::ElfTooLarge { field, .. } => vec![field.to_string()],
        Error::WrongMachine { machine } => vec![format!("e_machine {machine}")],
        Error::TableOutsideSegments { addr, .. } => {
            vec![
                format!(".resource_table at address {addr:#x}"),
                "no loaded segment".into(),
            ]
        }
        Error::TableAddressMismatch { addr, segment, .. } => vec![
            format!(".resource_table at address {addr:#x}"),
            format!("segment {segment}"),
        ],
        Error::RangeWraps { index, field, .. } => {
            vec![format!("entry {index} ("), format!("{field} ")]
        }
        ref other => panic!("not a corpus error: {other:?}"),
    }
}

#[test]
fn every_broken_elf_is_refused_for_its_reason() {
    let cases = broken_elfs();
    assert!(cases.len() >= 25);
    for c in cases {
        let got = check(&c.bytes);
        println!("{}: {}", c.name, c.want);
        assert_eq!(got, Err(c.want), "{}", c.name);
        assert!(c.want.is_elf(), "{}", c.name);
        let msg = c.want.to_string();
        for w in where_words(&c.want) {
            assert!(msg.contains(&w), "{}: {msg:?} lacks {w:?}", c.name);
        }
    }
}

#[test]
fn every_broken_table_is_refused_for_its_reason() {
    for c in broken_tables() {
        // The image itself is fine: the table is what is refused.
        ElfImage::from_bytes(&c.bytes, &ElfLimits::DEFAULT).unwrap();
        assert_eq!(check(&c.bytes), Err(c.want), "{}", c.name);
        println!("{}: {}", c.name, c.want);
        assert!(!c.want.is_elf(), "{}", c.name);
        let msg = c.want.to_string();
        for w in where_words(&c.want) {
            assert!(msg.contains(&w), "{}: {msg:?} lacks {w:?}", c.name);
        }
    }
}

#[test]
fn every_valid_elf_is_accepted() {
    for (name, bytes) in valid_elfs() {
        assert_eq!(check(&bytes), Ok(3), "{name}");
    }
}

#[test]
fn the_firmware_is_read_as_written() {
    let fw = Firmware::good();
    let image = ElfImage::from_bytes(&fw.bytes, &ElfLimits::DEFAULT).unwrap();
    assert!(!image.is_64);
    assert_eq!((image.machine, image.entry), (40, TEXT_ADDR.into()));
    let len = fw.table_len as u64;
    assert_eq!(
        image.segments(),
        [
            Segment {
                index: 0,
                da: TEXT_ADDR.into(),
                vaddr: TEXT_ADDR.into(),
                offset: 0x80,
                filesz: 16,
                memsz: 16,
            },
            Segment {
                index: 1,
                da: DATA_ADDR.into(),
                vaddr: DATA_ADDR.into(),
                offset: DATA_OFF as u64,
                filesz: len,
                memsz: len + u64::from(firmware::BSS),
            }
        ]
    );
    let table = TableSection {
        addr: DATA_ADDR.into(),
        da: DATA_ADDR.into(),
        offset: DATA_OFF as u64,
        size: len,
        segment: 1,
    };
    assert_eq!(image.resource_table, Some(table));
    assert_eq!(
        image.table_bytes(&fw.bytes),
        Some(&firmware::table_bytes()[..])
    );
}

/// A segment whose load address (`p_paddr`) is not its address (`p_vaddr`):
/// the table is where the segment is loaded.
#[test]
fn the_table_is_found_where_its_segment_is_loaded() {
    let (_, bytes) = &valid_elfs()[2];
    let image = ElfImage::from_bytes(bytes, &ElfLimits::DEFAULT).unwrap();
    let t = image.resource_table.unwrap();
    assert_eq!(t.addr, u64::from(DATA_ADDR));
    assert_eq!(t.da, u64::from(DATA_LOAD_ADDR));
}

#[test]
fn machines_are_the_callers_choice() {
    let fw = Firmware::good();
    let limits = ElfLimits {
        machines: &[243], // RISC-V only
        ..ElfLimits::DEFAULT
    };
    assert_eq!(
        ElfImage::from_bytes(&fw.bytes, &limits),
        Err(Error::WrongMachine { machine: 40 })
    );
}

#[test]
fn as_many_loadable_segments_as_the_checks_keep() {
    let b = firmware::with_segments(openamp_rsc_table::elf::MAX_LOAD_SEGMENTS);
    let image = ElfImage::from_bytes(&b, &ElfLimits::DEFAULT).unwrap();
    assert_eq!(image.segments().len(), 32);
    assert_eq!(image.segments()[31].da, u64::from(TEXT_ADDR) + 31 * 0x1000);
    assert_eq!(image.resource_table, None);
}

#[test]
fn no_section_headers_means_no_table() {
    let fw = Firmware::good();
    let b = fw.with(|b| firmware::put32(b, 32, 0));
    let image = ElfImage::from_bytes(&b, &ElfLimits::DEFAULT).unwrap();
    assert_eq!(image.resource_table, None);
    assert_eq!(image.table_bytes(&b), None);
}

/// The R5 board firmware (a stripped copy of `cargo xtask build`'s
/// `target/boards/zcu102-r5/smoke`, see `fixtures/README.md`).
#[test]
#[cfg_attr(miri, ignore)] // 77 KiB through goblin: slow under Miri, no unsafe to see
fn the_r5_board_firmware_is_accepted() {
    let bytes = include_bytes!("fixtures/zcu102-r5-smoke.elf");
    let image = ElfImage::from_bytes(bytes, &ElfLimits::DEFAULT).unwrap();
    assert_eq!((image.is_64, image.machine), (false, 40));
    assert_eq!(image.segments().len(), 3);
    let t = image.resource_table.unwrap();
    assert_eq!((t.addr, t.da, t.segment), (0x3ed0_2c58, 0x3ed0_2c58, 2));
    let table = ResourceTable::parse(image.table_bytes(bytes).unwrap()).unwrap();
    assert_eq!(table.len(), 2);
}

/// Any byte of the headers changed: an answer, never a panic.
#[test]
#[cfg_attr(miri, ignore)] // thousands of parses
fn every_header_byte_flipped_is_an_answer() {
    let fw = Firmware::good();
    let header_bytes = (0..DATA_OFF).chain(fw.strtab_off..fw.bytes.len());
    for at in header_bytes {
        for x in [0x01, 0x80, 0xff] {
            let b = fw.with(|b| b[at] ^= x);
            if let Ok(image) = ElfImage::from_bytes(&b, &ElfLimits::DEFAULT) {
                let _ = image.table_bytes(&b).map(ResourceTable::parse);
            }
        }
    }
}
