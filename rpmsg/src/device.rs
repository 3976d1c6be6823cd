//! [`RpmsgDevice`]: endpoints and messages over the two virtqueues.

use core::time::Duration;

use openamp_metal::{IoRegion, Mutex};
use openamp_virtio::status::{negotiate, DeviceStatus, STATUS_DRIVER_OK};
use openamp_virtio::{transport, Transport};

use crate::buffer::{BufferOwner, RxBuffer, TxBuffer, TxInner};
use crate::conventions::{Conventions, NamePadding, Reserved, StatusWrites, JUNK};
use crate::endpoint::{BindCallback, EndpointConfig, EndpointId, Slot, NONE};
use crate::queues::{Buf, HostQueues, Queues, RemoteQueues, RxTok, VRING0, VRING1};
use crate::wait::Wait;
use crate::wire::{
    Header, Name, NsMessage, ADDR_ANY, DEFAULT_BUFFER_SIZE, HEADER_LEN, NAME_LEN, NS_ADDR,
    NS_CREATE, NS_DESTROY, NS_MSG_LEN, RESERVED_ADDRS, VIRTIO_RPMSG_F_NS,
};
use crate::{Error, Result};

/// How long the blocking calls without an explicit timeout wait for a free
/// transmit buffer (OpenAMP's default).
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// How long blocking receives poll the rings, with the peer's kicks turned
/// off, before they sleep: a reply that comes within this time costs no
/// kick and no wake-up on either side.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(20);

/// Names the peer announced that no endpoint waited for, remembered so that
/// an endpoint created later binds at once.
const ANNOUNCED: usize = 8;

/// Which side of the virtio device this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The virtio driver: owns the buffers (OpenAMP's "host" or "master").
    Host,
    /// The virtio device: exposes the resource table ("remote").
    Remote,
}

/// Buffer sizes and features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Size of the buffers the remote sends in (host's receive buffers),
    /// header included. Used by the host.
    pub rx_buffer_size: u32,
    /// Size of the buffers the host sends in, header included. Used by the host.
    pub tx_buffer_size: u32,
    /// Features we accept (host) or are ready to use (remote).
    pub features: u32,
    /// How we write the points where peers differ; the default is what
    /// both OpenAMP C and Linux accept.
    pub conventions: Conventions,
}

impl Default for Config {
    /// 512-byte buffers both ways and name service: what OpenAMP and Linux use.
    fn default() -> Self {
        Config {
            rx_buffer_size: DEFAULT_BUFFER_SIZE,
            tx_buffer_size: DEFAULT_BUFFER_SIZE,
            features: VIRTIO_RPMSG_F_NS,
            conventions: Conventions::OURS,
        }
    }
}

/// Counters of what the device has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Messages delivered to endpoints.
    pub received: u64,
    /// Messages sent.
    pub sent: u64,
    /// Messages for an address no endpoint has, dropped.
    pub dropped_unknown_addr: u64,
    /// Messages whose header was impossible (length past the buffer),
    /// chains of an impossible shape, and name-service messages that are
    /// not 40 bytes long, have no name, or flags other than CREATE and
    /// DESTROY, dropped.
    pub dropped_malformed: u64,
    /// Name-service messages handled.
    pub name_service: u64,
}

/// A received message waiting for its endpoint, still in its buffer. It
/// owns the buffer's token, so it is not `Copy`: the buffer goes back once.
#[derive(Debug)]
struct Held {
    tok: RxTok,
    buf: Buf,
    meta: Meta,
    next: u16,
}

/// What a receiver learns of a held message.
#[derive(Debug, Clone, Copy)]
struct Meta {
    src: u32,
    dst: u32,
    len: u16,
}

/// What is left to do once the lock is released.
#[derive(Default)]
struct After<'cb> {
    kicks: [bool; 2],
    binds: [Option<(Name, u32)>; 4],
    unbinds: [Option<(EndpointId, crate::endpoint::UnbindCallback<'cb>)>; 4],
    wakers: [Option<core::task::Waker>; 4],
}

impl After<'_> {
    /// Whether there is room for one more event of every kind, so that a
    /// message can be handled without losing its consequences.
    fn has_room(&self) -> bool {
        // `push` fills slots in order and nothing empties one: a list is
        // full exactly when its last slot is taken.
        fn open<T>(slots: &[Option<T>]) -> bool {
            slots.last().is_some_and(Option::is_none)
        }
        open(&self.binds) && open(&self.unbinds) && open(&self.wakers)
    }

    /// Whether a list holds anything (its first slot, as `push` fills in order).
    fn any<T>(slots: &[Option<T>]) -> bool {
        slots.first().is_some_and(Option::is_some)
    }
}

fn push<T>(slots: &mut [Option<T>], v: T) {
    if let Some(s) = slots.iter_mut().find(|s| s.is_none()) {
        *s = Some(v);
    }
}

