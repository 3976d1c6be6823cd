use core::sync::atomic::Ordering;

use super::*;
use crate::{Error, Segment, VringLayout, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE};

#[test]
fn one_message_each_way() {
    let mut m = mem();
    let (mut drv, mut dev, _ring, bufs) = pair::<16>(&mut m, QueueConfig::new(16, 64));
    bufs.write_bytes(0, b"hello").unwrap();
    let t = drv
        .add(&[Segment::new(0, 5)], &[Segment::new(512, 64)])
        .unwrap();
    assert_eq!(drv.num_free(), 14);
    assert!(drv.should_notify().unwrap());
    assert!(
        !drv.should_notify().unwrap(),
        "nothing new since the last kick"
    );
    assert!(dev.has_avail().unwrap());
    let c = dev.pop_avail().unwrap().unwrap();
    assert_eq!(
        (c.head, c.descriptors, c.readable, c.writable),
        (t, 2, 5, 64)
    );
    let segs: Vec<_> = dev.segments(&c).unwrap().collect();
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[0].buf, Segment::new(0, 5));
    assert!(!segs[0].writable && segs[1].writable);
    let mut got = [0u8; 8];
    assert_eq!(dev.read(&c, 0, &mut got).unwrap(), 5);
    assert_eq!(&got[..5], b"hello");
    assert_eq!(dev.read(&c, 3, &mut got).unwrap(), 2);
    assert!(matches!(
        dev.write(&c, 0, &[0u8; 65]),
        Err(Error::TooLarge {
            len: 65,
            capacity: 64
        })
    ));
    dev.write(&c, 0, b"world!").unwrap();
    assert!(matches!(
        dev.push_used(&c, 65),
        Err(Error::WrittenTooLarge {
            len: 65,
            capacity: 64,
            ..
        })
    ));
    dev.push_used(&c, 6).unwrap();
    assert!(matches!(
        dev.push_used(&c, 6),
        Err(Error::UnknownToken { .. })
    ));
    assert!(dev.should_notify().unwrap());
    let u = drv.pop_used().unwrap().unwrap();
    assert_eq!(
        (u.id, u.written, u.reported_len, u.descriptors),
        (t, 6, 6, 2)
    );
    assert_eq!(u.head, Segment::new(0, 5));
    let mut back = [0u8; 6];
    bufs.read_bytes(512, &mut back).unwrap();
    assert_eq!(&back, b"world!");
    assert_eq!(drv.num_free(), 16);
    assert!(drv.pop_used().unwrap().is_none());
    assert!(dev.pop_avail().unwrap().is_none());
}

#[test]
fn descriptors_in_memory_match_the_wire_format() {
    let mut m = mem();
    let (mut drv, _dev, ring, bufs) = pair::<4>(&mut m, QueueConfig::new(4, 4));
    let base = bufs.offset_to_phys(0).unwrap();
    drv.add(&[Segment::new(0x10, 3)], &[Segment::new(0x20, 7)])
        .unwrap();
    let l = VringLayout::new(4, 4).unwrap();
    assert_eq!(ring.read_u64(0).unwrap(), base + 0x10);
    assert_eq!(ring.read_u32(8).unwrap(), 3);
    assert_eq!(ring.read_u16(12).unwrap(), VRING_DESC_F_NEXT);
    assert_eq!(ring.read_u16(14).unwrap(), 1);
    assert_eq!(ring.read_u64(16).unwrap(), base + 0x20);
    assert_eq!(ring.read_u16(28).unwrap(), VRING_DESC_F_WRITE);
    assert_eq!(ring.read_u16(l.avail_idx_offset()).unwrap(), 1);
    assert_eq!(ring.read_u16(l.avail_ring_offset(0)).unwrap(), 0);
    assert_eq!(l.used_offset(), 16 * 4 + 6 + 8 + 2);
}

