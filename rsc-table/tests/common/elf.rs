//! Reading ELF files with the `object` crate: a reader independent of this
//! crate's own ELF code.
#![allow(dead_code)]

/// The bytes of section `name` of an ELF file, read with `object`.
pub fn section_bytes(elf: &[u8], name: &str) -> Option<Vec<u8>> {
    use object::{Object as _, ObjectSection as _};
    let file = object::File::parse(elf).ok()?;
    let section = file.section_by_name(name)?;
    section.data().ok().map(<[u8]>::to_vec)
}
