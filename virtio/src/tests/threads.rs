//! The [`exchange`](super::exchange) between a driver and a device in two
//! threads, which sleep when idle and kick each other through a spinning
//! [`Bell`]. Under Miri's weak-memory emulation a store may stay invisible to
//! the other thread until a fence or a synchronisation publishes it, so a
//! missing `SeqCst` fence between "I want a kick" and "is there work?" shows
//! up as a lost kick within a few seeds: `cargo xtask test` runs these with
//! `-Zmiri-many-seeds` (filter `threads_`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use openamp_metal::NoCache;

use super::exchange::{self, Bell, Style, STYLES};
use super::{mem, regions};
use crate::{DeviceQueue, DriverQueue, QueueConfig};

/// Kicks latched in an atomic flag; the sleeper spins on it for a bounded
/// time and fails when no kick comes (the peer is then asleep too, or gone).
struct SpinBell(AtomicBool);

impl SpinBell {
    const fn new() -> Self {
        SpinBell(AtomicBool::new(false))
    }
}

/// Spins a waiter may make under Miri before it calls the kick lost. The
/// peer runs between two of them (Miri switches threads at a yield), and it
/// needs a few hundred at most to reach its next kick.
const MIRI_SPINS: u32 = 20_000;
/// How long a native waiter waits before it calls the kick lost.
const NATIVE_WAIT: Duration = Duration::from_secs(20);

impl Bell for SpinBell {
    fn ring(&self) {
        self.0.store(true, Ordering::Release);
    }
    fn wait(&self, who: &'static str) {
        let start = Instant::now();
        let mut spins = 0u32;
        while !self.0.swap(false, Ordering::Acquire) {
            spins += 1;
            let expired = if cfg!(miri) {
                spins > MIRI_SPINS
            } else {
                start.elapsed() > NATIVE_WAIT
            };
            assert!(!expired, "lost kick: the {who} sleeps and no kick comes");
            std::thread::yield_now();
        }
    }
}

/// Runs `total` chains through a ring of 4 entries with `style`, the device
/// in a second thread.
fn run(style: Style, total: u32) {
    let mut m = mem();
    let (ring, bufs) = regions(&mut m);
    let cfg = QueueConfig::new(4, 16).with_event_idx(style.event_idx);
    let mut drv = DriverQueue::<4>::new(ring, bufs, cfg, NoCache).unwrap();
    let mut dev = DeviceQueue::<4>::new(ring, bufs, cfg, NoCache).unwrap();
    let (to_driver, to_device) = (SpinBell::new(), SpinBell::new());
    std::thread::scope(|s| {
        let (to_driver, to_device) = (&to_driver, &to_device);
        s.spawn(move || exchange::device(&mut dev, total, style, to_device, to_driver));
        exchange::driver(&mut drv, total, style, to_driver, to_device);
    });
}

fn total() -> u32 {
    if cfg!(miri) {
        24
    } else {
        20_000
    }
}

#[test]
fn threads_kick_event_idx() {
    run(STYLES[0], total());
}

#[test]
fn threads_kick_event_idx_toggled() {
    run(STYLES[1], total());
}

#[test]
fn threads_kick_flags() {
    run(STYLES[2], total());
}

#[test]
fn threads_kick_flags_toggled() {
    run(STYLES[3], total());
}
