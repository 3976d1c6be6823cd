//! A small firmware ELF written here byte by byte, laid out as a linker lays
//! one out, and a corpus of broken variants of it, each with the error it
//! must be refused with.
//!
//! The same corpus runs through the ELF checks and the parser
//! (`rsc-table/tests/elf_checks.rs`), the inspector (`tests/cli.rs`) and the
//! loader (`remoteproc/tests/corpus.rs`, which includes this file by path), so
//! all three refuse each input for the same reason. Only `std` and
//! `openamp-rsc-table` are used here, for that reason.
#![allow(dead_code)]

use openamp_rsc_table::{
    resource_table, Carveout, Devmem, ElfField, Error, Field, Trace, FW_RSC_ADDR_ANY, RSC_CARVEOUT,
    RSC_DEVMEM, RSC_TRACE,
};

/// Where the code segment is loaded.
pub const TEXT_ADDR: u32 = 0x3ed0_0000;
/// Where the data segment (the table, then `.bss`) is loaded.
pub const DATA_ADDR: u32 = 0x3ed0_1000;
/// File offset of the code.
pub const TEXT_OFF: usize = 0x80;
/// File offset of the table.
pub const DATA_OFF: usize = 0x100;
/// The code: four ARM `nop`s (`mov r0, r0`).
pub const TEXT: [u8; 16] = [
    0x00, 0x00, 0xa0, 0xe1, 0x00, 0x00, 0xa0, 0xe1, 0x00, 0x00, 0xa0, 0xe1, 0x00, 0x00, 0xa0, 0xe1,
];
/// Bytes of `.bss` after the table in the data segment.
pub const BSS: u32 = 0x100;
/// The memory a loader needs: the segments and every range the table names.
pub const MEM_BASE: u64 = 0x3ed0_0000;
/// Its size.
pub const MEM_SIZE: usize = 0x4_0000;
/// Index of the `.resource_table` section header.
pub const TABLE_SHDR: usize = 2;
/// Index of the `.shstrtab` section header.
pub const STRTAB_SHDR: usize = 4;

resource_table! {
    /// The firmware's table: one entry of each kind whose range is checked.
    pub const TABLE: FirmwareTable = {
        mem: Carveout = Carveout::new(0x3ed2_0000, FW_RSC_ADDR_ANY, 0x1000, 0, "mem"),
        regs: Devmem = Devmem::new(0x3ed3_0000, 0x3ed3_0000, 0x100, 0, "regs"),
        log: Trace = Trace::new(0x3ed3_8000, 0x100, "log"),
    };
}

/// Offset of entry `i` of [`TABLE`] in the table.
pub fn entry(i: usize) -> usize {
    FirmwareTable::OFFSETS[i] as usize
}

/// The bytes of [`TABLE`].
pub fn table_bytes() -> Vec<u8> {
    let mut b = vec![0u8; FirmwareTable::SIZE];
    TABLE.write_to(&mut b).expect("buffer is SIZE bytes");
    b
}

/// Little-endian stores and loads.
pub fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
/// See [`put16`].
pub fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
/// See [`put16`].
pub fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Field offsets in an ELF32 program header.
pub mod ph {
    /// `p_offset`.
    pub const OFFSET: usize = 4;
    /// `p_vaddr`.
    pub const VADDR: usize = 8;
    /// `p_paddr`.
    pub const PADDR: usize = 12;
    /// `p_filesz`.
    pub const FILESZ: usize = 16;
    /// `p_memsz`.
    pub const MEMSZ: usize = 20;
}

/// Field offsets in an ELF32 section header.
pub mod sh {
    /// `sh_type`.
    pub const TYPE: usize = 4;
    /// `sh_addr`.
    pub const ADDR: usize = 12;
    /// `sh_offset`.
    pub const OFFSET: usize = 16;
    /// `sh_size`.
    pub const SIZE: usize = 20;
}

/// An ELF32 little-endian ARM executable with two loadable segments: code at
/// [`TEXT_ADDR`], and `table` (as `.resource_table`) then [`BSS`] bytes of
/// `.bss` at [`DATA_ADDR`]; section headers for `.text`, `.resource_table`,
/// `.bss` and `.shstrtab`.
#[derive(Debug, Clone)]
pub struct Firmware {
    /// The image.
    pub bytes: Vec<u8>,
    /// Length of the table.
    pub table_len: usize,
    /// File offset of the section name table.
    pub strtab_off: usize,
    /// File offset of the section headers.
    pub shoff: usize,
}

