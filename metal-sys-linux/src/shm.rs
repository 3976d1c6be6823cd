//! Shared memory mapped from a file: `/dev/shm`, a memfd, or a UIO map.

use std::ffi::c_void;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use openamp_metal::{IoAttr, IoRegion, PhysMap};
use rustix::fs::{FileType, FlockOperation, MemfdFlags, Mode, OFlags, SealFlags, Stat};
use rustix::io::Errno;
use rustix::mm::{MapFlags, ProtFlags};

use crate::error::{Error, Result};
use crate::fd::euid;

/// The path of OpenAMP's "Linux process" shared memory file.
pub const OPENAMP_SHM_PATH: &str = "/dev/shm/openamp.shm";

/// How often [`open_private_file`] starts over when the file at the path
/// changes under it (removed, replaced) before giving up.
const OPEN_ATTEMPTS: usize = 16;

/// Flags of every open of a shared file: never through a symbolic link,
/// never a controlling terminal, never blocking on a FIFO planted there.
fn open_flags() -> OFlags {
    OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK
}

/// What an open file is, for the decision to use it.
enum Verdict {
    /// A regular file of ours, 0600 or stricter, one name: use it.
    Private,
    /// A regular file of ours that fails the other checks: replace it.
    StaleOurs(&'static str),
    /// Not ours, or not a regular file: refuse it.
    Foreign(&'static str),
}

fn judge(st: &Stat) -> Verdict {
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        Verdict::Foreign("not a regular file")
    } else if st.st_uid != euid() {
        Verdict::Foreign("owned by another user")
    } else if st.st_mode & 0o077 != 0 {
        Verdict::StaleOurs("group or others may access it")
    } else if st.st_nlink != 1 {
        Verdict::StaleOurs("the file has other names (hard links)")
    } else {
        Verdict::Private
    }
}

fn untrusted(path: &Path, st: &Stat, reason: &'static str) -> Error {
    Error::Untrusted {
        path: path.to_owned(),
        uid: st.st_uid,
        mode: st.st_mode,
        reason,
    }
}

/// Describes what is at `path` without following it, after an open refused
/// it (`ELOOP`: a symbolic link; `ENXIO`: a socket; ...).
fn refused_at(path: &Path, errno: Errno) -> Error {
    match rustix::fs::lstat(path) {
        Ok(st) => {
            let reason = match FileType::from_raw_mode(st.st_mode) {
                FileType::Symlink => "a symbolic link",
                FileType::RegularFile if st.st_uid != euid() => "owned by another user",
                FileType::RegularFile => return Error::path(path, errno.into()),
                _ => "not a regular file",
            };
            untrusted(path, &st, reason)
        }
        Err(_) => Error::path(path, errno.into()),
    }
}

/// Opens (`create`: or creates) the shared file at `path` as
/// [`SharedMemory::open_or_create`] documents, returning a descriptor of a
/// regular file of ours that nobody else may open.
fn open_private_file(path: &Path, create: bool) -> Result<OwnedFd> {
    for _ in 0..OPEN_ATTEMPTS {
        if create {
            match rustix::fs::open(
                path,
                open_flags() | OFlags::CREATE | OFlags::EXCL,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => {
                    // The umask may have taken bits away: 0600 exactly, so
                    // that a peer of ours can open it read-write too.
                    rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o600))
                        .map_err(|e| Error::path(path, e.into()))?;
                    let st = rustix::fs::fstat(&fd).map_err(|e| Error::path(path, e.into()))?;
                    return match judge(&st) {
                        Verdict::Private => Ok(fd),
                        Verdict::StaleOurs(r) | Verdict::Foreign(r) => Err(untrusted(path, &st, r)),
                    };
                }
                Err(Errno::EXIST) => {}
                Err(e) => return Err(Error::path(path, e.into())),
            }
        }
        let fd = match rustix::fs::open(path, open_flags(), Mode::empty()) {
            Ok(fd) => fd,
            // Removed since: create it (or report it missing).
            Err(Errno::NOENT) if create => continue,
            Err(e @ (Errno::LOOP | Errno::NXIO | Errno::ISDIR | Errno::ACCESS | Errno::PERM)) => {
                return Err(refused_at(path, e))
            }
            Err(e) => return Err(Error::path(path, e.into())),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::path(path, e.into()))?;
        match judge(&st) {
            Verdict::Private => return Ok(fd),
            Verdict::Foreign(r) => return Err(untrusted(path, &st, r)),
            Verdict::StaleOurs(r) if !create => return Err(untrusted(path, &st, r)),
            Verdict::StaleOurs(_) => {
                drop(fd);
                remove_if_same(path, &st)?;
            }
        }
    }
    Err(Error::path(
        path,
        std::io::Error::other("the file kept changing while it was opened"),
    ))
}

