//! A remote that is a Linux process: `start` spawns the remote program (which
//! writes its resource table into the shared file and listens on the
//! socket), `stop` signals it and reaps it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use alloc::format;
use alloc::vec::Vec;

use openamp_metal::{IoRegion, Notify};
use openamp_metal_sys_linux::SocketNotifier;
use rustix::process::{kill_process, Pid, Signal};

use super::sys_error;
use super::LinuxProcessLayout;
use crate::mem::{AddressSpace, Mapping};
use crate::ops::RemoteprocOps;
use crate::{Error, Result};

/// The environment variable that gives the remote program the shared file.
pub const ENV_SHM_PATH: &str = "OPENAMP_SHM_PATH";
/// The environment variable that gives the remote program the socket path.
pub const ENV_SOCKET_PATH: &str = "OPENAMP_EVENT_SOCKET";

/// How often a wait for the child looks again.
const POLL: Duration = Duration::from_millis(5);

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
/// program with the layout's paths in its environment and connects to its
/// socket; `stop` sends `SIGTERM`, then `SIGKILL` if the program has not
/// exited within the stop timeout, and always reaps it. Dropping the
/// platform kills and reaps a program still running.
#[derive(Debug)]
pub struct LinuxProcessPlatform<'a> {
    layout: LinuxProcessLayout,
    shm: IoRegion<'a>,
    program: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    child: Option<Child>,
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

    /// The process id of the running program.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits up to `timeout` for the child to exit; `true` once reaped.
    fn reap_within(child: &mut Child, timeout: Duration) -> Result<bool> {
        let start = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return Ok(true),
                Ok(None) if start.elapsed() >= timeout => return Ok(false),
                Ok(None) => std::thread::sleep(POLL),
                Err(e) => return Err(Error::io("waiting for the remote", &e)),
            }
        }
    }

    /// Stops the child: SIGTERM, then SIGKILL after `stop_timeout`; reaped.
    fn terminate(&mut self) -> Result<()> {
        self.kick = None;
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if Self::reap_within(&mut child, Duration::ZERO)? {
            return Ok(());
        }
        let pid = i32::try_from(child.id())
            .ok()
            .and_then(Pid::from_raw)
            .ok_or(Error::Platform {
                op: "stop",
                reason: format!("bad pid {}", child.id()),
            })?;
        // Signalling a child that exited but is not reaped is harmless: its
        // pid cannot be reused before we reap it.
        let _ = kill_process(pid, Signal::TERM);
        if Self::reap_within(&mut child, self.stop_timeout)? {
            return Ok(());
        }
        child
            .kill()
            .map_err(|e| Error::io("killing the remote", &e))?;
        child
            .wait()
            .map_err(|e| Error::io("reaping the remote", &e))?;
        Ok(())
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
            .env(ENV_SOCKET_PATH, &self.layout.socket_path);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("spawning {}", self.program.display()), &e))?;
        self.child = Some(child);
        // Connect once the program listens (it writes its table first);
        // notice a program that dies instead.
        let start = Instant::now();
        loop {
            match SocketNotifier::connect_timeout(&self.layout.socket_path, POLL * 4) {
                Ok(k) => {
                    self.kick = Some(k);
                    return Ok(());
                }
                Err(e) => {
                    let exited = match self.child.as_mut() {
                        Some(c) => Self::reap_within(c, Duration::ZERO)?,
                        None => true,
                    };
                    if exited || start.elapsed() >= self.start_timeout {
                        let _ = self.terminate();
                        let what = if exited {
                            "the remote exited before listening"
                        } else {
                            "connecting to the remote"
                        };
                        return Err(sys_error(what, e));
                    }
                }
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
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
