//! A remote that is a Linux process: `start` spawns the remote program (which
//! writes its resource table into the shared file and listens on the
//! socket) in a process group of its own, `stop` signals that group and
//! reaps the program.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use openamp_metal::{IoRegion, Notify};
use openamp_metal_sys_linux::{Peer, SocketNotifier};
use rustix::io::Errno;
use rustix::process::{kill_process_group, waitid, Pid, Signal, WaitId, WaitIdOptions};

use super::sys_error;
use super::LinuxProcessLayout;
use crate::mem::{AddressSpace, Mapping};
use crate::ops::RemoteprocOps;
use crate::{Error, Result};

/// The environment variable that gives the remote program the shared file.
pub const ENV_SHM_PATH: &str = "OPENAMP_SHM_PATH";
/// The environment variable that gives the remote program the socket path.
pub const ENV_SOCKET_PATH: &str = "OPENAMP_EVENT_SOCKET";

/// [`Error::Platform`]'s `op` when the process listening on the socket is
/// not the remote program that was started (nor in its process group), or
/// not of our user; the reason names who it is.
pub const WRONG_LISTENER: &str = "start: the socket's listener is not the remote";

/// How often a wait for the child looks again.
const POLL: Duration = Duration::from_millis(5);

/// How long the last wait, after `SIGKILL`, may take: a process the kernel
/// cannot kill (stuck in the kernel) must not hang `stop` for ever.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

impl LinuxProcessLayout {
    /// The defaults, with the paths a [`LinuxProcessPlatform`] passed in the
    /// environment (`OPENAMP_SHM_PATH`, `OPENAMP_EVENT_SOCKET`) when set:
    /// how a remote program finds its shared file.
    pub fn from_env() -> Self {
        let mut l = LinuxProcessLayout::default();
        if let Some(p) = std::env::var_os(ENV_SHM_PATH) {
            l.shm_path = p.into();
        }
        if let Some(p) = std::env::var_os(ENV_SOCKET_PATH) {
            l.socket_path = p.into();
        }
        l
    }
}

/// [`RemoteprocOps`] for a remote that is a Linux process.
///
/// The shared memory is the layout's file, mapped by the caller (`shm`);
/// device and physical addresses are offsets in it. `start` spawns the
/// program in a process group of its own, with the layout's paths in its
/// environment, and connects to its socket, accepting only a listener of
/// our user in that group (so not another user's, nor a stale program's).
/// A program that exits before it listens fails `start` with
/// [`Error::RemoteExited`].
///
/// `stop` sends `SIGTERM` to the whole group (a remote started through a
/// shell goes too), then `SIGKILL` to what is left of it once the program
/// exited or the stop timeout passed, and reaps the program, waiting at
/// most a few seconds more. Every failing `start` does the same before it
/// returns, and dropping the platform kills and reaps a program still
/// running. The group is signalled only while the program is not reaped
/// yet, so its id cannot have been given to someone else's group.
#[derive(Debug)]
pub struct LinuxProcessPlatform<'a> {
    layout: LinuxProcessLayout,
    shm: IoRegion<'a>,
    program: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    child: Option<Child>,
    last_exit: Option<ExitStatus>,
    kick: Option<SocketNotifier>,
    /// How long `start` waits for the program to listen.
    pub start_timeout: Duration,
    /// How long `stop` waits after `SIGTERM`.
    pub stop_timeout: Duration,
}

impl<'a> LinuxProcessPlatform<'a> {
    /// A platform running `program` with `args` over `shm`, the layout's
    /// shared file mapped by the caller.
    pub fn new(
        layout: LinuxProcessLayout,
        shm: IoRegion<'a>,
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> Self {
        LinuxProcessPlatform {
            layout,
            shm,
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            envs: Vec::new(),
            child: None,
            last_exit: None,
            kick: None,
            start_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(2),
        }
    }

    /// Adds an environment variable for the program.
    #[must_use]
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// The layout.
    pub fn layout(&self) -> &LinuxProcessLayout {
        &self.layout
    }

    /// The shared memory.
    pub fn shm(&self) -> IoRegion<'a> {
        self.shm
    }

    /// The region the remote writes its table into.
    pub fn table_region(&self) -> Result<IoRegion<'a>> {
        self.layout.table_region(&self.shm)
    }

    /// The host's buffer pool.
    pub fn pool_region(&self) -> Result<IoRegion<'a>> {
        self.layout.pool_region(&self.shm)
    }

    /// The socket to the running remote: wait on it for the remote's kicks.
    pub fn kick(&self) -> Option<&SocketNotifier> {
        self.kick.as_ref()
    }

    /// The process id of the running program (also its process group's).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// How the last program that was reaped ended (after `stop`, or a
    /// failed `start`).
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.last_exit
    }

    /// Stops the child: `SIGTERM` to its group, then `SIGKILL` to the group
    /// after `stop_timeout` at most; reaped within [`REAP_TIMEOUT`].
    fn terminate(&mut self) -> Result<()> {
        self.kick = None;
        let Some(child) = self.child.as_mut() else {
            return Ok(());
        };
        let pid = pid_of(child)?;
        // Until we reap the program its pid stays taken, and with it the
        // group id: these signals reach its group and no one else.
        signal_group(pid, Signal::TERM);
        let _ = wait_exit(pid, self.stop_timeout)?;
        // Whatever is left in the group: the program if it ignored SIGTERM,
        // and what it started (a shell's children).
        signal_group(pid, Signal::KILL);
        match reap_within(child, REAP_TIMEOUT)? {
            Some(status) => {
                self.last_exit = Some(status);
                self.child = None;
                Ok(())
            }
            // Kept, so that a later stop or the drop tries again.
            None => Err(Error::Timeout {
                what: "the remote to exit after SIGKILL",
            }),
        }
    }

    /// Ends a start that failed: stops and reaps the child, then gives
    /// `error`. A child that could not be reaped in time stays, for `stop`
    /// or the drop to try again.
    fn fail_start(&mut self, error: Error) -> Error {
        let _ = self.terminate();
        error
    }
}

