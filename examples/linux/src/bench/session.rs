//! RPMsg sessions for the benchmark: a host process and the remote it
//! spawns, on OpenAMP's Linux-process layout over a memfd.
//!
//! The remote has four endpoints at fixed addresses: an echo ([`ECHO`]),
//! two sinks that count what they get ([`SINK_COPY`] copies every payload
//! out, [`SINK_ZC`] only looks at its first 8 bytes in place) and a control
//! endpoint ([`CTRL`]). The host sends from [`HOST_DATA`] and hears control
//! replies on [`HOST_CTRL`].

use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use openamp_metal::{Notify, WaitNotify};
use openamp_metal_sys_linux::{
    set_inheritable, EventFd, MonotonicClock, SharedMemory, SocketNotifier,
};
use openamp_remoteproc::linux::LinuxProcessLayout;
use openamp_remoteproc::VdevTransport;
use openamp_rpmsg::{
    BusyWait, Config, EndpointConfig, EndpointId, NotifyWait, RpmsgDevice, RpmsgOps, RxBuffer, Wait,
};

use super::alloc::allocations;
use super::stats::Summary;

/// The remote's echo endpoint.
pub const ECHO: u32 = 1024;
/// The remote's sink that copies every payload out.
pub const SINK_COPY: u32 = 1025;
/// The remote's sink that reads only the first 8 bytes, in place.
pub const SINK_ZC: u32 = 1026;
/// The remote's control endpoint.
pub const CTRL: u32 = 1027;
/// The host's data endpoint (echoes come back here).
pub const HOST_DATA: u32 = 2048;
/// The host's control endpoint.
pub const HOST_CTRL: u32 = 2049;

/// The largest payload the benchmark sends.
pub const MAX_PAYLOAD: usize = 4096;

const CMD_SYNC: u32 = 1;
const CMD_QUIT: u32 = 2;
const CMD_ALLOCS: u32 = 3;

/// How long any single step may take before the run is declared stuck
/// (generous: a side may run under valgrind).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// How a side learns that the other has sent something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitMode {
    /// Nobody kicks; both sides poll the rings in a tight loop.
    Busy,
    /// One byte on a connected Unix stream socket per kick (OpenAMP's way).
    Socket,
    /// An eventfd each way.
    EventFd,
}

impl WaitMode {
    /// All modes.
    pub const ALL: [WaitMode; 3] = [WaitMode::Busy, WaitMode::Socket, WaitMode::EventFd];

    /// Its command-line name.
    pub fn name(self) -> &'static str {
        match self {
            WaitMode::Busy => "busy",
            WaitMode::Socket => "socket",
            WaitMode::EventFd => "eventfd",
        }
    }

    /// Parses a command-line name.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown wait mode {s:?} (busy, socket, eventfd)"))
    }
}

/// A notifier that does nothing, for busy polling.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKick;

impl Notify for NoKick {
    fn notify(&self, _id: u32) -> openamp_metal::Result<()> {
        Ok(())
    }
}

/// OpenAMP's Linux-process layout with buffers of `buffer_size` bytes
/// (header included) and a pool big enough for both rings of them.
pub fn layout(buffer_size: u32) -> LinuxProcessLayout {
    let mut l = LinuxProcessLayout::default();
    let entries: usize = l.vrings.iter().map(|v| v.num as usize).sum();
    let pool = (entries * buffer_size as usize).next_multiple_of(4096);
    l.pool_size = l.pool_size.max(pool);
    l.shm_size = l.shm_size.max(l.pool_offset + l.pool_size);
    l.buffer_size = buffer_size as usize;
    l
}

/// A child process killed (and reaped) when dropped unless waited for.
#[derive(Debug)]
pub struct Reaper(pub Option<Child>);

impl Reaper {
    /// Waits up to `timeout` for the child to exit successfully.
    pub fn wait(&mut self, timeout: Duration) -> Result<(), String> {
        let Some(child) = self.0.as_mut() else {
            return Ok(());
        };
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.0 = None;
                    return if status.success() {
                        Ok(())
                    } else {
                        Err(format!("the peer process exited with {status}"))
                    };
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2))
                }
                Ok(None) => return Err("the peer process did not exit in time".into()),
                Err(e) => return Err(format!("waiting for the peer process: {e}")),
            }
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// How the host sets a session up.
#[derive(Debug, Clone)]
pub struct HostSetup {
    /// How the sides wake each other.
    pub wait: WaitMode,
    /// Buffer size both ways, header included (512 by default).
    pub buffer_size: u32,
    /// The CPU to pin the remote to.
    pub remote_cpu: Option<usize>,
    /// A command to run the remote under (e.g. valgrind and its options).
    pub remote_prefix: Vec<OsString>,
}

