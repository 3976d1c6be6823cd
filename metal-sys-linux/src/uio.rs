//! UIO devices: discovery through sysfs, memory maps, and interrupts.
//!
//! A UIO device `uioN` describes itself under `/sys/class/uio/uioN`: a `name`,
//! and for each memory map `M` a folder `maps/mapM` with `addr`, `size` and
//! `offset` in hex. Map `M` is mapped from `/dev/uioN` at file offset
//! `M * page size`, and the memory starts `offset` bytes into that mapping.
//! Both roots are configurable ([`UioPaths`]) so that all of this can be tested
//! on a fake tree.

use std::fs::OpenOptions;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use openamp_metal::WaitNotify;
use rustix::io::Errno;

use crate::error::{metal_os, Error, Result};
use crate::shm::SharedMemory;

/// Where sysfs and the device nodes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UioPaths {
    /// The sysfs mount, normally `/sys`.
    pub sysfs_root: PathBuf,
    /// The device node folder, normally `/dev`.
    pub dev_root: PathBuf,
}

impl Default for UioPaths {
    fn default() -> Self {
        UioPaths {
            sysfs_root: PathBuf::from("/sys"),
            dev_root: PathBuf::from("/dev"),
        }
    }
}

impl UioPaths {
    /// Paths rooted elsewhere (a test tree, a chroot).
    pub fn new(sysfs_root: impl Into<PathBuf>, dev_root: impl Into<PathBuf>) -> Self {
        UioPaths {
            sysfs_root: sysfs_root.into(),
            dev_root: dev_root.into(),
        }
    }
}

/// One memory map of a UIO device, as sysfs describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UioMapInfo {
    /// The map's index `M` (folder `maps/mapM`).
    pub index: u32,
    /// Physical address of the memory.
    pub addr: u64,
    /// Size of the memory in bytes.
    pub size: u64,
    /// Where the memory starts inside the mmap of its page(s).
    pub offset: u64,
}

/// An open UIO device.
#[derive(Debug)]
pub struct UioDevice {
    name: String,
    number: u32,
    sysfs_dir: PathBuf,
    dev_path: PathBuf,
    fd: OwnedFd,
}

impl UioDevice {
    /// Finds the device called `name` under `/sys/class/uio` and opens its
    /// `/dev/uioN`.
    pub fn open(name: &str) -> Result<Self> {
        Self::open_in(name, &UioPaths::default())
    }

