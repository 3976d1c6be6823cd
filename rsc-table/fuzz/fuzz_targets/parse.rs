//! Any bytes as a resource table (parser and writer), and any bytes that
//! start with the ELF magic as a firmware image (the checks a loader makes
//! before it copies anything, shared with `openamp-remoteproc`).
//!
//! What the parser accepts must be usable as it says; the writer's edits
//! (status, features, addresses, notify ids) never change what the table
//! is; the ELF checks' answer holds: segments inside the file, no wrap, no
//! overlap, the table section inside the segment that loads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openamp_metal::IoRegion;
use openamp_rsc_table::elf::{ElfImage, ElfLimits};
use openamp_rsc_table::{Entry, ResourceTable, TableWriter};
use zerocopy::IntoBytes;

/// The kinds of the entries of a table, for comparing two parses.
fn kinds(t: &ResourceTable<'_>) -> Vec<(usize, u32, u8)> {
    t.entries()
        .map(|e| {
            let (kind, vrings) = match e.entry {
                Entry::Carveout(_) => (0, 0),
                Entry::Devmem(_) => (1, 0),
                Entry::Trace(_) => (2, 0),
                Entry::Vdev(v) => (3, v.num_vrings()),
                Entry::Vendor(r) | Entry::Unknown(r) => (r.kind, 0),
                _ => (u32::MAX, 0),
            };
            (e.offset, kind, vrings)
        })
        .collect()
}

fn table(data: &[u8]) {
    let parsed = ResourceTable::parse(data);
    if let Ok(table) = &parsed {
        // What parse accepted must be fully usable.
        assert!(table.size() <= data.len());
        let mut n = 0;
        for e in table.entries() {
            n += 1;
            assert!(e.offset < data.len());
            if let Entry::Vdev(v) = e.entry {
                assert_eq!(v.vrings().count(), usize::from(v.num_vrings()));
                assert_eq!(v.config().len(), v.vdev.config_len as usize);
            }
        }
        assert_eq!(n, table.len());
    }

    // The writer on a copy in "shared memory": any answer but a panic, and
    // a table that parsed still parses, with the same entries.
    let mut words = vec![0u32; data.len().div_ceil(4)];
    for (i, chunk) in data.chunks(4).enumerate() {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        words[i] = u32::from_le_bytes(w);
    }
    let region = IoRegion::from_slice(words.as_mut_bytes());
    let w = TableWriter::new(region);
    // What a host writes: different for each entry, and notify ids the
    // table does not use yet, as a host picks them (the parser refuses an
    // id used twice; the writer leaves that to its caller).
    let used: Vec<u32> = match &parsed {
        Ok(t) => t
            .entries()
            .filter_map(|e| match e.entry {
                Entry::Vdev(v) => Some(v),
                _ => None,
            })
            .flat_map(|v| v.vrings().map(|r| r.notifyid).chain([v.vdev.notifyid]))
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut fresh = (0x1000u32..).filter(|id| !used.contains(id));
    for i in 0..4 {
        let k = i as u32;
        let id = fresh.next().unwrap();
        let _ = w.set_vdev_status(i, 4);
        let _ = w.set_vdev_gfeatures(i, 1);
        let _ = w.set_vring_da(i, 1, 0x10_0000 + 0x1_0000 * k);
        let _ = w.set_vring_pa(i, 0, 0x20_0000 + 0x1_0000 * k);
        let _ = w.set_vring_notify_id(i, 0, id);
        let _ = w.set_carveout_pa(i, 0x30_0000 + 0x1_0000 * k);
        let _ = w.set_carveout_da(i, 0x40_0000 + 0x1_0000 * k);
        let _ = w.vdev_status(i);
        let _ = w.vdev_dfeatures(i);
    }
    let mut buf = vec![0u8; data.len().max(1)];
    let again = ResourceTable::read_from_region(&region, 0, &mut buf);
    if let Ok(before) = &parsed {
        let after = again.expect("the writer broke a table that parsed");
        assert_eq!(kinds(before), kinds(&after));
    }
    let mut small = [0u8; 64];
    let _ = ResourceTable::read_from_region(&region, data.len() / 2, &mut small);
}

fn elf(data: &[u8]) {
    let Ok(image) = ElfImage::from_bytes(data, &ElfLimits::DEFAULT) else {
        return;
    };
    let size = data.len() as u64;
    let segs = image.segments();
    for (i, s) in segs.iter().enumerate() {
        assert!(s.offset.checked_add(s.filesz).is_some_and(|e| e <= size));
        assert!(s.filesz <= s.memsz);
        let end = s.da.checked_add(s.memsz).expect("a segment that wraps");
        if !image.is_64 {
            assert!(end <= 1 << 32, "an ELF32 segment past 4 GiB");
        }
        for t in &segs[..i] {
            assert!(
                end <= t.da || t.da + t.memsz <= s.da,
                "segments {} and {} overlap",
                t.index,
                s.index
            );
        }
    }
    if let Some(t) = image.resource_table {
        let s = segs
            .iter()
            .find(|s| s.index == t.segment)
            .expect("the table's segment is not loaded");
        assert!(t.offset >= s.offset && t.offset + t.size <= s.offset + s.filesz);
        assert_eq!(t.da - s.da, t.offset - s.offset);
        let bytes = image
            .table_bytes(data)
            .expect("table bytes outside the image");
        table(bytes);
    }
}

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"\x7fELF") {
        elf(data);
    } else {
        table(data);
    }
});
