//! `soak`: fault injection between two real processes on OpenAMP's
//! Linux-process platform (a shared file and a Unix socket in a private
//! directory).
//!
//! Two scenarios, each over `--messages` messages of random sizes on
//! `--lanes` endpoints, every one numbered and echoed back to its sender:
//!
//! * **remote killed**: this process is the host; a remote echo process is
//!   killed with SIGKILL `--kills` times, in turn while the lanes are being
//!   announced and bound, at a random moment of the exchange, and while the
//!   host holds received and transmit buffers (zero-copy). Each time the
//!   host must report `PeerReset`; a new remote is started and the exchange
//!   resumes with a new host device on a clean ring (the zero-copy buffers
//!   of the dead session are given back only once the new ring is live).
//! * **host killed**: a remote process sends and checks, a host echo process
//!   is killed `--kills` times (the same three moments); the remote must
//!   report `PeerReset` and end, and a new pair resumes.
//!
//! The sender of every message accounts for it: accepted (its send returned
//! `Ok`) = delivered (its echo came back intact, as the next one of its
//! lane) + failed (still due when the sender was told `PeerReset`); nothing
//! may be lost without a reset, duplicated, reordered, damaged, misrouted or
//! come from an old session, every kill must be detected, and no wait may
//! last (every one is bounded, and a stall of 10 s counts as a hang).
//! The exit status is non-zero if any of that fails.

mod echo;
mod traffic;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openamp_examples_linux::{ping, Device};
use openamp_metal_sys_linux::{MonotonicClock, PrivateDir};
use openamp_remoteproc::linux::LinuxProcessLayout;
use openamp_rpmsg::{
    BindCallback, Config, EndpointConfig, EndpointId, Error, Name, NotifyWait, RxBuffer, TxBuffer,
};

use traffic::{fail_outstanding, Counts, Driver, LaneSeq, Rng, WAIT_SLICE};

/// Bound of connecting, of the remote's wait for DRIVER_OK, of binding.
const TIMEOUT: Duration = Duration::from_secs(10);
/// No progress for this long is a hang.
const STALL: Duration = Duration::from_secs(10);
/// A kill must be noticed within this.
const DETECT_LIMIT: Duration = Duration::from_secs(5);
/// The remote driver reports its progress every this many messages.
const PROGRESS_EVERY: u64 = 64;

const USAGE: &str = "usage: soak [--kills N] [--messages N] [--lanes N] [--seed S] \
                     [--only remote|host]";

struct Args {
    kills: u64,
    messages: u64,
    lanes: usize,
    seed: u64,
    remote: bool,
    host: bool,
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--child") {
        return child::main(&argv[1..]);
    }
    let args = match parse(&argv) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("soak: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match soak(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            println!("soak: FAILED");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse(argv: &[String]) -> Result<Option<Args>, String> {
    let mut a = Args {
        kills: 100,
        messages: 1_000_000,
        lanes: 6,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
        remote: true,
        host: true,
    };
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        let num = |v: &String| v.parse::<u64>().map_err(|e| format!("{arg}: {e}"));
        match arg.as_str() {
            "--kills" => a.kills = num(value()?)?,
            "--messages" => a.messages = num(value()?)?,
            "--lanes" => a.lanes = num(value()?)?.clamp(1, 16) as usize,
            "--seed" => a.seed = num(value()?)?,
            "--only" => match value()?.as_str() {
                "remote" => a.host = false,
                "host" => a.remote = false,
                other => return Err(format!("--only remote|host, not {other:?}")),
            },
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(a))
}

fn soak(a: &Args) -> Result<bool, String> {
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let dir = PrivateDir::new("openamp-rs-soak-").map_err(|e| format!("private dir: {e}"))?;
    let layout = LinuxProcessLayout::in_dir(dir.path());
    println!(
        "soak: {} messages on {} endpoints, {} kills per scenario, seed {}",
        a.messages, a.lanes, a.kills, a.seed
    );
    let mut ok = true;
    if a.remote {
        let mut s = RemoteKills::new(a, exe.clone(), layout.clone());
        let start = Instant::now();
        s.run_from(0, None);
        s.r.elapsed = start.elapsed();
        s.r.print();
        ok &= s.r.passed(a.kills);
    }
    if a.host {
        let mut s = HostKills::new(a, exe, layout);
        let start = Instant::now();
        s.run();
        s.r.elapsed = start.elapsed();
        s.r.print();
        ok &= s.r.passed(a.kills);
    }
    Ok(ok)
}

// ---- what a scenario found ------------------------------------------------