struct Inner<'a, 'cb, const N: usize, const E: usize> {
    queues: Queues<'a, N>,
    slots: [Slot<'cb>; E],
    held: [Option<Held>; N],
    free: [u16; N],
    free_len: usize,
    announced: [Option<(Name, u32)>; ANNOUNCED],
    reset: Option<u8>,
    next_dyn: u32,
    stats: Stats,
    /// Whether we asked the peer not to kick for received buffers.
    rx_kicks_off: bool,
}

/// An RPMsg device over a virtio transport, in the host or the remote role.
///
/// `N` bounds the ring size (256 for OpenAMP's platforms), `E` the number of
/// endpoints. All methods take `&self`: the device is `Sync` and may be used
/// from several threads; an internal lock is held only for short
/// bookkeeping, never while a callback runs, so callbacks may send, create
/// and destroy endpoints.
///
/// Messages reach endpoints in three ways: endpoints with a callback get
/// them when someone calls [`poll`](Self::poll); the others keep them until
/// [`try_recv`](Self::try_recv), [`recv_timeout`](Self::recv_timeout) or
/// `recv().await` (feature `async`) takes them. Until then each message holds
/// a buffer of the peer's.
///
/// # Interrupt context
///
/// **No method of `RpmsgDevice` may be called from an interrupt handler**
/// (nor may anything the device owns: its buffers, its callbacks' calls).
/// The internal lock is a spin lock ([`openamp_metal::Mutex`]) that does not
/// mask interrupts: a handler that wants it while the code it interrupted
/// on the same core holds it spins forever. The peer's kick reaches the
/// device this way instead: the interrupt handler only records it, with an
/// interrupt-safe notification (for bare metal,
/// `openamp_metal_sys_baremetal::doorbell::KickLatch::signal`: one atomic
/// store), and the thread waits on that notification through the device's
/// [`Wait`] ([`NotifyWait`](crate::NotifyWait) over the latch's
/// `LatchWait`) in [`wait_and_poll`](Self::wait_and_poll),
/// [`recv_timeout`](Self::recv_timeout) or a send that waits for a buffer.
/// See `examples/boards` (`zcu102` echo, `zynq7000` rpmsg) for firmware
/// that does this.
pub struct RpmsgDevice<
    'a,
    'cb,
    T: Transport<'a> + Sync,
    W: Wait,
    const N: usize = 256,
    const E: usize = 32,
> {
    transport: T,
    wait: W,
    buffers: IoRegion<'a>,
    role: Role,
    features: u32,
    max_payload: usize,
    /// How long a blocking receive polls the rings before sleeping.
    spin_ns: u64,
    conventions: Conventions,
    bind: Option<BindCallback<'cb>>,
    inner: Mutex<Inner<'a, 'cb, N, E>>,
}

impl<'a, 'cb, T: Transport<'a> + Sync, W: Wait, const N: usize, const E: usize>
    RpmsgDevice<'a, 'cb, T, W, N, E>
{
    /// Sets the device up as the host: negotiates features, lays out the
    /// buffer pool (receive buffers first, then transmit buffers), offers
    /// every receive buffer, and only then sets DRIVER_OK.
    pub fn new_host(transport: T, wait: W, config: Config) -> Result<Self> {
        let conv = config.conventions;
        let features = match conv.status {
            StatusWrites::Stepwise => transport::driver_start(&transport, config.features)?,
            StatusWrites::DriverOkOnly => {
                // OpenAMP C's host: features first, then DRIVER_OK alone.
                let f = negotiate(transport.device_features()?, config.features);
                transport.set_driver_features(f)?;
                f
            }
        };
        let rings = Self::rings(&transport, features)?;
        let pool = transport.buffers()?;
        let sizes = (config.rx_buffer_size, config.tx_buffer_size);
        let queues = match HostQueues::new(rings, pool, sizes.0, sizes.1, conv) {
            Ok(q) => q,
            Err(e) => {
                let _ = transport::driver_fail(&transport);
                return Err(e);
            }
        };
        let max_payload = (config.tx_buffer_size as usize - HEADER_LEN).min(usize::from(u16::MAX));
        let mut dev = Self::assemble(
            transport,
            wait,
            pool,
            Role::Host,
            features,
            max_payload,
            Queues::Host(queues),
        );
        dev.conventions = conv;
        match conv.status {
            StatusWrites::Stepwise => transport::driver_ready(&dev.transport)?,
            StatusWrites::DriverOkOnly => {
                dev.transport.set_status(DeviceStatus(STATUS_DRIVER_OK))?
            }
        }
        // The remote may already wait for its first buffers. A remote gone
        // by now is a reset, as it would be at any later call.
        if let Err(e) = dev.transport.notify(VRING0) {
            return Err(dev.peer_gone_virtio(e));
        }
        Ok(dev)
    }

    /// Sets the device up as the remote: waits (up to `timeout`) until the
    /// host sets DRIVER_OK, then attaches to the rings it prepared.
    pub fn new_remote(transport: T, wait: W, config: Config, timeout: Duration) -> Result<Self> {
        let ns_timeout = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        let deadline = wait.now_ns().saturating_add(ns_timeout);
        transport.set_device_features(config.features)?;
        let features = loop {
            if let Some(f) = transport::device_poll_ready(&transport)? {
                break f;
            }
            if wait.now_ns() >= deadline {
                return Err(Error::Timeout);
            }
            // OpenAMP polls the status about every millisecond; a kick ends
            // the wait early. A closed channel: the host is gone, a reset.
            if let Err(e) = wait.wait(Duration::from_millis(1)) {
                return Err(match e {
                    openamp_metal::Error::PeerClosed => Error::PeerReset {
                        status: transport.status().map(|s| s.0).unwrap_or(0),
                    },
                    other => other.into(),
                });
            }
        };
        let rings = Self::rings(&transport, features)?;
        let buffers = transport.buffers()?;
        let conv = config.conventions;
        let queues = Queues::Remote(RemoteQueues::new(rings, buffers, conv)?);
        // Buffers come from the host; their size is learnt per buffer.
        let max_payload = usize::from(u16::MAX);
        let mut dev = Self::assemble(
            transport,
            wait,
            buffers,
            Role::Remote,
            features,
            max_payload,
            queues,
        );
        dev.conventions = conv;
        Ok(dev)
    }

    fn rings(t: &T, features: u32) -> Result<[(IoRegion<'a>, openamp_virtio::QueueConfig); 2]> {
        if t.num_queues() < 2 {
            return Err(Error::InvalidConfig {
                what: "RPMsg needs two vrings",
            });
        }
        let v0 = t.vring(VRING0)?;
        let v1 = t.vring(VRING1)?;
        Ok([
            (v0.ring, v0.config(features)),
            (v1.ring, v1.config(features)),
        ])
    }

    fn assemble(
        transport: T,
        wait: W,
        buffers: IoRegion<'a>,
        role: Role,
        features: u32,
        max_payload: usize,
        queues: Queues<'a, N>,
    ) -> Self {
        let mut free = [0u16; N];
        for (i, f) in free.iter_mut().enumerate() {
            *f = i as u16;
        }
        RpmsgDevice {
            transport,
            wait,
            buffers,
            role,
            features,
            max_payload,
            spin_ns: DEFAULT_SPIN.as_nanos() as u64,
            conventions: Conventions::OURS,
            bind: None,
            inner: Mutex::new(Inner {
                queues,
                slots: [const { Slot::EMPTY }; E],
                held: [const { None }; N],
                free,
                free_len: N,
                announced: [None; ANNOUNCED],
                reset: None,
                next_dyn: RESERVED_ADDRS,
                stats: Stats::default(),
                rx_kicks_off: false,
            }),
        }
    }

    /// Sets how long blocking receives ([`recv_timeout`](Self::recv_timeout),
    /// [`wait_and_poll`](Self::wait_and_poll), [`wait_bound`](Self::wait_bound))
    /// poll the rings before they sleep until a kick ([`DEFAULT_SPIN`]).
    /// While they poll, the peer is asked not to kick, so a busy exchange
    /// runs without notifications; zero turns polling off. Kicks come back
    /// on when one of this device's calls is about to sleep or give up:
    /// code that waits for the peer's kicks by itself, outside the device,
    /// should set zero here.
    pub fn set_spin(&mut self, spin: Duration) {
        self.spin_ns = u64::try_from(spin.as_nanos()).unwrap_or(u64::MAX);
    }

    /// Sets the callback told about names the peer announces that no local
    /// endpoint waits for (the usual place to create a matching endpoint).
    pub fn set_bind_callback(&mut self, cb: BindCallback<'cb>) {
        self.bind = Some(cb);
    }

    /// This device's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The negotiated features.
    pub fn features(&self) -> u32 {
        self.features
    }

    /// Whether name service was negotiated.
    pub fn name_service(&self) -> bool {
        self.features & VIRTIO_RPMSG_F_NS != 0
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The largest payload one message can carry.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.inner.lock().stats
    }

    /// Whether the peer was found reset or gone; every call fails then.
    pub fn is_reset(&self) -> bool {
        self.inner.lock().reset.is_some()
    }

    // ---- endpoints -------------------------------------------------------

    /// Creates an endpoint. With name service negotiated, a named endpoint
    /// whose destination is still unknown is announced to the peer; if the
    /// peer already announced that name, the endpoint is bound at once.
    pub fn create_endpoint(&self, cfg: EndpointConfig<'cb>) -> Result<EndpointId> {
        let (id, announce) = {
            let mut inner = self.inner.lock();
            inner.check()?;
            let addr = inner.choose_addr(cfg.addr)?;
            let index = inner
                .slots
                .iter()
                .position(|s| !s.live)
                .ok_or(Error::TooManyEndpoints { max: E })?;
            let mut dest = cfg.dest;
            if dest == ADDR_ANY && !cfg.name.is_empty() {
                if let Some((_, a)) = inner
                    .announced
                    .iter()
                    .flatten()
                    .find(|(n, _)| *n == cfg.name)
                {
                    dest = *a;
                }
            }
            let slot = &mut inner.slots[index];
            let gen = slot.gen.wrapping_add(1);
            *slot = Slot {
                live: true,
                gen,
                name: cfg.name,
                addr,
                dest,
                callback: cfg.callback,
                unbind: cfg.unbind,
                head: NONE,
                tail: NONE,
                waker: None,
            };
            // Announce whenever the caller did not name a destination, even
            // if an earlier announcement bound it already: the peer's endpoint
            // of that name may be waiting to learn our address.
            let announce = self.name_service() && !cfg.name.is_empty() && cfg.dest == ADDR_ANY;
            (
                EndpointId {
                    slot: index as u16,
                    gen,
                },
                announce.then_some(addr),
            )
        };
        if let Some(addr) = announce {
            let msg = NsMessage {
                name: cfg.name,
                addr,
                flags: NS_CREATE,
            };
            if let Err(e) =
                self.send_raw_timeout(addr, NS_ADDR, &self.ns_bytes(&msg), DEFAULT_SEND_TIMEOUT)
            {
                let _ = self.forget(id);
                return Err(e);
            }
        }
        Ok(id)
    }

    /// Destroys an endpoint: messages still waiting for it are given back,
    /// and a named endpoint with a dynamic address is announced destroyed.
    /// The endpoint is gone even when the announcement cannot be sent (the
    /// error then says why).
    pub fn destroy_endpoint(&self, ep: EndpointId) -> Result<()> {
        let (name, addr) = self.forget(ep)?;
        if self.name_service() && !name.is_empty() && addr >= RESERVED_ADDRS && !self.is_reset() {
            let msg = NsMessage {
                name,
                addr,
                flags: NS_DESTROY,
            };
            self.send_raw_timeout(addr, NS_ADDR, &self.ns_bytes(&msg), DEFAULT_SEND_TIMEOUT)?;
        }
        Ok(())
    }

    /// A name-service message as we send it: NUL-padded, or with bytes
    /// after the NUL as OpenAMP C leaves them.
    fn ns_bytes(&self, msg: &NsMessage) -> [u8; NS_MSG_LEN] {
        let mut b = msg.to_bytes();
        if self.conventions.name_padding == NamePadding::Junk {
            let after = msg.name.trimmed().len() + 1;
            for (dst, junk) in b[after.min(NAME_LEN)..NAME_LEN].iter_mut().zip(JUNK) {
                *dst = junk;
            }
        }
        b
    }

    fn forget(&self, ep: EndpointId) -> Result<(Name, u32)> {
        let mut after = After::default();
        let r = {
            let mut inner = self.inner.lock();
            let slot = inner.slot_mut(ep)?;
            slot.live = false;
            let (name, addr) = (slot.name, slot.addr);
            let mut at = core::mem::replace(&mut slot.head, NONE);
            slot.tail = NONE;
            slot.callback = None;
            slot.unbind = None;
            if let Some(w) = slot.waker.take() {
                push(&mut after.wakers, w);
            }
            while at != NONE {
                at = match inner.take_held(at) {
                    Some(h) => {
                        if self.peer_alive(&mut inner) {
                            let len = HEADER_LEN + usize::from(h.meta.len);
                            let _ = inner.queues.return_rx(h.tok, len);
                        }
                        h.next
                    }
                    None => NONE,
                };
            }
            after.kicks = inner.queues.kicks().unwrap_or([false; 2]);
            (name, addr)
        };
        self.finish(after)?;
        Ok(r)
    }

    /// The endpoint's own address.
    pub fn addr(&self, ep: EndpointId) -> Result<u32> {
        Ok(self.inner.lock().slot(ep)?.addr)
    }

    /// The endpoint's destination ([`ADDR_ANY`] while unbound).
    pub fn dest(&self, ep: EndpointId) -> Result<u32> {
        Ok(self.inner.lock().slot(ep)?.dest)
    }

    /// Waits until the endpoint knows its peer's address (so that a first
    /// message never goes nowhere), processing incoming messages meanwhile.
    pub fn wait_bound(&self, ep: EndpointId, timeout: Duration) -> Result<u32> {
        let deadline = self.deadline(timeout);
        loop {
            self.poll()?;
            let dest = self.dest(ep)?;
            if dest != ADDR_ANY {
                return Ok(dest);
            }
            self.wait_until(deadline)?;
        }
    }

    // ---- sending ---------------------------------------------------------

    /// Sends `data` to the endpoint's destination, without waiting:
    /// [`Error::WouldBlock`] when no buffer is free.
    pub fn try_send(&self, ep: EndpointId, data: &[u8]) -> Result<()> {
        let dst = self.bound_dest(ep)?;
        self.try_send_to(ep, dst, data)
    }

    /// Sends `data` to the endpoint's destination, waiting up to
    /// [`DEFAULT_SEND_TIMEOUT`] for a free buffer.
    pub fn send(&self, ep: EndpointId, data: &[u8]) -> Result<()> {
        self.send_timeout(ep, data, DEFAULT_SEND_TIMEOUT)
    }

    /// Sends `data` to the endpoint's destination, waiting up to `timeout`.
    pub fn send_timeout(&self, ep: EndpointId, data: &[u8], timeout: Duration) -> Result<()> {
        let dst = self.bound_dest(ep)?;
        self.send_to_timeout(ep, dst, data, timeout)
    }

    /// Sends `data` from endpoint `ep` to address `dst`, without waiting.
    pub fn try_send_to(&self, ep: EndpointId, dst: u32, data: &[u8]) -> Result<()> {
        let src = self.addr(ep)?;
        self.send_raw(src, dst, data)
    }

    /// Sends `data` from endpoint `ep` to address `dst`, waiting up to
    /// `timeout` for a free buffer.
    pub fn send_to_timeout(
        &self,
        ep: EndpointId,
        dst: u32,
        data: &[u8],
        timeout: Duration,
    ) -> Result<()> {
        let src = self.addr(ep)?;
        self.send_raw_timeout(src, dst, data, timeout)
    }

    fn bound_dest(&self, ep: EndpointId) -> Result<u32> {
        let slot_dest = {
            let inner = self.inner.lock();
            let s = inner.slot(ep)?;
            (s.addr, s.dest)
        };
        match slot_dest {
            (addr, ADDR_ANY) => Err(Error::NotBound { addr }),
            (_, dest) => Ok(dest),
        }
    }

    fn send_raw_timeout(&self, src: u32, dst: u32, data: &[u8], timeout: Duration) -> Result<()> {
        let deadline = self.deadline(timeout);
        loop {
            match self.send_raw(src, dst, data) {
                Err(Error::WouldBlock) => self.wait_until(deadline)?,
                other => return other,
            }
        }
    }

    fn send_raw(&self, src: u32, dst: u32, data: &[u8]) -> Result<()> {
        if data.len() > self.max_payload {
            return Err(Error::TooLarge {
                len: data.len(),
                max: self.max_payload,
            });
        }
        let mut after = After::default();
        {
            let mut inner = self.inner.lock();
            let tx = inner.take_tx()?;
            let max = tx.buf.cap as usize - HEADER_LEN;
            if data.len() > max {
                inner.queues.unuse_tx(tx.tok);
                return Err(Error::TooLarge {
                    len: data.len(),
                    max,
                });
            }
            if let Err(e) = self.buffers.write_bytes(tx.buf.offset + HEADER_LEN, data) {
                inner.queues.unuse_tx(tx.tok);
                return Err(e.into());
            }
            after.kicks = self.post_tx(&mut inner, tx, src, dst, data.len())?;
        }
        self.finish(after)
    }

    /// Writes the header into a filled transmit buffer and hands it to the
    /// peer; returns the kicks owed. On failure before the hand-over the
    /// buffer is taken back, so it is never lost.
    fn post_tx(
        &self,
        inner: &mut Inner<'a, 'cb, N, E>,
        tx: TxInner,
        src: u32,
        dst: u32,
        len: usize,
    ) -> Result<[bool; 2]> {
        let reserved = match self.conventions.reserved {
            Reserved::Zero => 0,
            // OpenAMP C: a descriptor index and a hold count.
            Reserved::Junk => u32::from_le_bytes(JUNK),
        };
        let header = Header {
            src,
            dst,
            reserved,
            len: len as u16,
            flags: 0,
        };
        if let Err(e) = self.buffers.write_bytes(tx.buf.offset, &header.to_bytes()) {
            inner.queues.unuse_tx(tx.tok);
            return Err(e.into());
        }
        inner
            .queues
            .send_tx(tx.tok, tx.buf, (HEADER_LEN + len) as u32)?;
        inner.stats.sent += 1;
        // Handed over: the send has succeeded, whatever the other queue's
        // state. If the kicks cannot be worked out, kick (a spare kick is
        // harmless, a missing one may leave the peer asleep).
        Ok(inner.queues.kicks().unwrap_or([true; 2]))
    }

    /// Takes a transmit buffer to fill in place, without waiting.
    pub fn try_alloc_tx(&self) -> Result<TxBuffer<'_>> {
        let inner = self.inner.lock().take_tx()?;
        Ok(TxBuffer {
            owner: self,
            inner: Some(inner),
        })
    }

    /// Takes a transmit buffer to fill in place, waiting up to `timeout`.
    pub fn alloc_tx_timeout(&self, timeout: Duration) -> Result<TxBuffer<'_>> {
        let deadline = self.deadline(timeout);
        loop {
            match self.try_alloc_tx() {
                Err(Error::WouldBlock) => self.wait_until(deadline)?,
                other => return other,
            }
        }
    }

