//! One exchange of chains between a driver and a device that sleep when they
//! have nothing to do and kick each other, written once for two harnesses:
//! the two-thread tests ([`super::threads`], natively and under Miri with
//! many seeds) and the loom model ([`super::model`]). Each harness brings its
//! own threads and its own [`Bell`].
//!
//! What is checked: every chain offered comes back exactly once (a chain
//! completed twice, or one never offered, fails an assertion), and no side
//! sleeps for ever while the other waits for it (a lost kick: the harness's
//! [`Bell::wait`] detects it, by a bound or by loom's deadlock check).

use crate::{DeviceQueue, DriverQueue, Segment};

/// A doorbell from one side to the other. A kick is latched until the
/// sleeper takes it, as an IPI's pending bit or an eventfd's count is; ringing
/// it releases, and the wait that takes the kick acquires (a real doorbell
/// write follows a barrier, and taking an interrupt or reading an eventfd
/// orders what follows).
pub(crate) trait Bell {
    /// Kicks the sleeper (or latches the kick for its next wait).
    fn ring(&self);
    /// Sleeps until a kick is latched and takes it; `who` names the sleeper
    /// in the failure of a harness that detects a kick that never comes.
    fn wait(&self, who: &'static str);
}

/// How both sides handle notifications.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// `VIRTIO_RING_F_EVENT_IDX` negotiated (else the ring flags are used).
    pub event_idx: bool,
    /// Each side turns the peer's kicks off while it works and back on
    /// (`enable_interrupts` / `enable_notifications`, which re-check the
    /// ring) only before it sleeps. Without it both sides leave kicks on, and
    /// a side sleeps as soon as its drain of the ring comes up empty: the
    /// empty `pop_avail` / `pop_used` itself is the re-check.
    pub toggle: bool,
}

/// Every combination of [`Style`].
pub(crate) const STYLES: [Style; 4] = [
    Style {
        event_idx: true,
        toggle: false,
    },
    Style {
        event_idx: true,
        toggle: true,
    },
    Style {
        event_idx: false,
        toggle: false,
    },
    Style {
        event_idx: false,
        toggle: true,
    },
];

/// The driver's side: offers `total` one-buffer chains, never more than the
/// ring holds, kicks the device when `should_notify` says so, and takes every
/// chain back, checking that each comes back once. Sleeps on `mine` when it
/// can neither offer nor take anything.
pub(crate) fn driver<const N: usize>(
    drv: &mut DriverQueue<'_, N>,
    total: u32,
    style: Style,
    mine: &impl Bell,
    device: &impl Bell,
) {
    let mut in_flight = [false; N];
    let (mut sent, mut got) = (0u32, 0u32);
    if style.toggle {
        drv.disable_interrupts().unwrap();
    }
    loop {
        while sent < total && drv.num_free() > 0 {
            let slot = 16 * (sent as usize % N);
            let t = usize::from(drv.add_inbuf(Segment::new(slot, 4)).unwrap());
            assert!(!in_flight[t], "descriptor {t} offered while in flight");
            in_flight[t] = true;
            sent += 1;
        }
        if drv.should_notify().unwrap() {
            device.ring();
        }
        while let Some(u) = drv.pop_used().unwrap() {
            let t = usize::from(u.id);
            assert!(in_flight[t], "chain {t} completed twice or never offered");
            in_flight[t] = false;
            got += 1;
        }
        if got == total {
            break;
        }
        if sent < total && drv.num_free() > 0 {
            continue;
        }
        if style.toggle {
            if drv.enable_interrupts().unwrap() {
                drv.disable_interrupts().unwrap();
                continue;
            }
            mine.wait("driver");
            drv.disable_interrupts().unwrap();
        } else {
            mine.wait("driver");
        }
    }
    assert_eq!(drv.pop_used().unwrap(), None, "a chain came back twice");
    assert_eq!(drv.in_flight(), 0);
    assert!(in_flight.iter().all(|f| !f));
}

/// The device's side: drains the available ring, returns every chain it
/// took, interrupts the driver when `should_notify` says so, and sleeps on
/// `mine` until it has returned `total` chains.
pub(crate) fn device<const N: usize>(
    dev: &mut DeviceQueue<'_, N>,
    total: u32,
    style: Style,
    mine: &impl Bell,
    driver: &impl Bell,
) {
    let mut done = 0u32;
    let mut batch = Vec::with_capacity(N);
    if style.toggle {
        dev.disable_notifications().unwrap();
    }
    loop {
        while let Some(c) = dev.pop_avail().unwrap() {
            batch.push(c);
        }
        for c in batch.drain(..) {
            dev.push_used(&c, 0).unwrap();
            done += 1;
        }
        if dev.should_notify().unwrap() {
            driver.ring();
        }
        assert!(done <= total, "more chains than the driver offered");
        if done == total {
            break;
        }
        if style.toggle {
            if dev.enable_notifications().unwrap() {
                dev.disable_notifications().unwrap();
                continue;
            }
            mine.wait("device");
            dev.disable_notifications().unwrap();
        } else {
            mine.wait("device");
        }
    }
}
