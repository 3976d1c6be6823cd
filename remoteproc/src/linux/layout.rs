//! OpenAMP's "Linux process" platform layout: one shared file, one socket.

use std::path::PathBuf;
use std::time::Duration;

use alloc::vec::Vec;

use openamp_metal::{IoRegion, Notify};
use openamp_metal_sys_linux::{
    SharedMemory, SocketListener, SocketNotifier, OPENAMP_EVENT_SOCKET, OPENAMP_SHM_PATH,
    OPENAMP_SHM_SIZE,
};
use openamp_rsc_table::layout::{Header, Vdev, Vring};
use openamp_rsc_table::{ResourceTable, VIRTIO_ID_RPMSG, VIRTIO_RPMSG_F_NS};
use zerocopy::IntoBytes;

use super::sys_error;
use crate::vdev::{copy_table, VdevTransport};
use crate::{Error, Result};

/// One vring of the layout's vdev.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VringSpec {
    /// Device address (= offset in the shared file).
    pub da: u32,
    /// Used-ring alignment.
    pub align: u32,
    /// Number of entries.
    pub num: u32,
    /// Notify id.
    pub notify_id: u32,
}

/// Where everything lies on OpenAMP's Linux-process platform.
///
/// The defaults are OpenAMP's own, so a side built on them talks to OpenAMP's
/// C host or remote: the file `/dev/shm/openamp.shm` of 0x80000 bytes whose
/// offsets are the "physical" (and device) addresses; the resource table at
/// offset 0 with one RPMsg vdev (id 7, notify id 0, dfeatures NS) and two
/// vrings of 256 entries aligned to 0x1000 at 0x4000 (notify id 1) and
/// 0x8000 (notify id 2); the buffer pool at 0x10000, 0x40000 bytes of
/// 512-byte buffers; kicks as bytes on the socket `/tmp/openamp.event.0`,
/// where the remote listens.
///
/// ```
/// use openamp_remoteproc::linux::LinuxProcessLayout;
/// let l = LinuxProcessLayout::default();
/// assert_eq!(l.shm_size, 0x80000);
/// assert_eq!(l.vrings[1].da, 0x8000);
/// assert_eq!(l.table_bytes().len(), 88);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxProcessLayout {
    /// The shared file.
    pub shm_path: PathBuf,
    /// Its size in bytes.
    pub shm_size: usize,
    /// The notification socket.
    pub socket_path: PathBuf,
    /// Offset of the resource table in the file.
    pub table_offset: usize,
    /// Virtio device id of the vdev.
    pub device_id: u32,
    /// The vdev's own notify id.
    pub vdev_notify_id: u32,
    /// The features the remote offers.
    pub dfeatures: u32,
    /// The two vrings: 0 carries remote-to-host messages, 1 host-to-remote.
    pub vrings: [VringSpec; 2],
    /// Offset of the host's buffer pool.
    pub pool_offset: usize,
    /// Size of the pool.
    pub pool_size: usize,
    /// Size of one buffer.
    pub buffer_size: usize,
}

impl Default for LinuxProcessLayout {
    fn default() -> Self {
        LinuxProcessLayout {
            shm_path: PathBuf::from(OPENAMP_SHM_PATH),
            shm_size: OPENAMP_SHM_SIZE,
            socket_path: PathBuf::from(OPENAMP_EVENT_SOCKET),
            table_offset: 0,
            device_id: VIRTIO_ID_RPMSG,
            vdev_notify_id: 0,
            dfeatures: VIRTIO_RPMSG_F_NS,
            vrings: [
                VringSpec {
                    da: 0x4000,
                    align: 0x1000,
                    num: 256,
                    notify_id: 1,
                },
                VringSpec {
                    da: 0x8000,
                    align: 0x1000,
                    num: 256,
                    notify_id: 2,
                },
            ],
            pool_offset: 0x10000,
            pool_size: 0x40000,
            buffer_size: 512,
        }
    }
}

/// Offset of the (only) entry: right after the header and one offset.
const ENTRY_OFFSET: u32 = 20;

