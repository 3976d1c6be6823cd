//! The soak's messages and their bookkeeping: every message says which lane
//! (endpoint), which session and which sequence number it is, so that the
//! side that sent it can tell, for every echo, whether it is the next one,
//! a duplicate, out of order, from a dead session or damaged.

use std::collections::VecDeque;
use std::time::Duration;

use openamp_examples_linux::{pattern, Device};
use openamp_rpmsg::{EndpointId, Error, RxBuffer};

/// How long one wait for the peer may last. Every wait of the soak is a
/// multiple of this or has its own bound: nothing blocks for good.
pub const WAIT_SLICE: Duration = Duration::from_millis(10);

/// Messages a lane may have in flight (sent, echo not yet back).
pub const WINDOW: u64 = 16;

/// Bytes of the tag that starts every payload: lane (u16), session (u16),
/// sequence number (u64).
pub const TAG: usize = 12;

/// The largest payload with the default 512-byte buffers.
pub const MAX_PAYLOAD: usize = 496;

/// Received buffers the checking side may keep at most (zero-copy).
const MAX_HELD: usize = 8;

/// A small, fast, reproducible generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 if `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// Whether a 1-in-`n` event happens.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// The payload size of message `seq` of `lane`: TAG..=MAX_PAYLOAD bytes,
/// spread over the whole range.
pub fn size_of(lane: u16, seq: u64) -> usize {
    let h = (seq ^ (u64::from(lane) << 48)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    TAG + h as usize % (MAX_PAYLOAD - TAG + 1)
}

/// Writes message `seq` of `lane` in `session` into `out`; returns its size.
pub fn encode(lane: u16, session: u16, seq: u64, out: &mut [u8; MAX_PAYLOAD]) -> usize {
    let n = size_of(lane, seq);
    out[0..2].copy_from_slice(&lane.to_le_bytes());
    out[2..4].copy_from_slice(&session.to_le_bytes());
    out[4..12].copy_from_slice(&seq.to_le_bytes());
    pattern(seq ^ (u64::from(lane) << 48), n - TAG, &mut out[TAG..]);
    n
}

/// The tag of a payload: (lane, session, seq), if it is long enough.
pub fn decode(msg: &[u8]) -> Option<(u16, u16, u64)> {
    let lane = u16::from_le_bytes(msg.get(0..2)?.try_into().ok()?);
    let session = u16::from_le_bytes(msg.get(2..4)?.try_into().ok()?);
    let seq = u64::from_le_bytes(msg.get(4..12)?.try_into().ok()?);
    Some((lane, session, seq))
}

/// What one side counted. Printed as `key=value` words, so a child process
/// can hand its counts to the soak on one line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Sends that returned `Ok`.
    pub accepted: u64,
    /// Echoes that came back as the next message of their lane, intact.
    pub delivered: u64,
    /// Accepted messages whose echo was still due when the sender was told
    /// `PeerReset`: reported failed.
    pub failed: u64,
    /// Accepted messages skipped over by a later one of their lane, without
    /// any reset: lost silently.
    pub lost: u64,
    /// Echoes of a message that had been delivered (or reported failed).
    pub duplicated: u64,
    /// Echoes that came before an earlier message of their lane.
    pub reordered: u64,
    /// Echoes whose size or bytes differ from what was sent.
    pub corrupt: u64,
    /// Echoes that arrived on another lane's endpoint.
    pub misrouted: u64,
    /// Echoes carrying another session's tag (an old ring's message).
    pub stale: u64,
    /// Sends refused with `PeerReset` (never accepted, so not counted).
    pub refused: u64,
    /// Sends made in place through a `TxBuffer`.
    pub zero_copy_sends: u64,
    /// Errors other than `PeerReset` and `WouldBlock`.
    pub unexpected_errors: u64,
}

impl Counts {
    /// Adds `o` to these counts.
    pub fn add(&mut self, o: &Counts) {
        for (a, b) in self.fields_mut().into_iter().zip(o.fields()) {
            *a += b;
        }
    }

