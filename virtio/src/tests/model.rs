//! Model check of the notification protocol with loom: every interleaving
//! (up to a preemption bound) of a driver and a device that sleep when idle
//! and kick each other, for kick suppression by the ring flags and by
//! `EVENT_IDX`, with kicks left on and with kicks turned off while a side
//! works ([`STYLES`]). A lost kick leaves both sides asleep, which loom
//! reports as a deadlock; a chain completed twice, or a descriptor the
//! device is handed while it holds it, fails an assertion of the
//! [`exchange`](super::exchange) or a queue's own check.
//!
//! Run: `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p
//! openamp-virtio --lib --release model` (`cargo xtask test` does).
//! `LOOM_MAX_PREEMPTIONS` overrides the bound.
//!
//! # What is modelled, and the trade-off
//!
//! This is a model of the exact code, not a re-implementation: the
//! `DriverQueue` and `DeviceQueue` under test are the production ones, with
//! every ring load, store and fence they make. Only the memory below them is
//! swapped: under `cfg(loom)`, `Ring` keeps each ring field in a loom atomic
//! of the field's width (`crate::loom_ring`) and `crate::ring::fence` is
//! loom's fence. The price is a cfg switch in `ring.rs` (a type alias and a
//! `use`) and the fact that the queues' buffer region stays real memory,
//! invisible to loom: the model checks the protocol on ring fields, not the
//! buffers' contents (the two-thread tests under Miri run the same exchange
//! on real memory, `super::threads`). A separate re-implementation of the
//! protocol would have needed no switch but could drift from the code, and
//! a drift between two copies of a decision is where this missing
//! fence was (the driver had it, the device did not).
//!
//! It has teeth: with any one of the six `SeqCst` fences of `driver.rs` and
//! `device.rs` removed, at least one of the four checks deadlocks (the
//! fence after `avail_event` in `pop_avail` is caught by [`model_event_idx`]).
//!
//! Limits: loom explores stale reads (a load may return any store it has not
//! been ordered after), which is the store-buffering pattern behind lost
//! kicks, but not a thread's reordering of its own independent relaxed
//! accesses. Its `SeqCst` fence synchronises with every earlier one, more
//! than C++ promises, so it can miss a fence bug but not invent one (Miri's
//! weak-memory emulation, with many seeds, is the complement). The ring has
//! 2 entries and carries 3 chains, so the driver finds it full and
//! descriptors are reused; the doorbell is a latched kick with
//! acquire/release, as in [`Bell`]; there is no cache maintenance. With the
//! bound at 3 the four checks take ~10 s in release (8 000 to 60 000
//! executions each); `LOOM_MAX_PREEMPTIONS=4` takes ~1 min and passes too.

use std::sync::atomic::{AtomicUsize, Ordering};

use loom::sync::{Arc, Condvar, Mutex};
use openamp_metal::{IoRegion, NoCache};

use super::exchange::{self, Bell, Style, STYLES};
use super::{BUF, MEM};
use crate::{loom_ring, DeviceQueue, DriverQueue, QueueConfig, VringLayout};

/// Ring entries.
const NUM: u32 = 2;
/// Chains the driver offers in one execution.
const TOTAL: u32 = 3;
/// Preemptions per execution explored, unless `LOOM_MAX_PREEMPTIONS` says.
const PREEMPTIONS: usize = 3;

/// A latched kick, taken by the waiter, over loom's mutex and condvar: a
/// waiter no kick ever reaches blocks for good, and loom fails the model
/// when both sides do.
struct LoomBell {
    rung: Mutex<bool>,
    cv: Condvar,
}

impl LoomBell {
    fn new() -> Self {
        LoomBell {
            rung: Mutex::new(false),
            cv: Condvar::new(),
        }
    }
}

impl Bell for LoomBell {
    fn ring(&self) {
        *self.rung.lock().unwrap() = true;
        self.cv.notify_one();
    }
    fn wait(&self, _who: &'static str) {
        let mut rung = self.rung.lock().unwrap();
        while !*rung {
            rung = self.cv.wait(rung).unwrap();
        }
        *rung = false;
    }
}

/// Checks every interleaving of one exchange in `style`.
fn check(style: Style) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(PREEMPTIONS);
    }
    // Made once for all executions of this check: loom's threads need
    // `'static` queues, and under the model the ring's fields live in loom
    // cells, not in these bytes (nor are the buffers read or written).
    let all = IoRegion::from_slice(&mut Box::leak(super::mem()).0);
    let executions = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&executions);
    builder.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        let ring = all.sub_region(0, BUF).unwrap();
        let bufs = all.sub_region(BUF, MEM - BUF).unwrap();
        let cfg = QueueConfig::new(NUM, 4).with_event_idx(style.event_idx);
        // Dropped last, after both queues.
        let _cells = loom_ring::share(&ring, VringLayout::new(NUM, 4).unwrap());
        let mut drv = DriverQueue::<2>::new(ring, bufs, cfg, NoCache).unwrap();
        let mut dev = DeviceQueue::<2>::new(ring, bufs, cfg, NoCache).unwrap();
        let to_driver = Arc::new(LoomBell::new());
        let to_device = Arc::new(LoomBell::new());
        let device = {
            let (to_driver, to_device) = (Arc::clone(&to_driver), Arc::clone(&to_device));
            loom::thread::spawn(move || {
                exchange::device(&mut dev, TOTAL, style, &*to_device, &*to_driver)
            })
        };
        exchange::driver(&mut drv, TOTAL, style, &*to_driver, &*to_device);
        device.join().unwrap();
    });
    let n = executions.load(Ordering::Relaxed);
    eprintln!("{style:?}: {n} executions, every one without a lost kick or a double completion");
    // A model that stopped exploring early would prove nothing.
    assert!(n > 1000, "only {n} executions explored");
}

#[test]
fn model_event_idx() {
    check(STYLES[0]);
}

#[test]
fn model_event_idx_toggled() {
    check(STYLES[1]);
}

#[test]
fn model_flags() {
    check(STYLES[2]);
}

#[test]
fn model_flags_toggled() {
    check(STYLES[3]);
}