/// When a session's peer is killed.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// While the lanes are announced and bound: at once after the peer
    /// announced its `k`th endpoint (`Some(k)`), or `delay` after the host
    /// device exists (remote killed) or the remote accepted the host (host
    /// killed), which may also fall early in the exchange.
    Setup {
        after_creates: Option<usize>,
        delay: Duration,
    },
    /// `delay` after the `after`th message of the session: mid-exchange.
    Send { after: u64, delay: Duration },
    /// After the `after`th message, once the host (remote-killed scenario)
    /// or the echo host (host-killed scenario) holds received and transmit
    /// buffers.
    ZeroCopy { after: u64 },
    /// The last session: no kill, every message delivered.
    Last,
}

/// The plan of session `s`: the three kinds of kill in turn, at random
/// moments; messages spread so that every session gets some (and the last
/// one too). A setup kill by delay comes within `setup_us` microseconds.
fn plan(rng: &mut Rng, s: u64, kills: u64, remaining: u64, lanes: usize, setup_us: u64) -> Plan {
    if s >= kills {
        return Plan::Last;
    }
    let avg = remaining / (kills - s + 1);
    let after = (1 + rng.below(2 * avg.max(1)))
        .min(remaining * 2 / 3)
        .max(1);
    match s % 3 {
        0 => Plan::Setup {
            after_creates: rng.one_in(2).then(|| rng.below(lanes as u64 + 1) as usize),
            delay: Duration::from_micros(rng.below(setup_us)),
        },
        1 => Plan::Send {
            after,
            delay: Duration::from_micros(rng.below(2000)),
        },
        _ => Plan::ZeroCopy { after },
    }
}

#[derive(Default)]
struct Report {
    name: &'static str,
    sessions: u64,
    kills: u64,
    /// Kills made, per plan: setup, send, zero-copy.
    planned: [u64; 3],
    detected: u64,
    /// Resets noticed before every lane was bound.
    detected_in_setup: u64,
    max_detect: Duration,
    unexpected_resets: u64,
    hangs: u64,
    counts: Counts,
    /// Buffers held at the zero-copy kills.
    held_rx: u64,
    held_tx: u64,
    /// Calls on those buffers after the reset, and how many failed with
    /// `PeerReset` as they must.
    calls_after_reset: u64,
    refused_after_reset: u64,
    peers_ended: u64,
    failures: Vec<String>,
    elapsed: Duration,
}

impl Report {
    fn fail(&mut self, what: String) {
        eprintln!("soak ({}): {what}", self.name);
        self.failures.push(what);
    }

    fn passed(&self, kills: u64) -> bool {
        self.counts.clean()
            && self.counts.accepted > 0
            && self.kills == kills
            && self.detected == kills
            && self.unexpected_resets == 0
            && self.hangs == 0
            && self.calls_after_reset == self.refused_after_reset
            && self.failures.is_empty()
    }

    fn print(&self) {
        let c = &self.counts;
        println!(
            "soak: {} ({} sessions, {:.1?})",
            self.name, self.sessions, self.elapsed
        );
        println!(
            "  accepted {} = delivered {} + failed {} ({}); lost {}, duplicated {}, \
             reordered {}, corrupt {}, misrouted {}, stale {}; {} sent in place",
            c.accepted,
            c.delivered,
            c.failed,
            if c.accepted == c.delivered + c.failed {
                "balanced"
            } else {
                "NOT BALANCED"
            },
            c.lost,
            c.duplicated,
            c.reordered,
            c.corrupt,
            c.misrouted,
            c.stale,
            c.zero_copy_sends,
        );
        println!(
            "  resets detected {}/{} (setup {}, exchange {}, zero-copy {}; {} before the lanes \
             were bound), slowest {:.1?} after the kill; unexpected resets {}, hangs {}, \
             unexpected errors {}",
            self.detected,
            self.kills,
            self.planned[0],
            self.planned[1],
            self.planned[2],
            self.detected_in_setup,
            self.max_detect,
            self.unexpected_resets,
            self.hangs,
            c.unexpected_errors,
        );
        println!(
            "  zero-copy kills held {} received and {} transmit buffers; {}/{} calls on them \
             after the reset failed with PeerReset; sends refused after a reset {}; \
             peers that ended by themselves {}",
            self.held_rx,
            self.held_tx,
            self.refused_after_reset,
            self.calls_after_reset,
            c.refused,
            self.peers_ended,
        );
        for f in self.failures.iter().take(20) {
            println!("  FAILURE: {f}");
        }
    }
}

// ---- processes --------------------------------------------------------------

/// A child process that can be killed from another thread, when it was
/// killed, and reaped.
#[derive(Clone)]
struct Proc {
    child: Arc<Mutex<Child>>,
    killed: Arc<Mutex<Option<Instant>>>,
}

impl Proc {
    fn new(child: Child) -> Self {
        Proc {
            child: Arc::new(Mutex::new(child)),
            killed: Arc::new(Mutex::new(None)),
        }
    }

    /// SIGKILL, once.
    fn kill(&self) {
        let mut c = self.child.lock().unwrap();
        let mut k = self.killed.lock().unwrap();
        if k.is_none() {
            *k = Some(Instant::now());
            let _ = c.kill();
        }
    }

