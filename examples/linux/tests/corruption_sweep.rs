//! Corruption sweep (issue 14, part 3): every field of the shared memory of
//! the Linux-process layout is overwritten with boundary values during a
//! live exchange, and both sides must answer with a typed error or a
//! counted drop (or, where the value is legal, carry on), never a panic, a
//! hang or an access outside their structures.
//!
//! Real parts: the shared file in a private directory, mapped three times
//! as three processes would (the host, the remote, and the corrupting
//! side, which writes between the devices' operations), the resource table
//! the remote writes and the host parses, our host and remote RPMsg devices
//! over it, kicks on a Unix socket pair. Both devices run in one thread,
//! with non-blocking calls only, so each case is deterministic; each case
//! runs on a thread of its own with a deadline, so a hang is a failure.
//!
//! Fields: the table header (ver, num, reserved, offset), the vdev entry
//! (type, id, notifyid, dfeatures, gfeatures, config_len, status,
//! num_of_vrings, reserved), both vring entries (da, align, num, notifyid,
//! pa) — at attach time and live —; descriptors (addr, len, flags, next)
//! of a message in flight on either vring; both available rings (flags,
//! idx, ring entry, used_event) and both used rings (flags, idx, entry id,
//! entry len, avail_event) of a message in flight; the RPMsg header (src,
//! dst, reserved, len, flags) of a message each way; and name-service
//! messages each way (name, addr, flags, and their header len). Values: 0,
//! 1, max, max-1 and out-of-range ones per field (an index >= num, an
//! address past the file or outside the buffer pool, a length past the
//! buffer).
//!
//! Every message is numbered, so each case tells what became of it:
//! delivered, lost, duplicated, changed, or delivered although its send
//! failed; what the sides reported: typed errors and counted drops; and
//! whether a byte outside every structure (table slack, ring padding, past
//! the pool) was written. The test fails on a panic, a hang, a write
//! outside the structures, an endpoint without a name bound by name
//! service, a message delivered after its send failed, and a loss or
//! duplicate that neither side reported, except where no side can know
//! (see `inherent` below). `cargo test --test corruption_sweep --
//! --nocapture` prints the outcome of every case; `SWEEP_DEBUG=1` names
//! each case as it starts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use openamp_examples_linux::{pattern, Device};
use openamp_metal_sys_linux::{MonotonicClock, PrivateDir, SharedMemory, SocketNotifier};
use openamp_remoteproc::linux::LinuxProcessLayout;
use openamp_rpmsg::{Config, EndpointConfig, EndpointId, Error, NotifyWait};

const NUM: usize = 256;
/// Vring bases in the layout (offset = physical address in the file).
const VRING: [usize; 2] = [0x4000, 0x8000];
const POOL: (usize, usize) = (0x10000, 0x50000);
const SHM_SIZE: u64 = 0x80000;

fn desc(ring: usize, i: usize) -> usize {
    VRING[ring] + 16 * (i % NUM)
}
fn avail(ring: usize) -> usize {
    VRING[ring] + 16 * NUM
}
fn used(ring: usize) -> usize {
    // align_up(avail + 6 + 2 * num, 0x1000)
    (avail(ring) + 6 + 2 * NUM + 0xFFF) & !0xFFF
}

/// Where a field is, found from the ring state when it is corrupted.
#[derive(Debug, Clone, Copy)]
enum At {
    /// A fixed offset (the resource table).
    Fixed(usize),
    /// Field `off` of the avail ring header of `ring` (flags 0, idx 2).
    AvailHdr(usize, usize),
    /// The avail ring entry of the last chain posted on `ring`.
    AvailLast(usize),
    /// The avail ring entry the device takes next on `ring`.
    AvailNext(usize),
    /// `used_event` of `ring`.
    UsedEvent(usize),
    /// Field `off` of the used ring header of `ring`.
    UsedHdr(usize, usize),
    /// Field `off` of the last used entry of `ring` (id 0, len 4).
    UsedLast(usize, usize),
    /// `avail_event` of `ring`.
    AvailEvent(usize),
    /// Field `off` of the descriptor of the last chain posted on `ring`.
    DescPosted(usize, usize),
    /// Field `off` of the descriptor the device takes next on `ring`.
    DescNext(usize, usize),
    /// Field `off` of the descriptor of the last used entry of `ring`.
    DescUsed(usize, usize),
    /// Byte `off` of the buffer of the last chain posted on `ring`.
    BufPosted(usize, usize),
    /// Byte `off` of the buffer of the last used entry of `ring`.
    BufUsed(usize, usize),
}