/// Removes the name `path` if it still names the file `st` describes.
fn remove_if_same(path: &Path, st: &Stat) -> Result<()> {
    match rustix::fs::lstat(path) {
        Ok(now) if now.st_dev == st.st_dev && now.st_ino == st.st_ino => {
            match rustix::fs::unlink(path) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(Error::path(path, e.into())),
            }
        }
        // Gone, or replaced by something else: look again.
        _ => Ok(()),
    }
}

/// Grows the file to `size` bytes if it is smaller, under an exclusive
/// `flock` as libmetal does, so that two sides starting together agree.
fn grow(fd: &OwnedFd, path: &Path, size: u64) -> Result<()> {
    let io = |e: Errno| Error::path(path, e.into());
    rustix::fs::flock(fd, FlockOperation::LockExclusive).map_err(io)?;
    let result = (|| {
        let st = rustix::fs::fstat(fd)?;
        if u64::try_from(st.st_size).unwrap_or(0) < size {
            rustix::fs::ftruncate(fd, size)?;
        }
        Ok(())
    })();
    let _ = rustix::fs::flock(fd, FlockOperation::Unlock);
    result.map_err(io)
}

/// One `mmap`, undone when dropped.
#[derive(Debug)]
struct Mapping {
    ptr: NonNull<c_void>,
    len: usize,
}

// SAFETY: `Mapping` only remembers where a MAP_SHARED mapping is so that it
// can be unmapped; it gives no access to the bytes, and unmapping from
// another thread is as valid as from this one.
unsafe impl Send for Mapping {}
// SAFETY: `&Mapping` allows nothing at all (no methods read through `ptr`).
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` at `offset`, shared and read-write.
    fn new(fd: BorrowedFd<'_>, len: usize, offset: u64) -> Result<Self> {
        if len == 0 {
            return Err(Error::BadSize {
                size: 0,
                reason: "empty mapping",
            });
        }
        // SAFETY: a null hint lets the kernel pick fresh addresses, so no
        // existing Rust object is replaced; MAP_SHARED of a file we opened
        // read-write creates new memory that only this `Mapping` describes.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd,
                offset,
            )
        }
        .map_err(|e| Error::os("mmap", e))?;
        let ptr = NonNull::new(ptr).ok_or(Error::BadSize {
            size: len as u64,
            reason: "mmap returned a null address",
        })?;
        Ok(Mapping { ptr, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned and nothing else
        // unmaps them. Every `IoRegion` over this memory borrows the owning
        // `SharedMemory`, so none outlives this call (a leaked mapping is
        // never dropped, see `SharedMemory::leak`).
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr(), self.len) };
    }
}

/// A shared memory mapping: a file in `/dev/shm`, a memfd, or a UIO map.
///
/// It owns the `mmap` and the file descriptor. [`region`](Self::region) gives
/// an [`IoRegion`] that borrows the mapping; [`leak`](Self::leak) gives one
/// for the rest of the program.
///
/// The physical address of a byte is, by default, its offset in the file
/// (base 0, as OpenAMP's Linux-process platform has it) and, for a UIO map,
/// the map's `addr`; [`with_phys_base`](Self::with_phys_base) changes it.
///
/// The region is only as safe as the file: if another process shrinks it
/// (`ftruncate`), accessing the lost pages raises `SIGBUS`. Memfds made here
/// are sealed against that; a `/dev/shm` file cannot be.
#[derive(Debug)]
pub struct SharedMemory {
    map: Mapping,
    /// Describes (a part of) `map`. Its `'static` is a private fiction: it is
    /// only handed out with the lifetime of `&self`, or after `leak`.
    region: IoRegion<'static>,
    /// Offset of the region's first byte inside `map`.
    skip: usize,
    fd: OwnedFd,
    path: Option<PathBuf>,
}

