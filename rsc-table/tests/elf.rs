//! The table of a firmware ELF, read back with the `object` crate (not with
//! this crate's own ELF code): the image `common/firmware.rs` writes, and the
//! R5 board example's, from a committed copy and from `cargo xtask build`'s
//! output when it is there.

mod common;

#[path = "common/elf.rs"]
mod elf;
#[path = "common/firmware.rs"]
mod firmware;

use std::path::{Path, PathBuf};

use common::{r5_bytes, R5Table, R5};
use openamp_rsc_table::{Entry, ResourceTable, VIRTIO_ID_RPMSG, VIRTIO_RPMSG_F_NS};

#[test]
#[cfg_attr(miri, ignore)] // `object`'s reader is more than Miri needs to see
fn table_survives_an_elf_round_trip() {
    let image = firmware::Firmware::new(&r5_bytes()).bytes;
    assert_eq!(&image[..5], b"\x7fELF\x01", "ELF32");
    assert_eq!(u16::from_le_bytes([image[16], image[17]]), 2, "ET_EXEC");
    assert_eq!(u16::from_le_bytes([image[18], image[19]]), 40, "EM_ARM");
    let bytes = elf::section_bytes(&image, ".resource_table").expect("section present");
    let table = ResourceTable::parse(&bytes).unwrap();
    let (_, v) = table.find_vdev(VIRTIO_ID_RPMSG).unwrap();
    assert_eq!(v.vdev, R5.rpmsg.vdev);
    assert_eq!(table.entry(1).unwrap().entry, Entry::Trace(R5.trace));
    assert_eq!(bytes.len(), R5Table::SIZE);
}

/// The R5 example's ELFs: the committed copy of its smoke firmware
/// (`fixtures/zcu102-r5-smoke.elf`, always), and every ELF `cargo xtask
/// build` left under `target/boards/zcu102-r5/` (when it ran; `cargo xtask
/// test` runs it before the tests).
fn r5_elfs() -> Vec<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut elfs = vec![here.join("tests/fixtures/zcu102-r5-smoke.elf")];
    let dirs = [
        here.join("../target/boards/zcu102-r5"),
        here.join("../examples/boards/target/boards/zcu102-r5"),
    ];
    let mut stack: Vec<_> = dirs.iter().filter(|d| d.is_dir()).cloned().collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path).is_ok_and(|b| b.starts_with(b"\x7fELF")) {
                elfs.push(path);
            }
        }
    }
    elfs
}

/// Each holds the table its source declares: one RPMsg vdev with name
/// service and two vrings, and one trace buffer.
#[test]
#[cfg_attr(miri, ignore)]
fn r5_elfs_hold_the_declared_table() {
    for path in r5_elfs() {
        let image = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let bytes = elf::section_bytes(&image, ".resource_table")
            .unwrap_or_else(|| panic!("{}: no .resource_table section", path.display()));
        let table =
            ResourceTable::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let vdevs: Vec<_> = table
            .entries()
            .filter_map(|e| match e.entry {
                Entry::Vdev(v) => Some(v),
                _ => None,
            })
            .collect();
        let traces = table
            .entries()
            .filter(|e| matches!(e.entry, Entry::Trace(_)))
            .count();
        assert_eq!(vdevs.len(), 1, "{}: one vdev", path.display());
        assert_eq!(vdevs[0].vdev.id, VIRTIO_ID_RPMSG, "{}", path.display());
        assert_ne!(
            vdevs[0].vdev.dfeatures & VIRTIO_RPMSG_F_NS,
            0,
            "{}",
            path.display()
        );
        assert_eq!(vdevs[0].num_vrings(), 2, "{}", path.display());
        assert_eq!(traces, 1, "{}: one trace buffer", path.display());
        println!("{}: table checked", path.display());
    }
}
