//! [`MemoryPlatform`]: a remote whose memory is ordinary memory of ours.

use core::sync::atomic::{AtomicU32, Ordering};

use openamp_metal::IoRegion;

use crate::mem::{Mapping, MemPool};
use crate::ops::RemoteprocOps;
use crate::{Error, Result};

/// Where "host chooses" mappings are cut from the top of the memory.
const ANY_ALIGN: usize = 0x1000;

/// A platform whose remote memory is plain RAM (or a mapped file) of ours,
/// addressed as the firmware sees it: loading a firmware into a `Vec` to
/// inspect what a loader writes, tests, simulators.
///
/// Device addresses are the memory's physical addresses: `new` gives the
/// first byte device address `da`, so an R5 image linked at 0x3ED00000
/// loads into a buffer with `da = 0x3ED0_0000` and every address written
/// back into its table (vrings, carveouts) fits the table's 32 bits.
/// `mmap` at a device address returns that part of the memory; a mapping
/// at "any" address is cut from the top. `start` and `stop` only record the
/// state, `notify` counts kicks.
///
/// ```
/// use openamp_remoteproc::{MemoryPlatform, Remoteproc, State};
/// let mut ram = vec![0u8; 0x10000];
/// let mut rproc = Remoteproc::new(MemoryPlatform::new(&mut ram, 0x3ED0_0000)?)?;
/// rproc.config()?;
/// rproc.prepare()?; // or `load` an ELF linked inside 0x3ED00000..0x3ED10000
/// rproc.start()?;
/// assert!(rproc.ops().is_running());
/// assert_eq!(rproc.state(), State::Running);
/// # Ok::<(), openamp_remoteproc::Error>(())
/// ```
#[derive(Debug)]
pub struct MemoryPlatform<'a> {
    mem: IoRegion<'a>,
    da: u64,
    /// Bytes at the top already handed out for "any" mappings.
    taken_from_top: usize,
    running: bool,
    kicks: AtomicU32,
    last_kick: AtomicU32,
}

impl<'a> MemoryPlatform<'a> {
    /// A platform over `mem`, whose first byte the remote sees at `da`.
    pub fn new(mem: &'a mut [u8], da: u64) -> Result<Self> {
        Ok(Self::with_region(IoRegion::from_slice_at(mem, da)?, da))
    }

    /// A platform over a region whose physical addresses are the remote's
    /// device addresses (a file mapped with its offsets as addresses, a
    /// board's DDR window). The region must be physically contiguous.
    pub fn from_region(mem: IoRegion<'a>) -> Result<Self> {
        let da = mem.offset_to_phys(0)?;
        // A page-mapped region translates page by page: refuse it rather
        // than hand out device addresses that are not its own.
        if mem.size() > 0 && mem.offset_to_phys(mem.size() - 1)? != da + mem.size() as u64 - 1 {
            return Err(Error::Platform {
                op: "MemoryPlatform::from_region",
                reason: "the region is not physically contiguous".into(),
            });
        }
        Ok(Self::with_region(mem, da))
    }

    fn with_region(mem: IoRegion<'a>, da: u64) -> Self {
        MemoryPlatform {
            mem,
            da,
            taken_from_top: 0,
            running: false,
            kicks: AtomicU32::new(0),
            last_kick: AtomicU32::new(0),
        }
    }

    /// The whole memory.
    pub fn region(&self) -> IoRegion<'a> {
        self.mem
    }

    /// The device address of the memory's first byte.
    pub fn da(&self) -> u64 {
        self.da
    }

    /// A pool for the table's "host chooses" vrings and carveouts
    /// ([`Remoteproc::set_pool`](crate::Remoteproc::set_pool)) over `len`
    /// bytes at device address `da`, inside this memory.
    pub fn pool(&self, da: u64, len: usize) -> Result<MemPool<'a>> {
        Ok(MemPool::new(self.slice(da, len as u64)?, da))
    }

    /// Whether the remote was started and not stopped since.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Kicks sent to the remote so far, and the notify id of the last one.
    pub fn kicks(&self) -> (u32, u32) {
        (
            self.kicks.load(Ordering::Relaxed),
            self.last_kick.load(Ordering::Relaxed),
        )
    }

    fn slice(&self, da: u64, len: u64) -> Result<IoRegion<'a>> {
        let unmapped = || Error::Unmapped { da, len };
        let off = da.checked_sub(self.da).ok_or_else(unmapped)?;
        let off = usize::try_from(off).map_err(|_| unmapped())?;
        let len = usize::try_from(len).map_err(|_| unmapped())?;
        self.mem.sub_region(off, len).map_err(|_| unmapped())
    }
}

impl<'a> RemoteprocOps<'a> for MemoryPlatform<'a> {
    fn mmap(&mut self, _pa: Option<u64>, da: Option<u64>, len: u64) -> Result<Mapping<'a>> {
        if let Some(da) = da {
            return Ok(Mapping {
                da,
                region: self.slice(da, len)?,
            });
        }
        let free = self.mem.size() - self.taken_from_top;
        let oom = Error::OutOfMemory {
            len: usize::try_from(len).unwrap_or(usize::MAX),
            align: ANY_ALIGN,
            free,
        };
        let len = usize::try_from(len).map_err(|_| oom.clone())?;
        let start = free.checked_sub(len).ok_or(oom)? & !(ANY_ALIGN - 1);
        self.taken_from_top = self.mem.size() - start;
        Ok(Mapping {
            da: self.da + start as u64,
            region: self.mem.sub_region(start, len)?,
        })
    }

    fn start(&mut self) -> Result<()> {
        self.running = true;
        Ok(())
    }

    fn stop(&mut self) -> Result<()> {
        self.running = false;
        Ok(())
    }

    fn notify(&self, id: u32) -> Result<()> {
        self.kicks.fetch_add(1, Ordering::Relaxed);
        self.last_kick.store(id, Ordering::Relaxed);
        Ok(())
    }
}
