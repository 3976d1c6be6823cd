//! Fresh private directories for runs that need no fixed paths.

use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode};
use rustix::io::Errno;
use rustix::rand::{getrandom, GetRandomFlags};

use crate::error::{Error, Result};
use crate::fd::euid;

/// How many random names [`PrivateDir::new_in`] tries before giving up.
const ATTEMPTS: usize = 64;

/// Characters of the random part of a name.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A new directory that only this user may enter (mode 0700) with a name
/// nobody can guess: where a private run (both sides started by one
/// program, a test, the benchmark) keeps its shared file and its socket.
///
/// Fixed or guessable names such as `/dev/shm/openamp.shm` or names ending
/// in a pid let another local user plant a link or a file there first (see
/// the crate's README, "Threat model"); a file inside a private directory
/// cannot be reached, replaced or read by them at all. The directory is
/// made with `mkdir` (which never follows a link) under a random name, like
/// `mkdtemp(3)`, and checked after creation. Dropping it removes it and
/// everything in it, if the path still names the directory made here.
///
/// ```
/// use openamp_metal_sys_linux::{PrivateDir, SharedMemory};
/// let dir = PrivateDir::new("openamp-example-")?;
/// let shm = SharedMemory::open_or_create(dir.join("openamp.shm"), 0x1000)?;
/// assert!(shm.path().unwrap().starts_with(dir.path()));
/// # Ok::<(), openamp_metal_sys_linux::Error>(())
/// ```
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl PrivateDir {
    /// A private directory in `/dev/shm` (memory, like OpenAMP's file),
    /// or in the temporary directory if there is no `/dev/shm`. Its name is
    /// `prefix` followed by random characters.
    pub fn new(prefix: &str) -> Result<Self> {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            Self::new_in(shm, prefix)
        } else {
            Self::new_in(std::env::temp_dir(), prefix)
        }
    }

    /// A private directory in `parent`, named `prefix` followed by random
    /// characters. `prefix` may not contain `/`.
    pub fn new_in(parent: impl AsRef<Path>, prefix: &str) -> Result<Self> {
        let parent = parent.as_ref();
        if prefix.contains('/') || prefix.contains('\0') {
            return Err(Error::path(
                parent.join(prefix),
                std::io::Error::from(std::io::ErrorKind::InvalidInput),
            ));
        }
        for _ in 0..ATTEMPTS {
            let path = parent.join(format!("{prefix}{}", random_name()?));
            match rustix::fs::mkdir(&path, Mode::from_raw_mode(0o700)) {
                Ok(()) => {}
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(Error::path(path, e.into())),
            }
            // The umask can only take bits away; check what was made anyway
            // (a filesystem may not keep modes), and remove it if it fails.
            let st = rustix::fs::lstat(&path).map_err(|e| Error::path(&path, e.into()))?;
            let reason = if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
                Some("not a directory")
            } else if st.st_uid != euid() {
                Some("owned by another user")
            } else if st.st_mode & 0o077 != 0 {
                Some("group or others may access it")
            } else {
                None
            };
            if let Some(reason) = reason {
                let _ = rustix::fs::rmdir(&path);
                return Err(Error::Untrusted {
                    path,
                    uid: st.st_uid,
                    mode: st.st_mode,
                    reason,
                });
            }
            return Ok(PrivateDir {
                path,
                dev: st.st_dev,
                ino: st.st_ino,
            });
        }
        Err(Error::path(
            parent,
            std::io::Error::other("no free random directory name"),
        ))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        // Only if the path is still the directory made here: nobody else
        // can have replaced it (the parent is ours or sticky), but a caller
        // may have moved it away on purpose.
        if let Ok(st) = rustix::fs::lstat(&self.path) {
            if st.st_dev == self.dev && st.st_ino == self.ino {
                let _ = std::fs::remove_dir_all(&self.path);
            }
        }
    }
}

/// Twelve random characters (60 bits) from the kernel's generator.
fn random_name() -> Result<String> {
    let mut bytes = [0u8; 12];
    let mut filled = 0;
    while filled < bytes.len() {
        match getrandom(&mut bytes[filled..], GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(Error::os("getrandom", e)),
        }
    }
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_dir_is_fresh_0700_and_removed_with_its_files() {
        let a = PrivateDir::new("openamp-rs-unit-").unwrap();
        let b = PrivateDir::new("openamp-rs-unit-").unwrap();
        assert_ne!(a.path(), b.path());
        let name = a.path().file_name().unwrap().to_str().unwrap();
        assert_eq!(name.len(), "openamp-rs-unit-".len() + 12);
        let st = rustix::fs::lstat(a.path()).unwrap();
        assert_eq!(st.st_mode & 0o7777, 0o700);
        assert_eq!(st.st_uid, euid());
        std::fs::write(a.join("f"), b"x").unwrap();
        std::fs::create_dir(a.join("d")).unwrap();
        let path = a.path().to_owned();
        drop(a);
        assert!(!path.exists());
    }

    #[test]
    fn a_prefix_with_a_slash_is_refused() {
        assert!(matches!(
            PrivateDir::new_in(std::env::temp_dir(), "a/b"),
            Err(Error::Path { .. })
        ));
    }

    #[test]
    fn a_dir_moved_away_is_not_removed_by_drop() {
        let a = PrivateDir::new_in(std::env::temp_dir(), "openamp-rs-unit-").unwrap();
        let moved = a.path().with_extension("moved");
        std::fs::rename(a.path(), &moved).unwrap();
        std::fs::create_dir(a.path()).unwrap();
        let path = a.path().to_owned();
        drop(a);
        assert!(path.is_dir() && moved.is_dir());
        std::fs::remove_dir(&path).unwrap();
        std::fs::remove_dir(&moved).unwrap();
    }
}