/// When the corrupting side writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    /// After the remote wrote its table, before either side parses it.
    Attach,
    /// Between two rounds of the exchange.
    Live,
    /// After the host sent a message (vring1), before the remote takes it.
    HostSent,
    /// After the remote sent a message (vring0 used), before the host takes it.
    RemoteSent,
    /// After the remote returned the host's buffers (vring1 used), before
    /// the host reclaims them.
    RemoteReturned,
    /// Before the remote takes the host's next empty buffer (vring0).
    BeforeRemoteSends,
    /// After the host announced a name, before the remote takes it.
    HostAnnounced,
    /// After the remote announced a name, before the host takes it.
    RemoteAnnounced,
}

#[derive(Debug, Clone, Copy)]
enum Value {
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    /// A 32-byte name.
    Name([u8; 32]),
    /// The current value plus this (u16 indices: a jump past `num`).
    U16Plus(u16),
}

struct Field {
    name: String,
    at: At,
    when: When,
    values: Vec<Value>,
}

fn u8s(extra: &[u8]) -> Vec<Value> {
    [0, 1, u8::MAX, u8::MAX - 1]
        .iter()
        .chain(extra)
        .map(|v| Value::U8(*v))
        .collect()
}
fn u16s(extra: &[u16]) -> Vec<Value> {
    [0, 1, u16::MAX, u16::MAX - 1]
        .iter()
        .chain(extra)
        .map(|v| Value::U16(*v))
        .collect()
}
fn u32s(extra: &[u32]) -> Vec<Value> {
    [0, 1, u32::MAX, u32::MAX - 1]
        .iter()
        .chain(extra)
        .map(|v| Value::U32(*v))
        .collect()
}
fn u64s(extra: &[u64]) -> Vec<Value> {
    [0, 1, u64::MAX, u64::MAX - 1]
        .iter()
        .chain(extra)
        .map(|v| Value::U64(*v))
        .collect()
}
fn idx16() -> Vec<Value> {
    let mut v = u16s(&[NUM as u16, NUM as u16 + 1]);
    v.push(Value::U16Plus(NUM as u16 + 1));
    v.push(Value::U16Plus(1));
    v
}
fn names() -> Vec<Value> {
    let mut no_nul = [b'x'; 32];
    no_nul[..8].copy_from_slice(b"sweep-ns");
    let mut junk = [0xA5u8; 32];
    junk[..9].copy_from_slice(b"sweep-ns\0");
    vec![
        Value::Name([0; 32]),
        Value::Name([0xFF; 32]),
        Value::Name(no_nul),
        Value::Name(junk),
    ]
}