impl LinuxProcessLayout {
    /// OpenAMP's defaults with the file names `openamp.shm` and
    /// `openamp.event.0` inside `dir`: for private runs (both sides started
    /// by one program, tests), with `dir` a fresh
    /// [`PrivateDir`](openamp_metal_sys_linux::PrivateDir), which no other
    /// user can enter, so nobody can plant or replace anything at these
    /// paths, unlike at fixed or pid-derived names in `/dev/shm` or `/tmp`.
    pub fn in_dir(dir: impl AsRef<std::path::Path>) -> Self {
        let dir = dir.as_ref();
        Self::with_paths(dir.join("openamp.shm"), dir.join("openamp.event.0"))
    }

    /// The defaults with another shared file and socket.
    pub fn with_paths(shm_path: impl Into<PathBuf>, socket_path: impl Into<PathBuf>) -> Self {
        LinuxProcessLayout {
            shm_path: shm_path.into(),
            socket_path: socket_path.into(),
            ..Self::default()
        }
    }

    /// The resource table the remote writes: header, one offset, the vdev
    /// and its two vrings (88 bytes with the defaults).
    pub fn table_bytes(&self) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(Header::new(1).as_bytes());
        t.extend_from_slice(&ENTRY_OFFSET.to_le_bytes());
        t.extend_from_slice(
            Vdev::new(self.device_id, self.vdev_notify_id, self.dfeatures, 2).as_bytes(),
        );
        for v in &self.vrings {
            t.extend_from_slice(Vring::new(v.da, v.align, v.num, v.notify_id).as_bytes());
        }
        t
    }

    /// The region of `shm` the table may occupy (from its offset to the end).
    pub fn table_region<'a>(&self, shm: &IoRegion<'a>) -> Result<IoRegion<'a>> {
        let len =
            shm.size()
                .checked_sub(self.table_offset)
                .ok_or(openamp_metal::Error::OutOfRange {
                    offset: self.table_offset,
                    len: 0,
                    size: shm.size(),
                })?;
        Ok(shm.sub_region(self.table_offset, len)?)
    }

    /// The host's buffer pool in `shm`.
    pub fn pool_region<'a>(&self, shm: &IoRegion<'a>) -> Result<IoRegion<'a>> {
        Ok(shm.sub_region(self.pool_offset, self.pool_size)?)
    }

    /// What OpenAMP's echo remote does to the shared memory when it starts:
    /// zeroes all of it (a fresh file, even if an earlier run left data) and
    /// writes the resource table.
    pub fn init_shm(&self, shm: &IoRegion<'_>) -> Result<()> {
        shm.fill(0, shm.size(), 0)?;
        let table = self.table_bytes();
        self.table_region(shm)?.write_bytes(0, &table)?;
        Ok(())
    }

    /// The remote's side: writes the table into `shm` ([`init_shm`](Self::init_shm))
    /// and returns the device-role transport over it, kicking through `notifier`.
    pub fn remote_transport<'a, N: Notify>(
        &self,
        shm: IoRegion<'a>,
        notifier: N,
    ) -> Result<VdevTransport<'a, N>> {
        self.init_shm(&shm)?;
        self.attach_remote(shm, notifier)
    }

    /// The remote's transport over a table already in `shm` (written by
    /// [`init_shm`](Self::init_shm)).
    pub fn attach_remote<'a, N: Notify>(
        &self,
        shm: IoRegion<'a>,
        notifier: N,
    ) -> Result<VdevTransport<'a, N>> {
        let table = self.table_region(&shm)?;
        let index = self.vdev_index(&table)?;
        VdevTransport::remote(table, index, &shm, self.pool_region(&shm)?, notifier)
    }

    /// The host's side: parses and validates the table the remote wrote into
    /// `shm` and returns the driver-role transport whose buffers are the pool.
    pub fn host_transport<'a, N: Notify>(
        &self,
        shm: IoRegion<'a>,
        notifier: N,
    ) -> Result<VdevTransport<'a, N>> {
        let table = self.table_region(&shm)?;
        let index = self.vdev_index(&table)?;
        VdevTransport::host(table, index, &shm, None, self.pool_region(&shm)?, notifier)
    }

    /// The index of the first vdev with our device id.
    fn vdev_index(&self, table: &IoRegion<'_>) -> Result<usize> {
        let bytes = copy_table(table)?;
        let parsed = ResourceTable::parse(&bytes)?;
        parsed
            .find_vdev(self.device_id)
            .map(|(i, _)| i)
            .ok_or(Error::NoSuchVdev {
                notify_id: self.vdev_notify_id,
            })
    }

    /// Starts the remote's side as OpenAMP's C remote does: opens (or
    /// creates) the file, writes the table, listens on the socket, and waits
    /// up to `timeout` for the host to connect. The table is written before
    /// listening, so a host that connected finds it.
    ///
    /// The file is opened as
    /// [`SharedMemory::open_or_create`] says (never through a link, only a
    /// regular file of ours with mode 0600, as OpenAMP C makes it too), the
    /// socket is made mode 0600 and only a host of our user is accepted (see
    /// [`SocketListener`]).
    pub fn open_remote(&self, timeout: Duration) -> Result<LinuxProcessRemote> {
        let shm = SharedMemory::open_or_create(&self.shm_path, self.shm_size)
            .map_err(|e| sys_error("opening the shared memory", e))?;
        self.init_shm(&shm.region())?;
        let listener = SocketListener::bind(&self.socket_path)
            .map_err(|e| sys_error("listening for the host", e))?;
        let kick = listener
            .accept(timeout)
            .map_err(|e| sys_error("waiting for the host to connect", e))?;
        Ok(LinuxProcessRemote {
            layout: self.clone(),
            shm,
            kick,
            _listener: listener,
        })
    }

    /// Starts the host's side: connects to the remote's socket, retrying for
    /// up to `timeout` while it is not listening yet (never blocking past
    /// it), then maps the file. The remote must be a process of our user,
    /// and the file pass [`SharedMemory::open_or_create`]'s checks.
    pub fn open_host(&self, timeout: Duration) -> Result<LinuxProcessHost> {
        let kick = SocketNotifier::connect_timeout(&self.socket_path, timeout)
            .map_err(|e| sys_error("connecting to the remote", e))?;
        let shm = SharedMemory::open_or_create(&self.shm_path, self.shm_size)
            .map_err(|e| sys_error("opening the shared memory", e))?;
        Ok(LinuxProcessHost {
            layout: self.clone(),
            shm,
            kick,
        })
    }
}