fn pid_of(child: &Child) -> Result<Pid> {
    i32::try_from(child.id())
        .ok()
        .and_then(Pid::from_raw)
        .ok_or(Error::Platform {
            op: "stop",
            reason: format!("bad pid {}", child.id()),
        })
}

/// Sends `sig` to the process group `pid` leads. A group that is gone
/// already (`ESRCH`) is no error.
fn signal_group(pid: Pid, sig: Signal) {
    let _ = kill_process_group(pid, sig);
}

/// Whether the child `pid` has exited, without reaping it (its pid, and so
/// its group id, stay ours).
fn has_exited(pid: Pid) -> Result<bool> {
    loop {
        let opts = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        match waitid(WaitId::Pid(pid), opts) {
            Ok(status) => return Ok(status.is_some()),
            Err(Errno::INTR) => {}
            Err(e) => {
                return Err(Error::Os {
                    op: format!("waiting for the remote (pid {})", pid.as_raw_pid()),
                    errno: e.raw_os_error(),
                    reason: alloc::string::ToString::to_string(&e),
                })
            }
        }
    }
}

/// Waits up to `timeout` for the child `pid` to exit, without reaping it.
fn wait_exit(pid: Pid, timeout: Duration) -> Result<bool> {
    let start = Instant::now();
    loop {
        if has_exited(pid)? {
            return Ok(true);
        }
        if start.elapsed() >= timeout {
            return Ok(false);
        }
        std::thread::sleep(POLL.min(timeout.saturating_sub(start.elapsed())));
    }
}

/// Waits up to `timeout` for the child to exit and reaps it.
fn reap_within(child: &mut Child, timeout: Duration) -> Result<Option<ExitStatus>> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(Some(status)),
            Ok(None) if start.elapsed() >= timeout => return Ok(None),
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => return Err(Error::io("waiting for the remote", &e)),
        }
    }
}

impl<'a> RemoteprocOps<'a> for LinuxProcessPlatform<'a> {
    fn mmap(&mut self, pa: Option<u64>, da: Option<u64>, len: u64) -> Result<Mapping<'a>> {
        // One address space: device, physical and file offset are the same.
        let at = da.or(pa).ok_or(Error::Unsupported {
            op: "mmap without an address",
        })?;
        Ok(Mapping {
            da: at,
            region: self.shm.da_region(at, len)?,
        })
    }

    fn get_mem(&self, da: u64, len: u64) -> Option<Mapping<'a>> {
        let region = self.shm.da_region(da, len).ok()?;
        Some(Mapping { da, region })
    }

    fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            self.terminate()?;
        }
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .env(ENV_SHM_PATH, &self.layout.shm_path)
            .env(ENV_SOCKET_PATH, &self.layout.socket_path)
            // A group of its own: stop reaches everything it starts, and
            // only a listener in this group is taken for the remote.
            .process_group(0);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("spawning {}", self.program.display()), &e))?;
        let pid = pid_of(&child)?;
        let group = child.id();
        self.child = Some(child);
        // Connect once the program listens (it writes its table first);
        // notice a program that dies instead. Each try is short and never
        // blocks, so an exit is seen within a few milliseconds.
        let start = Instant::now();
        loop {
            let peer = Peer::ProcessGroup(group);
            match SocketNotifier::connect_to(&self.layout.socket_path, POLL * 4, peer) {
                Ok(k) => {
                    self.kick = Some(k);
                    return Ok(());
                }
                Err(e @ openamp_metal_sys_linux::Error::WrongPeer { .. }) => {
                    let reason = alloc::string::ToString::to_string(&e);
                    return Err(self.fail_start(Error::Platform {
                        op: WRONG_LISTENER,
                        reason,
                    }));
                }
                Err(openamp_metal_sys_linux::Error::ConnectTimeout { .. }) => {}
                Err(e) => {
                    let e = sys_error("connecting to the remote", e);
                    return Err(self.fail_start(e));
                }
            }
            match has_exited(pid) {
                Ok(false) => {}
                Ok(true) => {
                    // Reaped first, for its status (and its group swept).
                    let _ = self.terminate();
                    let status = match self.last_exit {
                        Some(s) => alloc::string::ToString::to_string(&s),
                        None => String::from("not reaped"),
                    };
                    return Err(Error::RemoteExited { pid: group, status });
                }
                Err(e) => return Err(self.fail_start(e)),
            }
            if start.elapsed() >= self.start_timeout {
                return Err(self.fail_start(Error::Timeout {
                    what: "the remote to listen on its socket",
                }));
            }
        }
    }

    fn stop(&mut self) -> Result<()> {
        self.terminate()
    }

    fn shutdown(&mut self) -> Result<()> {
        self.terminate()
    }

    fn remove(&mut self) {
        let _ = self.terminate();
    }

    fn notify(&self, id: u32) -> Result<()> {
        let kick = self.kick.as_ref().ok_or(Error::Platform {
            op: "notify",
            reason: "the remote is not running".into(),
        })?;
        Ok(kick.notify(id)?)
    }
}

impl Drop for LinuxProcessPlatform<'_> {
    fn drop(&mut self) {
        self.kick = None;
        if let Some(child) = self.child.as_mut() {
            if let Ok(pid) = pid_of(child) {
                signal_group(pid, Signal::KILL);
            }
            let _ = reap_within(child, REAP_TIMEOUT);
        }
    }
}
