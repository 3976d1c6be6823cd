//! The two virtqueues of an RPMsg device, seen the same way from both roles.
//!
//! The host (virtio driver) owns the buffer pool: receive buffers sit in
//! vring0 waiting for the remote, transmit buffers go out on vring1 and come
//! back used. The remote (virtio device) sends by taking one of the host's
//! empty buffers from vring0's available ring and returning it used, and
//! receives by taking buffers from vring1's available ring.

use openamp_metal::{IoRegion, NoCache};
use openamp_virtio::{Chain, DeviceQueue, DriverQueue, QueueConfig, Segment};

use crate::conventions::{Conventions, TxDescriptorLen, TxReuse, UsedLen};
use crate::wire::HEADER_LEN;
use crate::{Error, Result};

/// Queue index of vring0 (remote -> host).
pub(crate) const VRING0: u16 = 0;
/// Queue index of vring1 (host -> remote).
pub(crate) const VRING1: u16 = 1;

/// A buffer in the buffer region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Buf {
    /// Offset of its first byte in the buffer region.
    pub offset: usize,
    /// Its size, header included.
    pub cap: u32,
}

/// What it takes to give a received buffer back (not `Copy`: giving it back
/// consumes it).
#[derive(Debug)]
pub(crate) enum RxTok {
    /// Host: re-offer this buffer on vring0.
    Host(Segment),
    /// Remote: return this chain of vring1 used.
    Remote(Chain),
}

/// What it takes to send, or give back unused, a transmit buffer (not
/// `Copy`: sending or giving it back consumes it).
#[derive(Debug)]
pub(crate) enum TxTok {
    /// Host: the pool index of the buffer.
    Host(u16),
    /// Remote: a chain of vring0 holding one writable buffer.
    Remote(Chain),
}

/// Host side: two driver queues and the pool's free transmit buffers.
pub(crate) struct HostQueues<'a, const N: usize> {
    rx: DriverQueue<'a, N, NoCache>,
    tx: DriverQueue<'a, N, NoCache>,
    tx_free: [u16; N],
    tx_free_len: usize,
    /// Payload room of each transmit buffer: the whole buffer, unless
    /// `tx_size_from_used_len` takes it from the remote's used `len`.
    tx_room: [u16; N],
    tx_base: usize,
    tx_size: u32,
    tx_count: usize,
    conv: Conventions,
}

/// Remote side: two device queues and transmit chains taken but not used.
pub(crate) struct RemoteQueues<'a, const N: usize> {
    rx: DeviceQueue<'a, N, NoCache>,
    tx: DeviceQueue<'a, N, NoCache>,
    spare: [Option<Chain>; N],
    spare_len: usize,
    used_len: UsedLen,
}

