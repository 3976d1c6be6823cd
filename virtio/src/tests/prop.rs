//! Long random workloads against a model, starting near the 16-bit wrap, and
//! random garbage in the ring.

use std::collections::VecDeque;

use proptest::prelude::*;

use super::*;
use crate::{Chain, Error, Segment};

#[derive(Debug, Clone)]
enum Op {
    /// Offer a chain of `outs` readable and `ins` writable 8-byte buffers.
    Add { outs: usize, ins: usize },
    /// The device takes a chain.
    Pop,
    /// The device returns the `k`-th chain it holds (modulo), with `fill`
    /// parts of 256 of its writable length written.
    Push { k: usize, fill: u8 },
    /// The driver takes a used chain.
    Take,
    /// The driver asks whether to kick; the device toggles notifications.
    Kick { toggle: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..3, 0usize..3).prop_map(|(outs, ins)| Op::Add { outs, ins }),
        3 => Just(Op::Pop),
        3 => (any::<usize>(), any::<u8>()).prop_map(|(k, fill)| Op::Push { k, fill }),
        3 => Just(Op::Take),
        1 => any::<bool>().prop_map(|toggle| Op::Kick { toggle }),
    ]
}

fn cases() -> u32 {
    if cfg!(miri) {
        3
    } else {
        64
    }
}

fn config() -> ProptestConfig {
    let mut c = ProptestConfig::with_cases(cases());
    if cfg!(miri) {
        // Miri's isolation forbids the file access of failure persistence.
        c.failure_persistence = None;
    }
    c
}

