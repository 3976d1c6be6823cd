//! The ping host: connects to the remote, binds to its demo channel, sends
//! messages of every size and checks every echo.

use std::time::{Duration, Instant};

use openamp_metal_sys_linux::MonotonicClock;
use openamp_remoteproc::linux::{LinuxProcessHost, LinuxProcessLayout};
use openamp_rpmsg::{Config, EndpointConfig, EndpointId, NotifyWait, RpmsgDevice, Wait};
use openamp_virtio::Transport;

use crate::{pattern, Device, DEMO_CHANNEL};

/// What the ping host measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct PingReport {
    /// Messages echoed and checked.
    pub messages: u64,
    /// Payload bytes sent (and received back).
    pub bytes: u64,
    /// Total round-trip time.
    pub total: Duration,
}

impl PingReport {
    /// Mean round trip in microseconds.
    pub fn mean_us(&self) -> f64 {
        self.total.as_secs_f64() * 1e6 / self.messages.max(1) as f64
    }
}

/// Connects to the remote (waiting up to `timeout` for it to listen).
pub fn connect(layout: &LinuxProcessLayout, timeout: Duration) -> Result<LinuxProcessHost, String> {
    layout.open_host(timeout).map_err(|e| format!("host: {e}"))
}

/// The host's RPMsg device over a connected pair, with OpenAMP's default
/// buffers and this crate's conventions.
pub fn device<'a>(side: &'a LinuxProcessHost) -> Result<Device<'a, 'static>, String> {
    device_with(side, Config::default())
}

/// The host's RPMsg device over a connected pair, configured by `config`
/// (see [`crate::profile`]).
pub fn device_with<'a>(
    side: &'a LinuxProcessHost,
    config: Config,
) -> Result<Device<'a, 'static>, String> {
    let transport = side.transport().map_err(|e| format!("host: {e}"))?;
    let wait = NotifyWait {
        kicks: &side.kick,
        clock: MonotonicClock,
    };
    Device::new_host(transport, wait, config).map_err(|e| format!("host: {e}"))
}

/// Creates the host's demo endpoint and waits until the remote's
/// announcement binds it.
pub fn bind_demo<'a, T: Transport<'a> + Sync, W: Wait, const N: usize, const E: usize>(
    dev: &RpmsgDevice<'a, '_, T, W, N, E>,
    timeout: Duration,
) -> Result<EndpointId, String> {
    let ep = dev
        .create_endpoint(EndpointConfig::named(DEMO_CHANNEL).map_err(|e| e.to_string())?)
        .map_err(|e| format!("host: {e}"))?;
    dev.wait_bound(ep, timeout)
        .map_err(|e| format!("host: remote never announced {DEMO_CHANNEL}: {e}"))?;
    Ok(ep)
}

/// Sends `rounds` x every payload size from 1 to the maximum, one at a time,
/// and checks each echo byte for byte.
pub fn run<'a, T: Transport<'a> + Sync, W: Wait, const N: usize, const E: usize>(
    dev: &RpmsgDevice<'a, '_, T, W, N, E>,
    ep: EndpointId,
    rounds: u64,
    timeout: Duration,
) -> Result<PingReport, String> {
    let max = dev.max_payload();
    let mut sent = vec![0u8; max];
    let mut got = vec![0u8; max];
    let mut report = PingReport::default();
    for round in 0..rounds {
        for size in 1..=max {
            let seq = round * max as u64 + size as u64;
            pattern(seq, size, &mut sent);
            let t = Instant::now();
            dev.send_timeout(ep, &sent[..size], timeout)
                .map_err(|e| format!("host: send #{seq}: {e}"))?;
            let echo = dev
                .recv_timeout(ep, timeout)
                .map_err(|e| format!("host: echo #{seq}: {e}"))?;
            report.total += t.elapsed();
            if echo.len() != size {
                return Err(format!(
                    "host: echo #{seq} has {} bytes, sent {size}",
                    echo.len()
                ));
            }
            echo.read(&mut got[..size]).map_err(|e| e.to_string())?;
            if got[..size] != sent[..size] {
                return Err(format!(
                    "host: echo #{seq} of {size} bytes differs from what was sent"
                ));
            }
            report.messages += 1;
            report.bytes += size as u64;
        }
    }
    Ok(report)
}
