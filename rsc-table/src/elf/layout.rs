//! The ELF headers this crate reads, field for field (little-endian ELF32 and
//! ELF64), and one decoded form of each for both classes.
//!
//! The wire structs use `zerocopy`'s little-endian integers: they have no
//! alignment, so they are read by value from any buffer, on any host.

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// `EM_ARM`.
pub const EM_ARM: u16 = 40;
/// `EM_AARCH64`.
pub const EM_AARCH64: u16 = 183;
/// `ET_EXEC`.
pub(crate) const ET_EXEC: u16 = 2;
/// `PT_LOAD`.
pub(crate) const PT_LOAD: u32 = 1;
/// `SHT_NOBITS`.
pub(crate) const SHT_NOBITS: u32 = 8;
/// `SHN_XINDEX`: the section name table's index is in section 0's `sh_link`.
pub(crate) const SHN_XINDEX: u16 = 0xffff;
/// Bytes of `e_ident`.
pub(crate) const IDENT_SIZE: usize = 16;
/// The largest header of either class (the ELF64 ELF header).
pub(crate) const MAX_HEADER_SIZE: usize = 64;

/// The ELF class: the size of addresses and of every header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// 32-bit.
    Elf32,
    /// 64-bit.
    Elf64,
}

impl Class {
    /// From `e_ident[EI_CLASS]`.
    pub(crate) fn from_ident(class: u8) -> Option<Class> {
        match class {
            1 => Some(Class::Elf32),
            2 => Some(Class::Elf64),
            _ => None,
        }
    }
    /// Size of the ELF header.
    pub(crate) fn ehsize(self) -> usize {
        match self {
            Class::Elf32 => size_of::<Ehdr32>(),
            Class::Elf64 => size_of::<Ehdr64>(),
        }
    }
    /// Size of a program header.
    pub(crate) fn phentsize(self) -> usize {
        match self {
            Class::Elf32 => size_of::<Phdr32>(),
            Class::Elf64 => size_of::<Phdr64>(),
        }
    }
    /// Size of a section header.
    pub(crate) fn shentsize(self) -> usize {
        match self {
            Class::Elf32 => size_of::<Shdr32>(),
            Class::Elf64 => size_of::<Shdr64>(),
        }
    }
}

use core::mem::size_of;

// Every field of the wire structs is there for the layout, read or not.
#[allow(dead_code)]
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct Ehdr32 {
    ident: [u8; IDENT_SIZE],
    e_type: U16,
    e_machine: U16,
    e_version: U32,
    e_entry: U32,
    e_phoff: U32,
    e_shoff: U32,
    e_flags: U32,
    e_ehsize: U16,
    e_phentsize: U16,
    e_phnum: U16,
    e_shentsize: U16,
    e_shnum: U16,
    e_shstrndx: U16,
}

#[allow(dead_code)]
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct Ehdr64 {
    ident: [u8; IDENT_SIZE],
    e_type: U16,
    e_machine: U16,
    e_version: U32,
    e_entry: U64,
    e_phoff: U64,
    e_shoff: U64,
    e_flags: U32,
    e_ehsize: U16,
    e_phentsize: U16,
    e_phnum: U16,
    e_shentsize: U16,
    e_shnum: U16,
    e_shstrndx: U16,
}

#[allow(dead_code)]
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct Phdr32 {
    p_type: U32,
    p_offset: U32,
    p_vaddr: U32,
    p_paddr: U32,
    p_filesz: U32,
    p_memsz: U32,
    p_flags: U32,
    p_align: U32,
}

#[allow(dead_code)]
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct Phdr64 {
    p_type: U32,
    p_flags: U32,
    p_offset: U64,
    p_vaddr: U64,
    p_paddr: U64,
    p_filesz: U64,
    p_memsz: U64,
    p_align: U64,
}

#[allow(dead_code)]
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct Shdr32 {
    sh_name: U32,
    sh_type: U32,
    sh_flags: U32,
    sh_addr: U32,
    sh_offset: U32,
    sh_size: U32,
    sh_link: U32,
    sh_info: U32,
    sh_addralign: U32,
    sh_entsize: U32,
}

#[allow(dead_code)]
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct Shdr64 {
    sh_name: U32,
    sh_type: U32,
    sh_flags: U64,
    sh_addr: U64,
    sh_offset: U64,
    sh_size: U64,
    sh_link: U32,
    sh_info: U32,
    sh_addralign: U64,
    sh_entsize: U64,
}

