//! The echoing side, in either role: answers every lane the peer announces
//! (names starting with `soak-`) with an endpoint of the same name, and
//! sends every message back to its sender in the order it came, copied or
//! in place, keeping a random number of received buffers a while.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openamp_examples_linux::Device;
use openamp_rpmsg::{EndpointConfig, EndpointId, Error, Name, RpmsgOps, RxBuffer, TxBuffer};

use crate::traffic::{Rng, MAX_PAYLOAD, WAIT_SLICE};

/// Names of the soak's lanes start with this.
pub const LANE_PREFIX: &str = "soak-";

/// Received messages the echo keeps at most before it must answer.
const MAX_PENDING: usize = 64;

/// How long the echo goes on without a single message before it gives up
/// (the peer must be stuck).
const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// The bind callback's endpoints, for the echo loop to poll.
pub type Lanes = Mutex<Vec<EndpointId>>;

/// What the bind callback does: creates an endpoint for each lane the peer
/// announces, for the echo loop to poll.
pub fn on_bind(lanes: &Lanes, dev: &dyn RpmsgOps<'_>, name: &Name) {
    if !name.trimmed().starts_with(LANE_PREFIX.as_bytes()) {
        return;
    }
    let cfg = EndpointConfig {
        name: *name,
        ..EndpointConfig::anonymous()
    };
    match dev.create_endpoint(cfg) {
        Ok(ep) => lanes.lock().unwrap().push(ep),
        Err(e) => eprintln!("soak echo: cannot create endpoint {name:?}: {e}"),
    }
}

/// Echoes until the peer resets or goes away (`Ok(echoed)`), or something
/// else goes wrong.
///
/// Once `hold` is set, it stops answering, keeps what arrives, takes up to
/// two transmit buffers, prints `holding rx=N tx=M` and waits (to be
/// killed while it holds zero-copy buffers).
pub fn run(
    dev: &Device<'_, '_>,
    lanes: &Lanes,
    seed: u64,
    hold: Option<&AtomicBool>,
) -> Result<u64, Error> {
    let mut rng = Rng::new(seed);
    let mut pending: VecDeque<(EndpointId, RxBuffer<'_>)> = VecDeque::new();
    let mut held_tx: Vec<TxBuffer<'_>> = Vec::new();
    let mut holding = false;
    let mut echoed = 0u64;
    let mut buf = [0u8; MAX_PAYLOAD];
    let mut last_progress = Instant::now();
    loop {
        let eps: Vec<EndpointId> = lanes.lock().unwrap().clone();
        let mut arrived = false;
        for &ep in &eps {
            while pending.len() < MAX_PENDING {
                match dev.try_recv(ep) {
                    Ok(Some(m)) => {
                        pending.push_back((ep, m));
                        arrived = true;
                    }
                    Ok(None) => break,
                    Err(Error::PeerReset { .. }) => return Ok(echoed),
                    Err(e) => return Err(e),
                }
            }
        }
        if hold.is_some_and(|h| h.load(Ordering::Relaxed)) {
            if !holding && !pending.is_empty() {
                while held_tx.len() < 2 {
                    match dev.try_alloc_tx() {
                        Ok(mut tx) => {
                            tx.write_at(0, &[0x5A; 40])?;
                            held_tx.push(tx);
                        }
                        Err(Error::WouldBlock) => break,
                        Err(Error::PeerReset { .. }) => return Ok(echoed),
                        Err(e) => return Err(e),
                    }
                }
                holding = true;
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "holding rx={} tx={}", pending.len(), held_tx.len());
                let _ = out.flush();
            }
            if last_progress.elapsed() > IDLE_LIMIT {
                return Err(Error::Timeout);
            }
            match dev.wait_and_poll(WAIT_SLICE) {
                Ok(_) => continue,
                Err(Error::PeerReset { .. }) => return Ok(echoed),
                Err(e) => return Err(e),
            }
        }
        // Answer all but a few (all of them when nothing new came).
        let keep = if arrived { rng.below(5) as usize } else { 0 };
        let mut sent_any = false;
        while pending.len() > keep {
            let Some((ep, m)) = pending.front() else {
                break;
            };
            let n = m.read(&mut buf)?;
            let r = if rng.one_in(2) {
                dev.try_alloc_tx().and_then(|mut tx| {
                    tx.write_at(0, &buf[..n])?;
                    tx.send_to(*ep, m.src(), n)
                })
            } else {
                dev.try_send_to(*ep, m.src(), &buf[..n])
            };
            match r {
                Ok(()) => {
                    pending.pop_front();
                    echoed += 1;
                    sent_any = true;
                }
                Err(Error::WouldBlock) => break,
                Err(Error::PeerReset { .. }) => return Ok(echoed),
                Err(e) => return Err(e),
            }
        }
        if arrived || sent_any {
            last_progress = Instant::now();
            continue;
        }
        if last_progress.elapsed() > IDLE_LIMIT {
            return Err(Error::Timeout);
        }
        match dev.wait_and_poll(WAIT_SLICE) {
            Ok(_) => {}
            Err(Error::PeerReset { .. }) => return Ok(echoed),
            Err(e) => return Err(e),
        }
    }
}