impl Firmware {
    /// The image around `table`.
    pub fn new(table: &[u8]) -> Firmware {
        let names = b"\0.text\0.resource_table\0.bss\0.shstrtab\0";
        let name_at = |n: &[u8]| {
            (0..names.len())
                .find(|&i| names[i..].starts_with(n) && names[i - 1] == 0)
                .unwrap() as u32
        };
        let table_len = table.len();
        let strtab_off = (DATA_OFF + table_len).next_multiple_of(4);
        let shoff = (strtab_off + names.len()).next_multiple_of(4);
        let mut b = vec![0u8; shoff + 5 * 40];

        // ELF header.
        b[..16].copy_from_slice(b"\x7fELF\x01\x01\x01\0\0\0\0\0\0\0\0\0");
        put16(&mut b, 16, 2); // ET_EXEC
        put16(&mut b, 18, 40); // EM_ARM
        put32(&mut b, 20, 1); // EV_CURRENT
        put32(&mut b, 24, TEXT_ADDR); // e_entry
        put32(&mut b, 28, 52); // e_phoff
        put32(&mut b, 32, shoff as u32);
        put32(&mut b, 36, 0x0500_0400); // EABI 5, hard float
        put16(&mut b, 40, 52); // e_ehsize
        put16(&mut b, 42, 32); // e_phentsize
        put16(&mut b, 44, 2); // e_phnum
        put16(&mut b, 46, 40); // e_shentsize
        put16(&mut b, 48, 5); // e_shnum
        put16(&mut b, 50, STRTAB_SHDR as u16);

        // Program headers: p_type, p_offset, p_vaddr, p_paddr, p_filesz,
        // p_memsz, p_flags, p_align.
        let text = [1, TEXT_OFF as u32, TEXT_ADDR, TEXT_ADDR, 16, 16, 5, 4];
        let len = table_len as u32;
        let data = [
            1,
            DATA_OFF as u32,
            DATA_ADDR,
            DATA_ADDR,
            len,
            len + BSS,
            6,
            4,
        ];
        for (i, p) in [text, data].iter().enumerate() {
            for (j, v) in p.iter().enumerate() {
                put32(&mut b, phdr(i) + 4 * j, *v);
            }
        }

        b[TEXT_OFF..TEXT_OFF + 16].copy_from_slice(&TEXT);
        b[DATA_OFF..DATA_OFF + table_len].copy_from_slice(table);
        b[strtab_off..strtab_off + names.len()].copy_from_slice(names);

        // Section headers: sh_name, sh_type, sh_flags, sh_addr, sh_offset,
        // sh_size, sh_link, sh_info, sh_addralign, sh_entsize.
        let bss_off = (DATA_OFF + table_len) as u32;
        let sections: [[u32; 10]; 5] = [
            [0; 10],
            [
                name_at(b".text"),
                1,
                6,
                TEXT_ADDR,
                TEXT_OFF as u32,
                16,
                0,
                0,
                4,
                0,
            ],
            [
                name_at(b".resource_table"),
                1,
                3,
                DATA_ADDR,
                DATA_OFF as u32,
                len,
                0,
                0,
                4,
                0,
            ],
            [
                name_at(b".bss"),
                8,
                3,
                DATA_ADDR + len,
                bss_off,
                BSS,
                0,
                0,
                4,
                0,
            ],
            [
                name_at(b".shstrtab"),
                3,
                0,
                0,
                strtab_off as u32,
                names.len() as u32,
                0,
                0,
                1,
                0,
            ],
        ];
        for (i, s) in sections.iter().enumerate() {
            for (j, v) in s.iter().enumerate() {
                put32(&mut b, shoff + 40 * i + 4 * j, *v);
            }
        }
        Firmware {
            bytes: b,
            table_len,
            strtab_off,
            shoff,
        }
    }

    /// The image around [`TABLE`].
    pub fn good() -> Firmware {
        Firmware::new(&table_bytes())
    }

    /// File offset of section header `i`.
    pub fn shdr(&self, i: usize) -> usize {
        self.shoff + 40 * i
    }

