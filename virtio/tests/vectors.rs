//! The device side over rings written by OpenAMP's own C implementation
//! (`vectors/after-echo.shm`, see its README).

use std::path::PathBuf;

use memmap2::MmapMut;
use openamp_metal::{IoAttr, IoRegion, NoCache, PhysMap};
use openamp_virtio::{DeviceQueue, QueueConfig, VringLayout};

const IMAGE_SIZE: usize = 0x80000;

fn image_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("OPENAMP_VECTORS") {
        return PathBuf::from(dir).join("after-echo.shm");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors/after-echo.shm")
}

/// The image copied into page-aligned private memory.
fn load() -> MmapMut {
    let path = image_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(bytes.len(), IMAGE_SIZE);
    let mut map = MmapMut::map_anon(IMAGE_SIZE).unwrap();
    map.copy_from_slice(&bytes);
    map
}

/// The image as the Linux-process platform sees it: a physical address is
/// the offset in the file.
fn region(map: &mut MmapMut) -> IoRegion<'_> {
    // SAFETY: the anonymous mapping is readable, writable and alive for the
    // borrow of `map`, which is not touched through references while the
    // region is used.
    unsafe {
        IoRegion::new(
            map.as_mut_ptr(),
            IMAGE_SIZE,
            PhysMap::Contiguous(0),
            IoAttr::UNCACHED,
        )
    }
    .unwrap()
}

const CFG: QueueConfig = QueueConfig::new(256, 0x1000);

#[test]
#[cfg_attr(miri, ignore)]
fn vring0_offers_the_hosts_receive_buffers() {
    let mut map = load();
    let shm = region(&mut map);
    let l = VringLayout::new(256, 0x1000).unwrap();
    let ring = shm.sub_region(0x4000, l.size()).unwrap();
    assert_eq!(0x4000 + l.used_offset(), 0x6000);
    // Fields as the README describes them.
    assert_eq!(ring.read_u16(l.avail_offset()).unwrap(), 0);
    assert_eq!(ring.read_u16(l.avail_idx_offset()).unwrap(), 737);
    assert_eq!(ring.read_u16(l.used_offset()).unwrap(), 1);
    assert_eq!(ring.read_u16(l.used_idx_offset()).unwrap(), 482);
    assert_eq!(ring.read_u64(0).unwrap(), 0x10000);
    assert_eq!(ring.read_u32(8).unwrap(), 512);
    assert_eq!(ring.read_u16(12).unwrap(), 2);

    // The receive buffers are 0x10000..0x30000.
    let bufs = shm.sub_region(0x10000, 0x20000).unwrap();
    let mut dev = DeviceQueue::<'_, 256>::resume(ring, bufs, CFG, NoCache).unwrap();
    assert_eq!(dev.last_avail(), 482);
    // The last used element: the remote's name-service DESTROY, in a buffer
    // the host had not re-posted.
    let last = l.used_ring_offset(481 % 256);
    let last_id = ring.read_u32(last).unwrap();
    assert_eq!(ring.read_u32(last + 4).unwrap(), 512);
    assert_eq!(0x10000 + 512 * last_id as usize, 0x2C200);

    let mut heads = Vec::new();
    while let Some(c) = dev.pop_avail().unwrap() {
        assert_eq!((c.descriptors, c.readable, c.writable), (1, 0, 512));
        let seg = dev.segments(&c).unwrap().next().unwrap();
        assert!(seg.writable);
        assert_eq!(seg.buf.offset, 512 * usize::from(c.head));
        heads.push(c.head);
    }
    assert_eq!(heads.len(), 737 - 482);
    heads.sort_unstable();
    heads.dedup();
    assert_eq!(heads.len(), 255);
    assert!(!heads.contains(&(last_id as u16)));

    // That DESTROY: RPMsg header (src 1024, dst 53, len 40) and the
    // announcement (name, addr 1024, flags 1).
    let msg = 512 * last_id as usize;
    assert_eq!(bufs.read_u32(msg).unwrap(), 1024);
    assert_eq!(bufs.read_u32(msg + 4).unwrap(), 53);
    assert_eq!(bufs.read_u16(msg + 12).unwrap(), 40);
    let mut name = [0u8; 32];
    bufs.read_bytes(msg + 16, &mut name).unwrap();
    assert!(name.starts_with(b"rpmsg-openamp-demo-channel\0"));
    assert_eq!(bufs.read_u32(msg + 48).unwrap(), 1024);
    assert_eq!(bufs.read_u32(msg + 52).unwrap(), 1);
}

#[test]
#[cfg_attr(miri, ignore)]
fn vring1_is_drained_and_the_host_asked_for_no_interrupts() {
    let mut map = load();
    let shm = region(&mut map);
    let l = VringLayout::new(256, 0x1000).unwrap();
    let ring = shm.sub_region(0x8000, l.size()).unwrap();
    assert_eq!(0x8000 + l.used_offset(), 0xA000);
    assert_eq!(ring.read_u16(l.avail_offset()).unwrap(), 1);
    assert_eq!(ring.read_u16(l.avail_idx_offset()).unwrap(), 482);
    assert_eq!(ring.read_u16(l.used_idx_offset()).unwrap(), 482);
    assert_eq!(ring.read_u64(0).unwrap(), 0x30000);
    assert_eq!(ring.read_u16(12).unwrap(), 0);

    // The whole pool as the buffer region.
    let bufs = shm.sub_region(0x10000, 0x40000).unwrap();
    let mut dev = DeviceQueue::<'_, 256>::resume(ring, bufs, CFG, NoCache).unwrap();
    assert!(!dev.has_avail().unwrap());
    assert!(dev.pop_avail().unwrap().is_none());
    // The host's last send, its DESTROY, at 0x30200 (descriptor 1).
    let d1 = l.desc_offset(1);
    assert_eq!(ring.read_u64(d1).unwrap(), 0x30200);
    assert_eq!(shm.read_u32(0x30200 + 4).unwrap(), 53);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_buffer_region_that_misses_the_pool_rejects_every_descriptor() {
    let mut map = load();
    let shm = region(&mut map);
    let l = VringLayout::new(256, 0x1000).unwrap();
    let ring = shm.sub_region(0x4000, l.size()).unwrap();
    // Only the send half of the pool: every receive buffer is outside it.
    let bufs = shm.sub_region(0x30000, 0x20000).unwrap();
    let mut dev = DeviceQueue::<'_, 256>::resume(ring, bufs, CFG, NoCache).unwrap();
    for _ in 0..255 {
        assert!(matches!(
            dev.pop_avail(),
            Err(openamp_virtio::Error::AddressOutOfRange { len: 512, .. })
        ));
    }
    assert!(dev.pop_avail().unwrap().is_none());
    assert!(!dev.is_broken());
}
