//! Fuzzes the parser (and the writer) with arbitrary table bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openamp_metal::IoRegion;
use openamp_rsc_table::{Entry, ResourceTable, TableWriter};
use zerocopy::IntoBytes;

fuzz_target!(|data: &[u8]| {
    if let Ok(table) = ResourceTable::parse(data) {
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

    // The writer on a copy in "shared memory": any answer but a panic.
    let mut words = vec![0u32; data.len().div_ceil(4)];
    for (i, chunk) in data.chunks(4).enumerate() {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        words[i] = u32::from_le_bytes(w);
    }
    let region = IoRegion::from_slice(words.as_mut_bytes());
    let w = TableWriter::new(region);
    for i in 0..4 {
        let _ = w.set_vdev_status(i, 4);
        let _ = w.set_vdev_gfeatures(i, 1);
        let _ = w.set_vring_da(i, 1, 0x1000);
        let _ = w.set_vring_notify_id(i, 0, 9);
        let _ = w.set_carveout_pa(i, 0x2000);
    }
    let mut buf = [0u8; 4096];
    let _ = ResourceTable::read_from_region(&region, 0, &mut buf);
});
