//! A hostile peer: each field of the ring that the other side writes is
//! corrupted in turn, and the queue must answer with the right error, keep
//! to its broken-or-usable policy, and never panic or touch memory outside.

use core::sync::atomic::Ordering;

use super::*;
use crate::{
    Error, Segment, VringLayout, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE,
};

const CFG: QueueConfig = QueueConfig::new(8, 16);

fn layout() -> VringLayout {
    VringLayout::new(8, 16).unwrap()
}

/// Writes descriptor `i` as a hostile driver would.
fn put_desc(ring: IoRegion<'_>, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
    let off = layout().desc_offset(i);
    ring.write_u64(off, addr).unwrap();
    ring.write_u32(off + 8, len).unwrap();
    ring.write_u16(off + 12, flags).unwrap();
    ring.write_u16(off + 14, next).unwrap();
}

/// Offers `head` at the next available slot, as a hostile driver would.
fn offer(ring: IoRegion<'_>, head: u16) {
    let l = layout();
    let idx = ring
        .load_u16(l.avail_idx_offset(), Ordering::Relaxed)
        .unwrap();
    ring.write_u16(l.avail_ring_offset(idx & 7), head).unwrap();
    ring.store_u16(l.avail_idx_offset(), idx.wrapping_add(1), Ordering::Release)
        .unwrap();
}

/// A device over a ring that a hostile driver writes by hand.
fn device(m: &mut Mem) -> (DeviceQueue<'_, 8>, IoRegion<'_>, u64) {
    let (ring, bufs) = regions(m);
    let dev = DeviceQueue::new(ring, bufs, CFG, NoCache).unwrap();
    let base = bufs.offset_to_phys(0).unwrap();
    (dev, ring, base)
}

/// After an error that keeps the queue usable, a good chain still goes round.
fn still_usable(dev: &mut DeviceQueue<'_, 8>, ring: IoRegion<'_>, base: u64, d: u16) {
    assert!(!dev.is_broken());
    put_desc(ring, d, base + 0x100, 16, VRING_DESC_F_WRITE, 0);
    offer(ring, d);
    let c = dev.pop_avail().unwrap().unwrap();
    assert_eq!((c.head, c.writable), (d, 16));
    dev.push_used(&c, 16).unwrap();
}

#[test]
fn avail_idx_running_ahead_breaks_the_queue() {
    let mut m = mem();
    let (mut dev, ring, _) = device(&mut m);
    let l = layout();
    ring.store_u16(l.avail_idx_offset(), 9, Ordering::Release)
        .unwrap();
    assert_eq!(
        dev.pop_avail(),
        Err(Error::AvailIdxOutOfRange {
            idx: 9,
            last: 0,
            num: 8
        })
    );
    assert!(dev.is_broken());
    ring.store_u16(l.avail_idx_offset(), 1, Ordering::Release)
        .unwrap();
    assert_eq!(dev.pop_avail(), Err(Error::Broken));
    assert_eq!(dev.should_notify(), Err(Error::Broken));
    // A jump of exactly a ring is legal.
    let mut m = mem();
    let (mut dev, ring, base) = device(&mut m);
    for i in 0..8 {
        put_desc(ring, i, base, 1, 0, 0);
        offer(ring, i);
    }
    for _ in 0..8 {
        dev.pop_avail().unwrap().unwrap();
    }
    assert!(dev.pop_avail().unwrap().is_none());
}

#[test]
fn avail_head_out_of_range_is_dropped() {
    let mut m = mem();
    let (mut dev, ring, base) = device(&mut m);
    for head in [8u16, 0xffff] {
        offer(ring, head);
        assert_eq!(dev.pop_avail(), Err(Error::HeadOutOfRange { head, num: 8 }));
    }
    still_usable(&mut dev, ring, base, 0);
}

#[test]
fn bad_addresses_are_dropped() {
    let mut m = mem();
    let (mut dev, ring, base) = device(&mut m);
    let size = (MEM - BUF) as u64;
    let cases: [(u64, u32); 7] = [
        (0, 16),
        (base - 1, 16),
        (base + size, 1),
        (base + size - 8, 9),
        (base, u32::MAX),
        (u64::MAX, 2),
        (u64::MAX - 3, 0),
    ];
    for (addr, len) in cases {
        put_desc(ring, 3, addr, len, VRING_DESC_F_WRITE, 0);
        offer(ring, 3);
        assert_eq!(
            dev.pop_avail(),
            Err(Error::AddressOutOfRange { desc: 3, addr, len }),
            "addr {addr:#x} len {len}"
        );
    }
    // Exactly up to the end is fine.
    put_desc(ring, 3, base + size - 8, 8, 0, 0);
    offer(ring, 3);
    let c = dev.pop_avail().unwrap().unwrap();
    assert_eq!(c.readable, 8);
    dev.push_used(&c, 0).unwrap();
    still_usable(&mut dev, ring, base, 3);
}

