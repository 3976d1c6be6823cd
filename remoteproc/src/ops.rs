//! What a platform does for [`Remoteproc`](crate::Remoteproc): the operations
//! OpenAMP's `remoteproc_ops` has.

use openamp_metal::{IoRegion, Notify};

use crate::mem::Mapping;
use crate::{Error, Result};

/// A platform's operations on one remote processor.
///
/// Only `mmap`, `start`, `stop` and `notify` have no default. The lifetime
/// `'a` is that of the memory the platform maps.
pub trait RemoteprocOps<'a> {
    /// Sets the platform up for this remote (called once, by
    /// [`Remoteproc::new`](crate::Remoteproc::new)).
    fn init(&mut self) -> Result<()> {
        Ok(())
    }

    /// Releases what `init` took (called by
    /// [`Remoteproc::remove`](crate::Remoteproc::remove)).
    fn remove(&mut self) {}

    /// Maps `len` bytes of the remote's memory: at device address `da`
    /// and/or physical address `pa` (`None` = "any", the platform chooses).
    /// Returns the mapping with its device address.
    fn mmap(&mut self, pa: Option<u64>, da: Option<u64>, len: u64) -> Result<Mapping<'a>>;

    /// Handles a vendor-specific resource (type 128..=512) at entry `index`;
    /// `entry` covers its bytes up to the next entry. `Ok(false)` means "not
    /// mine": the entry is skipped, as unknown entries are.
    fn handle_rsc(&mut self, index: usize, kind: u32, entry: IoRegion<'a>) -> Result<bool> {
        let _ = (index, kind, entry);
        Ok(false)
    }

    /// Configures the remote before its firmware is loaded.
    fn config(&mut self) -> Result<()> {
        Ok(())
    }

    /// Starts the remote.
    fn start(&mut self) -> Result<()>;

    /// Stops the remote.
    fn stop(&mut self) -> Result<()>;

    /// Powers the remote off after it stopped (or never started).
    fn shutdown(&mut self) -> Result<()> {
        Ok(())
    }

    /// Suspends the running remote.
    fn suspend(&mut self) -> Result<()> {
        Err(Error::Unsupported { op: "suspend" })
    }

    /// Resumes the suspended remote.
    fn resume(&mut self) -> Result<()> {
        Err(Error::Unsupported { op: "resume" })
    }

    /// Kicks the remote with notify id `id`.
    fn notify(&self, id: u32) -> Result<()>;

    /// Memory the platform has already mapped that covers `len` bytes at
    /// device address `da`, if any; asked before `mmap`.
    fn get_mem(&self, da: u64, len: u64) -> Option<Mapping<'a>> {
        let _ = (da, len);
        None
    }
}

/// Kicks through a platform's [`RemoteprocOps::notify`]: the notifier of a
/// transport made by [`Remoteproc::create_virtio`](crate::Remoteproc::create_virtio).
#[derive(Debug)]
pub struct OpsNotifier<'r, O>(pub &'r O);

impl<'a, O: RemoteprocOps<'a>> Notify for OpsNotifier<'_, O> {
    fn notify(&self, id: u32) -> openamp_metal::Result<()> {
        self.0.notify(id).map_err(|e| match e {
            Error::Metal(m) => m,
            Error::Os { errno, .. } => openamp_metal::Error::Os { errno },
            _ => openamp_metal::Error::PeerClosed,
        })
    }
}