    /// A copy with `f` applied to its bytes.
    pub fn with(&self, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut b = self.bytes.clone();
        f(&mut b);
        b
    }
}

/// File offset of program header `i`.
pub const fn phdr(i: usize) -> usize {
    52 + 32 * i
}

/// An ELF32 ARM executable of `n` loadable segments of 16 zero bytes each
/// (no file bytes), one page apart, and no section headers.
pub fn with_segments(n: usize) -> Vec<u8> {
    let fw = Firmware::good();
    let mut b = fw.bytes[..52].to_vec();
    put32(&mut b, 32, 0); // e_shoff: no section headers
    put16(&mut b, 44, n as u16);
    put16(&mut b, 48, 0);
    put16(&mut b, 50, 0);
    for i in 0..n {
        let addr = TEXT_ADDR + 0x1000 * i as u32;
        for v in [1, 0, addr, addr, 0, 16, 6, 4] {
            b.extend_from_slice(&u32::to_le_bytes(v));
        }
    }
    b
}

/// A broken input and the error that must refuse it.
#[derive(Debug)]
pub struct Case {
    /// What is broken.
    pub name: &'static str,
    /// The image.
    pub bytes: Vec<u8>,
    /// The error: an ELF error ([`Error::is_elf`]) or a table error.
    pub want: Error,
}