/// One echo run's figures.
#[derive(Debug, Clone)]
pub struct EchoResult {
    /// Each round trip timed alone.
    pub samples: Vec<u64>,
    /// Their summary.
    pub summary: Summary,
    /// Mean of a batch timed as a whole.
    pub batch_mean_ns: f64,
    /// Heap allocations per round trip on the host.
    pub host_allocs: f64,
    /// Heap allocations per round trip on the remote.
    pub remote_allocs: f64,
}

/// One throughput run's figures.
#[derive(Debug, Clone, Copy)]
pub struct ThroughputResult {
    /// Messages per second.
    pub msgs_per_s: f64,
    /// Payload bytes per second.
    pub bytes_per_s: f64,
    /// Heap allocations per message on the host.
    pub host_allocs: f64,
    /// Heap allocations per message on the remote.
    pub remote_allocs: f64,
}

/// What a host can do in a session (object-safe, so that callers need not
/// name the device's type, which depends on the wait mode).
pub trait Bench {
    /// Times round trips of `size`-byte payloads: `warmup` untimed, then
    /// `samples` one by one, then `batch` as a whole.
    fn echo(
        &self,
        size: usize,
        warmup: usize,
        samples: usize,
        batch: usize,
    ) -> Result<EchoResult, String>;

    /// Exactly `count` round trips of `size` bytes, untimed (for callgrind).
    fn echo_count(&self, size: usize, count: usize) -> Result<(), String>;

    /// Sends `count` messages of `size` bytes one way as fast as the remote
    /// takes them: copied from a buffer with `send`, or (`zero_copy`)
    /// filled in place in a transmit buffer, which the remote only peeks at.
    fn throughput(
        &self,
        size: usize,
        zero_copy: bool,
        count: usize,
    ) -> Result<ThroughputResult, String>;
}

/// Spawns the remote (`exe remote ...`) for `setup`, sets up the host's
/// device, runs `f` with it, then stops the remote.
pub fn host<R>(
    exe: &Path,
    setup: &HostSetup,
    f: impl FnOnce(&dyn Bench) -> Result<R, String>,
) -> Result<R, String> {
    let layout = layout(setup.buffer_size);
    let shm = SharedMemory::memfd("openamp-bench", layout.shm_size).map_err(|e| e.to_string())?;
    layout.init_shm(&shm.region()).map_err(|e| e.to_string())?;
    let config = Config {
        rx_buffer_size: setup.buffer_size,
        tx_buffer_size: setup.buffer_size,
        ..Config::default()
    };
    let mut cmd = match setup.remote_prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.args([
        "remote",
        "--wait",
        setup.wait.name(),
        "--buffer-size",
        &setup.buffer_size.to_string(),
        "--shm-fd",
        &shm.as_raw_fd().to_string(),
    ]);
    if let Some(c) = setup.remote_cpu {
        cmd.args(["--cpu", &c.to_string()]);
    }
    let err = |e: openamp_metal_sys_linux::Error| e.to_string();
    let rp = |e: openamp_remoteproc::Error| format!("host: {e}");
    match setup.wait {
        WaitMode::Busy => {
            let child = spawn(&mut cmd, &[&shm])?;
            let t = layout.host_transport(shm.region(), NoKick).map_err(rp)?;
            drive(t, BusyWait(MonotonicClock), None, config, child, f)
        }
        WaitMode::Socket => {
            let (mine, theirs) = SocketNotifier::pair().map_err(err)?;
            cmd.args(["--kick-fd", &theirs.as_raw_fd().to_string()]);
            let child = spawn(&mut cmd, &[&shm, &theirs])?;
            drop(theirs);
            let t = layout.host_transport(shm.region(), &mine).map_err(rp)?;
            let wait = NotifyWait {
                kicks: &mine,
                clock: MonotonicClock,
            };
            drive(t, wait, None, config, child, f)
        }
        WaitMode::EventFd => {
            let to_remote = EventFd::new().map_err(err)?;
            let to_host = EventFd::new().map_err(err)?;
            cmd.args(["--kick-fd", &to_host.as_raw_fd().to_string()]);
            cmd.args(["--wait-fd", &to_remote.as_raw_fd().to_string()]);
            let child = spawn(&mut cmd, &[&shm, &to_remote, &to_host])?;
            let t = layout
                .host_transport(shm.region(), &to_remote)
                .map_err(rp)?;
            let wait = NotifyWait {
                kicks: &to_host,
                clock: MonotonicClock,
            };
            let kicked = || match to_host.wait(STEP_TIMEOUT) {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err("host: no kick from the remote".to_string()),
                Err(e) => Err(format!("host: {e}")),
            };
            drive(t, wait, Some(&kicked), config, child, f)
        }
    }
}

