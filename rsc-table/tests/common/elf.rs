//! ELF files made at test time, with the `object` crate's writer.
#![allow(dead_code)]

use object::write::Object;
use object::{Architecture, BinaryFormat, Endianness, SectionKind};

/// An ELF32 little-endian ARM object with `table` in a `.resource_table`
/// section (and a little code and data around it, as a firmware has).
pub fn arm_elf_with_table(table: &[u8]) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::Arm, Endianness::Little);
    let text = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
    obj.append_section_data(text, &[0x1e, 0xff, 0x2f, 0xe1], 4); // bx lr
    let data = obj.add_section(Vec::new(), b".data".to_vec(), SectionKind::Data);
    obj.append_section_data(data, &[1, 2, 3, 4, 5, 6, 7, 8], 4);
    let rsc = obj.add_section(Vec::new(), b".resource_table".to_vec(), SectionKind::Data);
    obj.append_section_data(rsc, table, 8);
    obj.write().expect("object writes ELF")
}

/// The bytes of section `name` of an ELF file, read with `object`.
pub fn section_bytes(elf: &[u8], name: &str) -> Option<Vec<u8>> {
    use object::{Object as _, ObjectSection as _};
    let file = object::File::parse(elf).ok()?;
    let section = file.section_by_name(name)?;
    section.data().ok().map(<[u8]>::to_vec)
}