#[test]
fn bad_flags_are_dropped() {
    let mut m = mem();
    let (mut dev, ring, base) = device(&mut m);
    put_desc(ring, 0, base, 16, VRING_DESC_F_INDIRECT, 0);
    offer(ring, 0);
    assert_eq!(
        dev.pop_avail(),
        Err(Error::IndirectNotSupported { desc: 0 })
    );
    // Writable, then readable.
    put_desc(ring, 0, base, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    put_desc(ring, 1, base + 16, 16, 0, 0);
    offer(ring, 0);
    assert_eq!(
        dev.pop_avail(),
        Err(Error::ReadableAfterWritable { desc: 1 })
    );
    // Unknown flag bits are ignored; `next` without NEXT is not followed
    // (OpenAMP leaves 0x8000 there).
    put_desc(ring, 0, base, 16, 0xfff0 | VRING_DESC_F_WRITE, 0x8000);
    offer(ring, 0);
    let c = dev.pop_avail().unwrap().unwrap();
    assert_eq!((c.descriptors, c.writable), (1, 16));
    dev.push_used(&c, 3).unwrap();
    still_usable(&mut dev, ring, base, 0);
}

#[test]
fn bad_links_are_dropped_and_release_what_they_marked() {
    let mut m = mem();
    let (mut dev, ring, base) = device(&mut m);
    // next past the ring.
    put_desc(ring, 0, base, 16, VRING_DESC_F_NEXT, 8);
    offer(ring, 0);
    assert_eq!(
        dev.pop_avail(),
        Err(Error::NextOutOfRange {
            desc: 0,
            next: 8,
            num: 8
        })
    );
    // A loop onto itself, and a longer loop.
    put_desc(ring, 2, base, 16, VRING_DESC_F_NEXT, 2);
    offer(ring, 2);
    assert_eq!(
        dev.pop_avail(),
        Err(Error::DescriptorInUse { head: 2, desc: 2 })
    );
    put_desc(ring, 0, base, 16, VRING_DESC_F_NEXT, 1);
    put_desc(ring, 1, base, 16, VRING_DESC_F_NEXT, 2);
    put_desc(ring, 2, base, 16, VRING_DESC_F_NEXT, 0);
    offer(ring, 0);
    assert_eq!(
        dev.pop_avail(),
        Err(Error::DescriptorInUse { head: 0, desc: 0 })
    );
    // The bad chains marked nothing for good: a chain over the same
    // descriptors works.
    put_desc(ring, 2, base + 64, 16, VRING_DESC_F_WRITE, 0);
    put_desc(ring, 1, base, 16, VRING_DESC_F_NEXT, 2);
    offer(ring, 1);
    let held = dev.pop_avail().unwrap().unwrap();
    assert_eq!((held.head, held.descriptors), (1, 2));
    // A chain that runs into one we hold.
    put_desc(ring, 5, base, 16, VRING_DESC_F_NEXT, 2);
    offer(ring, 5);
    assert_eq!(
        dev.pop_avail(),
        Err(Error::DescriptorInUse { head: 5, desc: 2 })
    );
    // The same head offered twice while we hold it.
    offer(ring, 1);
    assert_eq!(
        dev.pop_avail(),
        Err(Error::DescriptorInUse { head: 1, desc: 1 })
    );
    // The driver rewrites a held chain's descriptors: our copy is unchanged.
    put_desc(ring, 2, u64::MAX, u32::MAX, VRING_DESC_F_NEXT, 7);
    let segs: Vec<_> = dev.segments(&held).unwrap().collect();
    assert_eq!(segs[1].buf, Segment::new(64, 16));
    dev.write(&held, 0, &[7; 16]).unwrap();
    dev.push_used(&held, 16).unwrap();
    still_usable(&mut dev, ring, base, 5);
}

#[test]
fn a_chain_as_long_as_the_ring_is_fine() {
    let mut m = mem();
    let (mut dev, ring, base) = device(&mut m);
    for i in 0..8u16 {
        let last = i == 7;
        let flags = if last { 0 } else { VRING_DESC_F_NEXT };
        put_desc(ring, i, base + u64::from(i) * 4, 4, flags, i + 1);
    }
    offer(ring, 0);
    let c = dev.pop_avail().unwrap().unwrap();
    assert_eq!((c.descriptors, c.readable), (8, 32));
    dev.push_used(&c, 0).unwrap();
}

#[test]
fn garbage_in_hint_fields_only_changes_the_kick_decision() {
    let mut m = mem();
    let (mut dev, ring, base) = device(&mut m);
    let l = layout();
    ring.write_u16(l.avail_offset(), 0xffff).unwrap(); // avail.flags
    ring.write_u16(l.used_event_offset(), 0xabcd).unwrap();
    put_desc(ring, 0, base, 16, VRING_DESC_F_WRITE, 0);
    offer(ring, 0);
    let c = dev.pop_avail().unwrap().unwrap();
    dev.push_used(&c, 1).unwrap();
    assert!(!dev.should_notify().unwrap());
}

/// A driver with chains in flight, over a ring that a hostile device writes.
fn driver(m: &mut Mem) -> (DriverQueue<'_, 8>, IoRegion<'_>) {
    let (ring, bufs) = regions(m);
    let mut drv = DriverQueue::new(ring, bufs, CFG, NoCache).unwrap();
    drv.add(&[Segment::new(0, 16)], &[Segment::new(16, 16)])
        .unwrap(); // 0, 1
    drv.add_inbuf(Segment::new(32, 16)).unwrap(); // 2
    (drv, ring)
}

/// Returns `id` with `len` at the next used slot, as a hostile device would.
fn give_back(ring: IoRegion<'_>, id: u32, len: u32) {
    let l = layout();
    let idx = ring
        .load_u16(l.used_idx_offset(), Ordering::Relaxed)
        .unwrap();
    let off = l.used_ring_offset(idx & 7);
    ring.write_u32(off, id).unwrap();
    ring.write_u32(off + 4, len).unwrap();
    ring.store_u16(l.used_idx_offset(), idx.wrapping_add(1), Ordering::Release)
        .unwrap();
}

#[test]
fn used_idx_running_ahead_breaks_the_queue() {
    let mut m = mem();
    let (mut drv, ring) = driver(&mut m);
    let l = layout();
    ring.store_u16(l.used_idx_offset(), 3, Ordering::Release)
        .unwrap();
    assert_eq!(
        drv.pop_used(),
        Err(Error::UsedIdxOutOfRange {
            idx: 3,
            last: 0,
            in_flight: 2
        })
    );
    assert!(drv.is_broken());
    assert_eq!(drv.add_inbuf(Segment::new(0, 1)), Err(Error::Broken));
    // Backwards is "ahead" by almost 2^16.
    let mut m = mem();
    let (mut drv, ring) = driver(&mut m);
    ring.store_u16(l.used_idx_offset(), 0xffff, Ordering::Release)
        .unwrap();
    assert!(matches!(
        drv.pop_used(),
        Err(Error::UsedIdxOutOfRange { .. })
    ));
}

#[test]
fn used_ids_that_are_not_in_flight_break_the_queue() {
    for id in [1u32, 3, 8, 0x1_0000, u32::MAX] {
        let mut m = mem();
        let (mut drv, ring) = driver(&mut m);
        give_back(ring, id, 0);
        assert_eq!(
            drv.pop_used(),
            Err(Error::UsedIdNotInFlight { id }),
            "id {id}"
        );
        assert!(drv.is_broken());
    }
    // The same chain returned twice.
    let mut m = mem();
    let (mut drv, ring) = driver(&mut m);
    give_back(ring, 2, 0);
    give_back(ring, 2, 0);
    assert_eq!(drv.pop_used().unwrap().unwrap().id, 2);
    assert_eq!(drv.pop_used(), Err(Error::UsedIdNotInFlight { id: 2 }));
}

#[test]
fn used_len_is_clamped_to_what_the_chain_can_hold() {
    let mut m = mem();
    let (mut drv, ring) = driver(&mut m);
    give_back(ring, 0, u32::MAX);
    let u = drv.pop_used().unwrap().unwrap();
    assert_eq!((u.id, u.written, u.reported_len), (0, 16, u32::MAX));
    // OpenAMP returns read-only buffers with the buffer's length.
    let mut m = mem();
    let (ring, bufs) = regions(&mut m);
    let mut drv = DriverQueue::<'_, 8>::new(ring, bufs, CFG, NoCache).unwrap();
    drv.add_outbuf(Segment::new(0, 512)).unwrap();
    give_back(ring, 0, 512);
    let u = drv.pop_used().unwrap().unwrap();
    assert_eq!((u.written, u.reported_len), (0, 512));
}

#[test]
fn the_driver_never_reads_back_its_descriptors() {
    let mut m = mem();
    let (mut drv, ring) = driver(&mut m);
    // The device scribbles over the whole descriptor table and avail ring.
    ring.fill(0, layout().used_offset(), 0xff).unwrap();
    ring.write_u16(layout().used_offset(), 0xffff).unwrap(); // used.flags
    ring.write_u16(layout().avail_event_offset(), 0x1234)
        .unwrap();
    give_back(ring, 0, 5);
    give_back(ring, 2, 5);
    assert_eq!(drv.pop_used().unwrap().unwrap().descriptors, 2);
    assert_eq!(drv.pop_used().unwrap().unwrap().head, Segment::new(32, 16));
    assert_eq!(drv.num_free(), 8);
    // The free list is intact: all eight descriptors can be used again.
    let eight = [Segment::new(0, 1); 8];
    drv.add(&[], &eight).unwrap();
    assert!(
        !drv.should_notify().unwrap(),
        "used.flags has NO_NOTIFY set"
    );
}