fn fields() -> Vec<Field> {
    let mut f = Vec::new();
    let mut add = |name: &str, at: At, when: When, values: Vec<Value>| {
        f.push(Field {
            name: name.to_string(),
            at,
            when,
            values,
        })
    };
    // The resource table: header, vdev entry, vring entries; parsed when
    // each side attaches, and live (only status and features are re-read).
    let table: Vec<(&str, usize, Vec<Value>)> = vec![
        ("table.ver", 0, u32s(&[2])),
        ("table.num", 4, u32s(&[2, 0x1000])),
        ("table.reserved[0]", 8, u32s(&[])),
        ("table.reserved[1]", 12, u32s(&[])),
        ("table.offset[0]", 16, u32s(&[88, 0x10000, 21])),
        ("vdev.type", 20, u32s(&[2, 128])),
        ("vdev.id", 24, u32s(&[5])),
        ("vdev.notifyid", 28, u32s(&[1])),
        ("vdev.dfeatures", 32, u32s(&[])),
        ("vdev.gfeatures", 36, u32s(&[])),
        ("vdev.config_len", 40, u32s(&[0x10000, 0x80000])),
        ("vdev.num_of_vrings", 45, u8s(&[3])),
        ("vdev.reserved", 46, u16s(&[])),
    ];
    for (name, off, values) in table {
        let at = At::Fixed(off);
        add(name, at, When::Attach, values.clone());
        add(name, at, When::Live, values);
    }
    // The status byte: the host writes it at attach; live, it is the reset signal.
    add(
        "vdev.status",
        At::Fixed(44),
        When::Live,
        u8s(&[0x0F, 0x40, 0x80]),
    );
    for ring in 0..2 {
        let base = 48 + 20 * ring;
        let vr: Vec<(&str, usize, Vec<Value>)> = vec![
            ("da", 0, u32s(&[0x80000, 0x4001, 0x7F000, 0x10000])),
            ("align", 4, u32s(&[3, 0x1000_0000])),
            ("num", 8, u32s(&[257, 0x8000, 512])),
            ("notifyid", 12, u32s(&[2 - ring as u32])),
            ("pa", 16, u32s(&[0x80000])),
        ];
        for (n, off, values) in vr {
            let name = format!("vring{ring}.{n}");
            add(&name, At::Fixed(base + off), When::Attach, values.clone());
            add(&name, At::Fixed(base + off), When::Live, values);
        }
    }
    // Descriptors of a message in flight.
    let addrs = |ring: usize| {
        u64s(&[
            SHM_SIZE,
            SHM_SIZE - 16,
            POOL.1 as u64 - 16,
            VRING[ring] as u64,
            0x100,
        ])
    };
    let descs = |ring: usize| -> Vec<(&'static str, usize, Vec<Value>)> {
        vec![
            ("addr", 0, addrs(ring)),
            ("len", 8, u32s(&[15, 16, 513, 0x10000])),
            ("flags", 12, u16s(&[2, 3, 4, 5])),
            ("next", 14, u16s(&[NUM as u16, NUM as u16 + 1])),
        ]
    };
    for (n, off, v) in descs(1) {
        let name = format!("vring1.desc.{n} (host message)");
        add(&name, At::DescPosted(1, off), When::HostSent, v);
    }
    for (n, off, v) in descs(0) {
        let name = format!("vring0.desc.{n} (host empty buffer)");
        add(&name, At::DescNext(0, off), When::BeforeRemoteSends, v);
    }
    for (n, off, v) in descs(0) {
        let name = format!("vring0.desc.{n} (remote message)");
        add(&name, At::DescUsed(0, off), When::RemoteSent, v);
    }
    // Available rings: vring1 with a host message, vring0 with empty buffers.
    for (ring, when, entry) in [
        (1, When::HostSent, At::AvailLast(1)),
        (0, When::BeforeRemoteSends, At::AvailNext(0)),
    ] {
        add(
            &format!("vring{ring}.avail.flags"),
            At::AvailHdr(ring, 0),
            when,
            u16s(&[1]),
        );
        add(
            &format!("vring{ring}.avail.idx"),
            At::AvailHdr(ring, 2),
            when,
            idx16(),
        );
        add(
            &format!("vring{ring}.avail.ring[]"),
            entry,
            when,
            u16s(&[NUM as u16, NUM as u16 + 1]),
        );
        add(
            &format!("vring{ring}.avail.used_event"),
            At::UsedEvent(ring),
            when,
            u16s(&[]),
        );
    }
    // Used rings: vring0 with a remote message, vring1 with returned buffers.
    for (ring, when) in [(0, When::RemoteSent), (1, When::RemoteReturned)] {
        add(
            &format!("vring{ring}.used.flags"),
            At::UsedHdr(ring, 0),
            when,
            u16s(&[1]),
        );
        add(
            &format!("vring{ring}.used.idx"),
            At::UsedHdr(ring, 2),
            when,
            idx16(),
        );
        add(
            &format!("vring{ring}.used.ring[].id"),
            At::UsedLast(ring, 0),
            when,
            u32s(&[NUM as u32, NUM as u32 + 1, 0x10000]),
        );
        add(
            &format!("vring{ring}.used.ring[].len"),
            At::UsedLast(ring, 4),
            when,
            u32s(&[15, 16, 513, 0x10000]),
        );
        add(
            &format!("vring{ring}.used.avail_event"),
            At::AvailEvent(ring),
            when,
            u16s(&[]),
        );
    }
    // RPMsg headers of a message each way.
    for (dir, when, buf) in [
        (
            "host->remote",
            When::HostSent,
            At::BufPosted as fn(usize, usize) -> At,
        ),
        (
            "remote->host",
            When::RemoteSent,
            At::BufUsed as fn(usize, usize) -> At,
        ),
    ] {
        let ring = if when == When::HostSent { 1 } else { 0 };
        add(
            &format!("rpmsg.src ({dir})"),
            buf(ring, 0),
            when,
            u32s(&[53, 1023, 1024]),
        );
        add(
            &format!("rpmsg.dst ({dir})"),
            buf(ring, 4),
            when,
            u32s(&[53, 1023, 1024]),
        );
        add(
            &format!("rpmsg.reserved ({dir})"),
            buf(ring, 8),
            when,
            u32s(&[]),
        );
        add(
            &format!("rpmsg.len ({dir})"),
            buf(ring, 12),
            when,
            u16s(&[496, 497, 513]),
        );
        add(
            &format!("rpmsg.flags ({dir})"),
            buf(ring, 14),
            when,
            u16s(&[]),
        );
    }
    // Name-service messages each way.
    for (dir, when, buf) in [
        (
            "host->remote",
            When::HostAnnounced,
            At::BufPosted as fn(usize, usize) -> At,
        ),
        (
            "remote->host",
            When::RemoteAnnounced,
            At::BufUsed as fn(usize, usize) -> At,
        ),
    ] {
        let ring = if when == When::HostAnnounced { 1 } else { 0 };
        add(
            &format!("ns.len ({dir})"),
            buf(ring, 12),
            when,
            u16s(&[39, 41]),
        );
        add(&format!("ns.name ({dir})"), buf(ring, 16), when, names());
        add(
            &format!("ns.addr ({dir})"),
            buf(ring, 48),
            when,
            u32s(&[53, 1023]),
        );
        add(
            &format!("ns.flags ({dir})"),
            buf(ring, 52),
            when,
            u32s(&[2]),
        );
    }
    f
}

