//! Tables and helpers shared by the integration tests.
#![allow(dead_code)]

use openamp_rsc_table::{
    resource_table, Carveout, Devmem, Trace, VdevResource, VendorResource, Vring, FW_RSC_ADDR_ANY,
    VIRTIO_ID_RPMSG, VIRTIO_RPMSG_F_NS,
};

resource_table! {
    /// What the R5 example declares: one RPMsg vdev and one trace buffer.
    pub const R5: R5Table = {
        rpmsg: VdevResource<2> = VdevResource::new(VIRTIO_ID_RPMSG, 0, VIRTIO_RPMSG_F_NS, [
            Vring::new(FW_RSC_ADDR_ANY, 0x1000, 256, 1),
            Vring::new(FW_RSC_ADDR_ANY, 0x1000, 256, 2),
        ]),
        trace: Trace = Trace::new(0x3ed4_0000, 0x8000, "r5_trace"),
    };
}

resource_table! {
    /// Every kind of entry, and a config space whose length is not a multiple of 4.
    pub const MIXED: MixedTable = {
        mem: Carveout = Carveout::new(0x3ed0_0000, FW_RSC_ADDR_ANY, 0x4_0000, 0, "r5_mem"),
        uart: Devmem = Devmem::new(0xff01_0000, 0xff01_0000, 0x1000, 0, "uart1"),
        console: VdevResource<1, 5> = VdevResource::new(3, 10, 0, [
            Vring::new(0x3ef0_0000, 0x40, 64, 11),
        ]).with_config([1, 2, 3, 4, 5]),
        oem: VendorResource<6> = VendorResource::new(200, *b"vendor"),
        trace: Trace = Trace::new(0x3ed4_0000, 0x1000, "log"),
        rpmsg: VdevResource<2> = VdevResource::new(VIRTIO_ID_RPMSG, 20, VIRTIO_RPMSG_F_NS, [
            Vring::new(FW_RSC_ADDR_ANY, 0x1000, 256, 21),
            Vring::new(FW_RSC_ADDR_ANY, 0x1000, 256, 22),
        ]),
    };
}

/// The bytes of the R5 table.
pub fn r5_bytes() -> Vec<u8> {
    let mut bytes = vec![0u8; R5Table::SIZE];
    R5.write_to(&mut bytes).expect("buffer is SIZE bytes");
    bytes
}

/// The bytes of the mixed table.
pub fn mixed_bytes() -> Vec<u8> {
    let mut bytes = vec![0u8; MixedTable::SIZE];
    MIXED.write_to(&mut bytes).expect("buffer is SIZE bytes");
    bytes
}

/// Little-endian u32 store into a byte vector.
pub fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Little-endian u32 load from a byte vector.
pub fn get_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// A 4-aligned copy of `bytes` (an `IoRegion` checks the alignment of the address).
pub fn aligned(bytes: &[u8]) -> Vec<u32> {
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    zerocopy::IntoBytes::as_mut_bytes(&mut words[..])[..bytes.len()].copy_from_slice(bytes);
    words
}

/// Where the shared test vectors live, if they are there.
pub fn vectors_dir() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("OPENAMP_VECTORS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors"));
    dir.join("remote-initialized.shm").exists().then_some(dir)
}
