//! Any bytes as an ELF image: parsing and loading into a small memory must
//! give `Ok` or `Err`, never a panic, an out-of-bounds write or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openamp_metal::{IoAttr, IoRegion, PhysMap};
use openamp_remoteproc::elf::{self, ElfLoader, LoadOptions};
use openamp_remoteproc::{AddressSpace, ImageStore, SliceStore};

fuzz_target!(|data: &[u8]| {
    let mut store = SliceStore::new(data);
    let Ok(size) = store.open("fuzz") else { return };
    let opts = LoadOptions {
        chunk: 64,
        ..LoadOptions::default()
    };
    let Ok(image) = elf::parse(&mut store, size, &opts) else {
        return;
    };
    let _ = elf::read_table(&image, &mut store, 0x1000);
    // 64 KiB of memory at device address 0x3ed0_0000 (the R5 smoke's).
    let mut mem = vec![0u8; 0x10000];
    let base = mem.as_mut_ptr();
    // SAFETY: `mem` outlives the region and is only used through it.
    let region =
        unsafe { IoRegion::new(base, mem.len(), PhysMap::Contiguous(0x3ed0_0000), IoAttr::UNCACHED) }
            .unwrap();
    if let Ok(mut loader) = ElfLoader::new(image, &opts, |da, len| region.da_region(da, len)) {
        let _ = loader.run(&mut store);
    }
});
