//! The ELF loader against the board ELFs (committed stripped copies in
//! `tests/fixtures/`, see its README), and a corpus of broken ones made from
//! them. `tests/corpus.rs` runs the corpus shared with `openamp-rsc-table`
//! through `Remoteproc::load`.
#![cfg(feature = "linux")]

use std::path::PathBuf;

use openamp_metal_sys_linux::SharedMemory;
use openamp_remoteproc::elf::{self, ElfLoader, LoadOptions, Progress};
use openamp_remoteproc::store::{FileStore, ImageStore, SliceStore};
use openamp_remoteproc::{AddressSpace, Error};
use openamp_rsc_table::elf::ElfImage;
use openamp_rsc_table::{ElfField, Error as Bad, ResourceTable};

/// The fixture of `board`'s smoke firmware: always there (it is committed).
fn board_elf(board: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{board}-smoke.elf"));
    assert!(p.is_file(), "{} is part of the repository", p.display());
    p
}

struct Shm(SharedMemory, PathBuf);
impl Shm {
    fn new(tag: &str, size: usize, phys: u64) -> Self {
        let path = PathBuf::from(format!(
            "/dev/shm/openamp-rs-rproc-elf-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let shm = SharedMemory::open_or_create(&path, size)
            .unwrap()
            .with_phys_base(phys)
            .unwrap();
        Shm(shm, path)
    }
}
impl Drop for Shm {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.1);
    }
}

/// Loads a board ELF into a region of /dev/shm and compares every byte.
fn load_and_compare(board: &str, tag: &str, is_64: bool, machine: u16, has_table: bool) {
    let path = board_elf(board);
    let file = std::fs::read(&path).unwrap();
    let mut store = FileStore::new(path.parent().unwrap());
    let size = store
        .open(path.file_name().unwrap().to_str().unwrap())
        .unwrap();
    assert_eq!(size, file.len() as u64);
    let opts = LoadOptions {
        chunk: 1000, // not a power of two: chunk edges fall everywhere
        ..LoadOptions::default()
    };
    let image = elf::parse(&mut store, size, &opts).unwrap();
    assert_eq!(image.is_64, is_64);
    assert_eq!(image.machine, machine);
    assert!(!image.segments().is_empty());
    let base = image.segments().iter().map(|s| s.da).min().unwrap() & !0xfff;
    let end = image
        .segments()
        .iter()
        .map(|s| s.da + s.memsz)
        .max()
        .unwrap();
    let span = (end - base + 0x1000) as usize;
    let shm = Shm::new(tag, span, base);
    let mem = shm.0.region();
    mem.fill(0, span, 0xAA).unwrap();

    let mut loader =
        ElfLoader::new(image.clone(), &opts, |da, len| mem.da_region(da, len)).unwrap();
    let mut steps = 0;
    while let Progress::More { done, total } = loader.step(&mut store).unwrap() {
        assert!(done <= total);
        steps += 1;
    }
    assert!(steps > 1, "loaded in chunks");
    store.close();

    let mut covered = vec![false; span];
    for s in image.segments() {
        let off = (s.da - base) as usize;
        let mut got = vec![0u8; s.memsz as usize];
        mem.read_bytes(off, &mut got).unwrap();
        let fsz = s.filesz as usize;
        let want = &file[s.offset as usize..s.offset as usize + fsz];
        assert_eq!(&got[..fsz], want, "segment {} bytes", s.index);
        assert!(
            got[fsz..].iter().all(|&b| b == 0),
            "segment {} zero fill",
            s.index
        );
        covered[off..off + s.memsz as usize].fill(true);
    }
    let mut all = vec![0u8; span];
    mem.read_bytes(0, &mut all).unwrap();
    for (i, (&b, &c)) in all.iter().zip(&covered).enumerate() {
        assert!(
            c || b == 0xAA,
            "byte {i:#x} outside every segment was written"
        );
    }

    // The resource table: in the image, and in place after loading.
    let Some(t) = image.resource_table else {
        assert!(!has_table, "a .resource_table section");
        return;
    };
    assert!(has_table);
    let from_file = elf::read_table(&image, &mut SliceStore::new(&file), 0x1000)
        .unwrap()
        .unwrap();
    ResourceTable::parse(&from_file).unwrap();
    let region = mem.da_region(t.da, t.size).unwrap();
    let mut loaded = vec![0u8; t.size as usize];
    region.read_bytes(0, &mut loaded).unwrap();
    assert_eq!(loaded, from_file);
    let parsed = ResourceTable::parse(&loaded).unwrap();
    assert!(
        parsed.find_vdev(7).is_some(),
        "the smoke table has an RPMsg vdev"
    );
    println!(
        "{board}: entry {:#x}, {} segments, table at {:#x}",
        image.entry,
        image.segments().len(),
        t.da
    );
}