    fn fields(&self) -> [u64; 12] {
        [
            self.accepted,
            self.delivered,
            self.failed,
            self.lost,
            self.duplicated,
            self.reordered,
            self.corrupt,
            self.misrouted,
            self.stale,
            self.refused,
            self.zero_copy_sends,
            self.unexpected_errors,
        ]
    }

    fn fields_mut(&mut self) -> [&mut u64; 12] {
        [
            &mut self.accepted,
            &mut self.delivered,
            &mut self.failed,
            &mut self.lost,
            &mut self.duplicated,
            &mut self.reordered,
            &mut self.corrupt,
            &mut self.misrouted,
            &mut self.stale,
            &mut self.refused,
            &mut self.zero_copy_sends,
            &mut self.unexpected_errors,
        ]
    }

    const NAMES: [&'static str; 12] = [
        "accepted",
        "delivered",
        "failed",
        "lost",
        "duplicated",
        "reordered",
        "corrupt",
        "misrouted",
        "stale",
        "refused",
        "zero_copy_sends",
        "unexpected_errors",
    ];

    /// `key=value` words.
    pub fn words(&self) -> String {
        Self::NAMES
            .iter()
            .zip(self.fields())
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Reads what [`words`](Self::words) wrote (other words ignored).
    pub fn from_words(line: &str) -> Counts {
        let mut c = Counts::default();
        for word in line.split_whitespace() {
            if let Some((k, v)) = word.split_once('=') {
                if let (Some(i), Ok(v)) = (Self::NAMES.iter().position(|n| *n == k), v.parse()) {
                    *c.fields_mut()[i] = v;
                }
            }
        }
        c
    }

    /// Whether every message is accounted for and none misbehaved.
    pub fn clean(&self) -> bool {
        self.accepted == self.delivered + self.failed
            && self.lost == 0
            && self.duplicated == 0
            && self.reordered == 0
            && self.corrupt == 0
            && self.misrouted == 0
            && self.stale == 0
            && self.unexpected_errors == 0
    }
}

/// Sequence numbers of one lane, kept across sessions.
#[derive(Debug, Clone, Copy, Default)]
pub struct LaneSeq {
    /// The next sequence number to send.
    pub next: u64,
    /// The next sequence number whose echo is due.
    pub expect: u64,
}

/// The sending and checking side of one session: sends numbered messages
/// of random sizes on every lane (copied or in place), checks each echo,
/// and keeps some received buffers for a while (zero-copy).
pub struct Driver<'d, 'a, 'cb> {
    pub dev: &'d Device<'a, 'cb>,
    /// The lanes' endpoints and their peers' addresses.
    pub eps: Vec<(EndpointId, u32)>,
    pub session: u16,
    pub rng: Rng,
    /// Received buffers not given back yet (already checked).
    pub held: VecDeque<RxBuffer<'d>>,
    /// Keep every received buffer (up to the limit) and give none back.
    pub hold_all: bool,
    first_lane: usize,
}

impl<'d, 'a, 'cb> Driver<'d, 'a, 'cb> {
    pub fn new(
        dev: &'d Device<'a, 'cb>,
        eps: Vec<(EndpointId, u32)>,
        session: u16,
        rng: Rng,
    ) -> Self {
        Driver {
            dev,
            eps,
            session,
            rng,
            held: VecDeque::new(),
            hold_all: false,
            first_lane: 0,
        }
    }