    /// As [`open`](Self::open), under other roots.
    pub fn open_in(name: &str, paths: &UioPaths) -> Result<Self> {
        let (number, sysfs_dir) = find(name, paths)?;
        let dev_path = paths.dev_root.join(format!("uio{number}"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&dev_path)
            .map_err(|e| Error::path(&dev_path, e))?;
        Ok(UioDevice {
            name: name.to_owned(),
            number,
            sysfs_dir,
            dev_path,
            fd: file.into(),
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `N` of `uioN`.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The device node that was opened.
    pub fn dev_path(&self) -> &Path {
        &self.dev_path
    }

    /// The device's sysfs folder.
    pub fn sysfs_dir(&self) -> &Path {
        &self.sysfs_dir
    }

    /// Reads the description of map `index`.
    pub fn map_info(&self, index: u32) -> Result<UioMapInfo> {
        let dir = self.sysfs_dir.join("maps").join(format!("map{index}"));
        if !dir.is_dir() {
            return Err(Error::UioMapNotFound {
                device: self.name.clone(),
                index,
            });
        }
        let addr = read_hex(&dir.join("addr"))?;
        let size = read_hex(&dir.join("size"))?;
        // Kernels before `offset` existed placed the memory at the address's
        // offset within its page; that is also what newer ones report.
        let offset_path = dir.join("offset");
        let offset = if offset_path.exists() {
            read_hex(&offset_path)?
        } else {
            addr % page_size()
        };
        Ok(UioMapInfo {
            index,
            addr,
            size,
            offset,
        })
    }

    /// Every map of the device, in index order.
    pub fn maps(&self) -> Result<Vec<UioMapInfo>> {
        let mut maps = Vec::new();
        for index in 0.. {
            match self.map_info(index) {
                Ok(info) => maps.push(info),
                Err(Error::UioMapNotFound { .. }) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(maps)
    }

    /// Maps memory map `index`; the region's physical address is the map's `addr`.
    pub fn map(&self, index: u32) -> Result<SharedMemory> {
        let info = self.map_info(index)?;
        let too_big = |reason| Error::BadSize {
            size: info.size,
            reason,
        };
        let page = page_size();
        let file_offset = u64::from(index)
            .checked_mul(page)
            .ok_or(too_big("map index too large"))?;
        let end = info
            .offset
            .checked_add(info.size)
            .ok_or(too_big("offset plus size overflows"))?;
        let map_len = end
            .checked_next_multiple_of(page)
            .and_then(|l| usize::try_from(l).ok())
            .ok_or(too_big("larger than the address space"))?;
        let skip = usize::try_from(info.offset).map_err(|_| too_big("offset too large"))?;
        let size = usize::try_from(info.size).map_err(|_| too_big("size too large"))?;
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| Error::path(&self.dev_path, e))?;
        SharedMemory::from_parts(
            fd,
            map_len,
            file_offset,
            skip,
            size,
            info.addr,
            Some(self.dev_path.clone()),
        )
    }

    /// The device's interrupt, on a second descriptor of the device node.
    pub fn irq(&self) -> Result<UioIrq> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| Error::path(&self.dev_path, e))?;
        UioIrq::from_fd(fd)
    }
}

impl AsFd for UioDevice {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

/// Finds `uioN` whose `name` is `name`; the lowest `N` wins if several match.
fn find(name: &str, paths: &UioPaths) -> Result<(u32, PathBuf)> {
    let class = paths.sysfs_root.join("class").join("uio");
    let not_found = || Error::UioDeviceNotFound {
        name: name.to_owned(),
        sysfs_dir: class.clone(),
    };
    let entries = match std::fs::read_dir(&class) {
        Ok(entries) => entries,
        // No UIO driver loaded at all: the device is simply not there.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(Error::path(&class, e)),
    };
    let mut best: Option<(u32, PathBuf)> = None;
    for entry in entries {
        let entry = entry.map_err(|e| Error::path(&class, e))?;
        let file_name = entry.file_name();
        let Some(number) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix("uio"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        // A device that vanished while we scan, or an unreadable one, is not ours.
        let Ok(dev_name) = std::fs::read_to_string(dir.join("name")) else {
            continue;
        };
        if dev_name.trim_end_matches('\n') == name && best.as_ref().is_none_or(|(n, _)| number < *n)
        {
            best = Some((number, dir));
        }
    }
    best.ok_or_else(not_found)
}

/// Reads a sysfs attribute holding a number like `0x3ed80000`.
fn read_hex(path: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::path(path, e))?;
    let value = text.trim();
    let digits = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
        .unwrap_or(value);
    u64::from_str_radix(digits, 16).map_err(|_| Error::BadAttribute {
        path: path.to_owned(),
        value: value.to_owned(),
    })
}

/// A UIO interrupt: reading the device gives the interrupt count (blocking
/// until one came), writing a `u32` 1 (re-)enables it and 0 disables it.
///
/// Most UIO drivers mask the interrupt each time it fires, so by default every
/// interrupt taken by `poll`/`wait` is followed by an [`enable`](Self::enable);
/// turn that off with [`with_auto_enable`](Self::with_auto_enable) if the
/// driver does not want it.
#[derive(Debug)]
pub struct UioIrq {
    fd: OwnedFd,
    auto_enable: bool,
}

impl UioIrq {
    /// Uses any descriptor that behaves like a UIO device node (makes it
    /// non-blocking, for every holder of it).
    pub fn from_fd(fd: OwnedFd) -> Result<Self> {
        crate::fd::set_nonblocking(&fd)?;
        Ok(UioIrq {
            fd,
            auto_enable: true,
        })
    }

    /// Whether each interrupt taken is followed by an [`enable`](Self::enable).
    pub fn with_auto_enable(mut self, auto_enable: bool) -> Self {
        self.auto_enable = auto_enable;
        self
    }

    /// Unmasks the interrupt.
    pub fn enable(&self) -> openamp_metal::Result<()> {
        self.control(1)
    }

    /// Masks the interrupt.
    pub fn disable(&self) -> openamp_metal::Result<()> {
        self.control(0)
    }

    fn control(&self, value: u32) -> openamp_metal::Result<()> {
        loop {
            match rustix::io::write(&self.fd, &value.to_ne_bytes()) {
                Ok(4) => return Ok(()),
                // The driver takes the whole word or nothing.
                Ok(_) => return Err(metal_os(Errno::IO)),
                Err(Errno::INTR) => {}
                Err(e) => return Err(metal_os(e)),
            }
        }
    }

    /// The total interrupt count if an interrupt is pending, without waiting.
    pub fn poll_count(&self) -> openamp_metal::Result<Option<u32>> {
        let mut count = [0u8; 4];
        let taken = loop {
            match rustix::io::read(&self.fd, &mut count) {
                Ok(4) => break u32::from_ne_bytes(count),
                Ok(0) => return Err(openamp_metal::Error::PeerClosed),
                Ok(_) => return Err(metal_os(Errno::IO)),
                Err(Errno::AGAIN) => return Ok(None),
                Err(Errno::INTR) => {}
                Err(e) => return Err(metal_os(e)),
            }
        };
        if self.auto_enable {
            self.enable()?;
        }
        Ok(Some(taken))
    }

    /// Waits up to `timeout` for an interrupt; returns the total interrupt count.
    pub fn wait_count(&self, timeout: Duration) -> openamp_metal::Result<Option<u32>> {
        crate::notify::wait_for_kick(&self.fd, timeout, || self.poll_count())
    }
}

impl WaitNotify for UioIrq {
    /// A pending interrupt is reported as `Some(0)`; see
    /// [`poll_count`](UioIrq::poll_count) for the count.
    fn poll(&self) -> openamp_metal::Result<Option<u32>> {
        Ok(self.poll_count()?.map(|_| 0))
    }

    fn wait(&self, timeout: Duration) -> openamp_metal::Result<Option<u32>> {
        Ok(self.wait_count(timeout)?.map(|_| 0))
    }
}

impl AsFd for UioIrq {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::time::Instant;

    /// A fake sysfs and /dev: `uio0` is "other", `uio3` is "rproc-shm" with two
    /// maps, and `uio3`'s node is a regular file of three pages.
    fn fake_tree() -> (tempfile::TempDir, UioPaths) {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("sys");
        let dev = dir.path().join("dev");
        let class = sys.join("class/uio");
        for (n, name) in [(0, "other\n"), (3, "rproc-shm\n")] {
            std::fs::create_dir_all(class.join(format!("uio{n}"))).unwrap();
            std::fs::write(class.join(format!("uio{n}/name")), name).unwrap();
        }
        std::fs::create_dir_all(class.join("not-uio")).unwrap();
        let maps = class.join("uio3/maps");
        for (m, addr, size, offset) in [
            (0, "0x3ed00000", "0x2000", "0x0"),
            (1, "0x3ed80010", "0x100", "0x10"),
        ] {
            let d = maps.join(format!("map{m}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("addr"), format!("{addr}\n")).unwrap();
            std::fs::write(d.join("size"), format!("{size}\n")).unwrap();
            std::fs::write(d.join("offset"), format!("{offset}\n")).unwrap();
        }
        std::fs::create_dir_all(&dev).unwrap();
        let page = page_size() as usize;
        let mut node = vec![0u8; 3 * page];
        node[page + 0x10..page + 0x14].copy_from_slice(&0xcafe_babeu32.to_le_bytes());
        std::fs::write(dev.join("uio3"), node).unwrap();
        (dir, UioPaths::new(sys, dev))
    }

    #[test]
    fn finds_a_device_by_name_and_reads_its_maps() {
        let (_dir, paths) = fake_tree();
        let dev = UioDevice::open_in("rproc-shm", &paths).unwrap();
        assert_eq!(dev.number(), 3);
        assert_eq!(dev.name(), "rproc-shm");
        assert_eq!(dev.dev_path(), paths.dev_root.join("uio3"));
        assert!(dev.sysfs_dir().ends_with("class/uio/uio3"));
        let maps = dev.maps().unwrap();
        assert_eq!(
            maps,
            [
                UioMapInfo {
                    index: 0,
                    addr: 0x3ed0_0000,
                    size: 0x2000,
                    offset: 0
                },
                UioMapInfo {
                    index: 1,
                    addr: 0x3ed8_0010,
                    size: 0x100,
                    offset: 0x10
                },
            ]
        );
    }

    #[test]
    fn maps_at_index_times_page_size_plus_offset() {
        let (_dir, paths) = fake_tree();
        let dev = UioDevice::open_in("rproc-shm", &paths).unwrap();
        let shm = dev.map(1).unwrap();
        let r = shm.region();
        assert_eq!(r.size(), 0x100);
        assert_eq!(r.read_u32(0).unwrap(), 0xcafe_babe);
        assert_eq!(r.offset_to_phys(4).unwrap(), 0x3ed8_0014);
        assert!(r.read_u32(0x100).is_err());
        // Writes reach the "device" file at the same place.
        r.write_u32(8, 0x1122_3344).unwrap();
        drop(shm);
        let mut node = Vec::new();
        std::fs::File::open(paths.dev_root.join("uio3"))
            .unwrap()
            .read_to_end(&mut node)
            .unwrap();
        let at = page_size() as usize + 0x18;
        assert_eq!(node[at..at + 4], 0x1122_3344u32.to_le_bytes());
        let whole = dev.map(0).unwrap();
        assert_eq!(whole.size(), 0x2000);
        assert_eq!(whole.region().offset_to_phys(0).unwrap(), 0x3ed0_0000);
    }

    #[test]
    fn a_missing_device_is_named_in_the_error() {
        let (_dir, paths) = fake_tree();
        let err = UioDevice::open_in("no-such-device", &paths).unwrap_err();
        assert!(matches!(&err, Error::UioDeviceNotFound { name, .. } if name == "no-such-device"));
        assert!(err.to_string().contains("no-such-device"));
        // No UIO class at all (no driver loaded).
        let empty = tempfile::tempdir().unwrap();
        let paths = UioPaths::new(empty.path(), empty.path());
        assert!(matches!(
            UioDevice::open_in("rproc-shm", &paths),
            Err(Error::UioDeviceNotFound { .. })
        ));
    }

    #[test]
    fn a_missing_map_or_node_and_a_bad_attribute_are_errors() {
        let (_dir, paths) = fake_tree();
        let dev = UioDevice::open_in("rproc-shm", &paths).unwrap();
        assert!(matches!(
            dev.map(2),
            Err(Error::UioMapNotFound { index: 2, .. })
        ));
        let size = dev.sysfs_dir().join("maps/map0/size");
        std::fs::write(&size, "0xzz\n").unwrap();
        match dev.map_info(0) {
            Err(Error::BadAttribute { path, value }) => {
                assert_eq!(path, size);
                assert_eq!(value, "0xzz");
            }
            other => panic!("unexpected {other:?}"),
        }
        // Listed in sysfs, but its node is missing.
        assert!(matches!(
            UioDevice::open_in("other", &paths),
            Err(Error::Path { path, .. }) if path == paths.dev_root.join("uio0")
        ));
    }

    #[test]
    fn irq_counts_and_re_enables_over_a_socketpair() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let irq = UioIrq::from_fd(ours.into()).unwrap();
        irq.enable().unwrap();
        let mut word = [0u8; 4];
        theirs.read_exact(&mut word).unwrap();
        assert_eq!(u32::from_ne_bytes(word), 1);

        assert_eq!(irq.poll().unwrap(), None);
        let start = Instant::now();
        assert_eq!(irq.wait(Duration::from_millis(40)).unwrap(), None);
        assert!(start.elapsed() >= Duration::from_millis(40));

        theirs.write_all(&7u32.to_ne_bytes()).unwrap();
        assert_eq!(irq.wait_count(Duration::from_secs(5)).unwrap(), Some(7));
        // Taking the interrupt re-enabled it.
        theirs.read_exact(&mut word).unwrap();
        assert_eq!(u32::from_ne_bytes(word), 1);

        irq.disable().unwrap();
        theirs.read_exact(&mut word).unwrap();
        assert_eq!(u32::from_ne_bytes(word), 0);

        let irq = irq.with_auto_enable(false);
        theirs.write_all(&8u32.to_ne_bytes()).unwrap();
        assert_eq!(irq.wait(Duration::from_secs(5)).unwrap(), Some(0));
        theirs.set_nonblocking(true).unwrap();
        assert_eq!(
            theirs.read(&mut word).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );

        drop(theirs);
        assert_eq!(irq.poll(), Err(openamp_metal::Error::PeerClosed));
    }

    #[test]
    fn irq_from_a_device_uses_its_node() {
        let (_dir, paths) = fake_tree();
        let dev = UioDevice::open_in("rproc-shm", &paths).unwrap();
        let irq = dev.irq().unwrap();
        // A regular file reads its first word as the "count".
        assert_eq!(irq.with_auto_enable(false).poll_count().unwrap(), Some(0));
    }
}