    fn kill_after(&self, delay: Duration) {
        let p = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            p.kill();
        });
    }

    fn killed_at(&self) -> Option<Instant> {
        *self.killed.lock().unwrap()
    }

    /// Waits up to `timeout` for it to exit by itself.
    fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.lock().unwrap().try_wait() {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Kills it if it still runs, and reaps it.
    fn reap(&self) {
        if self.wait_exit(Duration::ZERO).is_none() {
            self.kill();
            let _ = self.child.lock().unwrap().wait();
        }
    }

    fn take_stdin(&self) -> Option<ChildStdin> {
        self.child.lock().unwrap().stdin.take()
    }

    fn take_stdout(&self) -> Option<ChildStdout> {
        self.child.lock().unwrap().stdout.take()
    }
}

fn spawn(
    exe: &Path,
    role: &str,
    layout: &LinuxProcessLayout,
    seed: u64,
    extra: &[String],
    piped: bool,
) -> Result<Proc, String> {
    let mut cmd = Command::new(exe);
    cmd.args(["--child", role, "--seed", &seed.to_string(), "--shm"])
        .arg(&layout.shm_path)
        .arg("--socket")
        .arg(&layout.socket_path)
        .args(extra);
    if piped {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    } else {
        cmd.stdin(Stdio::null()).stdout(Stdio::null());
    }
    cmd.spawn()
        .map(Proc::new)
        .map_err(|e| format!("cannot start the {role}: {e}"))
}