/// The corrupting side: its own mapping of the file.
struct Evil(SharedMemory);

impl Evil {
    fn r16(&self, off: usize) -> u16 {
        self.0.region().read_u16(off).unwrap()
    }
    fn r32(&self, off: usize) -> u32 {
        self.0.region().read_u32(off).unwrap()
    }
    fn r64(&self, off: usize) -> u64 {
        self.0.region().read_u64(off).unwrap()
    }

    /// Where `at` is now.
    fn locate(&self, at: At) -> usize {
        let avail_idx = |r| usize::from(self.r16(avail(r) + 2));
        let used_idx = |r| usize::from(self.r16(used(r) + 2));
        let last_avail_slot = |r| (avail_idx(r) + 0xFFFF) % NUM;
        let last_used_slot = |r| (used_idx(r) + 0xFFFF) % NUM;
        // The device has nothing in flight: it takes entry used_idx next.
        let next_avail_slot = |r| used_idx(r) % NUM;
        let head_posted = |r| usize::from(self.r16(avail(r) + 4 + 2 * last_avail_slot(r)));
        let head_next = |r| usize::from(self.r16(avail(r) + 4 + 2 * next_avail_slot(r)));
        let head_used = |r| self.r32(used(r) + 4 + 8 * last_used_slot(r)) as usize;
        let buf = |r, head| self.r64(desc(r, head)) as usize;
        match at {
            At::Fixed(o) => o,
            At::AvailHdr(r, o) => avail(r) + o,
            At::AvailLast(r) => avail(r) + 4 + 2 * last_avail_slot(r),
            At::AvailNext(r) => avail(r) + 4 + 2 * next_avail_slot(r),
            At::UsedEvent(r) => avail(r) + 4 + 2 * NUM,
            At::UsedHdr(r, o) => used(r) + o,
            At::UsedLast(r, o) => used(r) + 4 + 8 * last_used_slot(r) + o,
            At::AvailEvent(r) => used(r) + 4 + 8 * NUM,
            At::DescPosted(r, o) => desc(r, head_posted(r)) + o,
            At::DescNext(r, o) => desc(r, head_next(r)) + o,
            At::DescUsed(r, o) => desc(r, head_used(r)) + o,
            At::BufPosted(r, o) => buf(r, head_posted(r)) + o,
            At::BufUsed(r, o) => buf(r, head_used(r)) + o,
        }
    }

