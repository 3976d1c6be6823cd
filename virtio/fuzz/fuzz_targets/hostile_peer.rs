//! The fuzzer plays a hostile peer against both roles: it writes any field of
//! the ring at any time, while our driver and device go on working. They must
//! answer with values or errors, never panic, and a broken queue stays broken.

#![no_main]

use libfuzzer_sys::fuzz_target;
use openamp_metal::{IoRegion, NoCache};
use openamp_virtio::{DeviceQueue, DriverQueue, Error, QueueConfig, Segment, VringLayout};

const NUM: u32 = 8;
const BUF: usize = 0x1000;

#[repr(C, align(4096))]
struct Mem([u8; 0x2000]);

fuzz_target!(|data: &[u8]| {
    let Some((&cfg_byte, mut script)) = data.split_first() else {
        return;
    };
    let cfg = QueueConfig::new(NUM, 16).with_event_idx(cfg_byte & 1 != 0);
    let layout = VringLayout::new(NUM, 16).unwrap();
    let mut mem = Box::new(Mem([0; 0x2000]));
    let all = IoRegion::from_slice(&mut mem.0);
    let ring = all.sub_region(0, BUF).unwrap();
    let bufs = all.sub_region(BUF, BUF).unwrap();
    // Two rings over the same memory: a driver facing a hostile device, and
    // a device facing a hostile driver, interleaved on one ring.
    let mut drv = DriverQueue::<'_, 8>::new(ring, bufs, cfg, NoCache).unwrap();
    let mut dev = DeviceQueue::<'_, 8>::new(ring, bufs, cfg, NoCache).unwrap();
    let mut held = Vec::new();
    let (mut drv_broken, mut dev_broken) = (false, false);
    while let Some((&op, rest)) = script.split_first() {
        script = rest;
        let arg = |s: &mut &[u8], n: usize| -> u64 {
            let (a, b) = s.split_at(n.min(s.len()));
            *s = b;
            a.iter()
                .rev()
                .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
        };
        match op % 8 {
            // The peer writes 1, 2, 4 or 8 bytes anywhere in the ring.
            0 => {
                let width = 1usize << (op >> 3 & 3);
                let off = (arg(&mut script, 2) as usize % layout.size()) & !(width - 1);
                let v = arg(&mut script, width);
                let _ = match width {
                    1 => ring.write_u8(off, v as u8),
                    2 => ring.write_u16(off, v as u16),
                    4 => ring.write_u32(off, v as u32),
                    _ => ring.write_u64(off, v),
                };
            }
            1 => {
                let off = arg(&mut script, 2) as usize % BUF;
                let len = arg(&mut script, 1) as u32 * 4;
                let n_out = (op >> 3) as usize % 3;
                let n_in = (op >> 5) as usize % 3;
                let segs = [Segment::new(off, len); 4];
                let _ = drv.add(&segs[..n_out], &segs[..n_in]);
            }
            2 => match dev.pop_avail() {
                Ok(Some(c)) => {
                    for s in dev.segments(&c).unwrap() {
                        assert!(bufs.check(s.buf.offset, s.buf.len as usize).is_ok());
                    }
                    let mut b = [0u8; 16];
                    let _ = dev.read(&c, 0, &mut b);
                    let _ = dev.write(&c, 0, &b[..(c.writable as usize).min(16)]);
                    held.push(c);
                }
                Ok(None) => {}
                Err(e) => {
                    assert!(!dev_broken || e == Error::Broken);
                    dev_broken |= e.breaks_queue();
                }
            },
            3 => {
                if !held.is_empty() {
                    let c = held.remove(usize::from(op >> 3) % held.len());
                    let w = arg(&mut script, 2) as u32;
                    let _ = dev.push_used(&c, w.min(c.writable));
                }
            }
            4 => match drv.pop_used() {
                Ok(Some(u)) => assert!(u.written <= u.reported_len),
                Ok(None) => {}
                Err(e) => {
                    assert!(!drv_broken || e == Error::Broken);
                    drv_broken |= e.breaks_queue();
                }
            },
            5 => {
                let _ = drv.should_notify();
                let _ = dev.should_notify();
            }
            6 => {
                let _ = if op & 8 != 0 {
                    dev.enable_notifications().map(|_| ())
                } else {
                    dev.disable_notifications()
                };
            }
            _ => {
                let _ = if op & 8 != 0 {
                    drv.enable_interrupts().map(|_| ())
                } else {
                    drv.disable_interrupts()
                };
            }
        }
        assert_eq!(drv.is_broken(), drv_broken);
        assert_eq!(dev.is_broken(), dev_broken);
    }
});