#[test]
fn caller_errors_leave_the_queue_usable() {
    let mut m = mem();
    let (mut drv, mut dev, _ring, bufs) = pair::<4>(&mut m, QueueConfig::new(4, 16));
    assert_eq!(drv.add(&[], &[]), Err(Error::EmptyChain));
    let size = bufs.size();
    assert_eq!(
        drv.add_outbuf(Segment::new(size - 1, 2)),
        Err(Error::BufferOutOfRange {
            offset: size - 1,
            len: 2,
            size
        })
    );
    assert!(drv.add_outbuf(Segment::new(usize::MAX, 2)).is_err());
    let five = [Segment::new(0, 1); 5];
    assert_eq!(
        drv.add(&five, &[]),
        Err(Error::QueueFull { needed: 5, free: 4 })
    );
    for i in 0..4 {
        drv.add_inbuf(Segment::new(i * 16, 16)).unwrap();
    }
    assert_eq!(
        drv.add_inbuf(Segment::new(0, 1)),
        Err(Error::QueueFull { needed: 1, free: 0 })
    );
    for _ in 0..4 {
        let c = dev.pop_avail().unwrap().unwrap();
        dev.push_used(&c, 16).unwrap();
    }
    for _ in 0..4 {
        assert_eq!(drv.pop_used().unwrap().unwrap().written, 16);
    }
    assert_eq!(drv.num_free(), 4);
    assert!(!drv.is_broken() && !dev.is_broken());
}