/// Lines a child prints, with when they arrived.
fn lines(out: Option<ChildStdout>) -> Receiver<(Instant, String)> {
    let (tx, rx) = mpsc::channel();
    if let Some(out) = out {
        std::thread::spawn(move || {
            let debug = std::env::var_os("SOAK_DEBUG").is_some();
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if debug {
                    eprintln!("child: {line}");
                }
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Creates the lanes `soak-0`.. (telling `created` how many so far) and
/// waits until the peer's answers bind them all: (endpoint, peer address)
/// per lane.
fn make_lanes(
    dev: &Device<'_, '_>,
    lanes: usize,
    created: &mut dyn FnMut(usize),
) -> Result<Vec<(EndpointId, u32)>, Error> {
    let mut eps = Vec::with_capacity(lanes);
    for i in 0..lanes {
        let name = format!("{}{i}", echo::LANE_PREFIX);
        eps.push(dev.create_endpoint(EndpointConfig::named(&name)?)?);
        created(i + 1);
    }
    eps.into_iter()
        .map(|ep| Ok((ep, dev.wait_bound(ep, TIMEOUT)?)))
        .collect()
}

// ---- scenario 1: the remote is killed -----------------------------------------

/// How an exchange ended.
enum Outcome {
    /// Every message delivered (the last session).
    Done,
    /// An error, at `at`; `setup`: before every lane was bound.
    Stopped {
        err: Error,
        at: Instant,
        setup: bool,
    },
    /// No progress for [`STALL`].
    Hang,
}

/// What an exchange leaves: how it ended, and the zero-copy buffers the
/// host still holds.
struct End<'d> {
    outcome: Outcome,
    rx: VecDeque<RxBuffer<'d>>,
    tx: Vec<TxBuffer<'d>>,
    lane: Option<(EndpointId, u32)>,
}

struct RemoteKills<'c> {
    a: &'c Args,
    exe: PathBuf,
    layout: LinuxProcessLayout,
    rng: Rng,
    seqs: Vec<LaneSeq>,
    remaining: u64,
    r: Report,
}

impl<'c> RemoteKills<'c> {
    fn new(a: &'c Args, exe: PathBuf, layout: LinuxProcessLayout) -> Self {
        RemoteKills {
            a,
            exe,
            layout,
            rng: Rng::new(a.seed),
            seqs: vec![LaneSeq::default(); a.lanes],
            remaining: a.messages,
            r: Report {
                name: "remote killed (SIGKILL), host reports PeerReset, new remote",
                ..Report::default()
            },
        }
    }

    /// Runs sessions `first..=kills`. `release` gives back the zero-copy
    /// buffers of the session before, once this one's ring is live. After
    /// a zero-copy kill the rest runs one call deeper, so that the dead
    /// session's buffers (and its device) outlive the new one's start.
    fn run_from<'r>(&mut self, first: u64, mut release: Option<Box<dyn FnOnce() + 'r>>) {
        let mut s = first;
        while s <= self.a.kills {
            let plan = plan(
                &mut self.rng,
                s,
                self.a.kills,
                self.remaining,
                self.a.lanes,
                500,
            );
            self.r.sessions += 1;
            let seed = self.rng.next();
            let proc = match spawn(&self.exe, "remote-echo", &self.layout, seed, &[], false) {
                Ok(p) => p,
                Err(e) => return self.r.fail(e),
            };
            let side = match ping::connect(&self.layout, TIMEOUT) {
                Ok(side) => side,
                Err(e) => {
                    proc.reap();
                    return self.r.fail(format!("session {s}: {e}"));
                }
            };
            if let Plan::Setup {
                after_creates: Some(0),
                ..
            } = plan
            {
                // Before the host device exists: its set-up must notice.
                proc.kill();
                let _ = proc.wait_exit(TIMEOUT);
            }
            let transport = match side.transport() {
                Ok(t) => t,
                Err(e) => {
                    proc.reap();
                    return self.r.fail(format!("session {s}: {e}"));
                }
            };
            let wait = NotifyWait {
                kicks: &side.kick,
                clock: MonotonicClock,
            };
            let dev = match Device::new_host(transport, wait, Config::default()) {
                Ok(d) => d,
                Err(e) => {
                    let at = Instant::now();
                    let outcome = Outcome::Stopped {
                        err: e,
                        at,
                        setup: true,
                    };
                    self.r.planned[0] += 1;
                    self.settle(&outcome, &proc, false, s);
                    proc.reap();
                    s += 1;
                    continue;
                }
            };
            let mut kill_at_create = None;
            if let Plan::Setup {
                after_creates,
                delay,
            } = plan
            {
                self.r.planned[0] += 1;
                match after_creates {
                    Some(k) => kill_at_create = Some(k),
                    None => proc.kill_after(delay),
                }
            }
            let t0 = Instant::now();
            let lanes = make_lanes(&dev, self.a.lanes, &mut |k| {
                if Some(k) == kill_at_create {
                    proc.kill();
                }
            });
            if let Some(f) = release.take() {
                f();
            }
            if std::env::var_os("SOAK_DEBUG").is_some() {
                eprintln!(
                    "session {s}: {plan:?}: lanes bound {:?} after the device",
                    lanes.as_ref().map(|_| t0.elapsed())
                );
            }
            let mut end = match lanes {
                Ok(eps) => self.exchange(&dev, eps, plan, &proc, s),
                Err(err) => End {
                    outcome: Outcome::Stopped {
                        err,
                        at: Instant::now(),
                        setup: true,
                    },
                    rx: VecDeque::new(),
                    tx: Vec::new(),
                    lane: None,
                },
            };
            let last = matches!(plan, Plan::Last);
            self.settle(&end.outcome, &proc, last, s);
            let stopped = matches!(end.outcome, Outcome::Stopped { .. });
            if stopped && (!end.rx.is_empty() || !end.tx.is_empty()) {
                self.after_reset(&mut end);
                proc.reap();
                let (rx, tx) = (end.rx, end.tx);
                self.run_from(
                    s + 1,
                    Some(Box::new(move || {
                        drop(tx);
                        drop(rx);
                    })),
                );
                return;
            }
            drop(end);
            drop(dev);
            drop(side);
            if last {
                // The host went away: the remote must notice and end.
                match proc.wait_exit(TIMEOUT) {
                    Some(st) if st.success() => self.r.peers_ended += 1,
                    Some(st) => self.r.fail(format!("the last remote exited with {st}")),
                    None => self
                        .r
                        .fail("the last remote did not end after the host left".into()),
                }
            }
            proc.reap();
            if s % 10 == 9 {
                eprintln!(
                    "soak: remote kills {}/{}, {} messages accepted",
                    self.r.kills, self.a.kills, self.r.counts.accepted
                );
            }
            s += 1;
        }
        if let Some(f) = release.take() {
            f();
        }
    }

    fn exchange<'d, 'a, 'cb>(
        &mut self,
        dev: &'d Device<'a, 'cb>,
        eps: Vec<(EndpointId, u32)>,
        plan: Plan,
        proc: &Proc,
        s: u64,
    ) -> End<'d> {
        let lane = eps.first().copied();
        let mut d = Driver::new(dev, eps, s as u16, Rng::new(self.rng.next()));
        let start = self.r.counts.accepted;
        let mut armed = match plan {
            Plan::Send { after, .. } | Plan::ZeroCopy { after } => Some(after),
            _ => None,
        };
        let mut want_hold = false;
        let mut tx = Vec::new();
        let mut last_progress = Instant::now();
        let outcome = loop {
            if let Some(after) = armed {
                if self.r.counts.accepted - start >= after || self.remaining == 0 {
                    armed = None;
                    match plan {
                        Plan::Send { delay, .. } => {
                            self.r.planned[1] += 1;
                            proc.kill_after(delay);
                        }
                        Plan::ZeroCopy { .. } => {
                            self.r.planned[2] += 1;
                            want_hold = true;
                            d.hold_all = true;
                        }
                        _ => {}
                    }
                }
            }
            if want_hold && !d.held.is_empty() {
                want_hold = false;
                for _ in 0..1 + self.rng.below(3) {
                    match dev.try_alloc_tx() {
                        Ok(mut t) => {
                            let _ = t.write_at(0, b"held across a kill");
                            tx.push(t);
                        }
                        Err(_) => break,
                    }
                }
                self.r.held_rx += d.held.len() as u64;
                self.r.held_tx += tx.len() as u64;
                proc.kill();
            }
            match d.pump(&mut self.seqs, &mut self.remaining, &mut self.r.counts) {
                Ok(true) => {
                    last_progress = Instant::now();
                    continue;
                }
                Ok(false) => {}
                Err(err) => {
                    break Outcome::Stopped {
                        err,
                        at: Instant::now(),
                        setup: false,
                    }
                }
            }
            if matches!(plan, Plan::Last) && self.remaining == 0 && Driver::drained(&self.seqs) {
                break Outcome::Done;
            }
            if last_progress.elapsed() > STALL {
                break Outcome::Hang;
            }
            if let Err(err) = dev.wait_and_poll(WAIT_SLICE) {
                break Outcome::Stopped {
                    err,
                    at: Instant::now(),
                    setup: false,
                };
            }
        };
        End {
            outcome,
            rx: std::mem::take(&mut d.held),
            tx,
            lane,
        }
    }

    /// Counts how a session ended.
    fn settle(&mut self, outcome: &Outcome, proc: &Proc, last: bool, s: u64) {
        match outcome {
            Outcome::Done => {}
            Outcome::Stopped { err, at, setup } => {
                fail_outstanding(&mut self.seqs, &mut self.r.counts);
                match (err, proc.killed_at()) {
                    (Error::PeerReset { .. }, Some(k)) if k <= *at && !last => {
                        self.r.kills += 1;
                        self.r.detected += 1;
                        self.r.detected_in_setup += u64::from(*setup);
                        let took = *at - k;
                        self.r.max_detect = self.r.max_detect.max(took);
                        if took > DETECT_LIMIT {
                            self.r
                                .fail(format!("session {s}: reset noticed after {took:?}"));
                        }
                    }
                    (Error::PeerReset { .. }, _) => {
                        self.r.unexpected_resets += 1;
                        self.r
                            .fail(format!("session {s}: PeerReset without a kill"));
                    }
                    (e, _) => {
                        self.r.counts.unexpected_errors += 1;
                        self.r.fail(format!("session {s}: {e}"));
                    }
                }
            }
            Outcome::Hang => {
                fail_outstanding(&mut self.seqs, &mut self.r.counts);
                self.r.hangs += 1;
                self.r.fail(format!(
                    "session {s}: no progress for {STALL:?} (killed: {})",
                    proc.killed_at().is_some()
                ));
            }
        }
    }

    /// The device was found reset while the host held zero-copy buffers:
    /// every call on them must now fail with `PeerReset` (the memory is
    /// about to belong to a new session).
    fn after_reset(&mut self, end: &mut End<'_>) {
        let mut b = [0u8; 64];
        let refused = |r: Result<_, Error>| matches!(r, Err(Error::PeerReset { .. }));
        for m in &end.rx {
            self.r.calls_after_reset += 1;
            self.r.refused_after_reset += u64::from(refused(m.read(&mut b).map(|_| ())));
        }
        for t in end.tx.iter_mut() {
            self.r.calls_after_reset += 1;
            self.r.refused_after_reset += u64::from(refused(t.write_at(0, b"after the reset")));
        }
        if let (Some(t), Some((ep, dest))) = (end.tx.pop(), end.lane) {
            self.r.calls_after_reset += 1;
            self.r.refused_after_reset += u64::from(refused(t.send_to(ep, dest, 4)));
        }
    }
}

