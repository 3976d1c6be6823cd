//! The Linux kernel's remoteproc, driven from user space through sysfs:
//! `/sys/class/remoteproc/remoteprocN/firmware` names the image (in the
//! kernel's firmware search path) and `state` starts and stops the core.

use std::path::{Path, PathBuf};

use alloc::string::{String, ToString};

use crate::mem::Mapping;
use crate::ops::RemoteprocOps;
use crate::state::State;
use crate::{Error, Result};

/// Where the kernel lists its remote processors.
pub const SYSFS_REMOTEPROC: &str = "/sys/class/remoteproc";

/// One remote processor of the kernel (`remoteprocN`).
///
/// The kernel loads the firmware and handles the resource table itself, so
/// [`RemoteprocOps::mmap`] is unsupported here: use
/// [`Remoteproc::prepare`](crate::Remoteproc::prepare) after
/// [`set_firmware`](Self::set_firmware), then `start` and `stop`.
#[derive(Debug, Clone)]
pub struct SysfsRemoteproc {
    dir: PathBuf,
}

impl SysfsRemoteproc {
    /// `remoteproc<index>` under `root` (normally [`SYSFS_REMOTEPROC`];
    /// tests give a fake tree).
    pub fn new(root: impl AsRef<Path>, index: u32) -> Result<Self> {
        let dir = root.as_ref().join(alloc::format!("remoteproc{index}"));
        if !dir.join("state").exists() {
            return Err(Error::Platform {
                op: "open",
                reason: alloc::format!("{} has no state attribute", dir.display()),
            });
        }
        Ok(SysfsRemoteproc { dir })
    }

    /// The device's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn read(&self, attr: &str) -> Result<String> {
        let p = self.dir.join(attr);
        std::fs::read_to_string(&p)
            .map(|s| s.trim_end().to_string())
            .map_err(|e| Error::io(p.display().to_string(), &e))
    }

    fn write(&self, attr: &str, value: &str) -> Result<()> {
        let p = self.dir.join(attr);
        std::fs::write(&p, value).map_err(|e| Error::io(p.display().to_string(), &e))
    }

    /// The core's name (`name`).
    pub fn name(&self) -> Result<String> {
        self.read("name")
    }

    /// The firmware file name the kernel will load.
    pub fn firmware(&self) -> Result<String> {
        self.read("firmware")
    }

    /// Sets the firmware file name (only while the core is offline).
    ///
    /// The kernel looks the name up in its firmware search path, so it must
    /// be a plain file name there: a name that is empty, `.`, or contains
    /// `/`, `..`, NUL or another control character (a newline, say) is
    /// refused with [`Error::BadAttribute`] naming the attribute and the
    /// name, and nothing is written.
    pub fn set_firmware(&self, name: &str) -> Result<()> {
        if !is_plain_file_name(name) {
            return Err(Error::BadAttribute {
                path: self.dir.join("firmware").display().to_string(),
                value: name.to_string(),
            });
        }
        self.write("firmware", name)
    }

    /// The kernel's state, in this crate's terms: `offline` -> offline,
    /// `running` and `attached` -> running, `suspended` -> suspended,
    /// `crashed` -> error, `detached` -> stopped.
    pub fn state(&self) -> Result<State> {
        let s = self.read("state")?;
        Ok(match s.as_str() {
            "offline" => State::Offline,
            "running" | "attached" => State::Running,
            "suspended" => State::Suspended,
            "crashed" => State::Error,
            "detached" => State::Stopped,
            _ => {
                return Err(Error::BadAttribute {
                    path: self.dir.join("state").display().to_string(),
                    value: s,
                })
            }
        })
    }
}

/// Whether `name` names a file in the firmware search path and nothing
/// else: not empty, not `.`, no `/` (no other folder), no `..` (no way out),
/// no NUL (the kernel would cut the name there), no newline or other
/// control character (sysfs would cut it or take it as part of the name).
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && !name.contains('/')
        && !name.contains("..")
        && !name.chars().any(char::is_control)
}

impl<'a> RemoteprocOps<'a> for SysfsRemoteproc {
    fn mmap(&mut self, _pa: Option<u64>, _da: Option<u64>, _len: u64) -> Result<Mapping<'a>> {
        Err(Error::Unsupported {
            op: "mmap (the kernel loads the firmware)",
        })
    }

    fn start(&mut self) -> Result<()> {
        self.write("state", "start")
    }

    fn stop(&mut self) -> Result<()> {
        self.write("state", "stop")
    }

    fn notify(&self, _id: u32) -> Result<()> {
        Err(Error::Unsupported {
            op: "notify (the kernel's rpmsg drivers own the doorbell)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Remoteproc;

    #[test]
    fn drives_a_fake_sysfs_tree() {
        let tmp = openamp_metal_sys_linux::PrivateDir::new_in(
            std::env::temp_dir(),
            "openamp-rs-rproc-sysfs-",
        )
        .unwrap();
        let root = tmp.path().to_owned();
        let dir = root.join("remoteproc3");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("state"), "offline\n").unwrap();
        std::fs::write(dir.join("firmware"), "rproc-r5-fw\n").unwrap();
        std::fs::write(dir.join("name"), "r5@0\n").unwrap();

        assert!(SysfsRemoteproc::new(&root, 0).is_err());
        let s = SysfsRemoteproc::new(&root, 3).unwrap();
        assert_eq!(s.name().unwrap(), "r5@0");
        assert_eq!(s.firmware().unwrap(), "rproc-r5-fw");
        s.set_firmware("echo.elf").unwrap();
        assert_eq!(s.firmware().unwrap(), "echo.elf");
        for bad in [
            "",
            ".",
            "..",
            "../../etc/shadow",
            "a/b",
            "/abs",
            "a\0b",
            "a\nb",
            "x\n",
        ] {
            match s.set_firmware(bad) {
                Err(Error::BadAttribute { path, value }) => {
                    assert!(path.ends_with("remoteproc3/firmware"), "{path}");
                    assert_eq!(value, bad);
                }
                other => panic!("{bad:?}: unexpected {other:?}"),
            }
        }
        assert_eq!(s.firmware().unwrap(), "echo.elf");
        s.set_firmware("r5_0-echo.v2.elf").unwrap();
        s.set_firmware("echo.elf").unwrap();
        assert_eq!(s.state().unwrap(), State::Offline);

        let mut rproc = Remoteproc::new(s.clone()).unwrap();
        rproc.config().unwrap();
        rproc.prepare().unwrap();
        rproc.start().unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("state")).unwrap(), "start");
        // The kernel would now report "running"; the fake tree is told so.
        std::fs::write(dir.join("state"), "running\n").unwrap();
        assert_eq!(s.state().unwrap(), State::Running);
        rproc.stop().unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("state")).unwrap(), "stop");
        std::fs::write(dir.join("state"), "crashed\n").unwrap();
        assert_eq!(s.state().unwrap(), State::Error);
        std::fs::write(dir.join("state"), "bogus\n").unwrap();
        assert!(matches!(s.state(), Err(Error::BadAttribute { value, .. }) if value == "bogus"));
    }
}
