//! Buffers in a page-mapped region whose pages are scattered in physical
//! memory: a descriptor names one physical range, so a buffer must be
//! physically contiguous (found by the virtio fuzz target).

use openamp_metal::{IoAttr, IoRegion, NoCache, PhysMap};
use openamp_virtio::{
    DeviceQueue, DriverQueue, Error, QueueConfig, Segment, VringLayout, VRING_DESC_F_WRITE,
};

const CFG: QueueConfig = QueueConfig::new(8, 16);
const PAGE: usize = 0x100;
/// Physical page of each 256-byte page of the buffer region: pages 0 and 1
/// follow each other, page 2 lies elsewhere, page 3 follows page 1's
/// successor (so pages 0, 1, 3 look like one block from their ends).
static PAGES: [u64; 4] = [0x10_0000, 0x10_0100, 0x50_0000, 0x10_0300];

/// A ring at 0, buffers at 0x1000.
#[repr(C, align(4096))]
struct Mem([u8; 0x2000]);

fn mem() -> Box<Mem> {
    Box::new(Mem([0; 0x2000]))
}

/// The ring and a page-mapped buffer region over `m`.
fn paged(m: &mut Mem) -> (IoRegion<'_>, IoRegion<'_>) {
    let phys = PhysMap::Pages {
        pages: &PAGES,
        page_shift: 8,
    };
    let base = m.0.as_mut_ptr();
    // SAFETY: `m` outlives both regions (they borrow it) and is only used
    // through them.
    let (ring, bufs) = unsafe {
        (
            IoRegion::new(base, 0x1000, PhysMap::None, IoAttr::UNCACHED).unwrap(),
            IoRegion::new(base.add(0x1000), 4 * PAGE, phys, IoAttr::UNCACHED).unwrap(),
        )
    };
    (ring, bufs)
}

#[test]
fn driver_refuses_a_buffer_across_scattered_pages() {
    let mut m = mem();
    let (ring, bufs) = paged(&mut m);
    let mut drv = DriverQueue::<'_, 8>::new(ring, bufs, CFG, NoCache).unwrap();
    // Across pages 1 and 2: no single physical address covers it. Before,
    // the descriptor said 0x10_01f0 for 32 bytes, half of them not the
    // buffer's.
    assert_eq!(
        drv.add_inbuf(Segment::new(PAGE + 0xf0, 32)),
        Err(Error::Metal(openamp_metal::Error::NotContiguous {
            offset: PAGE + 0xf0,
            len: 32
        }))
    );
    assert_eq!(drv.num_free(), 8, "nothing was taken");
    // Across pages 0 and 1, which are contiguous: one descriptor.
    let head = drv.add_inbuf(Segment::new(0xf0, 32)).unwrap();
    let l = VringLayout::new(8, 16).unwrap();
    assert_eq!(ring.read_u64(l.desc_offset(head)).unwrap(), 0x10_00f0);
}

#[test]
fn device_refuses_a_descriptor_whose_middle_page_is_elsewhere() {
    let mut m = mem();
    let (ring, bufs) = paged(&mut m);
    let mut dev = DeviceQueue::<'_, 8>::new(ring, bufs, CFG, NoCache).unwrap();
    let l = VringLayout::new(8, 16).unwrap();
    // Physical 0x10_0100..0x10_0400 maps to pages 1, then 3 at its end, but
    // its middle (0x10_0200..0x10_0300) is no page of ours: page 2 is
    // elsewhere. Before, both ends checked out and the device took region
    // bytes 0x100..0x400, page 2 included.
    let offer = |addr: u64, len: u32, idx: u16| {
        ring.write_u64(l.desc_offset(0), addr).unwrap();
        ring.write_u32(l.desc_offset(0) + 8, len).unwrap();
        ring.write_u32(l.desc_offset(0) + 12, u32::from(VRING_DESC_F_WRITE))
            .unwrap();
        ring.write_u16(l.avail_ring_offset(idx - 1), 0).unwrap();
        ring.write_u16(l.avail_idx_offset(), idx).unwrap();
    };
    offer(0x10_0100, 0x300, 1);
    assert_eq!(
        dev.pop_avail(),
        Err(Error::AddressOutOfRange {
            desc: 0,
            addr: 0x10_0100,
            len: 0x300
        })
    );
    assert!(!dev.is_broken());
    // Pages 0 and 1 are one block.
    offer(0x10_0080, 0x100, 2);
    let c = dev.pop_avail().unwrap().unwrap();
    let s = dev.segments(&c).unwrap().next().unwrap();
    assert_eq!((s.buf.offset, s.buf.len), (0x80, 0x100));
}