fn ops_len() -> core::ops::Range<usize> {
    if cfg!(miri) {
        50..100
    } else {
        300..1500
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_workload_matches_model(
        start in prop_oneof![Just(0u16), 0xff00u16..=0xffff, any::<u16>()],
        event_idx in any::<bool>(),
        ops in proptest::collection::vec(op(), ops_len()),
    ) {
        let mut m = mem();
        let cfg = QueueConfig::new(8, 16).with_event_idx(event_idx);
        let (ring, bufs) = regions(&mut m);
        let mut drv = DriverQueue::<'_, 8>::new(ring, bufs, cfg, NoCache).unwrap();
        drv.start_at(start).unwrap();
        let mut dev = DeviceQueue::<'_, 8>::resume(ring, bufs, cfg, NoCache).unwrap();
        prop_assert_eq!(dev.last_avail(), start);

        // Model: chains offered, not yet taken (token, outs, ins, tag).
        let mut offered: VecDeque<(u16, usize, usize, u8)> = VecDeque::new();
        let mut held: Vec<(Chain, u8, usize)> = Vec::new();
        let mut used: VecDeque<(u16, u32, u8, usize)> = VecDeque::new();
        let mut tag: u8 = 0;
        let mut notifications = true;
        for op in ops {
            match op {
                Op::Add { outs, ins } => {
                    let n = outs + ins;
                    tag = tag.wrapping_add(1);
                    // Each chain gets its own 64-byte slot per tag, 8 bytes a buffer.
                    let base = usize::from(tag) * 64;
                    let segs: Vec<_> = (0..n).map(|i| Segment::new(base + 8 * i, 8)).collect();
                    for s in &segs[..outs] {
                        bufs.fill(s.offset, 8, tag).unwrap();
                    }
                    let free = usize::from(drv.num_free());
                    let r = drv.add(&segs[..outs], &segs[outs..]);
                    if n == 0 {
                        prop_assert_eq!(r, Err(Error::EmptyChain));
                    } else if n > free {
                        prop_assert!(matches!(r, Err(Error::QueueFull { .. })), "{:?}", r);
                    } else {
                        offered.push_back((r.unwrap(), outs, ins, tag));
                    }
                }
                Op::Pop => {
                    let c = dev.pop_avail().unwrap();
                    match offered.pop_front() {
                        None => prop_assert!(c.is_none()),
                        Some((t, outs, ins, tg)) => {
                            let c = c.unwrap();
                            prop_assert_eq!(c.head, t);
                            prop_assert_eq!(usize::from(c.descriptors), outs + ins);
                            prop_assert_eq!(c.readable as usize, 8 * outs);
                            prop_assert_eq!(c.writable as usize, 8 * ins);
                            let mut b = [0u8; 16];
                            let n = dev.read(&c, 0, &mut b).unwrap();
                            prop_assert_eq!(n, 8 * outs);
                            prop_assert!(b[..n].iter().all(|&x| x == tg));
                            held.push((c, tg, usize::from(tg) * 64 + 8 * outs));
                        }
                    }
                }
                Op::Push { k, fill } => {
                    if held.is_empty() {
                        continue;
                    }
                    let (c, tg, first_in) = held.remove(k % held.len());
                    let written = c.writable * u32::from(fill) / 255;
                    let data = vec![!tg; written as usize];
                    dev.write(&c, 0, &data).unwrap();
                    dev.push_used(&c, written).unwrap();
                    used.push_back((c.head, written, tg, first_in));
                }
                Op::Take => {
                    let u = drv.pop_used().unwrap();
                    match used.pop_front() {
                        None => prop_assert!(u.is_none()),
                        Some((t, written, tg, first_in)) => {
                            let u = u.unwrap();
                            prop_assert_eq!((u.id, u.written), (t, written));
                            // The writable buffers are contiguous after the readable ones.
                            let mut b = vec![0u8; written as usize];
                            bufs.read_bytes(first_in, &mut b).unwrap();
                            prop_assert!(b.iter().all(|&x| x == !tg));
                        }
                    }
                }
                Op::Kick { toggle } => {
                    let _ = drv.should_notify().unwrap();
                    let _ = dev.should_notify().unwrap();
                    if toggle {
                        notifications = !notifications;
                        if notifications {
                            let more = dev.enable_notifications().unwrap();
                            prop_assert_eq!(more, !offered.is_empty());
                        } else {
                            dev.disable_notifications().unwrap();
                        }
                    }
                }
            }
            prop_assert_eq!(
                usize::from(drv.in_flight()),
                offered.len() + held.len() + used.len()
            );
        }
        prop_assert!(!drv.is_broken() && !dev.is_broken());
    }
}

proptest! {
    #![proptest_config(config())]

    /// Whatever the peer leaves in the ring, both sides answer with a value
    /// or an error, never a panic, and a broken queue stays broken.
    #[test]
    fn garbage_rings_never_panic(
        garbage in proptest::collection::vec(any::<u8>(), 0x200),
        event_idx in any::<bool>(),
        adds in 0usize..8,
        rounds in 1usize..20,
    ) {
        let mut m = mem();
        let cfg = QueueConfig::new(8, 16).with_event_idx(event_idx);
        let (ring, bufs) = regions(&mut m);
        let mut drv = DriverQueue::<'_, 8>::new(ring, bufs, cfg, NoCache).unwrap();
        for i in 0..adds {
            drv.add_inbuf(Segment::new(i * 16, 16)).unwrap();
        }
        // Garbage over the descriptors, both rings, and the event fields.
        ring.write_bytes(0, &garbage).unwrap();
        let mut dev = DeviceQueue::<'_, 8>::resume(ring, bufs, cfg, NoCache).unwrap();
        let mut seen_broken = false;
        for _ in 0..rounds {
            match dev.pop_avail() {
                Ok(Some(c)) => {
                    prop_assert!(c.readable as usize + c.writable as usize <= bufs.size() * 8);
                    for s in dev.segments(&c).unwrap() {
                        prop_assert!(bufs.check(s.buf.offset, s.buf.len as usize).is_ok());
                    }
                    let w = c.writable.min(4);
                    dev.write(&c, 0, &[1; 4][..w as usize]).unwrap();
                    dev.push_used(&c, w).unwrap();
                }
                Ok(None) => {}
                Err(e) => {
                    prop_assert!(!seen_broken || e == Error::Broken);
                    seen_broken |= e.breaks_queue();
                    prop_assert_eq!(dev.is_broken(), seen_broken);
                }
            }
            let _ = dev.should_notify();
            let _ = drv.pop_used();
            let _ = drv.should_notify();
            let _ = drv.add_inbuf(Segment::new(0, 16));
        }
    }
}