/// Spawns `cmd` with `fds` inherited (and only for the time of the spawn).
fn spawn(cmd: &mut Command, fds: &[&dyn AsRawFd]) -> Result<Reaper, String> {
    let borrow = |f: &&dyn AsRawFd| {
        // SAFETY: the descriptors belong to objects the caller keeps alive
        // for the whole call.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(f.as_raw_fd()) }
    };
    for f in fds {
        set_inheritable(borrow(f), true).map_err(|e| e.to_string())?;
    }
    let child = cmd.spawn();
    for f in fds {
        set_inheritable(borrow(f), false).map_err(|e| e.to_string())?;
    }
    child
        .map(|c| Reaper(Some(c)))
        .map_err(|e| format!("cannot start the remote ({cmd:?}): {e}"))
}

type Dev<'a, 'cb, N, W> = RpmsgDevice<'a, 'cb, VdevTransport<'a, N>, W>;

/// Blocks until the remote kicks (eventfd mode only).
type KickWait<'d> = &'d dyn Fn() -> Result<(), String>;

struct Host<'d, 'a, N: Notify + Sync, W: Wait> {
    dev: &'d Dev<'a, 'static, N, W>,
    kicked: Option<KickWait<'d>>,
    data: EndpointId,
    ctrl: EndpointId,
}

fn drive<'a, N: Notify + Sync, W: Wait, R>(
    transport: VdevTransport<'a, N>,
    wait: W,
    kicked: Option<KickWait<'_>>,
    config: Config,
    mut child: Reaper,
    f: impl FnOnce(&dyn Bench) -> Result<R, String>,
) -> Result<R, String> {
    let dev: Dev<'a, 'static, N, W> =
        RpmsgDevice::new_host(transport, wait, config).map_err(|e| format!("host: {e}"))?;
    let ep = |addr| {
        dev.create_endpoint(EndpointConfig::anonymous().addr(addr))
            .map_err(|e| format!("host: {e}"))
    };
    let host = Host {
        dev: &dev,
        kicked,
        data: ep(HOST_DATA)?,
        ctrl: ep(HOST_CTRL)?,
    };
    let result = f(&host);
    // Tell the remote to stop whatever happened; it exits by itself then.
    let quit = host.command(CMD_QUIT, 0);
    match (result, quit) {
        (Ok(r), Ok(())) => child.wait(STEP_TIMEOUT).map(|()| r),
        (Ok(_), Err(e)) | (Err(e), _) => Err(e),
    }
}

impl<N: Notify + Sync, W: Wait> Host<'_, '_, N, W> {
    fn command(&self, cmd: u32, arg: u64) -> Result<(), String> {
        let mut m = [0u8; 12];
        m[..4].copy_from_slice(&cmd.to_le_bytes());
        m[4..].copy_from_slice(&arg.to_le_bytes());
        self.dev
            .send_to_timeout(self.ctrl, CTRL, &m, STEP_TIMEOUT)
            .map_err(|e| format!("host: control message: {e}"))
    }

    /// The remote's reply to a command: three u64s.
    fn reply(&self) -> Result<[u64; 3], String> {
        let m = self
            .dev
            .recv_timeout(self.ctrl, STEP_TIMEOUT)
            .map_err(|e| format!("host: control reply: {e}"))?;
        let mut b = [0u8; 24];
        if m.read(&mut b).map_err(|e| e.to_string())? != 24 {
            return Err("host: short control reply".into());
        }
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        Ok([w(0), w(1), w(2)])
    }

