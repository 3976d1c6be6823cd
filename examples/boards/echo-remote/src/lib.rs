//! The echo remote of OpenAMP's demo, for bare-metal cores: announce
//! `rpmsg-openamp-demo-channel` and send every message back to its sender,
//! until the host sends the shutdown magic or destroys its endpoint.
//!
//! It is written against `openamp-rpmsg` alone (any transport, any way of
//! waiting), so the same code serves the ZynqMP R5 firmware, the Zynq-7000
//! single-core demo, and builds for Cortex-M remote cores
//! (`thumbv7em-none-eabihf`) as on STM32MP1 or i.MX.
#![no_std]

use core::time::Duration;

use openamp_rpmsg::{EndpointConfig, EndpointId, Error, RpmsgDevice, Wait, ADDR_ANY};
use openamp_virtio::Transport;

/// The endpoint name OpenAMP's echo demo uses.
pub const CHANNEL: &str = "rpmsg-openamp-demo-channel";
/// A payload starting with this word (little-endian) stops the remote.
pub const SHUTDOWN_MAGIC: u32 = 0xEF56_A55A;

/// Why the echo loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The host sent the shutdown magic.
    Magic,
    /// The host destroyed its endpoint (name-service DESTROY).
    Unbound,
}

/// The echo endpoint and what it has done.
#[derive(Debug)]
pub struct Echo {
    /// The announced endpoint.
    pub ep: EndpointId,
    /// Messages echoed so far.
    pub echoed: u32,
    was_bound: bool,
}

impl Echo {
    /// Creates (and announces) the echo endpoint.
    pub fn new<'a, T: Transport<'a> + Sync, W: Wait, const N: usize, const E: usize>(
        dev: &RpmsgDevice<'a, '_, T, W, N, E>,
    ) -> Result<Self, Error> {
        let ep = dev.create_endpoint(EndpointConfig::named(CHANNEL)?)?;
        Ok(Echo {
            ep,
            echoed: 0,
            was_bound: false,
        })
    }

    /// Echoes every message waiting now, without blocking. `Some` when the
    /// host asked to stop.
    pub fn run_once<'a, T: Transport<'a> + Sync, W: Wait, const N: usize, const E: usize>(
        &mut self,
        dev: &RpmsgDevice<'a, '_, T, W, N, E>,
    ) -> Result<Option<Stop>, Error> {
        let mut buf = [0u8; 512];
        while let Some(msg) = dev.try_recv(self.ep)? {
            let n = msg.read(&mut buf)?;
            if n >= 4 && buf[..4] == SHUTDOWN_MAGIC.to_le_bytes() {
                return Ok(Some(Stop::Magic));
            }
            let src = msg.src();
            // Give the buffer back first: the host may need it to send again.
            drop(msg);
            dev.send_to_timeout(self.ep, src, &buf[..n], Duration::from_secs(15))?;
            self.echoed = self.echoed.wrapping_add(1);
        }
        match dev.dest(self.ep)? {
            ADDR_ANY if self.was_bound => Ok(Some(Stop::Unbound)),
            ADDR_ANY => Ok(None),
            _ => {
                self.was_bound = true;
                Ok(None)
            }
        }
    }

    /// Echoes until the host asks to stop, waiting for its kicks between
    /// messages. Errors (a host that reset, a broken ring) end it too.
    pub fn serve<'a, T: Transport<'a> + Sync, W: Wait, const N: usize, const E: usize>(
        &mut self,
        dev: &RpmsgDevice<'a, '_, T, W, N, E>,
    ) -> Result<Stop, Error> {
        loop {
            if let Some(stop) = self.run_once(dev)? {
                return Ok(stop);
            }
            dev.wait_and_poll(Duration::from_millis(1))?;
        }
    }
}