// ---- scenario 2: the host is killed -------------------------------------------

struct HostKills<'c> {
    a: &'c Args,
    exe: PathBuf,
    layout: LinuxProcessLayout,
    rng: Rng,
    remaining: u64,
    r: Report,
}

/// What a remote driver reported.
struct Reported {
    at: Instant,
    line: String,
    counts: Counts,
    reset: bool,
    setup: bool,
    hang: bool,
    /// Calls on buffers the remote held at the reset, and how many failed
    /// with `PeerReset`.
    after_reset: (u64, u64),
}

impl<'c> HostKills<'c> {
    fn new(a: &'c Args, exe: PathBuf, layout: LinuxProcessLayout) -> Self {
        HostKills {
            a,
            exe,
            layout,
            rng: Rng::new(a.seed ^ 0x5EED),
            remaining: a.messages,
            r: Report {
                name: "host killed (SIGKILL), remote reports PeerReset and ends, new pair",
                ..Report::default()
            },
        }
    }

    fn run(&mut self) {
        for s in 0..=self.a.kills {
            let plan = plan(
                &mut self.rng,
                s,
                self.a.kills,
                self.remaining,
                self.a.lanes,
                1500,
            );
            self.r.sessions += 1;
            if let Err(e) = self.session(s, plan) {
                self.r.fail(format!("session {s}: {e}"));
            }
            if s % 10 == 9 {
                eprintln!(
                    "soak: host kills {}/{}, {} messages accepted",
                    self.r.kills, self.a.kills, self.r.counts.accepted
                );
            }
        }
    }