/// The queues of either role.
pub(crate) enum Queues<'a, const N: usize> {
    Host(HostQueues<'a, N>),
    Remote(RemoteQueues<'a, N>),
}

impl<'a, const N: usize> HostQueues<'a, N> {
    /// Creates both rings and fills vring0 with zeroed receive buffers:
    /// `rx_size`-byte buffers from the start of `pool`, then `tx_size`-byte
    /// transmit buffers after them, one per ring entry.
    pub(crate) fn new(
        rings: [(IoRegion<'a>, QueueConfig); 2],
        pool: IoRegion<'a>,
        rx_size: u32,
        tx_size: u32,
        conv: Conventions,
    ) -> Result<Self> {
        let [(ring0, cfg0), (ring1, cfg1)] = rings;
        for size in [rx_size, tx_size] {
            if (size as usize) <= HEADER_LEN || size > u32::from(u16::MAX) + HEADER_LEN as u32 {
                return Err(Error::InvalidConfig {
                    what: "buffer size must be 17..=65551 bytes",
                });
            }
        }
        let rx_count = cfg0.num as usize;
        let tx_count = cfg1.num as usize;
        let rx_bytes = rx_count.checked_mul(rx_size as usize);
        let tx_bytes = tx_count.checked_mul(tx_size as usize);
        let need = rx_bytes.zip(tx_bytes).and_then(|(a, b)| a.checked_add(b));
        match need {
            Some(n) if n <= pool.size() => {}
            _ => {
                return Err(Error::InvalidConfig {
                    what: "buffer pool too small for both rings",
                })
            }
        }
        let mut rx = DriverQueue::new(ring0, pool, cfg0, NoCache)?;
        let mut tx = DriverQueue::new(ring1, pool, cfg1, NoCache)?;
        // Nobody needs to hear when the remote has consumed what we sent: we
        // reclaim transmit buffers when we need one (as OpenAMP does).
        if conv.suppress_kicks {
            tx.disable_interrupts()?;
        }
        pool.fill(0, rx_count * rx_size as usize, 0)?;
        for i in 0..rx_count {
            rx.add_inbuf(Segment {
                offset: i * rx_size as usize,
                len: rx_size,
            })?;
        }
        let tx_base = rx_count * rx_size as usize;
        let mut tx_free = [0u16; N];
        for (i, slot) in tx_free.iter_mut().enumerate().take(tx_count) {
            // Hand out low buffers first, as OpenAMP does.
            *slot = (tx_count - 1 - i) as u16;
        }
        Ok(HostQueues {
            rx,
            tx,
            tx_free,
            tx_free_len: tx_count,
            // Checked above: tx_size - HEADER_LEN fits in a u16.
            tx_room: [(tx_size as usize - HEADER_LEN) as u16; N],
            tx_base,
            tx_size,
            tx_count,
            conv,
        })
    }

    fn reclaim(&mut self) -> Result<()> {
        while let Some(used) = self.tx.pop_used()? {
            // The queue returns our own record of the buffer, so the index
            // is one we computed; still, never index out of bounds.
            let index = used
                .head
                .offset
                .checked_sub(self.tx_base)
                .map(|d| d / self.tx_size as usize);
            if let Some(index) = index.filter(|i| *i < self.tx_count && self.tx_free_len < N) {
                self.tx_free[self.tx_free_len] = index as u16;
                self.tx_free_len += 1;
                if self.conv.tx_size_from_used_len {
                    // What OpenAMP C's host does: a buffer returned with
                    // used len L has room for L - 16 bytes from now on.
                    let whole = self.tx_size as usize - HEADER_LEN;
                    let room = (used.reported_len as usize).saturating_sub(HEADER_LEN);
                    self.tx_room[index] = room.min(whole) as u16;
                }
            }
        }
        Ok(())
    }
}

impl<'a, const N: usize> RemoteQueues<'a, N> {
    /// Attaches to the rings the host set up: vring0 to send, vring1 to receive.
    pub(crate) fn new(
        rings: [(IoRegion<'a>, QueueConfig); 2],
        buffers: IoRegion<'a>,
        conv: Conventions,
    ) -> Result<Self> {
        let [(ring0, cfg0), (ring1, cfg1)] = rings;
        let mut tx = DeviceQueue::new(ring0, buffers, cfg0, NoCache)?;
        let rx = DeviceQueue::new(ring1, buffers, cfg1, NoCache)?;
        // We take the host's empty buffers when we send; it need not kick us
        // when it offers more (OpenAMP's remote does the same).
        if conv.suppress_kicks {
            tx.disable_notifications()?;
        }
        Ok(RemoteQueues {
            rx,
            tx,
            spare: [None; N],
            spare_len: 0,
            used_len: conv.used_len,
        })
    }

    /// The used `len` to report for `chain`, which held a message of
    /// `msg_len` bytes (header included; 0 if unknown). `sent` says whether
    /// we wrote the message (vring0) or read it (vring1).
    fn reported_len(&self, chain: &Chain, msg_len: u32, sent: bool) -> u32 {
        match self.used_len {
            // OpenAMP C's host reuses this value as the buffer's size.
            UsedLen::Descriptor => chain.readable.saturating_add(chain.writable),
            UsedLen::Written if !sent => 0,
            UsedLen::Written | UsedLen::Message => msg_len,
        }
    }

    /// Returns a chain of vring1 that we consumed.
    fn return_consumed(&mut self, chain: &Chain, msg_len: u32) -> Result<()> {
        let reported = self.reported_len(chain, msg_len, false);
        Ok(self.rx.push_used_reporting(chain, 0, reported)?)
    }

    /// Returns a chain of vring0 that we did not send in.
    fn return_unsent(&mut self, chain: &Chain) -> Result<()> {
        let reported = self.reported_len(chain, 0, false);
        Ok(self.tx.push_used_reporting(chain, 0, reported)?)
    }

    fn first_segment(
        q: &DeviceQueue<'a, N, NoCache>,
        chain: &Chain,
        writable: bool,
    ) -> Result<Option<Buf>> {
        let seg = q.segments(chain)?.next();
        Ok(seg
            .filter(|s| s.writable == writable && s.buf.len as usize >= HEADER_LEN)
            .map(|s| Buf {
                offset: s.buf.offset,
                cap: s.buf.len,
            }))
    }
}

impl<'a, const N: usize> Queues<'a, N> {
    /// The next received buffer, if any, and how many of its bytes the peer
    /// says it filled (a message must fit in those). Malformed chains from
    /// the peer are given back at once and counted in `bad`.
    pub(crate) fn take_rx(&mut self, bad: &mut u32) -> Result<Option<(RxTok, Buf, u32)>> {
        match self {
            Queues::Host(h) => Ok(h.rx.pop_used()?.map(|u| {
                let buf = Buf {
                    offset: u.head.offset,
                    cap: u.head.len,
                };
                // Linux refuses a message longer than the used `len`; an
                // OpenAMP C remote reports the whole buffer.
                (RxTok::Host(u.head), buf, u.reported_len)
            })),
            Queues::Remote(r) => loop {
                let Some(chain) = r.rx.pop_avail()? else {
                    return Ok(None);
                };
                match RemoteQueues::first_segment(&r.rx, &chain, false)? {
                    // The host's descriptor bounds its message (Linux writes
                    // the message size there, OpenAMP C the buffer size).
                    Some(buf) => return Ok(Some((RxTok::Remote(chain), buf, buf.cap))),
                    None => {
                        *bad += 1;
                        r.return_consumed(&chain, 0)?;
                    }
                }
            },
        }
    }

    /// Gives a received buffer back to the peer; it held a message of
    /// `msg_len` bytes, header included (0 if it was not read).
    pub(crate) fn return_rx(&mut self, tok: RxTok, msg_len: usize) -> Result<()> {
        match (self, tok) {
            (Queues::Host(h), RxTok::Host(seg)) => {
                h.rx.add_inbuf(seg)?;
                Ok(())
            }
            (Queues::Remote(r), RxTok::Remote(chain)) => {
                r.return_consumed(&chain, u32::try_from(msg_len).unwrap_or(u32::MAX))
            }
            _ => Ok(()),
        }
    }

    /// A free transmit buffer, if any.
    pub(crate) fn take_tx(&mut self, bad: &mut u32) -> Result<Option<(TxTok, Buf)>> {
        match self {
            Queues::Host(h) => {
                // OpenAMP C's host takes a returned buffer before a fresh
                // one; we go to the used ring only when we run out.
                if h.tx_free_len == 0 || h.conv.tx_reuse == TxReuse::ReturnedFirst {
                    h.reclaim()?;
                }
                if h.tx_free_len == 0 {
                    return Ok(None);
                }
                h.tx_free_len -= 1;
                let i = h.tx_free[h.tx_free_len];
                let offset = h.tx_base + usize::from(i) * h.tx_size as usize;
                let room = h.tx_room.get(usize::from(i)).copied().unwrap_or(0);
                Ok(Some((
                    TxTok::Host(i),
                    Buf {
                        offset,
                        cap: u32::from(room) + HEADER_LEN as u32,
                    },
                )))
            }
            Queues::Remote(r) => loop {
                let chain = if r.spare_len > 0 {
                    r.spare_len -= 1;
                    r.spare[r.spare_len].take()
                } else {
                    r.tx.pop_avail()?
                };
                let Some(chain) = chain else { return Ok(None) };
                match RemoteQueues::first_segment(&r.tx, &chain, true)? {
                    Some(buf) => return Ok(Some((TxTok::Remote(chain), buf))),
                    None => {
                        *bad += 1;
                        r.return_unsent(&chain)?;
                    }
                }
            },
        }
    }

    /// Sends a transmit buffer holding `len` bytes (header included).
    pub(crate) fn send_tx(&mut self, tok: TxTok, buf: Buf, len: u32) -> Result<()> {
        match (self, tok) {
            (Queues::Host(h), TxTok::Host(_)) => {
                let len = match h.conv.tx_descriptor_len {
                    // An OpenAMP C remote takes a buffer's size from this.
                    TxDescriptorLen::WholeBuffer => h.tx_size,
                    TxDescriptorLen::Message => len,
                };
                h.tx.add_outbuf(Segment {
                    offset: buf.offset,
                    len,
                })
                .map(|_| ())
            }
            (Queues::Remote(r), TxTok::Remote(chain)) => {
                let reported = r.reported_len(&chain, len, true);
                r.tx.push_used_reporting(&chain, len, reported)
            }
            _ => Ok(()),
        }
        .map_err(Error::from)
    }

    /// Takes back a transmit buffer that was not sent.
    pub(crate) fn unuse_tx(&mut self, tok: TxTok) {
        match (self, tok) {
            (Queues::Host(h), TxTok::Host(i)) if h.tx_free_len < N => {
                h.tx_free[h.tx_free_len] = i;
                h.tx_free_len += 1;
            }
            (Queues::Remote(r), TxTok::Remote(chain)) if r.spare_len < N => {
                r.spare[r.spare_len] = Some(chain);
                r.spare_len += 1;
            }
            _ => {}
        }
    }

    /// Whether the receive queue is broken for good (the peer broke the
    /// protocol beyond a single bad chain).
    pub(crate) fn rx_broken(&self) -> bool {
        match self {
            Queues::Host(h) => h.rx.is_broken(),
            Queues::Remote(r) => r.rx.is_broken(),
        }
    }

    /// Whether the peer has given us a received buffer we have not taken.
    pub(crate) fn has_rx(&self) -> Result<bool> {
        Ok(match self {
            Queues::Host(h) => h.rx.has_used()?,
            Queues::Remote(r) => r.rx.has_avail()?,
        })
    }

    /// Asks the peer to kick us for received buffers (`on`), or not to
    /// bother while we poll. Turning kicks back on returns whether buffers
    /// arrived meanwhile, since no kick will come for those.
    pub(crate) fn set_rx_kicks(&mut self, on: bool) -> Result<bool> {
        Ok(match (self, on) {
            (Queues::Host(h), true) => h.rx.enable_interrupts()?,
            (Queues::Host(h), false) => {
                h.rx.disable_interrupts()?;
                false
            }
            (Queues::Remote(r), true) => r.rx.enable_notifications()?,
            (Queues::Remote(r), false) => {
                r.rx.disable_notifications()?;
                false
            }
        })
    }

    /// Whether the peer must be kicked about vring0 and about vring1.
    pub(crate) fn kicks(&mut self) -> Result<[bool; 2]> {
        Ok(match self {
            Queues::Host(h) => [h.rx.should_notify()?, h.tx.should_notify()?],
            Queues::Remote(r) => [r.tx.should_notify()?, r.rx.should_notify()?],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C, align(64))]
    struct Mem([u8; 0x4000]);

    #[test]
    fn host_refuses_a_pool_too_small() {
        let mut m = Mem([0; 0x4000]);
        let r = IoRegion::from_slice(&mut m.0);
        let cfg = QueueConfig::new(4, 16);
        let rings = [
            (r.sub_region(0, 0x400).unwrap(), cfg),
            (r.sub_region(0x400, 0x400).unwrap(), cfg),
        ];
        let pool = r.sub_region(0x800, 8 * 64 - 1).unwrap();
        assert!(matches!(
            HostQueues::<4>::new(rings, pool, 64, 64, Conventions::OURS),
            Err(Error::InvalidConfig { .. })
        ));
        let pool = r.sub_region(0x800, 8 * 64).unwrap();
        assert!(HostQueues::<4>::new(rings, pool, 64, 64, Conventions::OURS).is_ok());
        assert!(matches!(
            HostQueues::<4>::new(rings, pool, 16, 64, Conventions::OURS),
            Err(Error::InvalidConfig { .. })
        ));
    }
}