    fn remote_allocations(&self) -> Result<u64, String> {
        self.command(CMD_ALLOCS, 0)?;
        Ok(self.reply()?[0])
    }

    fn round_trip(&self, out: &[u8], back: &mut [u8]) -> Result<(), String> {
        self.dev
            .send_to_timeout(self.data, ECHO, out, STEP_TIMEOUT)
            .map_err(|e| format!("host: send: {e}"))?;
        let m = self
            .dev
            .recv_timeout(self.data, STEP_TIMEOUT)
            .map_err(|e| format!("host: echo: {e}"))?;
        if m.len() != out.len() {
            return Err(format!(
                "host: echo of {} bytes for {} sent",
                m.len(),
                out.len()
            ));
        }
        m.read(back).map_err(|e| e.to_string())?;
        if back[..out.len().min(8)] != out[..out.len().min(8)] {
            return Err("host: the echo differs from what was sent".into());
        }
        Ok(())
    }
}

/// Writes `seq` into the first (up to 8) bytes of `buf`.
fn stamp(buf: &mut [u8], seq: u64) {
    let n = buf.len().min(8);
    buf[..n].copy_from_slice(&seq.to_le_bytes()[..n]);
}

impl<N: Notify + Sync, W: Wait> Bench for Host<'_, '_, N, W> {
    fn echo(
        &self,
        size: usize,
        warmup: usize,
        samples: usize,
        batch: usize,
    ) -> Result<EchoResult, String> {
        let mut out = vec![0xA5u8; size];
        let mut back = vec![0u8; size];
        let mut seq = 0u64;
        for _ in 0..warmup {
            seq += 1;
            stamp(&mut out, seq);
            self.round_trip(&out, &mut back)?;
        }
        let mut lat = Vec::with_capacity(samples);
        let remote0 = self.remote_allocations()?;
        let host0 = allocations();
        let mut prev = Instant::now();
        for _ in 0..samples {
            seq += 1;
            stamp(&mut out, seq);
            self.round_trip(&out, &mut back)?;
            let now = Instant::now();
            lat.push((now - prev).as_nanos() as u64);
            prev = now;
        }
        let t = Instant::now();
        for _ in 0..batch {
            seq += 1;
            stamp(&mut out, seq);
            self.round_trip(&out, &mut back)?;
        }
        let batch_mean_ns = t.elapsed().as_nanos() as f64 / batch.max(1) as f64;
        let host_allocs = allocations() - host0;
        // The query itself (one control message each way) is in the count.
        let remote_allocs = self.remote_allocations()? - remote0;
        let rounds = (samples + batch).max(1) as f64;
        let mut sorted = lat.clone();
        Ok(EchoResult {
            summary: Summary::of(&mut sorted),
            samples: lat,
            batch_mean_ns,
            host_allocs: host_allocs as f64 / rounds,
            remote_allocs: remote_allocs as f64 / rounds,
        })
    }

    fn echo_count(&self, size: usize, count: usize) -> Result<(), String> {
        let mut out = vec![0xA5u8; size];
        let mut back = vec![0u8; size];
        for seq in 0..count {
            stamp(&mut out, seq as u64);
            match self.kicked {
                // With eventfds, wait for the remote's kick before looking
                // for the echo, so that the device never polls an empty ring
                // and the instruction count is the same in every run.
                Some(kicked) => {
                    self.dev
                        .send_to_timeout(self.data, ECHO, &out, STEP_TIMEOUT)
                        .map_err(|e| format!("host: send: {e}"))?;
                    kicked()?;
                    let m = self
                        .dev
                        .try_recv(self.data)
                        .map_err(|e| format!("host: echo: {e}"))?
                        .ok_or("host: kicked, but no echo")?;
                    m.read(&mut back).map_err(|e| e.to_string())?;
                }
                None => self.round_trip(&out, &mut back)?,
            }
        }
        Ok(())
    }

