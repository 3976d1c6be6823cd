//! Finding the `.resource_table` section of an ELF file.
//!
//! Only the ELF header and the section headers are parsed (with `goblin`);
//! every offset and size taken from the file is checked before use.

use goblin::container::Ctx;
use goblin::elf::section_header::{SectionHeader, SHT_NOBITS};
use goblin::elf::Elf;

/// The table section of a firmware image.
#[derive(Debug)]
pub struct Section<'a> {
    /// The section's bytes.
    pub bytes: &'a [u8],
    /// Its load address (`sh_addr`).
    pub addr: u64,
    /// Its offset in the file.
    pub file_offset: u64,
}

/// Whether `data` starts with the ELF magic.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

/// The bytes of section `name` in the ELF image `data`.
pub fn find_section<'a>(data: &'a [u8], name: &str) -> Result<Section<'a>, String> {
    let header = Elf::parse_header(data).map_err(|e| format!("malformed ELF header: {e}"))?;
    let container = header
        .container()
        .map_err(|e| format!("malformed ELF header: {e}"))?;
    let endian = header
        .endianness()
        .map_err(|e| format!("malformed ELF header: {e}"))?;
    let ctx = Ctx::new(container, endian);
    let shoff = usize::try_from(header.e_shoff)
        .map_err(|_| format!("section header offset {:#x} is too large", header.e_shoff))?;
    if shoff == 0 {
        return Err("the ELF file has no section headers".into());
    }
    let sections = SectionHeader::parse(data, shoff, usize::from(header.e_shnum), ctx)
        .map_err(|e| format!("malformed section headers: {e}"))?;
    let strtab_index = if header.e_shstrndx == goblin::elf::section_header::SHN_XINDEX as u16 {
        sections.first().map_or(0, |s| s.sh_link as usize)
    } else {
        usize::from(header.e_shstrndx)
    };
    let strtab = sections
        .get(strtab_index)
        .ok_or_else(|| format!("section name table index {strtab_index} does not exist"))
        .and_then(|s| section_bytes(data, s))?;
    let wanted = name.as_bytes();
    let found = sections.iter().find(|s| {
        let start = s.sh_name;
        strtab
            .get(start..)
            .and_then(|rest| rest.split(|&b| b == 0).next())
            .is_some_and(|n| n == wanted)
    });
    let section = found.ok_or_else(|| format!("no {name} section in the ELF file"))?;
    if section.sh_type == SHT_NOBITS {
        return Err(format!(
            "the {name} section has no bytes in the file (NOBITS)"
        ));
    }
    Ok(Section {
        bytes: section_bytes(data, section)?,
        addr: section.sh_addr,
        file_offset: section.sh_offset,
    })
}

/// The file bytes of a section, bounds-checked.
fn section_bytes<'a>(data: &'a [u8], s: &SectionHeader) -> Result<&'a [u8], String> {
    let range = usize::try_from(s.sh_offset).ok().and_then(|start| {
        let end = start.checked_add(usize::try_from(s.sh_size).ok()?)?;
        Some(start..end)
    });
    range.and_then(|r| data.get(r)).ok_or_else(|| {
        format!(
            "section at file offset {:#x}, {:#x} bytes, is outside the file ({:#x} bytes)",
            s.sh_offset,
            s.sh_size,
            data.len()
        )
    })
}
