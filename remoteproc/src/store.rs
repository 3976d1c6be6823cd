//! Where firmware images come from: a store that opens an image by name and
//! reads it piece by piece, so that a loader never needs the whole image in
//! memory.

use crate::{Error, Result};

/// A source of firmware images.
pub trait ImageStore {
    /// Opens the image `name` and returns its size in bytes.
    fn open(&mut self, name: &str) -> Result<u64>;
    /// Fills `buf` with the image's bytes at `offset`; reading past the end
    /// is an error, never a short read.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()>;
    /// Closes the image opened last.
    fn close(&mut self);
}

impl<S: ImageStore + ?Sized> ImageStore for &mut S {
    fn open(&mut self, name: &str) -> Result<u64> {
        (**self).open(name)
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        (**self).read_at(offset, buf)
    }
    fn close(&mut self) {
        (**self).close()
    }
}

/// An image that is already in memory (flash, a test vector); every name
/// opens it.
#[derive(Debug, Clone, Copy)]
pub struct SliceStore<'d> {
    data: &'d [u8],
}

impl<'d> SliceStore<'d> {
    /// A store over `data`.
    pub const fn new(data: &'d [u8]) -> Self {
        SliceStore { data }
    }
}

impl ImageStore for SliceStore<'_> {
    fn open(&mut self, _name: &str) -> Result<u64> {
        Ok(self.data.len() as u64)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let fail = || Error::ImageRead {
            offset,
            len: buf.len(),
            reason: alloc::string::String::from("past the end of the image"),
        };
        let start = usize::try_from(offset).map_err(|_| fail())?;
        let end = start.checked_add(buf.len()).ok_or_else(fail)?;
        let src = self.data.get(start..end).ok_or_else(fail)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn close(&mut self) {}
}

#[cfg(feature = "std")]
pub use file::FileStore;

#[cfg(feature = "std")]
mod file {
    use alloc::string::ToString;
    use std::fs::File;
    use std::os::unix::fs::FileExt;
    use std::path::PathBuf;

    use super::ImageStore;
    use crate::{Error, Result};

    /// Images in files: a name is a path, relative to a base folder.
    #[derive(Debug, Default)]
    pub struct FileStore {
        base: PathBuf,
        file: Option<File>,
    }

    impl FileStore {
        /// A store whose names are relative to `base` (absolute names ignore it).
        pub fn new(base: impl Into<PathBuf>) -> Self {
            FileStore {
                base: base.into(),
                file: None,
            }
        }
    }

    impl ImageStore for FileStore {
        fn open(&mut self, name: &str) -> Result<u64> {
            let path = self.base.join(name);
            let f = File::open(&path).map_err(|e| Error::io(path.display().to_string(), &e))?;
            let len = f
                .metadata()
                .map_err(|e| Error::io(path.display().to_string(), &e))?
                .len();
            self.file = Some(f);
            Ok(len)
        }

        fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
            let f = self.file.as_ref().ok_or(Error::ImageRead {
                offset,
                len: buf.len(),
                reason: "no image is open".into(),
            })?;
            f.read_exact_at(buf, offset).map_err(|e| Error::ImageRead {
                offset,
                len: buf.len(),
                reason: e.to_string(),
            })
        }

        fn close(&mut self) {
            self.file = None;
        }
    }
}