/// Images the ELF checks must refuse, with their errors.
pub fn broken_elfs() -> Vec<Case> {
    let fw = Firmware::good();
    let size = fw.bytes.len() as u64;
    let tlen = fw.table_len as u64;
    let data_memsz = u64::from(tlen as u32 + BSS);
    let case = |name, bytes, want| Case { name, bytes, want };
    let bad = |field, value: u64, reason| Error::BadElf {
        field,
        value,
        reason,
    };
    let seg = |index, field, addr: u64, filesz: u64, memsz: u64, reason| Error::SegmentSize {
        index,
        field,
        addr,
        filesz,
        memsz,
        reason,
    };
    let table_sh = fw.shdr(TABLE_SHDR);
    vec![
        case(
            "empty file",
            vec![],
            Error::ElfTruncated {
                field: ElfField::Ident,
                need: 16,
                size: 0,
            },
        ),
        case(
            "no magic",
            fw.with(|b| b[1] = b'X'),
            bad(ElfField::Magic, 0x464c_587f, "no ELF magic"),
        ),
        case(
            "class 3",
            fw.with(|b| b[4] = 3),
            bad(ElfField::Class, 3, "neither ELF32 nor ELF64"),
        ),
        case(
            "big-endian",
            fw.with(|b| b[5] = 2),
            bad(ElfField::Data, 2, "not little-endian"),
        ),
        case(
            "header cut at 40 bytes",
            fw.bytes[..40].to_vec(),
            Error::ElfTruncated {
                field: ElfField::Header,
                need: 52,
                size: 40,
            },
        ),
        case(
            "relocatable (ET_REL)",
            fw.with(|b| put16(b, 16, 1)),
            bad(ElfField::Type, 1, "not an executable (ET_EXEC)"),
        ),
        case(
            "wrong machine (x86-64)",
            fw.with(|b| put16(b, 18, 62)),
            Error::WrongMachine { machine: 62 },
        ),
        case(
            "e_phentsize of ELF64",
            fw.with(|b| put16(b, 42, 56)),
            bad(ElfField::PhEntSize, 56, "does not match the class"),
        ),
        case(
            "huge program header count",
            fw.with(|b| put16(b, 44, 0xffff)),
            Error::ElfTooLarge {
                field: ElfField::PhNum,
                value: 0xffff,
                max: 64,
            },
        ),
        case(
            "more loadable segments than the checks keep",
            with_segments(33),
            Error::ElfTooLarge {
                field: ElfField::LoadSegments,
                value: 33,
                max: 32,
            },
        ),
        case(
            "program headers past the end",
            fw.with(|b| put32(b, 28, 0xffff_fff0)),
            Error::ElfTruncated {
                field: ElfField::ProgramHeaders,
                need: 0xffff_fff0 + 64,
                size,
            },
        ),
        case(
            "file size past the end of file",
            fw.with(|b| {
                put32(b, phdr(1) + ph::FILESZ, 0x10_0000);
                put32(b, phdr(1) + ph::MEMSZ, 0x10_0000);
            }),
            Error::SegmentTruncated {
                index: 1,
                offset: DATA_OFF as u64,
                filesz: 0x10_0000,
                size,
            },
        ),
        case(
            "file cut inside a segment",
            fw.bytes[..DATA_OFF + 8].to_vec(),
            Error::SegmentTruncated {
                index: 1,
                offset: DATA_OFF as u64,
                filesz: tlen,
                size: DATA_OFF as u64 + 8,
            },
        ),
        case(
            "file offset wraps",
            fw.with(|b| put32(b, phdr(0) + ph::OFFSET, 0xffff_ff00)),
            Error::SegmentTruncated {
                index: 0,
                offset: 0xffff_ff00,
                filesz: 16,
                size,
            },
        ),
        case(
            "overlapping segments",
            fw.with(|b| put32(b, phdr(1) + ph::PADDR, TEXT_ADDR + 4)),
            Error::SegmentOverlap {
                index: 1,
                start: u64::from(TEXT_ADDR) + 4,
                end: u64::from(TEXT_ADDR) + 4 + data_memsz,
                other: 0,
            },
        ),
        case(
            "file size above memory size",
            fw.with(|b| put32(b, phdr(0) + ph::FILESZ, 17)),
            seg(
                0,
                ElfField::FileSize,
                TEXT_ADDR.into(),
                17,
                16,
                "file size larger than memory size",
            ),
        ),
        case(
            "absurd memory size",
            fw.with(|b| put32(b, phdr(1) + ph::MEMSZ, 0xffff_0000)),
            seg(
                1,
                ElfField::MemSize,
                DATA_ADDR.into(),
                tlen,
                0xffff_0000,
                "larger than the loader accepts",
            ),
        ),
        case(
            "0x400 bytes at p_paddr 0xffffff00 wrap past 4 GiB",
            fw.with(|b| {
                put32(b, phdr(0) + ph::PADDR, 0xffff_ff00);
                put32(b, phdr(0) + ph::MEMSZ, 0x400);
            }),
            seg(
                0,
                ElfField::PhysAddr,
                0xffff_ff00,
                16,
                0x400,
                "address range wraps past 4 GiB",
            ),
        ),
        case(
            "p_vaddr range wraps past 4 GiB",
            fw.with(|b| put32(b, phdr(1) + ph::VADDR, 0xffff_ffc0)),
            seg(
                1,
                ElfField::VirtAddr,
                0xffff_ffc0,
                tlen,
                data_memsz,
                "address range wraps past 4 GiB",
            ),
        ),
        case(
            "e_shentsize of ELF64",
            fw.with(|b| put16(b, 46, 64)),
            bad(ElfField::ShEntSize, 64, "does not match the class"),
        ),
        case(
            "huge section header count",
            fw.with(|b| put16(b, 48, 0xffff)),
            Error::ElfTooLarge {
                field: ElfField::ShNum,
                value: 0xffff,
                max: 4096,
            },
        ),
        case(
            "section headers past the end",
            fw.with(|b| put32(b, 32, 0x7fff_fff0)),
            Error::ElfTruncated {
                field: ElfField::SectionHeaders,
                need: 0x7fff_fff0 + 5 * 40,
                size,
            },
        ),
        case(
            "e_shstrndx names no section",
            fw.with(|b| put16(b, 50, 0xfff0)),
            bad(ElfField::ShStrNdx, 0xfff0, "names no section"),
        ),
        case(
            "huge section name table",
            fw.with(|b| put32(b, fw.shdr(STRTAB_SHDR) + sh::SIZE, 0x7fff_0000)),
            Error::ElfTooLarge {
                field: ElfField::SectionNames,
                value: 0x7fff_0000,
                max: 0x10_0000,
            },
        ),
        case(
            "table section is NOBITS",
            fw.with(|b| put32(b, table_sh + sh::TYPE, 8)),
            bad(
                ElfField::SectionType,
                8,
                "NOBITS: the section has no bytes in the file",
            ),
        ),
        case(
            "table section past the end of file",
            fw.with(|b| put32(b, table_sh + sh::OFFSET, 0xffff_0000)),
            Error::ElfTruncated {
                field: ElfField::TableSection,
                need: 0xffff_0000 + tlen,
                size,
            },
        ),
        case(
            "table bytes in no segment (the section name table's place)",
            fw.with(|b| {
                put32(b, table_sh + sh::OFFSET, fw.strtab_off as u32);
                put32(b, table_sh + sh::SIZE, 16);
            }),
            Error::TableOutsideSegments {
                addr: DATA_ADDR.into(),
                offset: fw.strtab_off as u64,
                size: 16,
            },
        ),
        case(
            "table past its segment's file bytes (zero-filled when loaded)",
            fw.with(|b| put32(b, phdr(1) + ph::FILESZ, 0)),
            Error::TableOutsideSegments {
                addr: DATA_ADDR.into(),
                offset: DATA_OFF as u64,
                size: tlen,
            },
        ),
        case(
            "table address in the .bss",
            fw.with(|b| put32(b, table_sh + sh::ADDR, DATA_ADDR + tlen as u32)),
            Error::TableAddressMismatch {
                addr: DATA_ADDR as u64 + tlen,
                offset: DATA_OFF as u64,
                segment: 1,
                loaded: DATA_ADDR.into(),
            },
        ),
        case(
            "table address outside every segment",
            fw.with(|b| put32(b, table_sh + sh::ADDR, 0x1000)),
            Error::TableAddressMismatch {
                addr: 0x1000,
                offset: DATA_OFF as u64,
                segment: 1,
                loaded: DATA_ADDR.into(),
            },
        ),
    ]
}