    // ---- receiving -------------------------------------------------------

    /// Takes the next message waiting for `ep`, without waiting. Thread
    /// context only, like every method here (it takes the device's lock).
    pub fn try_recv(&self, ep: EndpointId) -> Result<Option<RxBuffer<'_>>> {
        let mut after = After::default();
        let msg = {
            let mut inner = self.inner.lock();
            self.drain(&mut inner, &mut after)
                .and_then(|()| inner.pop_message(ep))
        };
        // What the drain gathered runs even if it then failed.
        let finished = self.finish(after);
        let msg = msg?;
        finished?;
        Ok(msg.map(|(held, h)| self.rx_buffer(held, h)))
    }

    /// The next message for `ep`, as a future (feature `async`). Someone must
    /// [`poll`](Self::poll) the device when the peer kicks (a thread in
    /// [`wait_and_poll`](Self::wait_and_poll), or another task); that wakes
    /// the future. Not from an interrupt handler: see
    /// [Interrupt context](Self#interrupt-context).
    #[cfg(feature = "async")]
    pub fn recv(&self, ep: EndpointId) -> crate::recv_future::Recv<'_, 'a, 'cb, T, W, N, E> {
        crate::recv_future::Recv { dev: self, ep }
    }

    /// Takes a waiting message, or leaves `waker` to be woken when one is
    /// filed for `ep`.
    #[cfg(feature = "async")]
    pub(crate) fn try_recv_or_register(
        &self,
        ep: EndpointId,
        waker: &core::task::Waker,
    ) -> Result<Option<RxBuffer<'_>>> {
        let mut after = After::default();
        let msg = {
            let mut inner = self.inner.lock();
            self.drain(&mut inner, &mut after).and_then(|()| {
                let msg = inner.pop_message(ep)?;
                if msg.is_none() {
                    let slot = inner.slot_mut(ep)?;
                    // Registering under the lock that `drain` files messages
                    // under: no message can slip in between the check and this.
                    match &slot.waker {
                        Some(w) if w.will_wake(waker) => {}
                        _ => slot.waker = Some(waker.clone()),
                    }
                }
                Ok(msg)
            })
        };
        // What the drain gathered runs even if it then failed.
        let finished = self.finish(after);
        let msg = msg?;
        finished?;
        Ok(msg.map(|(held, h)| self.rx_buffer(held, h)))
    }

    /// Waits up to `timeout` for the next message for `ep`: it polls the
    /// rings for the spin time, then sleeps in the device's [`Wait`] (for
    /// example until an interrupt handler signals the peer's kick). Thread
    /// context only (see [Interrupt context](Self#interrupt-context)).
    pub fn recv_timeout(&self, ep: EndpointId, timeout: Duration) -> Result<RxBuffer<'_>> {
        let deadline = self.deadline(timeout);
        loop {
            if let Some(m) = self.try_recv(ep)? {
                return Ok(m);
            }
            if !self.spin(deadline)? {
                self.wait_until(deadline)?;
            }
        }
    }

    /// Polls the receive ring for up to the spin time (and not past
    /// `deadline`) with the peer's kicks turned off. Returns whether
    /// something arrived; kicks stay off then, as we are busy with it, and
    /// come back on only when a caller is about to sleep
    /// ([`rx_kicks_on`](Self::rx_kicks_on)).
    fn spin(&self, deadline: u64) -> Result<bool> {
        if self.spin_ns == 0 {
            return Ok(false);
        }
        let until = self
            .wait
            .now_ns()
            .saturating_add(self.spin_ns)
            .min(deadline);
        if self.conventions.suppress_kicks {
            let mut inner = self.inner.lock();
            if !inner.rx_kicks_off {
                inner.queues.set_rx_kicks(false)?;
                inner.rx_kicks_off = true;
            }
        }
        loop {
            if self.inner.lock().queues.has_rx()? {
                return Ok(true);
            }
            if self.wait.now_ns() >= until {
                return Ok(false);
            }
            core::hint::spin_loop();
        }
    }

    /// Asks the peer to kick again, before sleeping. Returns whether
    /// something arrived while kicks were off: no kick will come for that,
    /// so the caller must not sleep.
    fn rx_kicks_on(&self) -> Result<bool> {
        let mut inner = self.inner.lock();
        if !inner.rx_kicks_off {
            return Ok(false);
        }
        inner.rx_kicks_off = false;
        inner.queues.set_rx_kicks(true)
    }

    /// Processes what the peer sent: takes every received buffer, handles
    /// name service, and runs endpoint callbacks (with no lock held) until
    /// none has a message left. Returns how many callbacks ran.
    ///
    /// Call it from a thread (or task), never from an interrupt handler: it
    /// takes the device's lock, which the interrupted code may hold (see
    /// [Interrupt context](Self#interrupt-context)). An interrupt-driven
    /// firmware has its handler record the kick and the thread call `poll`
    /// or [`wait_and_poll`](Self::wait_and_poll).
    pub fn poll(&self) -> Result<usize> {
        let mut after = After::default();
        let drained = {
            let mut inner = self.inner.lock();
            self.drain(&mut inner, &mut after)
        };
        // What the drain gathered runs even if it then failed.
        let finished = self.finish(after);
        drained?;
        finished?;
        let mut ran = 0;
        let mut start = 0;
        loop {
            let next = {
                let mut inner = self.inner.lock();
                inner.next_callback_message(start)
            };
            let Some((ep, cb, held, h)) = next else { break };
            start = usize::from(ep.slot) + 1;
            cb(self, ep, self.rx_buffer(held, h));
            ran += 1;
        }
        Ok(ran)
    }

    /// Waits up to `timeout` for a kick from the peer, then [`poll`](Self::poll)s.
    ///
    /// The wait is the device's [`Wait`]: with
    /// [`NotifyWait`](crate::NotifyWait) over a notification that an
    /// interrupt handler signals (a kick latch), the thread sleeps here until
    /// the handler's kick or the timeout. Thread context only (see
    /// [Interrupt context](Self#interrupt-context)).
    pub fn wait_and_poll(&self, timeout: Duration) -> Result<usize> {
        if !self.spin(self.deadline(timeout))? && !self.rx_kicks_on()? {
            if let Err(e) = self.wait.wait(timeout) {
                return Err(self.peer_gone(e));
            }
        }
        self.poll()
    }

    fn rx_buffer(&self, held: u16, h: Meta) -> RxBuffer<'_> {
        RxBuffer {
            owner: self,
            held,
            src: h.src,
            dst: h.dst,
            len: usize::from(h.len),
        }
    }

    /// Takes every buffer the peer has given us and files it. Called with
    /// the lock held; consequences that run user code go into `after`.
    fn drain(&self, inner: &mut Inner<'a, 'cb, N, E>, after: &mut After<'cb>) -> Result<()> {
        inner.check()?;
        let status = self.transport.status()?;
        if !status.driver_ok() || status.needs_reset() || status.failed() {
            inner.reset = Some(status.0);
            return Err(Error::PeerReset { status: status.0 });
        }
        let mut filed = false;
        let r = self.drain_messages(inner, after, &mut filed);
        // Whatever stopped the drain, what it filed is owed its kicks (and
        // the caller runs the wakers and binds it gathered).
        if filed || after.binds.iter().any(Option::is_some) {
            after.kicks = inner.queues.kicks().unwrap_or(after.kicks);
        }
        r
    }

    fn drain_messages(
        &self,
        inner: &mut Inner<'a, 'cb, N, E>,
        after: &mut After<'cb>,
        filed: &mut bool,
    ) -> Result<()> {
        // Bounds the work a peer feeding bad chains can make us do per call.
        let mut bad_chains = 0;
        while after.has_room() {
            let mut bad = 0;
            let taken = inner.queues.take_rx(&mut bad);
            inner.stats.dropped_malformed += u64::from(bad);
            let taken = match taken {
                Ok(t) => t,
                // One malformed chain: the virtqueue dropped it; go on with
                // the rest, as the policy says.
                Err(Error::Virtio(e)) if !inner.queues.rx_broken() && bad_chains < N => {
                    openamp_metal::warn!("rpmsg: dropped a malformed chain: {}", e);
                    bad_chains += 1;
                    inner.stats.dropped_malformed += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some((tok, buf, filled)) = taken else {
                break;
            };
            let mut raw = [0u8; HEADER_LEN];
            self.buffers.read_bytes(buf.offset, &mut raw)?;
            let header = Header::from_bytes(&raw);
            let len = usize::from(header.len);
            // The message must fit in the buffer and in what the peer says
            // it filled (Linux's rule; OpenAMP C reports the whole buffer).
            let room = (buf.cap.min(filled) as usize).saturating_sub(HEADER_LEN);
            if len > room || (filled as usize) < HEADER_LEN {
                openamp_metal::warn!(
                    "rpmsg: dropped a message claiming {} bytes in a {}-byte buffer ({} filled)",
                    len,
                    buf.cap,
                    filled
                );
                inner.stats.dropped_malformed += 1;
                inner.queues.return_rx(tok, 0)?;
                continue;
            }
            let msg_len = HEADER_LEN + len;
            if header.dst == NS_ADDR && self.name_service() {
                if len == NS_MSG_LEN {
                    let mut b = [0u8; NS_MSG_LEN];
                    self.buffers.read_bytes(buf.offset + HEADER_LEN, &mut b)?;
                    let msg = NsMessage::from_bytes(&b);
                    if msg.name.is_empty() {
                        // Nothing to match: an empty name would bind (or
                        // unbind) the endpoints that have no name.
                        inner.stats.dropped_malformed += 1;
                    } else {
                        inner.name_service(msg, self.bind.is_some(), after);
                    }
                } else {
                    // Ignored, as OpenAMP does; counted, as every drop.
                    inner.stats.dropped_malformed += 1;
                }
                inner.stats.name_service += 1;
                inner.queues.return_rx(tok, msg_len)?;
                continue;
            }
            let Some(index) = inner
                .slots
                .iter()
                .position(|s| s.live && s.addr == header.dst)
            else {
                openamp_metal::warn!(
                    "rpmsg: dropped a message from {} to unknown address {}",
                    header.src,
                    header.dst
                );
                inner.stats.dropped_unknown_addr += 1;
                inner.queues.return_rx(tok, msg_len)?;
                continue;
            };
            let Some(held) = inner.alloc_held() else {
                // Cannot happen: there are as many held slots as ring
                // entries. Give the buffer back rather than lose track of it.
                inner.queues.return_rx(tok, msg_len)?;
                continue;
            };
            inner.held[usize::from(held)] = Some(Held {
                tok,
                buf,
                meta: Meta {
                    src: header.src,
                    dst: header.dst,
                    len: header.len,
                },
                next: NONE,
            });
            let slot = &mut inner.slots[index];
            // OpenAMP binds an unbound endpoint to whoever writes to it first.
            if slot.dest == ADDR_ANY {
                slot.dest = header.src;
            }
            if let Some(w) = slot.waker.take() {
                push(&mut after.wakers, w);
            }
            let tail = slot.tail;
            slot.tail = held;
            if tail == NONE {
                slot.head = held;
            } else if let Some(Some(t)) = inner.held.get_mut(usize::from(tail)) {
                t.next = held;
            }
            inner.stats.received += 1;
            *filed = true;
        }
        Ok(())
    }

    /// Does what `after` collected, with no lock held.
    fn finish(&self, after: After<'cb>) -> Result<()> {
        // The lists are nearly always empty on the message path: look at
        // each one's first slot before walking it.
        if After::any(&after.wakers) {
            for w in after.wakers.into_iter().flatten() {
                w.wake();
            }
        }
        if After::any(&after.unbinds) {
            for (ep, cb) in after.unbinds.into_iter().flatten() {
                cb(self, ep);
            }
        }
        if let (Some(cb), true) = (self.bind, After::any(&after.binds)) {
            for (name, addr) in after.binds.into_iter().flatten() {
                cb(self, &name, addr);
            }
        }
        for (queue, kick) in [VRING0, VRING1].into_iter().zip(after.kicks) {
            if kick {
                if let Err(e) = self.transport.notify(queue) {
                    return Err(self.peer_gone_virtio(e));
                }
            }
        }
        Ok(())
    }

    fn deadline(&self, timeout: Duration) -> u64 {
        let ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        self.wait.now_ns().saturating_add(ns)
    }

    /// Waits a little for the peer (at most 1 ms, so that kicks another
    /// thread consumed do not leave us sleeping), or fails at the deadline.
    fn wait_until(&self, deadline: u64) -> Result<()> {
        // Never sleep, nor give up, with the peer's kicks turned off: a
        // caller that waits on its own afterwards would never be woken.
        if self.rx_kicks_on()? {
            return Ok(());
        }
        let now = self.wait.now_ns();
        if now >= deadline {
            return Err(Error::Timeout);
        }
        let slice = Duration::from_nanos((deadline - now).min(1_000_000));
        self.wait.wait(slice).map_err(|e| self.peer_gone(e))
    }

    /// Whether the rings still belong to the peer's current session: it was
    /// not found reset before, and its status still has DRIVER_OK without
    /// NEEDS_RESET or FAILED. Marks the device reset otherwise, so that
    /// nothing of this session is written into rings the peer set up anew.
    fn peer_alive(&self, inner: &mut Inner<'a, 'cb, N, E>) -> bool {
        if inner.reset.is_some() {
            return false;
        }
        match self.transport.status() {
            Ok(s) if s.driver_ok() && !s.needs_reset() && !s.failed() => true,
            Ok(s) => {
                inner.reset = Some(s.0);
                false
            }
            Err(_) => false,
        }
    }

    fn peer_gone(&self, e: openamp_metal::Error) -> Error {
        match e {
            openamp_metal::Error::PeerClosed => {
                let mut inner = self.inner.lock();
                let status = self.transport.status().map(|s| s.0).unwrap_or(0);
                inner.reset = Some(status);
                Error::PeerReset { status }
            }
            other => other.into(),
        }
    }

    fn peer_gone_virtio(&self, e: openamp_virtio::Error) -> Error {
        match e {
            openamp_virtio::Error::Metal(m) => self.peer_gone(m),
            other => other.into(),
        }
    }
}

impl<'a, 'cb, const N: usize, const E: usize> Inner<'a, 'cb, N, E> {
    /// A free transmit buffer, or [`Error::WouldBlock`]; malformed chains
    /// the peer offered on the way are counted.
    fn take_tx(&mut self) -> Result<TxInner> {
        self.check()?;
        let mut bad = 0;
        let taken = self.queues.take_tx(&mut bad);
        self.stats.dropped_malformed += u64::from(bad);
        let (tok, buf) = taken?.ok_or(Error::WouldBlock)?;
        Ok(TxInner { tok, buf })
    }

    fn check(&self) -> Result<()> {
        match self.reset {
            Some(status) => Err(Error::PeerReset { status }),
            None => Ok(()),
        }
    }

    fn slot(&self, ep: EndpointId) -> Result<&Slot<'cb>> {
        match self.slots.get(usize::from(ep.slot)) {
            Some(s) if s.live && s.gen == ep.gen => Ok(s),
            _ => Err(Error::NoSuchEndpoint { slot: ep.slot }),
        }
    }

    fn slot_mut(&mut self, ep: EndpointId) -> Result<&mut Slot<'cb>> {
        match self.slots.get_mut(usize::from(ep.slot)) {
            Some(s) if s.live && s.gen == ep.gen => Ok(s),
            _ => Err(Error::NoSuchEndpoint { slot: ep.slot }),
        }
    }

    fn in_use(&self, addr: u32) -> bool {
        self.slots.iter().any(|s| s.live && s.addr == addr)
    }

    fn choose_addr(&mut self, wanted: u32) -> Result<u32> {
        if wanted == NS_ADDR {
            return Err(Error::ReservedAddress { addr: wanted });
        }
        if wanted != ADDR_ANY {
            return if self.in_use(wanted) {
                Err(Error::AddressInUse { addr: wanted })
            } else {
                Ok(wanted)
            };
        }
        // At most E addresses are in use, so E + 1 candidates find a free one.
        for _ in 0..=E {
            let candidate = self.next_dyn;
            self.next_dyn = if candidate >= ADDR_ANY - 1 {
                RESERVED_ADDRS
            } else {
                candidate + 1
            };
            if !self.in_use(candidate) {
                return Ok(candidate);
            }
        }
        Err(Error::NoFreeAddress)
    }

    fn alloc_held(&mut self) -> Option<u16> {
        if self.free_len == 0 {
            return None;
        }
        self.free_len -= 1;
        Some(self.free[self.free_len])
    }

    fn take_held(&mut self, index: u16) -> Option<Held> {
        let h = self.held.get_mut(usize::from(index))?.take()?;
        if self.free_len < N {
            self.free[self.free_len] = index;
            self.free_len += 1;
        }
        Some(h)
    }

    /// Unlinks the first message of `ep`; the held slot stays taken until
    /// the buffer is released.
    fn pop_message(&mut self, ep: EndpointId) -> Result<Option<(u16, Meta)>> {
        let head = self.slot(ep)?.head;
        if head == NONE {
            return Ok(None);
        }
        let Some(Some(h)) = self.held.get(usize::from(head)) else {
            return Ok(None);
        };
        let (next, meta) = (h.next, h.meta);
        let slot = self.slot_mut(ep)?;
        slot.head = next;
        if next == NONE {
            slot.tail = NONE;
        }
        Ok(Some((head, meta)))
    }

    /// The next message for an endpoint with a callback, searching from slot
    /// `start` on (round robin, so one busy endpoint cannot starve others).
    #[allow(clippy::type_complexity)]
    fn next_callback_message(
        &mut self,
        start: usize,
    ) -> Option<(EndpointId, crate::endpoint::Callback<'cb>, u16, Meta)> {
        let index = (start..E).chain(0..start.min(E)).find(|&i| {
            let s = &self.slots[i];
            s.live && s.callback.is_some() && s.head != NONE
        })?;
        let ep = EndpointId {
            slot: index as u16,
            gen: self.slots[index].gen,
        };
        let cb = self.slots[index].callback?;
        let (held, h) = self.pop_message(ep).ok()??;
        Some((ep, cb, held, h))
    }

    fn name_service(&mut self, msg: NsMessage, have_bind_cb: bool, after: &mut After<'cb>) {
        match msg.flags {
            NS_CREATE => {
                // Already bound to the announcer: an echo of our own binding.
                if self
                    .slots
                    .iter()
                    .any(|s| s.live && s.name == msg.name && s.dest == msg.addr)
                {
                    return;
                }
                if let Some(s) = self
                    .slots
                    .iter_mut()
                    .find(|s| s.live && s.name == msg.name && s.dest == ADDR_ANY)
                {
                    s.dest = msg.addr;
                    return;
                }
                // Remember it for an endpoint created later (replacing an
                // older announcement of the same name).
                let spot = self
                    .announced
                    .iter()
                    .position(|a| matches!(a, Some((n, _)) if *n == msg.name))
                    .or_else(|| self.announced.iter().position(Option::is_none));
                if let Some(i) = spot {
                    self.announced[i] = Some((msg.name, msg.addr));
                }
                if have_bind_cb {
                    push(&mut after.binds, (msg.name, msg.addr));
                }
            }
            NS_DESTROY => {
                for a in self.announced.iter_mut() {
                    if matches!(a, Some((n, addr)) if *n == msg.name && *addr == msg.addr) {
                        *a = None;
                    }
                }
                for (i, s) in self.slots.iter_mut().enumerate() {
                    if s.live && s.name == msg.name && s.dest == msg.addr {
                        s.dest = ADDR_ANY;
                        if let Some(cb) = s.unbind {
                            push(
                                &mut after.unbinds,
                                (
                                    EndpointId {
                                        slot: i as u16,
                                        gen: s.gen,
                                    },
                                    cb,
                                ),
                            );
                        }
                    }
                }
            }
            // Neither CREATE nor DESTROY: ignored, and counted.
            _ => self.stats.dropped_malformed += 1,
        }
    }
}