    fn throughput(
        &self,
        size: usize,
        zero_copy: bool,
        count: usize,
    ) -> Result<ThroughputResult, String> {
        let mut out = vec![0x5Au8; size];
        let dst = if zero_copy { SINK_ZC } else { SINK_COPY };
        let send_err = |e: openamp_rpmsg::Error| format!("host: send: {e}");
        // The remote answers once it has counted `count` messages.
        self.command(CMD_SYNC, count as u64)?;
        let host0 = allocations();
        let t = Instant::now();
        for seq in 0..count {
            stamp(&mut out, seq as u64);
            if zero_copy {
                let mut tx = self.dev.alloc_tx_timeout(STEP_TIMEOUT).map_err(send_err)?;
                tx.write_at(0, &out).map_err(send_err)?;
                tx.send_to(self.data, dst, size).map_err(send_err)?;
            } else {
                self.dev
                    .send_to_timeout(self.data, dst, &out, STEP_TIMEOUT)
                    .map_err(send_err)?;
            }
        }
        let [got, bytes, remote_allocs] = self.reply()?;
        let secs = t.elapsed().as_secs_f64();
        let host_allocs = allocations() - host0;
        if got != count as u64 || bytes != (count * size) as u64 {
            return Err(format!(
                "the remote counted {got} messages, {bytes} bytes; sent {count} of {size} bytes"
            ));
        }
        Ok(ThroughputResult {
            msgs_per_s: count as f64 / secs,
            bytes_per_s: (count * size) as f64 / secs,
            host_allocs: host_allocs as f64 / count.max(1) as f64,
            remote_allocs: remote_allocs as f64 / count.max(1) as f64,
        })
    }
}

/// How the remote was started (its command line, parsed).
#[derive(Debug, Clone, Copy)]
pub struct RemoteArgs {
    /// The wait mode.
    pub wait: WaitMode,
    /// The inherited memfd.
    pub shm_fd: i32,
    /// Where to kick the host (socket or eventfd).
    pub kick_fd: Option<i32>,
    /// Where the host's kicks arrive (eventfd; the socket is both).
    pub wait_fd: Option<i32>,
    /// Buffer size.
    pub buffer_size: u32,
}

/// The remote's side: maps the inherited memfd, attaches to the rings the
/// host prepares, and serves the four endpoints until told to quit.
pub fn remote(args: RemoteArgs) -> Result<(), String> {
    let fd = |f: Option<i32>, what: &str| {
        f.ok_or_else(|| {
            format!(
                "remote: --{what} is needed with --wait {}",
                args.wait.name()
            )
        })
        .and_then(super::inherited_fd)
    };
    let shm =
        SharedMemory::from_fd(super::inherited_fd(args.shm_fd)?).map_err(|e| e.to_string())?;
    let layout = layout(args.buffer_size);
    let rp = |e: openamp_remoteproc::Error| format!("remote: {e}");
    let err = |e: openamp_metal_sys_linux::Error| format!("remote: {e}");
    match args.wait {
        WaitMode::Busy => {
            let t = layout.attach_remote(shm.region(), NoKick).map_err(rp)?;
            serve(t, BusyWait(MonotonicClock), true)
        }
        WaitMode::Socket => {
            let s = SocketNotifier::from_fd(fd(args.kick_fd, "kick-fd")?).map_err(err)?;
            let t = layout.attach_remote(shm.region(), &s).map_err(rp)?;
            let wait = NotifyWait {
                kicks: &s,
                clock: MonotonicClock,
            };
            serve(t, wait, false)
        }
        WaitMode::EventFd => {
            let kick = EventFd::from_fd(fd(args.kick_fd, "kick-fd")?).map_err(err)?;
            let kicks = EventFd::from_fd(fd(args.wait_fd, "wait-fd")?).map_err(err)?;
            let t = layout.attach_remote(shm.region(), &kick).map_err(rp)?;
            let wait = NotifyWait {
                kicks: &kicks,
                clock: MonotonicClock,
            };
            serve(t, wait, false)
        }
    }
}