/// Images whose ELF is fine but whose table the parser must refuse: entries
/// whose address range wraps past 4 GiB.
pub fn broken_tables() -> Vec<Case> {
    let t = table_bytes();
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = t.clone();
        f(&mut b);
        Firmware::new(&b).bytes
    };
    let wraps = |index, kind, field, addr, len| Error::RangeWraps {
        index,
        kind,
        field,
        addr,
        len,
    };
    vec![
        Case {
            name: "carveout da + len wraps",
            bytes: with(&|b| put32(b, entry(0) + 4, 0xffff_f800)),
            want: wraps(0, RSC_CARVEOUT, Field::Da, 0xffff_f800, 0x1000),
        },
        Case {
            name: "carveout pa + len wraps",
            bytes: with(&|b| put32(b, entry(0) + 8, 0xffff_ff00)),
            want: wraps(0, RSC_CARVEOUT, Field::Pa, 0xffff_ff00, 0x1000),
        },
        Case {
            name: "devmem da + len wraps",
            bytes: with(&|b| put32(b, entry(1) + 4, 0xffff_ffc0)),
            want: wraps(1, RSC_DEVMEM, Field::Da, 0xffff_ffc0, 0x100),
        },
        Case {
            name: "trace da + len wraps",
            bytes: with(&|b| put32(b, entry(2) + 4, 0xffff_ff01)),
            want: wraps(2, RSC_TRACE, Field::Da, 0xffff_ff01, 0x100),
        },
        Case {
            name: "trace len wraps from its da",
            bytes: with(&|b| put32(b, entry(2) + 8, 0xffff_0000)),
            want: wraps(2, RSC_TRACE, Field::Da, 0x3ed3_8000, 0xffff_0000),
        },
    ]
}

/// Where the data segment is loaded in [`valid_elfs`]'s image whose load
/// address (`p_paddr`) differs from its address (`p_vaddr`).
pub const DATA_LOAD_ADDR: u32 = 0x3ed1_0000;

/// Images the parser, the inspector and the loader accept, with what makes
/// each one worth a case.
pub fn valid_elfs() -> Vec<(&'static str, Vec<u8>)> {
    let fw = Firmware::good();
    let mut any = table_bytes();
    put32(&mut any, entry(0) + 4, FW_RSC_ADDR_ANY);
    vec![
        ("the firmware", fw.bytes.clone()),
        (
            "a carveout the host places (da and pa FW_RSC_ADDR_ANY)",
            Firmware::new(&any).bytes,
        ),
        (
            "the data segment loaded at another address than it runs at",
            fw.with(|b| put32(b, phdr(1) + ph::PADDR, DATA_LOAD_ADDR)),
        ),
    ]
}