impl<'a, 'cb, T: Transport<'a> + Sync, W: Wait, const N: usize, const E: usize> BufferOwner
    for RpmsgDevice<'a, 'cb, T, W, N, E>
{
    fn rx_read(&self, held: u16, skip: usize, dst: &mut [u8]) -> Result<usize> {
        let buf = {
            let inner = self.inner.lock();
            // After a reset the buffer's memory is the next session's (a new
            // peer zeroes it, a new device hands it out again).
            inner.check()?;
            match inner.held.get(usize::from(held)) {
                Some(Some(h)) => Some(h.buf),
                _ => None,
            }
        };
        let buf = buf.ok_or(Error::InvalidConfig {
            what: "buffer already released",
        })?;
        // The length was checked against the buffer when the message arrived;
        // RxBuffer::read_at clamps `dst` to it. Checked all the same: `skip`
        // is the caller's.
        let at = buf
            .offset
            .checked_add(HEADER_LEN)
            .and_then(|a| a.checked_add(skip))
            .ok_or(Error::TooLarge {
                len: skip,
                max: buf.cap as usize,
            })?;
        self.buffers.read_bytes(at, dst)?;
        Ok(dst.len())
    }

    fn rx_release(&self, held: u16) {
        let mut after = After::default();
        {
            let mut inner = self.inner.lock();
            if let Some(h) = inner.take_held(held) {
                // A buffer of a session the peer ended is not written back
                // into whatever rings it set up since.
                let len = HEADER_LEN + usize::from(h.meta.len);
                if self.peer_alive(&mut inner) && inner.queues.return_rx(h.tok, len).is_ok() {
                    after.kicks = inner.queues.kicks().unwrap_or([false; 2]);
                }
            }
        }
        // A release cannot report errors; a dead peer shows at the next call.
        let _ = self.finish(after);
    }

    fn tx_write(&self, tx: &TxInner, skip: usize, src: &[u8]) -> Result<()> {
        // As in rx_read: after a reset, writing would scribble on the next
        // session's buffer.
        self.inner.lock().check()?;
        Ok(self
            .buffers
            .write_bytes(tx.buf.offset + HEADER_LEN + skip, src)?)
    }

    fn tx_unuse(&self, tx: TxInner) {
        self.inner.lock().queues.unuse_tx(tx.tok);
    }

    fn tx_send(&self, tx: TxInner, ep: EndpointId, dst: u32, len: usize) -> Result<()> {
        let mut after = After::default();
        {
            let mut inner = self.inner.lock();
            let src = match inner.check().and_then(|()| inner.slot(ep).map(|s| s.addr)) {
                Ok(src) => src,
                Err(e) => {
                    inner.queues.unuse_tx(tx.tok);
                    return Err(e);
                }
            };
            after.kicks = self.post_tx(&mut inner, tx, src, dst, len)?;
        }
        self.finish(after)
    }
}

