//! The echo remote: announces `rpmsg-openamp-demo-channel` and sends every
//! message back to its sender, as OpenAMP's C echo remote does.
//!
//! It also answers names the host announces (any name starting with `echo`)
//! with an echo endpoint of the same name, and destroys that endpoint when
//! the host destroys its own, so that endpoint life cycles can be tested
//! across processes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use openamp_metal_sys_linux::MonotonicClock;
use openamp_remoteproc::linux::LinuxProcessLayout;
use openamp_rpmsg::{
    BindCallback, Config, EndpointConfig, EndpointId, Error, Name, NotifyWait, RpmsgOps, RxBuffer,
};

use crate::{Device, DEMO_CHANNEL, SHUTDOWN_MAGIC};

/// What the echo remote did.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoReport {
    /// Messages echoed.
    pub echoed: u64,
    /// Endpoints created for the host's announcements.
    pub endpoints_created: u64,
}

/// Runs the echo remote until the host destroys the demo channel, sends the
/// shutdown magic, or goes away. `connect_timeout` bounds the wait for the
/// host to connect and to set DRIVER_OK. `config` says what the remote writes
/// where peers differ (see [`crate::profile`]).
pub fn run(
    layout: &LinuxProcessLayout,
    connect_timeout: Duration,
    config: Config,
) -> Result<EchoReport, String> {
    let side = layout
        .open_remote(connect_timeout)
        .map_err(|e| format!("remote: {e}"))?;
    let transport = side.transport().map_err(|e| format!("remote: {e}"))?;
    let wait = NotifyWait {
        kicks: &side.kick,
        clock: MonotonicClock,
    };

    let stop = AtomicBool::new(false);
    let echoed = AtomicU64::new(0);
    let created = AtomicU64::new(0);
    let on_message = |dev: &dyn RpmsgOps<'_>, ep: EndpointId, msg: RxBuffer<'_>| {
        // Default-sized messages bounce through the stack; larger ones
        // (bigger buffers configured on both sides) through the heap.
        let mut small = [0u8; 512];
        let mut large = Vec::new();
        let buf: &mut [u8] = if msg.len() <= small.len() {
            &mut small
        } else {
            large.resize(msg.len(), 0);
            &mut large
        };
        let n = match msg.read(buf) {
            Ok(n) => n,
            Err(_) => return,
        };
        if n >= 4 && buf[..4] == SHUTDOWN_MAGIC.to_le_bytes() {
            stop.store(true, Ordering::Relaxed);
            return;
        }
        let src = msg.src();
        // Give the buffer back before sending: the host may have no other
        // free receive buffer to send in.
        drop(msg);
        match dev.send_to_timeout(ep, src, &buf[..n], Duration::from_secs(15)) {
            Ok(()) => {
                echoed.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => eprintln!("echo remote: cannot echo {n} bytes: {e}"),
        }
    };
    let on_unbind = |dev: &dyn RpmsgOps<'_>, ep: EndpointId| {
        // The host destroyed its end. The demo channel stops the demo, as in
        // OpenAMP; an endpoint made for a host announcement goes away.
        match dev.addr(ep) {
            Ok(_) if is_demo(dev, ep) => stop.store(true, Ordering::Relaxed),
            Ok(_) => {
                let _ = dev.destroy_endpoint(ep);
            }
            Err(_) => {}
        }
    };
    // Typed, so that the endpoints it creates may borrow the callbacks above.
    let on_bind: BindCallback<'_> = &|dev, name: &Name, _addr| {
        if name.trimmed().starts_with(b"echo") {
            let cfg = EndpointConfig {
                name: *name,
                ..EndpointConfig::anonymous()
            }
            .callback(&on_message)
            .unbind(&on_unbind);
            match dev.create_endpoint(cfg) {
                Ok(_) => {
                    created.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => eprintln!("echo remote: cannot create endpoint {name:?}: {e}"),
            }
        }
    };

    let mut dev: Device<'_, '_> = Device::new_remote(transport, wait, config, connect_timeout)
        .map_err(|e| format!("remote: {e}"))?;
    dev.set_bind_callback(on_bind);
    let demo = EndpointConfig::named(DEMO_CHANNEL)
        .map_err(|e| e.to_string())?
        .callback(&on_message)
        .unbind(&on_unbind);
    dev.create_endpoint(demo)
        .map_err(|e| format!("remote: {e}"))?;

    while !stop.load(Ordering::Relaxed) {
        match dev.wait_and_poll(Duration::from_millis(100)) {
            Ok(_) => {}
            // The host went away or reset: the demo is over for this remote.
            Err(Error::PeerReset { .. }) => break,
            Err(e) => return Err(format!("remote: {e}")),
        }
    }
    Ok(EchoReport {
        echoed: echoed.load(Ordering::Relaxed),
        endpoints_created: created.load(Ordering::Relaxed),
    })
}

/// Whether `ep` is the demo channel (its address is the first dynamic one
/// the remote handed out, made before any other).
fn is_demo(dev: &dyn RpmsgOps<'_>, ep: EndpointId) -> bool {
    dev.addr(ep) == Ok(openamp_rpmsg::wire::RESERVED_ADDRS)
}
