//! Endpoint handles and what a device needs to know about each endpoint.

use crate::wire::{Name, ADDR_ANY};

/// A handle to an endpoint of one device.
///
/// It names a slot and that slot's generation, so a handle to a destroyed
/// endpoint stays invalid even after the slot is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndpointId {
    pub(crate) slot: u16,
    pub(crate) gen: u32,
}

/// A message for a callback endpoint: who sent it, and the buffer.
pub type Callback<'cb> =
    &'cb (dyn Fn(&dyn crate::RpmsgOps, EndpointId, crate::RxBuffer<'_>) + Send + Sync);

/// Called when the peer announces a name no local endpoint waits for.
pub type BindCallback<'cb> = &'cb (dyn Fn(&dyn crate::RpmsgOps<'cb>, &Name, u32) + Send + Sync);

/// Called when the peer destroys the endpoint an endpoint was bound to.
pub type UnbindCallback<'cb> = &'cb (dyn Fn(&dyn crate::RpmsgOps<'cb>, EndpointId) + Send + Sync);

/// How to create an endpoint.
#[derive(Clone, Copy)]
pub struct EndpointConfig<'cb> {
    /// Its name: announced to the peer (when name service is on) and matched
    /// against the peer's announcements. Empty: never announced.
    pub name: Name,
    /// Its own address, or [`ADDR_ANY`] for a dynamic one (from 1024 up).
    pub addr: u32,
    /// The peer's address, or [`ADDR_ANY`] to learn it from name service.
    pub dest: u32,
    /// Receives every message by callback (run by `poll`). Without one,
    /// messages wait for `try_recv`, `recv_timeout` or `recv().await`.
    pub callback: Option<Callback<'cb>>,
    /// Told when the peer destroys the endpoint this one is bound to.
    pub unbind: Option<UnbindCallback<'cb>>,
}

impl<'cb> EndpointConfig<'cb> {
    /// An endpoint named `name` with a dynamic address, bound by name service.
    pub fn named(name: &str) -> Result<Self, crate::Error> {
        Ok(EndpointConfig {
            name: Name::new(name)?,
            ..Self::anonymous()
        })
    }

    /// An unnamed endpoint with a dynamic address and no destination.
    pub fn anonymous() -> Self {
        EndpointConfig {
            name: Name::EMPTY,
            addr: ADDR_ANY,
            dest: ADDR_ANY,
            callback: None,
            unbind: None,
        }
    }

    /// With a fixed own address.
    #[must_use]
    pub fn addr(mut self, addr: u32) -> Self {
        self.addr = addr;
        self
    }

    /// With a known destination.
    #[must_use]
    pub fn dest(mut self, dest: u32) -> Self {
        self.dest = dest;
        self
    }

    /// With a receive callback.
    #[must_use]
    pub fn callback(mut self, cb: Callback<'cb>) -> Self {
        self.callback = Some(cb);
        self
    }

    /// With an unbind callback.
    #[must_use]
    pub fn unbind(mut self, cb: UnbindCallback<'cb>) -> Self {
        self.unbind = Some(cb);
        self
    }
}

impl core::fmt::Debug for EndpointConfig<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EndpointConfig")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .field("dest", &self.dest)
            .field("callback", &self.callback.is_some())
            .field("unbind", &self.unbind.is_some())
            .finish()
    }
}

/// "No index" in the held-message lists.
pub(crate) const NONE: u16 = u16::MAX;

/// One endpoint slot of a device.
pub(crate) struct Slot<'cb> {
    pub live: bool,
    pub gen: u32,
    pub name: Name,
    pub addr: u32,
    pub dest: u32,
    pub callback: Option<Callback<'cb>>,
    pub unbind: Option<UnbindCallback<'cb>>,
    /// First and last held message waiting for this endpoint.
    pub head: u16,
    pub tail: u16,
    /// Who waits for a message in `recv().await`.
    pub waker: Option<core::task::Waker>,
}

impl Slot<'_> {
    pub(crate) const EMPTY: Self = Slot {
        live: false,
        gen: 0,
        name: Name::EMPTY,
        addr: ADDR_ANY,
        dest: ADDR_ANY,
        callback: None,
        unbind: None,
        head: NONE,
        tail: NONE,
        waker: None,
    };
}