/// The remote's end of a Linux-process pair: the memory (table written) and
/// the connected socket.
#[derive(Debug)]
pub struct LinuxProcessRemote {
    layout: LinuxProcessLayout,
    /// The shared memory.
    pub shm: SharedMemory,
    /// Kicks to and from the host.
    pub kick: SocketNotifier,
    _listener: SocketListener,
}

impl LinuxProcessRemote {
    /// The device-role transport over the table in the shared memory.
    pub fn transport(&self) -> Result<VdevTransport<'_, &SocketNotifier>> {
        self.layout.attach_remote(self.shm.region(), &self.kick)
    }

    /// The layout in use.
    pub fn layout(&self) -> &LinuxProcessLayout {
        &self.layout
    }
}

/// The host's end of a Linux-process pair.
#[derive(Debug)]
pub struct LinuxProcessHost {
    layout: LinuxProcessLayout,
    /// The shared memory.
    pub shm: SharedMemory,
    /// Kicks to and from the remote.
    pub kick: SocketNotifier,
}

impl LinuxProcessHost {
    /// The driver-role transport over the remote's table.
    pub fn transport(&self) -> Result<VdevTransport<'_, &SocketNotifier>> {
        self.layout.host_transport(self.shm.region(), &self.kick)
    }

    /// The layout in use.
    pub fn layout(&self) -> &LinuxProcessLayout {
        &self.layout
    }
}