fn serve<'a, N: Notify + Sync, W: Wait>(
    transport: VdevTransport<'a, N>,
    wait: W,
    busy: bool,
) -> Result<(), String> {
    let quit = AtomicBool::new(false);
    let count = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let target = AtomicU64::new(0);
    let last_allocs = AtomicU64::new(allocations());
    let reply = |dev: &dyn RpmsgOps<'_>, ep: EndpointId, words: [u64; 3]| {
        let mut m = [0u8; 24];
        for (i, w) in words.iter().enumerate() {
            m[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        if let Err(e) = dev.send_to_timeout(ep, HOST_CTRL, &m, STEP_TIMEOUT) {
            eprintln!("remote: cannot reply: {e}");
        }
    };
    // Replies once the sinks have counted what the host said it would send.
    let maybe_sync = |dev: &dyn RpmsgOps<'_>, ep: EndpointId| {
        let t = target.load(Ordering::Relaxed);
        if t > 0 && count.load(Ordering::Relaxed) >= t {
            target.store(0, Ordering::Relaxed);
            let now = allocations();
            let allocs = now - last_allocs.swap(now, Ordering::Relaxed);
            let words = [
                count.swap(0, Ordering::Relaxed),
                bytes.swap(0, Ordering::Relaxed),
                allocs,
            ];
            reply(dev, ep, words);
        }
    };
    // Scratch space for payloads, allocated once (a fresh zeroed array per
    // message would cost a 4 KiB memset each time). Callbacks run one at a
    // time, so the lock is never contended.
    let scratch = Mutex::new(vec![0u8; MAX_PAYLOAD]);
    let echo = |dev: &dyn RpmsgOps<'_>, ep: EndpointId, msg: RxBuffer<'_>| {
        let mut buf = scratch.lock().unwrap_or_else(PoisonError::into_inner);
        let n = match msg.read(&mut buf) {
            Ok(n) => n,
            Err(e) => return eprintln!("remote: cannot read: {e}"),
        };
        let src = msg.src();
        // Give the buffer back first: the host may need it to send again.
        drop(msg);
        if let Err(e) = dev.send_to_timeout(ep, src, &buf[..n], STEP_TIMEOUT) {
            eprintln!("remote: cannot echo {n} bytes: {e}");
        }
    };
    let sink_copy = |dev: &dyn RpmsgOps<'_>, ep: EndpointId, msg: RxBuffer<'_>| {
        let mut buf = scratch.lock().unwrap_or_else(PoisonError::into_inner);
        if let Ok(n) = msg.read(&mut buf) {
            std::hint::black_box(&buf[..n]);
        }
        drop(buf);
        count.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(msg.len() as u64, Ordering::Relaxed);
        drop(msg);
        maybe_sync(dev, ep);
    };
    let sink_zc = |dev: &dyn RpmsgOps<'_>, ep: EndpointId, msg: RxBuffer<'_>| {
        let mut seq = [0u8; 8];
        if let Ok(n) = msg.read(&mut seq) {
            std::hint::black_box(&seq[..n]);
        }
        count.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(msg.len() as u64, Ordering::Relaxed);
        drop(msg);
        maybe_sync(dev, ep);
    };
    let ctrl = |dev: &dyn RpmsgOps<'_>, ep: EndpointId, msg: RxBuffer<'_>| {
        let mut m = [0u8; 12];
        let n = msg.read(&mut m).unwrap_or(0);
        drop(msg);
        if n != 12 {
            return eprintln!("remote: control message of {n} bytes");
        }
        let cmd = u32::from_le_bytes([m[0], m[1], m[2], m[3]]);
        let arg = u64::from_le_bytes(m[4..12].try_into().unwrap_or([0; 8]));
        match cmd {
            CMD_SYNC => {
                target.store(arg, Ordering::Relaxed);
                maybe_sync(dev, ep);
            }
            CMD_QUIT => quit.store(true, Ordering::Relaxed),
            CMD_ALLOCS => reply(dev, ep, [allocations(), 0, 0]),
            other => eprintln!("remote: unknown command {other}"),
        }
    };
    let dev: Dev<'a, '_, N, W> =
        RpmsgDevice::new_remote(transport, wait, Config::default(), STEP_TIMEOUT)
            .map_err(|e| format!("remote: {e}"))?;
    for (addr, cb) in [
        (ECHO, &echo as openamp_rpmsg::Callback<'_>),
        (SINK_COPY, &sink_copy),
        (SINK_ZC, &sink_zc),
        (CTRL, &ctrl),
    ] {
        dev.create_endpoint(EndpointConfig::anonymous().addr(addr).callback(cb))
            .map_err(|e| format!("remote: {e}"))?;
    }
    while !quit.load(Ordering::Relaxed) {
        let r = if busy {
            dev.poll()
        } else {
            dev.wait_and_poll(Duration::from_millis(100))
        };
        r.map_err(|e| format!("remote: {e}"))?;
    }
    Ok(())
}