    fn corrupt(&self, at: At, v: Value) {
        let off = self.locate(at);
        let m = self.0.region();
        match v {
            Value::U8(x) => m.write_u8(off, x),
            Value::U16(x) => m.write_u16(off, x),
            Value::U32(x) => m.write_u32(off, x),
            Value::U64(x) => m.write_u64(off, x),
            Value::Name(n) => m.write_bytes(off, &n),
            Value::U16Plus(d) => m.write_u16(off, self.r16(off).wrapping_add(d)),
        }
        .unwrap();
    }

    /// Areas no structure covers: nothing may write there.
    fn untouched(&self) -> Result<(), String> {
        let gaps = [
            (88, VRING[0]),
            (avail(0) + 6 + 2 * NUM, used(0)),
            (used(0) + 6 + 8 * NUM, VRING[1]),
            (avail(1) + 6 + 2 * NUM, used(1)),
            (used(1) + 6 + 8 * NUM, POOL.0),
            (POOL.1, SHM_SIZE as usize),
        ];
        let mut b = vec![0u8; SHM_SIZE as usize];
        self.0.region().read_bytes(0, &mut b).unwrap();
        for (from, to) in gaps {
            if let Some(i) = b[from..to].iter().position(|x| *x != 0) {
                return Err(format!(
                    "byte {:#x} outside every structure was written",
                    from + i
                ));
            }
        }
        Ok(())
    }
}

/// What one case saw.
#[derive(Debug, Default)]
struct Seen {
    errors: Vec<String>,
    dropped: u64,
    /// Message numbers sent (the send returned `Ok`) and received, host to
    /// remote and remote to host.
    sent: [BTreeSet<u64>; 2],
    got: [BTreeSet<u64>; 2],
    /// Messages whose send failed (not `WouldBlock`), per direction.
    refused: [BTreeSet<u64>; 2],
    /// Of those, how many the peer received all the same.
    after_failure: u64,
    duplicated: u64,
    changed: u64,
    /// What became of the announcement (name-service cases).
    ns: Option<String>,
    /// An endpoint without a name was bound by name service.
    nameless_bound: bool,
    untouched: Option<Result<(), String>>,
}

impl Seen {
    fn err(&mut self, e: impl std::fmt::Debug) {
        // The variant (and a virtqueue error's), without the values.
        let s = format!("{e:?}");
        let cut = s.find([' ', '{']).unwrap_or(s.len());
        let mut name = s[..cut].trim_end_matches(')').to_string();
        let open = name.matches('(').count();
        name.extend(std::iter::repeat_n(')', open));
        if !self.errors.contains(&name) {
            self.errors.push(name);
        }
    }

    fn lost(&self) -> u64 {
        (0..2)
            .map(|d| self.sent[d].difference(&self.got[d]).count() as u64)
            .sum()
    }