    /// One pass without waiting: sends what the windows and `budget` allow,
    /// checks every echo that arrived. Returns whether anything happened;
    /// the first error other than `WouldBlock` ends the pass.
    pub fn pump(
        &mut self,
        seqs: &mut [LaneSeq],
        budget: &mut u64,
        c: &mut Counts,
    ) -> Result<bool, Error> {
        let mut progress = false;
        let lanes = self.eps.len();
        let mut out = [0u8; MAX_PAYLOAD];
        for k in 0..lanes {
            let lane = (self.first_lane + k) % lanes;
            let (ep, dest) = self.eps[lane];
            let s = &mut seqs[lane];
            while *budget > 0 && s.next - s.expect < WINDOW {
                let n = encode(lane as u16, self.session, s.next, &mut out);
                let sent = if self.rng.one_in(3) {
                    // In place: a transmit buffer filled and sent.
                    match self.dev.try_alloc_tx() {
                        Ok(mut tx) => {
                            let r = tx
                                .write_at(0, &out[..n])
                                .and_then(|()| tx.send_to(ep, dest, n));
                            if r.is_ok() {
                                c.zero_copy_sends += 1;
                            }
                            r
                        }
                        Err(e) => Err(e),
                    }
                } else {
                    self.dev.try_send(ep, &out[..n])
                };
                match sent {
                    Ok(()) => {
                        s.next += 1;
                        *budget -= 1;
                        c.accepted += 1;
                        progress = true;
                    }
                    Err(Error::WouldBlock) => break,
                    Err(e) => {
                        if matches!(e, Error::PeerReset { .. }) {
                            c.refused += 1;
                        }
                        return Err(e);
                    }
                }
            }
        }
        self.first_lane = (self.first_lane + 1) % lanes.max(1);
        for (lane, (s, &(ep, _))) in seqs.iter_mut().zip(&self.eps).enumerate() {
            while let Some(m) = self.dev.try_recv(ep)? {
                check(self.session, lane, s, &m, c);
                progress = true;
                // Keep some buffers a while: the peer sends with fewer.
                if self.held.len() < MAX_HELD && (self.hold_all || self.rng.one_in(4)) {
                    self.held.push_back(m);
                }
            }
        }
        let keep = self.rng.below(MAX_HELD as u64 + 1) as usize;
        while !self.hold_all && self.held.len() > keep {
            self.held.pop_front();
        }
        Ok(progress)
    }

    /// Whether every lane's echoes are all back.
    pub fn drained(seqs: &[LaneSeq]) -> bool {
        seqs.iter().all(|s| s.next == s.expect)
    }
}

/// Checks an echo of `session` that arrived on `lane`.
fn check(session: u16, lane: usize, s: &mut LaneSeq, m: &RxBuffer<'_>, c: &mut Counts) {
    let mut got = [0u8; MAX_PAYLOAD];
    let n = match m.read(&mut got) {
        Ok(n) if n == m.len() => n,
        _ => {
            c.corrupt += 1;
            return;
        }
    };
    let Some((tag_lane, tag_session, seq)) = decode(&got[..n]) else {
        c.corrupt += 1;
        return;
    };
    if usize::from(tag_lane) != lane {
        c.misrouted += 1;
        return;
    }
    if session != tag_session {
        c.stale += 1;
        return;
    }
    if seq < s.expect {
        c.duplicated += 1;
        return;
    }
    if seq >= s.next {
        // Never sent: damaged.
        c.corrupt += 1;
        return;
    }
    if seq > s.expect {
        c.reordered += 1;
        c.lost += seq - s.expect;
    }
    s.expect = seq + 1;
    let mut want = [0u8; MAX_PAYLOAD];
    let w = encode(lane as u16, session, seq, &mut want);
    if w == n && want[..n] == got[..n] {
        c.delivered += 1;
    } else {
        c.corrupt += 1;
    }
}

/// The sender was told `PeerReset`: every message still due is reported
/// failed.
pub fn fail_outstanding(seqs: &mut [LaneSeq], c: &mut Counts) {
    for s in seqs {
        c.failed += s.next - s.expect;
        s.expect = s.next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_cover_the_range_and_tags_round_trip() {
        let sizes: Vec<usize> = (0..20_000).map(|s| size_of(3, s)).collect();
        assert!(sizes.iter().all(|n| (TAG..=MAX_PAYLOAD).contains(n)));
        assert!(sizes.contains(&TAG) && sizes.contains(&MAX_PAYLOAD));
        let mut out = [0u8; MAX_PAYLOAD];
        let n = encode(5, 7, 123_456, &mut out);
        assert_eq!(decode(&out[..n]), Some((5, 7, 123_456)));
    }

    #[test]
    fn counts_round_trip_as_words() {
        let c = Counts {
            accepted: 10,
            delivered: 7,
            failed: 3,
            refused: 2,
            ..Counts::default()
        };
        assert_eq!(Counts::from_words(&format!("report {}", c.words())), c);
        assert!(c.clean());
    }
}