/// The device as callbacks see it: everything that needs no type parameters.
pub trait RpmsgOps<'cb>: Sync {
    /// See [`RpmsgDevice::create_endpoint`].
    fn create_endpoint(&self, cfg: EndpointConfig<'cb>) -> Result<EndpointId>;
    /// See [`RpmsgDevice::try_send_to`].
    fn try_send_to(&self, ep: EndpointId, dst: u32, data: &[u8]) -> Result<()>;
    /// See [`RpmsgDevice::send_to_timeout`].
    fn send_to_timeout(
        &self,
        ep: EndpointId,
        dst: u32,
        data: &[u8],
        timeout: Duration,
    ) -> Result<()>;
    /// See [`RpmsgDevice::try_alloc_tx`].
    fn try_alloc_tx(&self) -> Result<TxBuffer<'_>>;
    /// See [`RpmsgDevice::destroy_endpoint`].
    fn destroy_endpoint(&self, ep: EndpointId) -> Result<()>;
    /// See [`RpmsgDevice::addr`].
    fn addr(&self, ep: EndpointId) -> Result<u32>;
    /// See [`RpmsgDevice::dest`].
    fn dest(&self, ep: EndpointId) -> Result<u32>;
    /// See [`RpmsgDevice::max_payload`].
    fn max_payload(&self) -> usize;
}

