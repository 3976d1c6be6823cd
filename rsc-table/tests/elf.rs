//! The table of a firmware ELF: one made here with `object`, and the R5
//! example's cross-built ELFs when they exist.

mod common;

#[path = "common/elf.rs"]
mod elf;

use common::{r5_bytes, R5Table, R5};
use openamp_rsc_table::{Entry, ResourceTable, VIRTIO_ID_RPMSG, VIRTIO_RPMSG_F_NS};

#[test]
#[cfg_attr(miri, ignore)] // `object`'s writer is more than Miri needs to see
fn table_survives_an_elf_round_trip() {
    let image = elf::arm_elf_with_table(&r5_bytes());
    assert_eq!(&image[..5], b"\x7fELF\x01", "ELF32");
    assert_eq!(u16::from_le_bytes([image[18], image[19]]), 40, "EM_ARM");
    let bytes = elf::section_bytes(&image, ".resource_table").expect("section present");
    let table = ResourceTable::parse(&bytes).unwrap();
    let (_, v) = table.find_vdev(VIRTIO_ID_RPMSG).unwrap();
    assert_eq!(v.vdev, R5.rpmsg.vdev);
    assert_eq!(table.entry(1).unwrap().entry, Entry::Trace(R5.trace));
    assert_eq!(bytes.len(), R5Table::SIZE);
}

/// Every ELF under `target/boards/zcu102-r5/` (the R5 example's cross-build)
/// holds the table its source declares: one RPMsg vdev with name service and
/// two vrings, and one trace buffer.
#[test]
#[cfg_attr(miri, ignore)]
fn cross_built_r5_elf_holds_the_declared_table() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dirs = [
        root.join("target/boards/zcu102-r5"),
        root.join("examples/boards/target/boards/zcu102-r5"),
    ];
    let mut elfs = Vec::new();
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
    if elfs.is_empty() {
        println!(
            "note: no R5 ELF under target/boards/zcu102-r5/ (run `cargo xtask build`); skipped"
        );
        return;
    }
    for path in elfs {
        let image = std::fs::read(&path).unwrap();
        let Some(bytes) = elf::section_bytes(&image, ".resource_table") else {
            println!(
                "note: {} has no .resource_table section; skipped",
                path.display()
            );
            continue;
        };
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