    fn session(&mut self, s: u64, plan: Plan) -> Result<(), String> {
        let last = matches!(plan, Plan::Last);
        let mut extra = vec![
            "--session".to_string(),
            s.to_string(),
            "--budget".into(),
            self.remaining.to_string(),
            "--lanes".into(),
            self.a.lanes.to_string(),
        ];
        if !last {
            extra.push("--until-reset".into());
        }
        let remote = spawn(
            &self.exe,
            "remote-driver",
            &self.layout,
            self.rng.next(),
            &extra,
            true,
        )?;
        let remote_lines = lines(remote.take_stdout());
        let host = match spawn(
            &self.exe,
            "host-echo",
            &self.layout,
            self.rng.next(),
            &[],
            true,
        ) {
            Ok(h) => h,
            Err(e) => {
                remote.reap();
                return Err(e);
            }
        };
        let host_lines = lines(host.take_stdout());
        let mut host_stdin = host.take_stdin();
        let mut report = None;
        let progress = |l: &str| {
            l.strip_prefix("progress ")
                .and_then(|n| n.parse::<u64>().ok())
        };
        let waited = match plan {
            Plan::Setup {
                after_creates,
                delay,
            } => {
                self.r.planned[0] += 1;
                let w = match after_creates {
                    // The remote accepted the host: kill it at once.
                    Some(0) => wait_line(&remote_lines, &mut report, |l| l == "accepted"),
                    Some(k) => wait_line(&remote_lines, &mut report, |l| {
                        l == format!("announced {k}")
                    }),
                    None => {
                        let w = wait_line(&remote_lines, &mut report, |l| l == "accepted");
                        std::thread::sleep(delay);
                        w
                    }
                };
                host.kill();
                w
            }
            Plan::Send { after, delay } => {
                self.r.planned[1] += 1;
                let w = wait_line(&remote_lines, &mut report, |l| {
                    progress(l).is_some_and(|n| n >= after) || l == "budget spent"
                });
                std::thread::sleep(delay);
                host.kill();
                w
            }
            Plan::ZeroCopy { after } => {
                self.r.planned[2] += 1;
                let w = wait_line(&remote_lines, &mut report, |l| {
                    progress(l).is_some_and(|n| n >= after) || l == "budget spent"
                })
                .and_then(|()| {
                    let stdin = host_stdin.as_mut().ok_or("no stdin")?;
                    writeln!(stdin, "hold").map_err(|e| e.to_string())?;
                    stdin.flush().map_err(|e| e.to_string())?;
                    let mut none = None;
                    let mut held = String::new();
                    wait_line(&host_lines, &mut none, |l| {
                        held = l.to_string();
                        l.starts_with("holding")
                    })?;
                    for w in held.split_whitespace() {
                        if let Some(n) = w.strip_prefix("rx=").and_then(|n| n.parse::<u64>().ok()) {
                            self.r.held_rx += n;
                        }
                        if let Some(n) = w.strip_prefix("tx=").and_then(|n| n.parse::<u64>().ok()) {
                            self.r.held_tx += n;
                        }
                    }
                    Ok(())
                });
                host.kill();
                w
            }
            Plan::Last => Ok(()),
        };
        if let Err(e) = waited {
            self.r.fail(format!("session {s}: before the kill: {e}"));
        }
        // The remote's report: it must come, however the session went.
        if report.is_none() {
            let _ = wait_line(&remote_lines, &mut report, |_| false);
        }
        let Some(rep) = report else {
            self.r.hangs += 1;
            remote.reap();
            host.reap();
            return Err("the remote driver never reported".into());
        };
        self.remaining -= rep.counts.accepted.min(self.remaining);
        self.r.counts.add(&rep.counts);
        self.r.calls_after_reset += rep.after_reset.0;
        self.r.refused_after_reset += rep.after_reset.1;
        if rep.hang {
            self.r.hangs += 1;
            self.r
                .fail(format!("session {s}: the remote driver stalled"));
        }
        match (rep.reset, host.killed_at()) {
            (true, Some(k)) if !last => {
                self.r.kills += 1;
                self.r.detected += 1;
                self.r.detected_in_setup += u64::from(rep.setup);
                let took = rep.at.saturating_duration_since(k);
                self.r.max_detect = self.r.max_detect.max(took);
                if took > DETECT_LIMIT {
                    self.r
                        .fail(format!("session {s}: reset noticed after {took:?}"));
                }
            }
            (true, _) => {
                self.r.unexpected_resets += 1;
                self.r
                    .fail(format!("session {s}: PeerReset without a kill"));
            }
            (false, Some(_)) => {
                self.r.kills += 1;
                self.r.fail(format!(
                    "session {s}: the host's death went unnoticed: {}",
                    rep.line
                ));
            }
            (false, None) => {}
        }
        // Both must end by themselves now: the remote after its report, the
        // last host once the remote left.
        match remote.wait_exit(TIMEOUT) {
            Some(st) if st.success() => self.r.peers_ended += u64::from(!last),
            Some(st) => self
                .r
                .fail(format!("session {s}: the remote exited with {st}")),
            None => self.r.fail(format!("session {s}: the remote did not end")),
        }
        if last {
            match host.wait_exit(TIMEOUT) {
                Some(st) if st.success() => self.r.peers_ended += 1,
                Some(st) => self.r.fail(format!("the last host exited with {st}")),
                None => self
                    .r
                    .fail("the last host did not end after the remote left".into()),
            }
        }
        drop(host_stdin);
        remote.reap();
        host.reap();
        Ok(())
    }
}