impl SharedMemory {
    /// Opens the file at `path`, creating it (mode 0600) if needed and growing
    /// it to at least `size` bytes, and maps its first `size` bytes.
    ///
    /// Both sides of a Linux-process pair may call this with the same
    /// arguments: whichever comes first creates the file. A larger existing
    /// file is not shrunk. The checks keep another local user out of the
    /// channel (see the crate's README, "Threat model"):
    ///
    /// - the file is created with `O_EXCL` and never through a symbolic link
    ///   (`O_NOFOLLOW`), so a link planted at `path` makes no file elsewhere;
    /// - an existing file is used only if it is a regular file owned by our
    ///   effective uid, with no permission for group or others, and with no
    ///   other name (hard link). That is what OpenAMP C's libmetal creates
    ///   (`shm_open(..., 0600)`), so a C peer of the same user that came
    ///   first is met in its file;
    /// - a stale file of ours that fails the checks (a looser mode, another
    ///   name) is replaced: its name is removed and a new file created with
    ///   `O_EXCL`, so whoever has the old one open sees nothing of the new;
    /// - anything else (a link, another user's file, a FIFO, a directory, a
    ///   socket) is refused with [`Error::Untrusted`], naming the path, the
    ///   owner and the mode, and is left as it was.
    pub fn open_or_create(path: impl AsRef<Path>, size: usize) -> Result<Self> {
        let path = path.as_ref();
        if size == 0 {
            // Checked before creating anything, so a bad call leaves no file.
            return Err(Error::BadSize {
                size: 0,
                reason: "empty mapping",
            });
        }
        let fd = open_private_file(path, true)?;
        grow(&fd, path, size as u64)?;
        Self::from_parts(fd, size, 0, 0, size, 0, Some(path.to_owned()))
    }