// The sizes the ELF specification gives.
const _: () = {
    assert!(size_of::<Ehdr32>() == 52 && size_of::<Ehdr64>() == MAX_HEADER_SIZE);
    assert!(size_of::<Phdr32>() == 32 && size_of::<Phdr64>() == 56);
    assert!(size_of::<Shdr32>() == 40 && size_of::<Shdr64>() == 64);
};

/// The ELF header fields this crate uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub e_type: u16,
    pub e_machine: u16,
    pub e_entry: u64,
    pub e_phoff: u64,
    pub e_shoff: u64,
    pub e_phentsize: u16,
    pub e_phnum: u16,
    pub e_shentsize: u16,
    pub e_shnum: u16,
    pub e_shstrndx: u16,
}

/// The program header fields this crate uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phdr {
    pub p_type: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_paddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
}

/// The section header fields this crate uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shdr {
    pub sh_name: u32,
    pub sh_type: u32,
    pub sh_addr: u64,
    pub sh_offset: u64,
    pub sh_size: u64,
    pub sh_link: u32,
}

/// Decodes the first bytes of `b` (at least the class's header size, which
/// the callers read) as `T`; `None` only if `b` is too short.
fn decode<T: FromBytes>(b: &[u8]) -> Option<T> {
    T::read_from_prefix(b).ok().map(|(v, _)| v)
}

impl Header {
    /// The ELF header of `class` at the start of `b`.
    pub(crate) fn decode(class: Class, b: &[u8]) -> Option<Header> {
        Some(match class {
            Class::Elf32 => {
                let h: Ehdr32 = decode(b)?;
                Header {
                    e_type: h.e_type.get(),
                    e_machine: h.e_machine.get(),
                    e_entry: h.e_entry.get().into(),
                    e_phoff: h.e_phoff.get().into(),
                    e_shoff: h.e_shoff.get().into(),
                    e_phentsize: h.e_phentsize.get(),
                    e_phnum: h.e_phnum.get(),
                    e_shentsize: h.e_shentsize.get(),
                    e_shnum: h.e_shnum.get(),
                    e_shstrndx: h.e_shstrndx.get(),
                }
            }
            Class::Elf64 => {
                let h: Ehdr64 = decode(b)?;
                Header {
                    e_type: h.e_type.get(),
                    e_machine: h.e_machine.get(),
                    e_entry: h.e_entry.get(),
                    e_phoff: h.e_phoff.get(),
                    e_shoff: h.e_shoff.get(),
                    e_phentsize: h.e_phentsize.get(),
                    e_phnum: h.e_phnum.get(),
                    e_shentsize: h.e_shentsize.get(),
                    e_shnum: h.e_shnum.get(),
                    e_shstrndx: h.e_shstrndx.get(),
                }
            }
        })
    }
}

impl Phdr {
    /// The program header of `class` at the start of `b`.
    pub(crate) fn decode(class: Class, b: &[u8]) -> Option<Phdr> {
        Some(match class {
            Class::Elf32 => {
                let p: Phdr32 = decode(b)?;
                Phdr {
                    p_type: p.p_type.get(),
                    p_offset: p.p_offset.get().into(),
                    p_vaddr: p.p_vaddr.get().into(),
                    p_paddr: p.p_paddr.get().into(),
                    p_filesz: p.p_filesz.get().into(),
                    p_memsz: p.p_memsz.get().into(),
                }
            }
            Class::Elf64 => {
                let p: Phdr64 = decode(b)?;
                Phdr {
                    p_type: p.p_type.get(),
                    p_offset: p.p_offset.get(),
                    p_vaddr: p.p_vaddr.get(),
                    p_paddr: p.p_paddr.get(),
                    p_filesz: p.p_filesz.get(),
                    p_memsz: p.p_memsz.get(),
                }
            }
        })
    }
}

impl Shdr {
    /// The section header of `class` at the start of `b`.
    pub(crate) fn decode(class: Class, b: &[u8]) -> Option<Shdr> {
        Some(match class {
            Class::Elf32 => {
                let s: Shdr32 = decode(b)?;
                Shdr {
                    sh_name: s.sh_name.get(),
                    sh_type: s.sh_type.get(),
                    sh_addr: s.sh_addr.get().into(),
                    sh_offset: s.sh_offset.get().into(),
                    sh_size: s.sh_size.get().into(),
                    sh_link: s.sh_link.get(),
                }
            }
            Class::Elf64 => {
                let s: Shdr64 = decode(b)?;
                Shdr {
                    sh_name: s.sh_name.get(),
                    sh_type: s.sh_type.get(),
                    sh_addr: s.sh_addr.get(),
                    sh_offset: s.sh_offset.get(),
                    sh_size: s.sh_size.get(),
                    sh_link: s.sh_link.get(),
                }
            }
        })
    }
}