impl<'a, 'cb, T: Transport<'a> + Sync, W: Wait, const N: usize, const E: usize> RpmsgOps<'cb>
    for RpmsgDevice<'a, 'cb, T, W, N, E>
{
    fn create_endpoint(&self, cfg: EndpointConfig<'cb>) -> Result<EndpointId> {
        RpmsgDevice::create_endpoint(self, cfg)
    }
    fn try_send_to(&self, ep: EndpointId, dst: u32, data: &[u8]) -> Result<()> {
        RpmsgDevice::try_send_to(self, ep, dst, data)
    }
    fn send_to_timeout(
        &self,
        ep: EndpointId,
        dst: u32,
        data: &[u8],
        timeout: Duration,
    ) -> Result<()> {
        RpmsgDevice::send_to_timeout(self, ep, dst, data, timeout)
    }
    fn try_alloc_tx(&self) -> Result<TxBuffer<'_>> {
        RpmsgDevice::try_alloc_tx(self)
    }
    fn destroy_endpoint(&self, ep: EndpointId) -> Result<()> {
        RpmsgDevice::destroy_endpoint(self, ep)
    }
    fn addr(&self, ep: EndpointId) -> Result<u32> {
        RpmsgDevice::addr(self, ep)
    }
    fn dest(&self, ep: EndpointId) -> Result<u32> {
        RpmsgDevice::dest(self, ep)
    }
    fn max_payload(&self) -> usize {
        self.max_payload
    }
}