    /// What happened, and whether it went unreported: messages lost or
    /// duplicated with neither an error nor a counted drop.
    fn outcome(&self) -> (String, bool) {
        let mut parts = Vec::new();
        if !self.errors.is_empty() {
            parts.push(format!("error {}", self.errors.join("+")));
        }
        if self.dropped > 0 {
            parts.push(format!("{} dropped (counted)", self.dropped));
        }
        let reported = !parts.is_empty();
        if self.changed > 0 {
            parts.push(format!("{} delivered changed", self.changed));
        }
        if self.duplicated > 0 {
            parts.push(format!("{} duplicated", self.duplicated));
        }
        if self.lost() > 0 {
            parts.push(format!("{} lost", self.lost()));
        }
        if let Some(ns) = &self.ns {
            parts.push(ns.clone());
        }
        if self.after_failure > 0 {
            parts.push(format!(
                "{} DELIVERED AFTER A FAILED SEND",
                self.after_failure
            ));
        }
        if self.nameless_bound {
            parts.push("A NAMELESS ENDPOINT WAS BOUND".into());
        }
        if parts.is_empty() {
            parts.push("no effect".into());
        }
        // A message delivered changed stands for one that is missing.
        let silent = !reported && (self.lost() > self.changed || self.duplicated > 0);
        (parts.join(", "), silent)
    }
}

/// Message `i`: its number, then bytes that follow from it.
fn message(i: u64, out: &mut [u8; 64]) -> usize {
    let n = 8 + (i as usize * 7) % 56;
    out[..8].copy_from_slice(&i.to_le_bytes());
    pattern(i, n - 8, &mut out[8..]);
    n
}

/// The number of `b`, if it is one of the messages `message` makes.
fn number_of(b: &[u8]) -> Option<u64> {
    let i = u64::from_le_bytes(b.get(..8)?.try_into().ok()?);
    let mut m = [0u8; 64];
    let n = message(i, &mut m);
    (n == b.len() && m[..n] == *b).then_some(i)
}

struct Pair<'a> {
    /// [host, remote].
    dev: [Device<'a, 'static>; 2],
    /// Each side's endpoint of the exchange.
    ep: [EndpointId; 2],
    /// Each side's endpoint without a name or a peer.
    nameless: [EndpointId; 2],
    next: u64,
}

const ADDR: [u32; 2] = [2000, 3000];
const NAMELESS: [u32; 2] = [5000, 5001];

impl Pair<'_> {
    /// Sends the next message from side `from` (0 host, 1 remote).
    fn send(&mut self, from: usize, s: &mut Seen) {
        let mut out = [0u8; 64];
        let i = self.next;
        self.next += 1;
        let n = message(i, &mut out);
        match self.dev[from].try_send_to(self.ep[from], ADDR[1 - from], &out[..n]) {
            Ok(()) => {
                s.sent[from].insert(i);
            }
            Err(Error::WouldBlock) => {}
            Err(e) => {
                s.refused[from].insert(i);
                s.err(e);
            }
        }
    }

    /// Side `to` takes and checks everything that came for it.
    fn drain(&mut self, to: usize, s: &mut Seen) {
        let mut got = [0u8; 512];
        let dev = &self.dev[to];
        if let Err(e) = dev.poll() {
            s.err(e);
        }
        loop {
            match dev.try_recv(self.ep[to]) {
                Ok(Some(m)) => match m.read(&mut got) {
                    Ok(n) => match number_of(&got[..n]) {
                        Some(i) if s.sent[1 - to].contains(&i) => {
                            if !s.got[1 - to].insert(i) {
                                s.duplicated += 1;
                            }
                        }
                        Some(i) if s.refused[1 - to].contains(&i) => s.after_failure += 1,
                        _ => s.changed += 1,
                    },
                    Err(e) => s.err(e),
                },
                Ok(None) => break,
                Err(e) => {
                    s.err(e);
                    break;
                }
            }
        }
    }

    /// One round: a message each way, what arrived checked. Every call is
    /// non-blocking.
    fn round(&mut self, s: &mut Seen) {
        self.send(0, s);
        self.send(1, s);
        self.drain(1, s);
        self.drain(0, s);
    }
}