/// Reads the remote driver's lines until one satisfies `want` (`Ok`), or
/// its report comes (kept in `report`; an error unless `want` accepts
/// nothing), or nothing arrives for [`STALL`].
fn wait_line(
    rx: &Receiver<(Instant, String)>,
    report: &mut Option<Reported>,
    mut want: impl FnMut(&str) -> bool,
) -> Result<(), String> {
    if report.is_some() {
        return Err("the remote driver had already reported".into());
    }
    loop {
        match rx.recv_timeout(STALL) {
            Ok((at, line)) => {
                if let Some(words) = line.strip_prefix("report ") {
                    let number = |k: &str| {
                        words
                            .split_whitespace()
                            .find_map(|w| w.strip_prefix(k)?.strip_prefix('=')?.parse().ok())
                            .unwrap_or(0u64)
                    };
                    let flag = |k: &str| number(k) == 1;
                    *report = Some(Reported {
                        at,
                        line: words.to_string(),
                        counts: Counts::from_words(words),
                        reset: flag("reset"),
                        setup: flag("setup"),
                        hang: flag("hang"),
                        after_reset: (number("calls_after_reset"), number("refused_after_reset")),
                    });
                    return Err(format!("the remote driver reported first: {words}"));
                }
                if want(&line) {
                    return Ok(());
                }
            }
            Err(RecvTimeoutError::Timeout) => return Err(format!("nothing for {STALL:?}")),
            Err(RecvTimeoutError::Disconnected) => return Err("the child's output ended".into()),
        }
    }
}

// ---- the child processes ----------------------------------------------------------

mod child {
    use super::*;

    struct ChildArgs {
        role: String,
        layout: LinuxProcessLayout,
        seed: u64,
        session: u16,
        budget: u64,
        lanes: usize,
        until_reset: bool,
    }

