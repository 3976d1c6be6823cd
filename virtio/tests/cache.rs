//! With a cached, non-snooping region, every shared read is preceded by an
//! invalidate and every shared write followed by a flush of the same bytes.

use std::cell::RefCell;

use openamp_metal::{CacheMaintenance, IoAttr, IoRegion, PhysMap};
use openamp_virtio::{DeviceQueue, DriverQueue, QueueConfig, Segment, VringLayout};

#[derive(Default)]
struct Recorder {
    base: usize,
    ops: RefCell<Vec<(char, usize, usize)>>,
}

impl CacheMaintenance for &Recorder {
    fn flush(&self, addr: *mut u8, len: usize) {
        self.ops
            .borrow_mut()
            .push(('F', addr as usize - self.base, len));
    }
    fn invalidate(&self, addr: *mut u8, len: usize) {
        self.ops
            .borrow_mut()
            .push(('I', addr as usize - self.base, len));
    }
}

impl Recorder {
    fn take(&self) -> Vec<(char, usize, usize)> {
        std::mem::take(&mut *self.ops.borrow_mut())
    }
}

#[repr(C, align(4096))]
struct Mem([u8; 0x4000]);

#[test]
fn flushes_and_invalidates_the_bytes_it_touches() {
    let mut mem = Box::new(Mem([0; 0x4000]));
    let ptr = mem.0.as_mut_ptr();
    // SAFETY: `mem` is ours, alive for the test, and used only through
    // this region from here on.
    let all =
        unsafe { IoRegion::new(ptr, 0x4000, PhysMap::Contiguous(0), IoAttr::CACHED) }.unwrap();
    let rec = Recorder {
        base: ptr as usize,
        ..Recorder::default()
    };
    let cfg = QueueConfig::new(4, 64);
    let l = VringLayout::new(4, 64).unwrap();
    let ring = all.sub_region(0, 0x1000).unwrap();
    let bufs = all.sub_region(0x2000, 0x2000).unwrap();
    let mut drv = DriverQueue::<'_, 4, &Recorder>::new(ring, bufs, cfg, &rec).unwrap();
    let mut dev = DeviceQueue::<'_, 4, &Recorder>::new(ring, bufs, cfg, &rec).unwrap();
    rec.take();

    drv.add(&[Segment::new(0, 8)], &[Segment::new(0x100, 32)])
        .unwrap();
    let ops = rec.take();
    for want in [
        ('F', 0x2000, 8),                 // the out buffer
        ('F', 0x2100, 32),                // the in buffer, before the device writes it
        ('F', 0, 16),                     // descriptor 0
        ('F', 16, 16),                    // descriptor 1
        ('F', l.avail_ring_offset(0), 2), // the slot
        ('F', l.avail_idx_offset(), 2),   // the index, last
    ] {
        assert!(ops.contains(&want), "{want:?} not in {ops:?}");
    }
    assert_eq!(ops.last(), Some(&('F', l.avail_idx_offset(), 2)));

    let c = dev.pop_avail().unwrap().unwrap();
    let ops = rec.take();
    assert_eq!(ops[0], ('I', l.avail_idx_offset(), 2));
    for want in [
        ('I', l.avail_ring_offset(0), 2),
        ('I', 0, 16),
        ('I', 16, 16),
        ('I', 0x2000, 8), // the readable buffer, before we read it
    ] {
        assert!(ops.contains(&want), "{want:?} not in {ops:?}");
    }
    assert!(!ops.contains(&('I', 0x2100, 32)));

    dev.write(&c, 0, &[1; 20]).unwrap();
    dev.push_used(&c, 20).unwrap();
    let ops = rec.take();
    // The whole writable buffer, first: no dirty line is left in it.
    assert_eq!(ops[0], ('F', 0x2100, 32));
    assert!(ops.contains(&('F', l.used_ring_offset(0), 8)));
    assert_eq!(ops.last(), Some(&('F', l.used_idx_offset(), 2)));

    let u = drv.pop_used().unwrap().unwrap();
    assert_eq!(u.written, 20);
    let ops = rec.take();
    assert_eq!(ops[0], ('I', l.used_idx_offset(), 2));
    assert!(ops.contains(&('I', l.used_ring_offset(0), 8)));
    assert!(ops.contains(&('I', 0x2100, 32)));
}

/// A device that wrote into a buffer and then returns it saying it wrote
/// less (here nothing, after a refused report) still writes every dirty
/// line of it back: else our cache would later write them over the data
/// the driver puts there next (found by the virtio fuzz target).
#[test]
fn returning_a_buffer_writes_all_of_it_back() {
    let mut mem = Box::new(Mem([0; 0x4000]));
    let ptr = mem.0.as_mut_ptr();
    // SAFETY: `mem` is ours, alive for the test, and used only through
    // this region from here on.
    let all =
        unsafe { IoRegion::new(ptr, 0x4000, PhysMap::Contiguous(0), IoAttr::CACHED) }.unwrap();
    let rec = Recorder {
        base: ptr as usize,
        ..Recorder::default()
    };
    let cfg = QueueConfig::new(4, 64);
    let ring = all.sub_region(0, 0x1000).unwrap();
    let bufs = all.sub_region(0x2000, 0x2000).unwrap();
    let mut drv = DriverQueue::<'_, 4, &Recorder>::new(ring, bufs, cfg, &rec).unwrap();
    let mut dev = DeviceQueue::<'_, 4, &Recorder>::new(ring, bufs, cfg, &rec).unwrap();
    drv.add(&[], &[Segment::new(0x100, 64)]).unwrap();
    let c = dev.pop_avail().unwrap().unwrap();
    dev.write(&c, 0, &[7; 24]).unwrap();
    assert!(dev.push_used_reporting(&c, 24, 65).is_err());
    rec.take();
    dev.push_used(&c, 0).unwrap();
    let ops = rec.take();
    assert!(ops.contains(&('F', 0x2100, 64)), "{ops:?}");
    assert_eq!(drv.pop_used().unwrap().unwrap().written, 0);
}