fn wait(kick: &SocketNotifier) -> NotifyWait<&SocketNotifier, MonotonicClock> {
    NotifyWait {
        kicks: kick,
        clock: MonotonicClock,
    }
}

fn run_case(dir: &Path, f: &Field, v: Value) -> Seen {
    let mut s = Seen::default();
    let layout = LinuxProcessLayout::in_dir(dir);
    let remote_map = SharedMemory::open_or_create(&layout.shm_path, layout.shm_size).unwrap();
    let host_map = SharedMemory::open(&layout.shm_path).unwrap();
    let evil = Evil(SharedMemory::open(&layout.shm_path).unwrap());
    layout.init_shm(&remote_map.region()).unwrap();
    let (hk, rk) = SocketNotifier::pair().unwrap();
    if f.when == When::Attach {
        evil.corrupt(f.at, v);
    }
    macro_rules! or_stop {
        ($e:expr) => {
            match $e {
                Ok(x) => x,
                Err(e) => {
                    s.err(e);
                    return s;
                }
            }
        };
    }
    let ht = or_stop!(layout.host_transport(host_map.region(), &hk));
    let host = or_stop!(Device::new_host(ht, wait(&hk), Config::default()));
    let rt = or_stop!(layout.attach_remote(remote_map.region(), &rk));
    let cfg = Config::default();
    let remote = or_stop!(Device::new_remote(
        rt,
        wait(&rk),
        cfg,
        Duration::from_millis(20)
    ));
    let fixed = |a, d| EndpointConfig::anonymous().addr(a).dest(d);
    let ep = [
        or_stop!(host.create_endpoint(fixed(ADDR[0], ADDR[1]))),
        or_stop!(remote.create_endpoint(fixed(ADDR[1], ADDR[0]))),
    ];
    let nameless = [
        or_stop!(host.create_endpoint(EndpointConfig::anonymous().addr(NAMELESS[0]))),
        or_stop!(remote.create_endpoint(EndpointConfig::anonymous().addr(NAMELESS[1]))),
    ];
    let mut p = Pair {
        dev: [host, remote],
        ep,
        nameless,
        next: 0,
    };
    for _ in 0..4 {
        p.round(&mut s);
    }
    let mut announced = None;
    // Corrupt, then let the side that reads the field act first (the
    // writer would put its own value back at its next write).
    match f.when {
        When::Attach => {}
        When::Live => evil.corrupt(f.at, v),
        When::HostSent => {
            p.send(0, &mut s);
            evil.corrupt(f.at, v);
            p.drain(1, &mut s);
        }
        When::RemoteSent => {
            p.send(1, &mut s);
            evil.corrupt(f.at, v);
            p.drain(0, &mut s);
        }
        When::BeforeRemoteSends => {
            evil.corrupt(f.at, v);
            p.send(1, &mut s);
            p.drain(0, &mut s);
        }
        When::RemoteReturned => {
            // Fill vring1; the remote takes and returns everything; the
            // host reads the used ring when it needs a buffer again.
            for _ in 0..NUM {
                p.send(0, &mut s);
            }
            p.drain(1, &mut s);
            evil.corrupt(f.at, v);
            p.send(0, &mut s);
        }
        When::HostAnnounced | When::RemoteAnnounced => {
            let from = usize::from(f.when == When::RemoteAnnounced);
            let dev = &p.dev[from];
            match dev.create_endpoint(EndpointConfig::named("sweep-ns").unwrap()) {
                Ok(ep) => announced = dev.addr(ep).ok().map(|a| (from, a)),
                Err(e) => s.err(e),
            }
            evil.corrupt(f.at, v);
            p.drain(1 - from, &mut s);
        }
    }
    // The host reads vring1's used ring only when it runs out of
    // transmit buffers: go past all of them when the host sent last.
    let rounds = if f.when == When::HostSent {
        NUM + 24
    } else {
        24
    };
    for _ in 0..rounds {
        p.round(&mut s);
    }
    p.drain(1, &mut s);
    p.drain(0, &mut s);
    if let Some((from, addr)) = announced {
        // The receiver remembers what was announced: an endpoint of that
        // name made now binds to it at once.
        let to = &p.dev[1 - from];
        match to.create_endpoint(EndpointConfig::named("sweep-ns").unwrap()) {
            Ok(ep) => {
                s.ns = Some(match to.dest(ep) {
                    Ok(openamp_rpmsg::ADDR_ANY) => "name not bound".into(),
                    Ok(d) if d == addr => "name bound to the announcer".into(),
                    Ok(d) => format!("name bound to {d}"),
                    Err(e) => format!("{e}"),
                });
            }
            Err(e) => s.err(e),
        }
    }
    for side in 0..2 {
        if !matches!(
            p.dev[side].dest(p.nameless[side]),
            Ok(openamp_rpmsg::ADDR_ANY) | Err(_)
        ) {
            s.nameless_bound = true;
        }
        let st = p.dev[side].stats();
        s.dropped += st.dropped_malformed + st.dropped_unknown_addr;
    }
    if f.when != When::Attach {
        s.untouched = Some(evil.untouched());
    }
    s
}