    pub fn main(argv: &[String]) -> ExitCode {
        let mut c = ChildArgs {
            role: argv.first().cloned().unwrap_or_default(),
            layout: LinuxProcessLayout::default(),
            seed: 1,
            session: 0,
            budget: 0,
            lanes: 1,
            until_reset: false,
        };
        let mut it = argv.iter().skip(1);
        while let Some(a) = it.next() {
            let v = it.clone().next().cloned().unwrap_or_default();
            let n = v.parse::<u64>().unwrap_or(0);
            match a.as_str() {
                "--shm" => c.layout.shm_path = PathBuf::from(&v),
                "--socket" => c.layout.socket_path = PathBuf::from(&v),
                "--seed" => c.seed = n,
                "--session" => c.session = n as u16,
                "--budget" => c.budget = n,
                "--lanes" => c.lanes = n as usize,
                "--until-reset" => {
                    c.until_reset = true;
                    continue;
                }
                other => {
                    eprintln!("soak child: unknown argument {other:?}");
                    return ExitCode::from(2);
                }
            }
            it.next();
        }
        let r = match c.role.as_str() {
            "remote-echo" => remote_echo(&c),
            "host-echo" => host_echo(&c),
            "remote-driver" => remote_driver(&c),
            other => Err(format!("unknown role {other:?}")),
        };
        match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("soak {}: {e}", c.role);
                ExitCode::FAILURE
            }
        }
    }

    /// Echo results: a reset or a closed peer ends the echo normally.
    fn echo_result(r: Result<u64, Error>) -> Result<(), String> {
        match r {
            Ok(_) | Err(Error::PeerReset { .. }) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn remote_echo(c: &ChildArgs) -> Result<(), String> {
        let side = c.layout.open_remote(TIMEOUT).map_err(|e| e.to_string())?;
        let transport = side.transport().map_err(|e| e.to_string())?;
        let wait = NotifyWait {
            kicks: &side.kick,
            clock: MonotonicClock,
        };
        let lanes = echo::Lanes::default();
        let bind: BindCallback<'_> = &|dev, name: &Name, _| echo::on_bind(&lanes, dev, name);
        let mut dev = Device::new_remote(transport, wait, Config::default(), TIMEOUT)
            .map_err(|e| e.to_string())?;
        dev.set_bind_callback(bind);
        echo_result(echo::run(&dev, &lanes, c.seed, None))
    }

    fn host_echo(c: &ChildArgs) -> Result<(), String> {
        // "hold" on stdin: keep what arrives and wait to be killed.
        let hold = Arc::new(AtomicBool::new(false));
        let h = hold.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lines() {
                match line {
                    Ok(l) if l.trim() == "hold" => h.store(true, Ordering::Relaxed),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        let side = ping::connect(&c.layout, TIMEOUT)?;
        let transport = side.transport().map_err(|e| e.to_string())?;
        let wait = NotifyWait {
            kicks: &side.kick,
            clock: MonotonicClock,
        };
        let lanes = echo::Lanes::default();
        let bind: BindCallback<'_> = &|dev, name: &Name, _| echo::on_bind(&lanes, dev, name);
        let mut dev =
            Device::new_host(transport, wait, Config::default()).map_err(|e| e.to_string())?;
        dev.set_bind_callback(bind);
        echo_result(echo::run(&dev, &lanes, c.seed, Some(&hold)))
    }

    fn say(line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    fn remote_driver(c: &ChildArgs) -> Result<(), String> {
        let side = c.layout.open_remote(TIMEOUT).map_err(|e| e.to_string())?;
        say("accepted");
        let mut counts = Counts::default();
        let report = |counts: &Counts,
                      stop: Option<(&Error, bool)>,
                      hang: bool,
                      (calls, refused): (u64, u64)| {
            let (reset, setup) = match stop {
                Some((Error::PeerReset { .. }, setup)) => (true, setup),
                _ => (false, false),
            };
            let error = match stop {
                Some((e, _)) if !reset => format!(" error={:?}", e.to_string()),
                _ => String::new(),
            };
            say(&format!(
                "report reset={} setup={} hang={} calls_after_reset={calls} \
                 refused_after_reset={refused}{error} {}",
                u8::from(reset),
                u8::from(setup),
                u8::from(hang),
                counts.words()
            ));
        };
        let transport = side.transport().map_err(|e| e.to_string())?;
        let wait = NotifyWait {
            kicks: &side.kick,
            clock: MonotonicClock,
        };
        let dev = match Device::new_remote(transport, wait, Config::default(), TIMEOUT) {
            Ok(d) => d,
            Err(e) => {
                report(&counts, Some((&e, true)), false, (0, 0));
                return Ok(());
            }
        };
        let eps = match make_lanes(&dev, c.lanes, &mut |k| say(&format!("announced {k}"))) {
            Ok(eps) => eps,
            Err(e) => {
                report(&counts, Some((&e, true)), false, (0, 0));
                return Ok(());
            }
        };
        say("bound");
        let mut seqs = vec![LaneSeq::default(); c.lanes];
        let mut d = Driver::new(&dev, eps, c.session, Rng::new(c.seed));
        let mut budget = c.budget;
        let mut next_progress = PROGRESS_EVERY;
        let mut last_progress = Instant::now();
        let mut spent = budget == 0;
        if spent {
            say("budget spent");
        }
        let (stop, hang) = loop {
            match d.pump(&mut seqs, &mut budget, &mut counts) {
                Ok(true) => {
                    last_progress = Instant::now();
                    if counts.accepted >= next_progress {
                        say(&format!("progress {}", counts.accepted));
                        next_progress = counts.accepted + PROGRESS_EVERY;
                    }
                    if budget == 0 && !spent {
                        spent = true;
                        say("budget spent");
                    }
                    continue;
                }
                Ok(false) => {}
                Err(e) => break (Some(e), false),
            }
            if !c.until_reset && budget == 0 && Driver::drained(&seqs) {
                break (None, false);
            }
            if last_progress.elapsed() > STALL {
                break (None, true);
            }
            if let Err(e) = dev.wait_and_poll(WAIT_SLICE) {
                break (Some(e), false);
            }
        };
        match &stop {
            Some(Error::PeerReset { .. }) => fail_outstanding(&mut seqs, &mut counts),
            Some(_) => {
                counts.unexpected_errors += 1;
                fail_outstanding(&mut seqs, &mut counts);
            }
            None if hang => fail_outstanding(&mut seqs, &mut counts),
            None => {}
        }
        // Buffers held at the reset: their memory is no longer theirs.
        let (mut calls, mut refused) = (0, 0);
        if matches!(stop, Some(Error::PeerReset { .. })) {
            let mut b = [0u8; 16];
            for m in &d.held {
                calls += 1;
                refused += u64::from(matches!(m.read(&mut b), Err(Error::PeerReset { .. })));
            }
        }
        drop(d);
        report(
            &counts,
            stop.as_ref().map(|e| (e, false)),
            hang,
            (calls, refused),
        );
        Ok(())
    }
}