    /// Opens an existing file read-write and maps all of it.
    ///
    /// The file must pass the checks of
    /// [`open_or_create`](Self::open_or_create) (a regular file of ours, mode
    /// 0600 or stricter, one name, not reached through a symbolic link);
    /// anything else is [`Error::Untrusted`] and is not opened further.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let fd = open_private_file(path, false)?;
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::path(path, e.into()))?;
        let len = u64::try_from(st.st_size).unwrap_or(0);
        let size = usize::try_from(len).map_err(|_| Error::BadSize {
            size: len,
            reason: "file larger than the address space",
        })?;
        Self::from_parts(fd, size, 0, 0, size, 0, Some(path.to_owned()))
    }

    /// Creates an anonymous memfd of `size` bytes and maps it.
    ///
    /// `name` only shows up in `/proc/<pid>/fd`. The memfd is sealed so that
    /// it can neither shrink nor grow: a process it is passed to cannot make
    /// our accesses fault. Pass it to a child with
    /// [`set_inheritable`](crate::set_inheritable) and the child maps it with
    /// [`from_fd`](Self::from_fd).
    pub fn memfd(name: &str, size: usize) -> Result<Self> {
        let fd = rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
            .map_err(|e| Error::os("memfd_create", e))?;
        rustix::fs::ftruncate(&fd, size as u64).map_err(|e| Error::os("ftruncate", e))?;
        rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)
            .map_err(|e| Error::os("fcntl(F_ADD_SEALS)", e))?;
        Self::from_parts(fd, size, 0, 0, size, 0, None)
    }

    /// Maps all of an open file, e.g. a memfd received from a parent process.
    ///
    /// The descriptor must be open read-write.
    pub fn from_fd(fd: OwnedFd) -> Result<Self> {
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::os("fstat", e))?;
        let len = u64::try_from(st.st_size).unwrap_or(0);
        let size = usize::try_from(len).map_err(|_| Error::BadSize {
            size: len,
            reason: "file larger than the address space",
        })?;
        Self::from_parts(fd, size, 0, 0, size, 0, None)
    }

    /// Maps `map_len` bytes of `fd` at `file_offset`; the region is the
    /// `size` bytes that start `skip` bytes into the mapping, at physical
    /// address `phys`.
    pub(crate) fn from_parts(
        fd: OwnedFd,
        map_len: usize,
        file_offset: u64,
        skip: usize,
        size: usize,
        phys: u64,
        path: Option<PathBuf>,
    ) -> Result<Self> {
        match skip.checked_add(size) {
            Some(end) if end <= map_len && size > 0 => {}
            _ => {
                return Err(Error::BadSize {
                    size: size as u64,
                    reason: "empty, or larger than the mapping",
                })
            }
        }
        let map = Mapping::new(fd.as_fd(), map_len, file_offset)?;
        let region = Self::describe(&map, skip, size, phys, IoAttr::UNCACHED)?;
        Ok(SharedMemory {
            map,
            region,
            skip,
            fd,
            path,
        })
    }

    fn describe(
        map: &Mapping,
        skip: usize,
        size: usize,
        phys: u64,
        attr: IoAttr,
    ) -> Result<IoRegion<'static>> {
        let virt = map.ptr.as_ptr().cast::<u8>().wrapping_add(skip);
        // SAFETY: `skip + size <= map.len` (checked by `from_parts`), so the
        // range is inside a live read-write mapping. It stays mapped as long
        // as the `SharedMemory` holding `map` exists, and the region is only
        // handed out borrowing it (or after `leak` made the mapping
        // permanent). This crate never makes a Rust reference into it.
        let region = unsafe { IoRegion::new(virt, size, PhysMap::Contiguous(phys), attr) }?;
        Ok(region)
    }

    /// Sets the physical address of the region's first byte (default: 0 for
    /// files and memfds, the map's `addr` for UIO).
    pub fn with_phys_base(mut self, base: u64) -> Result<Self> {
        self.region = Self::describe(
            &self.map,
            self.skip,
            self.region.size(),
            base,
            self.region.attr(),
        )?;
        Ok(self)
    }

    /// Sets the memory attributes the region reports (default: uncached,
    /// which is right for memory shared between Linux processes).
    pub fn with_attr(mut self, attr: IoAttr) -> Result<Self> {
        let phys = self.region.offset_to_phys(0)?;
        self.region = Self::describe(&self.map, self.skip, self.region.size(), phys, attr)?;
        Ok(self)
    }

    /// The shared memory, for as long as this mapping lives.
    pub fn region(&self) -> IoRegion<'_> {
        self.region
    }

    /// Keeps the memory mapped for the rest of the program and returns a
    /// region over it. The file descriptor is closed; the mapping stays.
    pub fn leak(self) -> IoRegion<'static> {
        let SharedMemory { map, region, .. } = self;
        // Without its destructor the mapping is never unmapped, which is what
        // makes `'static` true.
        std::mem::forget(map);
        region
    }

    /// Size of the region in bytes.
    pub fn size(&self) -> usize {
        self.region.size()
    }

    /// The file this was opened from (`None` for memfds and descriptors).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl AsFd for SharedMemory {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for SharedMemory {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::Ordering;
    use openamp_metal::Error as MetalError;

    use crate::PrivateDir;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};

    /// A file path in a fresh private directory (kept alive by the caller).
    fn private_shm(tag: &str) -> (PrivateDir, PathBuf) {
        let dir = PrivateDir::new("openamp-rs-unit-").unwrap();
        let path = dir.join(tag);
        (dir, path)
    }

    /// Writes `bytes` to a new file at `path` with `mode`.
    fn write_file(path: &Path, bytes: &[u8], mode: u32) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .unwrap();
        f.write_all(bytes).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn two_mappings_of_one_file_see_each_other() {
        let (_dir, path) = private_shm("two");
        let a = SharedMemory::open_or_create(&path, 0x2000).unwrap();
        let b = SharedMemory::open(&path).unwrap();
        assert_eq!(b.size(), 0x2000);
        assert_eq!(a.path(), Some(path.as_path()));
        a.region().write_u32(0x1000, 0xfeed_f00d).unwrap();
        assert_eq!(b.region().read_u32(0x1000).unwrap(), 0xfeed_f00d);
        b.region().store_u16(0x10, 7, Ordering::Release).unwrap();
        assert_eq!(a.region().load_u16(0x10, Ordering::Acquire).unwrap(), 7);
        // Opening again with a smaller size leaves the file as it was.
        let c = SharedMemory::open_or_create(&path, 0x1000).unwrap();
        assert_eq!(c.size(), 0x1000);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0x2000);
    }

    #[test]
    fn bounds_are_checked_on_a_real_mapping() {
        let shm = SharedMemory::memfd("bounds", 4096).unwrap();
        let r = shm.region();
        assert!(matches!(
            r.read_u32(4096),
            Err(MetalError::OutOfRange {
                offset: 4096,
                len: 4,
                size: 4096
            })
        ));
        assert!(matches!(
            r.write_u64(4092, 0),
            Err(MetalError::OutOfRange { .. })
        ));
        assert!(matches!(r.read_u32(2), Err(MetalError::Misaligned { .. })));
        assert!(r.sub_region(4000, 200).is_err());
        r.write_u64(4088, u64::MAX).unwrap();
    }

    #[test]
    fn phys_is_the_file_offset_plus_base() {
        let shm = SharedMemory::memfd("phys", 0x3000).unwrap();
        assert_eq!(shm.region().offset_to_phys(0x1234).unwrap(), 0x1234);
        let shm = shm.with_phys_base(0x3ed0_0000).unwrap();
        let r = shm.region();
        assert_eq!(r.offset_to_phys(0x10).unwrap(), 0x3ed0_0010);
        assert_eq!(r.phys_to_offset(0x3ed0_2000).unwrap(), 0x2000);
        assert!(r.phys_to_offset(0x3ed0_3000).is_err());
        let shm = shm.with_attr(IoAttr::CACHED).unwrap();
        assert!(shm.region().attr().cached);
        assert_eq!(shm.region().offset_to_phys(0).unwrap(), 0x3ed0_0000);
        assert!(SharedMemory::memfd("phys", 0x3000)
            .unwrap()
            .with_phys_base(u64::MAX - 10)
            .is_err());
    }

    #[test]
    fn memfd_is_sealed_and_can_be_mapped_again_from_its_fd() {
        let shm = SharedMemory::memfd("seal", 8192).unwrap();
        shm.region().write_u8(8191, 0x5a).unwrap();
        assert!(rustix::fs::ftruncate(&shm, 100).is_err());
        let again = SharedMemory::from_fd(shm.as_fd().try_clone_to_owned().unwrap()).unwrap();
        assert_eq!(again.size(), 8192);
        assert_eq!(again.region().read_u8(8191).unwrap(), 0x5a);
    }

    #[test]
    fn leaked_region_outlives_the_mapping_value() {
        let region: IoRegion<'static> = SharedMemory::memfd("leak", 4096).unwrap().leak();
        region.write_u32(0, 1).unwrap();
        assert_eq!(region.read_u32(0).unwrap(), 1);
    }

    #[test]
    fn errors_name_the_path_and_the_size() {
        let (_dir, missing) = private_shm("missing");
        match SharedMemory::open(&missing) {
            Err(Error::Path { path, source }) => {
                assert_eq!(path, missing);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            SharedMemory::memfd("empty", 0),
            Err(Error::BadSize { size: 0, .. })
        ));
        assert!(matches!(
            SharedMemory::open_or_create(&missing, 0),
            Err(Error::BadSize { size: 0, .. })
        ));
        assert!(!missing.exists());
    }

    #[test]
    fn a_new_file_is_0600_and_the_other_side_meets_it() {
        let (_dir, path) = private_shm("mode");
        let a = SharedMemory::open_or_create(&path, 0x1000).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o600);
        a.region().write_u32(0, 0x1234_5678).unwrap();
        // The other side finds the same file (same inode), not a new one.
        let b = SharedMemory::open_or_create(&path, 0x1000).unwrap();
        assert_eq!(b.region().read_u32(0).unwrap(), 0x1234_5678);
        assert_eq!(std::fs::metadata(&path).unwrap().ino(), meta.ino());
    }

    #[test]
    fn an_existing_0600_file_of_ours_is_used_as_a_c_peer_leaves_it() {
        // libmetal: shm_open(O_RDWR | O_CREAT, 0600), no O_EXCL; a C side
        // that came first leaves exactly this, maybe already sized.
        let (_dir, path) = private_shm("c-peer");
        write_file(&path, &[0xa5; 0x800], 0o600);
        let ino = std::fs::metadata(&path).unwrap().ino();
        let shm = SharedMemory::open_or_create(&path, 0x1000).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().ino(), ino);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0x1000);
        assert_eq!(shm.region().read_u8(0x7ff).unwrap(), 0xa5);
        assert_eq!(shm.region().read_u8(0x800).unwrap(), 0);
        drop(shm);
        assert_eq!(SharedMemory::open(&path).unwrap().size(), 0x1000);
    }

    #[test]
    fn a_stale_file_of_ours_with_a_loose_mode_is_replaced_not_reused() {
        let (_dir, path) = private_shm("stale");
        write_file(&path, b"old secrets", 0o644);
        let old = std::fs::File::open(&path).unwrap();
        // `open` refuses it...
        match SharedMemory::open(&path) {
            Err(Error::Untrusted { path: p, mode, .. }) => {
                assert_eq!(p, path);
                assert_eq!(mode & 0o777, 0o644);
            }
            other => panic!("unexpected {other:?}"),
        }
        // ... `open_or_create` makes a new file in its place.
        let shm = SharedMemory::open_or_create(&path, 0x1000).unwrap();
        shm.region().write_bytes(0, b"new").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_ne!(meta.ino(), old.metadata().unwrap().ino());
        assert_eq!(meta.mode() & 0o777, 0o600);
        let mut seen = Vec::new();
        std::io::Read::read_to_end(&mut &old, &mut seen).unwrap();
        assert_eq!(seen, b"old secrets");
    }

    #[test]
    fn a_second_name_of_another_file_is_not_used() {
        let (dir, path) = private_shm("linked");
        let victim = dir.join("victim");
        write_file(&victim, b"victim", 0o600);
        std::fs::hard_link(&victim, &path).unwrap();
        assert!(matches!(
            SharedMemory::open(&path),
            Err(Error::Untrusted { reason, .. }) if reason.contains("hard links")
        ));
        let shm = SharedMemory::open_or_create(&path, 0x1000).unwrap();
        shm.region().fill(0, 0x1000, 0xff).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"victim");
    }

    #[test]
    fn links_fifos_and_directories_are_refused_and_left_alone() {
        let (dir, path) = private_shm("link");
        let target = dir.join("target");
        write_file(&target, b"target", 0o600);
        std::os::unix::fs::symlink(&target, &path).unwrap();
        for r in [
            SharedMemory::open_or_create(&path, 0x1000),
            SharedMemory::open(&path),
        ] {
            match r {
                Err(Error::Untrusted { reason, .. }) => assert_eq!(reason, "a symbolic link"),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"target");
        let dangling = dir.join("dangling");
        std::os::unix::fs::symlink(dir.join("nothing"), &dangling).unwrap();
        assert!(SharedMemory::open_or_create(&dangling, 0x1000).is_err());
        assert!(!dir.join("nothing").exists());

        let fifo = dir.join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert!(matches!(
            SharedMemory::open_or_create(&fifo, 0x1000),
            Err(Error::Untrusted {
                reason: "not a regular file",
                ..
            })
        ));
        let sub = dir.join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert!(matches!(
            SharedMemory::open_or_create(&sub, 0x1000),
            Err(Error::Untrusted { .. })
        ));
    }
}