#[test]
fn every_shared_field_with_boundary_values() {
    let dir = PrivateDir::new("openamp-rs-sweep-").unwrap();
    let mut table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut unreported = Vec::new();
    let mut cases = 0;
    for f in fields() {
        for &v in &f.values {
            cases += 1;
            let (tx, rx) = mpsc::channel();
            let path = dir.path().to_owned();
            let field = Field {
                name: f.name.clone(),
                at: f.at,
                when: f.when,
                values: Vec::new(),
            };
            let worker = std::thread::spawn(move || {
                let seen = run_case(&path, &field, v);
                let _ = tx.send(seen);
            });
            let what = format!("{} {:?} = {v:?}", f.name, f.when);
            if std::env::var_os("SWEEP_DEBUG").is_some() {
                eprintln!("case {what}");
            }
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(seen) => {
                    if let Some(Err(e)) = &seen.untouched {
                        failures.push(format!("{what}: {e}"));
                    }
                    let (outcome, silent) = seen.outcome();
                    if silent {
                        unreported.push(format!("{what}: {outcome}"));
                    }
                    if seen.nameless_bound || seen.after_failure > 0 {
                        failures.push(format!("{what}: {outcome}"));
                    }
                    table
                        .entry(format!("{} ({:?})", f.name, f.when))
                        .or_default()
                        .push(format!("{v:?}: {outcome}"));
                    let _ = worker.join();
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    failures.push(format!("{what}: HANG (no end within 20 s)"));
                    // The worker cannot be stopped; the test fails below.
                    break;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = worker.join();
                    failures.push(format!("{what}: PANIC"));
                }
            }
        }
    }
    for (field, outcomes) in &table {
        println!("{field}");
        for o in outcomes {
            println!("    {o}");
        }
    }
    println!("{cases} cases over {} fields", table.len());
    for u in &unreported {
        println!("unreported: {u}");
    }
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    // What no side can notice: a used entry naming another buffer the
    // device holds (a device may complete any of them; the driver cannot
    // tell that its bytes are stale). Every other loss or duplicate must
    // come with an error or a counted drop.
    let inherent = |u: &str| {
        u.starts_with("vring0.used.ring[].id RemoteSent = U32(0)")
            || u.starts_with("vring0.used.ring[].id RemoteSent = U32(1)")
    };
    let unexplained: Vec<&String> = unreported.iter().filter(|u| !inherent(u)).collect();
    assert!(
        unexplained.is_empty(),
        "lost or duplicated without an error or a counted drop:\n{unexplained:#?}"
    );
}
