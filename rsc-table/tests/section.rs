//! The `static mut` form of `resource_table!` puts the table, byte for byte,
//! in a `.resource_table` section of the executable that declares it.

mod common;

#[path = "common/elf.rs"]
mod elf;

use openamp_rsc_table::{
    resource_table, status, ResourceTable, TableWriter, Trace, VdevResource, Vring,
};

resource_table! {
    /// A table as firmware declares it.
    pub static mut FIRMWARE_TABLE: FirmwareTable = {
        rpmsg: VdevResource<2> = VdevResource::new(7, 0, 1, [
            Vring::new(0x3ef0_0000, 0x1000, 256, 1),
            Vring::new(0x3ef4_0000, 0x1000, 256, 2),
        ]),
        trace: Trace = Trace::new(0x3ed4_0000, 0x8000, "section_test"),
    };
}

#[test]
#[cfg_attr(miri, ignore)]
#[cfg_attr(
    any(target_vendor = "apple", windows),
    ignore = "the test executable is not an ELF file on this host"
)]
fn static_lands_in_resource_table_section() {
    // Taking the address (safe for a `static mut`) keeps the linker from
    // dropping the section, as `KEEP(*(.resource_table))` does in firmware.
    let addr = &raw const FIRMWARE_TABLE;
    assert_eq!(addr as usize % 4, 0);

    let exe = std::env::current_exe().unwrap();
    let image = std::fs::read(&exe).unwrap();
    assert!(
        image.starts_with(b"\x7fELF"),
        "{} is an ELF file",
        exe.display()
    );
    let section = elf::section_bytes(&image, ".resource_table").expect(".resource_table section");
    let mut expected = vec![0u8; FirmwareTable::SIZE];
    FirmwareTable::INIT.write_to(&mut expected).unwrap();
    assert_eq!(section, expected);
    let table = ResourceTable::parse(&section).unwrap();
    assert_eq!(table.len(), 2);
}

/// What firmware does at run time: the host writes the table in place, the
/// firmware reads it back through the region over its own static.
#[test]
fn firmware_reads_what_the_host_wrote() {
    let region = FirmwareTable::static_region(openamp_metal::IoAttr::UNCACHED).unwrap();
    assert_eq!(region.size(), FirmwareTable::SIZE);
    let host = TableWriter::new(region);
    host.set_vdev_gfeatures(0, 1).unwrap();
    host.set_vdev_status(0, status::DRIVER_OK).unwrap();
    assert_eq!(host.vdev_status(0), Ok(status::DRIVER_OK));
    let mut buf = [0u8; FirmwareTable::SIZE];
    let table = ResourceTable::read_from_region(&region, 0, &mut buf).unwrap();
    assert_eq!(table.find_vdev(7).unwrap().1.vdev.gfeatures, 1);
    host.set_vdev_status(0, 0).unwrap();
    host.set_vdev_gfeatures(0, 0).unwrap();
}