#[test]
fn loads_the_r5_elf_byte_for_byte() {
    load_and_compare("zcu102-r5", "r5", false, 40, true);
}

#[test]
fn loads_the_a53_elf_byte_for_byte() {
    // The A53 is the host: it has no resource table.
    load_and_compare("zcu102-a53", "a53", true, 183, false);
}

// ---- The broken corpus, made from the R5 ELF (ELF32) ----

fn r5() -> Vec<u8> {
    std::fs::read(board_elf("zcu102-r5")).unwrap()
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Offsets of the PT_LOAD program headers of an ELF32, with their indices.
fn loads32(b: &[u8]) -> Vec<(usize, usize)> {
    let phoff = get32(b, 28) as usize;
    let phnum = u16::from_le_bytes([b[44], b[45]]) as usize;
    (0..phnum)
        .map(|i| (i, phoff + 32 * i))
        .filter(|&(_, at)| get32(b, at) == 1)
        .collect()
}

fn parse(b: &[u8]) -> Result<ElfImage, Error> {
    let mut s = SliceStore::new(b);
    let size = s.open("x").unwrap();
    elf::parse(&mut s, size, &LoadOptions::default())
}

/// Section header `i` of an ELF32.
fn shdr32(b: &[u8], i: usize) -> usize {
    get32(b, 32) as usize + 40 * i
}

/// The index of the `.resource_table` section header of an ELF32.
fn table_shdr32(b: &[u8]) -> usize {
    let shnum = u16::from_le_bytes([b[48], b[49]]) as usize;
    let strndx = u16::from_le_bytes([b[50], b[51]]) as usize;
    let names = get32(b, shdr32(b, strndx) + 16) as usize;
    (0..shnum)
        .find(|&i| {
            let at = names + get32(b, shdr32(b, i)) as usize;
            b[at..].starts_with(b".resource_table\0")
        })
        .expect("a .resource_table section")
}

#[test]
fn a_corpus_of_broken_elfs_is_rejected() {
    let good = r5();
    let loads = loads32(&good);
    assert!(loads.len() >= 3);
    let (i0, ph0) = loads[0];
    let (i1, ph1) = loads[1];
    let (i2, ph2) = loads[2];
    let pa0 = get32(&good, ph0 + 12);
    let table_sh = shdr32(&good, table_shdr32(&good));
    let (table_addr, table_off, table_size) = (
        u64::from(get32(&good, table_sh + 12)),
        u64::from(get32(&good, table_sh + 16)),
        u64::from(get32(&good, table_sh + 20)),
    );
    let elf = Error::Elf;

    let patched = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    let bad = |field, value: u64, reason| {
        elf(Bad::BadElf {
            field,
            value,
            reason,
        })
    };
    let phnum = u64::from(u16::from_le_bytes([good[44], good[45]]));
    let size = good.len() as u64;
    let cases: Vec<(&str, Vec<u8>, Error)> = vec![
        (
            "empty",
            vec![],
            elf(Bad::ElfTruncated {
                field: ElfField::Ident,
                need: 16,
                size: 0,
            }),
        ),
        (
            "magic",
            patched(&|b| b[1] = b'X'),
            bad(ElfField::Magic, 0x464c_587f, "no ELF magic"),
        ),
        (
            "class",
            patched(&|b| b[4] = 3),
            bad(ElfField::Class, 3, "neither ELF32 nor ELF64"),
        ),
        (
            "big-endian",
            patched(&|b| b[5] = 2),
            bad(ElfField::Data, 2, "not little-endian"),
        ),
        (
            "header cut",
            good[..40].to_vec(),
            elf(Bad::ElfTruncated {
                field: ElfField::Header,
                need: 52,
                size: 40,
            }),
        ),
        (
            "relocatable",
            patched(&|b| put16(b, 16, 1)),
            bad(ElfField::Type, 1, "not an executable (ET_EXEC)"),
        ),
        (
            "x86-64",
            patched(&|b| put16(b, 18, 62)),
            elf(Bad::WrongMachine { machine: 62 }),
        ),
        (
            "phentsize",
            patched(&|b| put16(b, 42, 56)),
            bad(ElfField::PhEntSize, 56, "does not match the class"),
        ),
        (
            "phnum",
            patched(&|b| put16(b, 44, 0xffff)),
            elf(Bad::ElfTooLarge {
                field: ElfField::PhNum,
                value: 0xffff,
                max: 64,
            }),
        ),
        (
            "phoff past end",
            patched(&|b| put32(b, 28, 0xffff_fff0)),
            elf(Bad::ElfTruncated {
                field: ElfField::ProgramHeaders,
                need: 0xffff_fff0 + 32 * phnum,
                size,
            }),
        ),
        (
            "segment cut",
            good[..get32(&good, ph1 + 4) as usize + 1].to_vec(),
            elf(Bad::SegmentTruncated {
                index: i1,
                offset: get32(&good, ph1 + 4).into(),
                filesz: get32(&good, ph1 + 16).into(),
                size: get32(&good, ph1 + 4) as u64 + 1,
            }),
        ),
        (
            "file size past the end of file",
            patched(&|b| {
                put32(b, ph1 + 16, 0x100_0000);
                put32(b, ph1 + 20, 0x100_0000);
            }),
            elf(Bad::SegmentTruncated {
                index: i1,
                offset: get32(&good, ph1 + 4).into(),
                filesz: 0x100_0000,
                size,
            }),
        ),
        (
            "overlap",
            patched(&|b| put32(b, ph1 + 12, pa0 + 4)),
            elf(Bad::SegmentOverlap {
                index: i1,
                start: (pa0 + 4).into(),
                end: u64::from(pa0 + 4) + u64::from(get32(&good, ph1 + 20)),
                other: i0,
            }),
        ),
        (
            "filesz > memsz",
            patched(&|b| put32(b, ph0 + 16, get32(&good, ph0 + 20) + 1)),
            elf(Bad::SegmentSize {
                index: i0,
                field: ElfField::FileSize,
                addr: pa0.into(),
                filesz: (get32(&good, ph0 + 20) + 1).into(),
                memsz: get32(&good, ph0 + 20).into(),
                reason: "file size larger than memory size",
            }),
        ),
        (
            "absurd memsz",
            patched(&|b| put32(b, ph0 + 20, 0xffff_0000)),
            elf(Bad::SegmentSize {
                index: i0,
                field: ElfField::MemSize,
                addr: pa0.into(),
                filesz: get32(&good, ph0 + 16).into(),
                memsz: 0xffff_0000,
                reason: "larger than the loader accepts",
            }),
        ),
        (
            // The last segment moved to the top of the 32-bit space, where
            // its 0x400 bytes would run past 4 GiB (fine in a u64).
            "0x400 bytes at 0xffffff00",
            patched(&|b| {
                put32(b, ph2 + 12, 0xffff_ff00);
                put32(b, ph2 + 16, 0x90);
                put32(b, ph2 + 20, 0x400);
            }),
            elf(Bad::SegmentSize {
                index: i2,
                field: ElfField::PhysAddr,
                addr: 0xffff_ff00,
                filesz: 0x90,
                memsz: 0x400,
                reason: "address range wraps past 4 GiB",
            }),
        ),
        (
            "file offset wraps",
            patched(&|b| put32(b, ph0 + 4, 0xffff_ff00)),
            elf(Bad::SegmentTruncated {
                index: i0,
                offset: 0xffff_ff00,
                filesz: get32(&good, ph0 + 16).into(),
                size,
            }),
        ),
        (
            "shentsize",
            patched(&|b| put16(b, 46, 64)),
            bad(ElfField::ShEntSize, 64, "does not match the class"),
        ),
        (
            "shnum",
            patched(&|b| put16(b, 48, 0xffff)),
            elf(Bad::ElfTooLarge {
                field: ElfField::ShNum,
                value: 0xffff,
                max: 4096,
            }),
        ),
        (
            "shstrndx",
            patched(&|b| put16(b, 50, 0xfff0)),
            bad(ElfField::ShStrNdx, 0xfff0, "names no section"),
        ),
        (
            // The table's segment loads no file bytes: its memory would be
            // zeros, which is what a loader read as the table before.
            "table in no segment's file bytes",
            patched(&|b| put32(b, ph2 + 16, 0)),
            elf(Bad::TableOutsideSegments {
                addr: table_addr,
                offset: table_off,
                size: table_size,
            }),
        ),
        (
            "table address outside every segment",
            patched(&|b| put32(b, table_sh + 12, 0x1000)),
            elf(Bad::TableAddressMismatch {
                addr: 0x1000,
                offset: table_off,
                segment: i2,
                loaded: table_addr,
            }),
        ),
    ];
    for (name, bytes, want) in cases {
        match parse(&bytes) {
            Err(e) => {
                assert_eq!(e, want, "case {name}");
                println!("{name}: {e}");
            }
            Ok(_) => panic!("case {name}: accepted"),
        }
    }
}

#[test]
fn a_segment_outside_every_memory_is_rejected_before_anything_is_written() {
    let mut b = r5();
    let loads = loads32(&b);
    let (i1, ph1) = loads[1];
    put32(&mut b, ph1 + 12, 0x1000); // paddr into unmapped memory
    let image = parse(&b).unwrap();
    let shm = Shm::new("unmapped", 0x10_0000, 0x3ed0_0000);
    let mem = shm.0.region();
    mem.fill(0, 0x10_0000, 0xAA).unwrap();
    let err = ElfLoader::new(image, &LoadOptions::default(), |da, len| {
        mem.da_region(da, len)
    })
    .unwrap_err();
    assert_eq!(
        err,
        Error::SegmentUnmapped {
            index: i1,
            da: 0x1000,
            len: get32(&b, ph1 + 20).into()
        }
    );
    let mut all = vec![0u8; 0x10_0000];
    mem.read_bytes(0, &mut all).unwrap();
    assert!(all.iter().all(|&x| x == 0xAA), "nothing written");
}

#[test]
fn a_store_that_fails_midway_is_an_error() {
    let good = r5();
    let image = parse(&good).unwrap();
    // The headers are there but the segment bytes are not.
    let short = &good[..image.segments()[0].offset as usize + 10];
    let shm = Shm::new("short", 0x10_0000, 0x3ed0_0000);
    let mem = shm.0.region();
    let mut loader = ElfLoader::new(image, &LoadOptions::default(), |da, len| {
        mem.da_region(da, len)
    })
    .unwrap();
    let err = loader.run(&mut SliceStore::new(short)).unwrap_err();
    assert!(matches!(err, Error::ImageRead { .. }), "{err}");
}

/// ELF64 (the A53 firmware): a segment range past the end of the 64-bit
/// address space, and ELF32 header sizes in an ELF64.
#[test]
fn broken_elf64s_are_rejected() {
    let good = std::fs::read(board_elf("zcu102-a53")).unwrap();
    parse(&good).unwrap();
    let phoff = u64::from_le_bytes(good[32..40].try_into().unwrap()) as usize;
    let (memsz, filesz) = (
        u64::from_le_bytes(good[phoff + 40..phoff + 48].try_into().unwrap()),
        u64::from_le_bytes(good[phoff + 32..phoff + 40].try_into().unwrap()),
    );
    let mut wraps = good.clone();
    // p_paddr of program header 0 (a PT_LOAD).
    wraps[phoff + 24..phoff + 32].copy_from_slice(&0xffff_ffff_ffff_f000u64.to_le_bytes());
    assert_eq!(
        parse(&wraps),
        Err(Error::Elf(Bad::SegmentSize {
            index: 0,
            field: ElfField::PhysAddr,
            addr: 0xffff_ffff_ffff_f000,
            filesz,
            memsz,
            reason: "address range wraps past the end of the address space",
        }))
    );
    let mut phentsize = good.clone();
    put16(&mut phentsize, 54, 32);
    assert_eq!(
        parse(&phentsize),
        Err(Error::Elf(Bad::BadElf {
            field: ElfField::PhEntSize,
            value: 32,
            reason: "does not match the class",
        }))
    );
}