#[test]
fn bad_sizes_are_refused() {
    let mut m = mem();
    let (ring, bufs) = regions(&mut m);
    assert!(matches!(
        DriverQueue::<'_, 8>::new(ring, bufs, QueueConfig::new(16, 16), NoCache),
        Err(Error::InvalidQueueSize { num: 16, max: 8 })
    ));
    assert!(DriverQueue::<'_, 8>::new(ring, bufs, QueueConfig::new(6, 16), NoCache).is_err());
    assert!(matches!(
        DeviceQueue::<'_, 8>::new(ring, bufs, QueueConfig::new(8, 3), NoCache),
        Err(Error::InvalidAlign { align: 3 })
    ));
    let small = ring.sub_region(0, 100).unwrap();
    assert!(matches!(
        DriverQueue::<'_, 8>::new(small, bufs, QueueConfig::new(8, 16), NoCache),
        Err(Error::RingTooSmall { .. })
    ));
    let odd = ring.sub_region(8, 0x1000).unwrap();
    assert!(matches!(
        DeviceQueue::<'_, 8>::new(odd, bufs, QueueConfig::new(8, 16), NoCache),
        Err(Error::RingMisaligned { .. })
    ));
    // A smaller ring inside a larger shadow is fine.
    assert!(DriverQueue::<'_, 8>::new(ring, bufs, QueueConfig::new(2, 16), NoCache).is_ok());
}

#[test]
fn flags_suppress_kicks_and_interrupts() {
    let mut m = mem();
    let (mut drv, mut dev, _r, _b) = pair::<8>(&mut m, QueueConfig::new(8, 16));
    dev.disable_notifications().unwrap();
    drv.add_inbuf(Segment::new(0, 8)).unwrap();
    assert!(!drv.should_notify().unwrap());
    assert!(
        dev.enable_notifications().unwrap(),
        "a chain is already waiting"
    );
    drv.add_inbuf(Segment::new(8, 8)).unwrap();
    assert!(drv.should_notify().unwrap());

    drv.disable_interrupts().unwrap();
    let c = dev.pop_avail().unwrap().unwrap();
    dev.push_used(&c, 1).unwrap();
    assert!(!dev.should_notify().unwrap());
    assert!(drv.enable_interrupts().unwrap());
    let c = dev.pop_avail().unwrap().unwrap();
    dev.push_used(&c, 1).unwrap();
    assert!(dev.should_notify().unwrap());
    assert!(drv.pop_used().unwrap().is_some());
    assert!(!drv.enable_interrupts().unwrap() || drv.pop_used().unwrap().is_some());
}

#[test]
fn event_idx_kicks_once_per_batch() {
    let mut m = mem();
    let cfg = QueueConfig::new(8, 16).with_event_idx(true);
    let (mut drv, mut dev, ring, _b) = pair::<8>(&mut m, cfg);
    let l = drv.layout();
    // Device idle and listening: avail_event = 0, so the first batch kicks.
    drv.add_inbuf(Segment::new(0, 8)).unwrap();
    drv.add_inbuf(Segment::new(8, 8)).unwrap();
    assert!(drv.should_notify().unwrap());
    // The device took one: avail_event = 1, which the index already
    // passed. The device is busy, so a new add does not kick.
    let c0 = dev.pop_avail().unwrap().unwrap();
    assert_eq!(
        ring.load_u16(l.avail_event_offset(), Ordering::Relaxed)
            .unwrap(),
        1
    );
    drv.add_inbuf(Segment::new(16, 8)).unwrap();
    assert!(!drv.should_notify().unwrap());
    // The device drained the ring (avail_event = 3): the next add kicks.
    let c1 = dev.pop_avail().unwrap().unwrap();
    let c2 = dev.pop_avail().unwrap().unwrap();
    assert!(dev.pop_avail().unwrap().is_none());
    assert_eq!(
        ring.load_u16(l.avail_event_offset(), Ordering::Relaxed)
            .unwrap(),
        3
    );
    drv.add_inbuf(Segment::new(24, 8)).unwrap();
    assert!(drv.should_notify().unwrap());
    // Disabled: the device stops moving avail_event.
    dev.disable_notifications().unwrap();
    let c3 = dev.pop_avail().unwrap().unwrap();
    assert_eq!(
        ring.load_u16(l.avail_event_offset(), Ordering::Relaxed)
            .unwrap(),
        3
    );
    assert!(!dev.enable_notifications().unwrap());
    assert_eq!(
        ring.load_u16(l.avail_event_offset(), Ordering::Relaxed)
            .unwrap(),
        4
    );
    for c in [c2, c3] {
        dev.push_used(&c, 0).unwrap();
    }
    drv.pop_used().unwrap().unwrap();
    drv.pop_used().unwrap().unwrap();
    dev.should_notify().unwrap();
    // used_event is now 2 (the driver took two).

    // Used side: used_event = 2 = the device's used idx: the next push interrupts.
    assert_eq!(
        ring.load_u16(l.used_event_offset(), Ordering::Relaxed)
            .unwrap(),
        2
    );
    dev.push_used(&c0, 0).unwrap();
    assert!(dev.should_notify().unwrap());
    // The driver has not popped: used_event still 2, so no interrupt.
    dev.push_used(&c1, 0).unwrap();
    assert!(!dev.should_notify().unwrap());
    drv.disable_interrupts().unwrap();
    drv.pop_used().unwrap().unwrap();
    drv.pop_used().unwrap().unwrap();
    assert_eq!(
        ring.load_u16(l.used_event_offset(), Ordering::Relaxed)
            .unwrap(),
        2
    );
    assert!(!drv.enable_interrupts().unwrap());
    assert_eq!(
        ring.load_u16(l.used_event_offset(), Ordering::Relaxed)
            .unwrap(),
        4
    );
}

#[test]
fn indices_wrap() {
    let mut m = mem();
    let (mut drv, _dev, ring, bufs) = pair::<4>(&mut m, QueueConfig::new(4, 16));
    drv.start_at(0xfffe).unwrap();
    let mut dev =
        DeviceQueue::<'_, 4>::resume(ring, bufs, QueueConfig::new(4, 16), NoCache).unwrap();
    assert_eq!(dev.last_avail(), 0xfffe);
    for round in 0..6u32 {
        let t = drv.add_inbuf(Segment::new(0, 4)).unwrap();
        let c = dev.pop_avail().unwrap().unwrap();
        assert_eq!(c.head, t);
        dev.push_used(&c, round % 5).unwrap();
        let u = drv.pop_used().unwrap().unwrap();
        assert_eq!((u.id, u.written), (t, round % 5));
    }
    assert_eq!(dev.used_idx(), 4);
}

#[test]
fn chains_of_every_shape_round_trip() {
    let mut m = mem();
    let (mut drv, mut dev, _r, bufs) = pair::<8>(&mut m, QueueConfig::new(8, 16));
    for outs in 0..=4usize {
        for ins in 0..=4usize {
            if outs + ins == 0 {
                continue;
            }
            let o: Vec<_> = (0..outs).map(|i| Segment::new(i * 32, 10)).collect();
            let n: Vec<_> = (0..ins).map(|i| Segment::new(0x400 + i * 32, 10)).collect();
            for (i, s) in o.iter().enumerate() {
                bufs.fill(s.offset, 10, i as u8 + 1).unwrap();
            }
            let t = drv.add(&o, &n).unwrap();
            let c = dev.pop_avail().unwrap().unwrap();
            assert_eq!(usize::from(c.descriptors), outs + ins);
            let mut all = vec![0u8; outs * 10];
            assert_eq!(dev.read(&c, 0, &mut all).unwrap(), outs * 10);
            for (i, b) in all.iter().enumerate() {
                assert_eq!(usize::from(*b), i / 10 + 1);
            }
            let data: Vec<u8> = (0..ins * 10).map(|i| i as u8).collect();
            dev.write(&c, 0, &data).unwrap();
            dev.push_used(&c, (ins * 10) as u32).unwrap();
            let u = drv.pop_used().unwrap().unwrap();
            assert_eq!((u.id, u.written as usize), (t, ins * 10));
            let mut back = vec![0u8; 10];
            for (i, s) in n.iter().enumerate() {
                bufs.read_bytes(s.offset, &mut back).unwrap();
                assert_eq!(back, data[i * 10..i * 10 + 10]);
            }
            assert_eq!(drv.num_free(), 8);
        }
    }
}

#[test]
fn a_resumed_device_knows_whether_kicks_will_come() {
    for event_idx in [false, true] {
        let cfg = QueueConfig::new(4, 16).with_event_idx(event_idx);
        let mut m = mem();
        let (mut drv, mut dev, ring, bufs) = pair::<4>(&mut m, cfg);
        // The device turns kicks off and serves a chain by polling: the
        // ring keeps NO_NOTIFY, or an avail_event that stays behind.
        dev.disable_notifications().unwrap();
        drv.add_inbuf(Segment::new(0, 4)).unwrap();
        assert!(drv.should_notify().unwrap() == event_idx);
        let c = dev.pop_avail().unwrap().unwrap();
        dev.push_used(&c, 0).unwrap();
        assert!(drv.pop_used().unwrap().is_some());
        // It restarts and finds nothing to do. Were it to believe kicks on,
        // it would sleep now, and the driver's next chain must kick it.
        let mut dev = DeviceQueue::<'_, 4>::resume(ring, bufs, cfg, NoCache).unwrap();
        assert_eq!(dev.pop_avail().unwrap(), None);
        drv.add_inbuf(Segment::new(0, 4)).unwrap();
        let kicked = drv.should_notify().unwrap();
        assert!(
            !dev.notifications_enabled() || kicked,
            "event_idx {event_idx}: the resumed device sleeps through a chain"
        );
        assert!(!kicked && !dev.notifications_enabled());
        // Re-enabled, they come again.
        assert!(dev.enable_notifications().unwrap(), "a chain is waiting");
        let c = dev.pop_avail().unwrap().unwrap();
        dev.push_used(&c, 0).unwrap();
        drv.add_inbuf(Segment::new(0, 4)).unwrap();
        assert!(drv.should_notify().unwrap());
        assert!(dev.notifications_enabled());
    }
}

#[test]
fn threads_on_one_region() {
    // Driver and device in two threads; kicks are not needed, both poll.
    let mut m = mem();
    let (mut drv, mut dev, _r, bufs) = pair::<8>(&mut m, QueueConfig::new(8, 16));
    let total: u32 = if cfg!(miri) { 40 } else { 20_000 };
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut done = 0;
            let start = std::time::Instant::now();
            while done < total {
                assert!(start.elapsed().as_secs() < 60, "device timed out");
                if let Some(c) = dev.pop_avail().unwrap() {
                    let mut b = [0u8; 4];
                    dev.read(&c, 0, &mut b).unwrap();
                    let v = u32::from_le_bytes(b);
                    dev.write(&c, 0, &(v ^ 0xffff_ffff).to_le_bytes()).unwrap();
                    dev.push_used(&c, 4).unwrap();
                    done += 1;
                } else {
                    std::thread::yield_now();
                }
            }
        });
        let mut sent = 0u32;
        let mut got = 0u32;
        let start = std::time::Instant::now();
        while got < total {
            assert!(start.elapsed().as_secs() < 60, "driver timed out");
            if sent < total && drv.num_free() >= 2 {
                let slot = (sent as usize % 64) * 16;
                bufs.write_bytes(slot, &sent.to_le_bytes()).unwrap();
                drv.add(&[Segment::new(slot, 4)], &[Segment::new(slot + 8, 4)])
                    .unwrap();
                sent += 1;
            }
            match drv.pop_used().unwrap() {
                Some(u) => {
                    let mut b = [0u8; 4];
                    bufs.read_bytes(u.head.offset + 8, &mut b).unwrap();
                    let v = u32::from_le_bytes(b) ^ 0xffff_ffff;
                    assert_eq!(v as usize % 64 * 16, u.head.offset);
                    assert_eq!(u.written, 4);
                    got += 1;
                }
                None => std::thread::yield_now(),
            }
        }
    });
}
