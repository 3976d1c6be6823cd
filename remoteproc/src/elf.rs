//! Loading ELF firmware: little-endian ELF32 and ELF64, read through an
//! [`ImageStore`] a piece at a time.
//!
//! [`parse`] reads only the headers and checks them with
//! [`openamp_rsc_table::elf`] (the checks the `rsc-table` inspector makes
//! too, so both refuse the same images with the same error): every loadable
//! segment's file bytes are inside the image, its sizes are sane, its
//! address range does not wrap, it overlaps no other segment, and the
//! `.resource_table` section is loaded where its header says. [`ElfLoader`]
//! then copies segment after segment, one chunk per
//! [`step`](ElfLoader::step), into memory that a mapping function gives for
//! each segment's device address (its `p_paddr`), and zero-fills each
//! segment's memory past its file size. Nothing ever holds the whole image.

use alloc::vec;
use alloc::vec::Vec;

use openamp_metal::IoRegion;
pub use openamp_rsc_table::elf::{
    ElfImage, ElfLimits, ImageSource, Segment, TableSection, DEFAULT_MACHINES,
};

use crate::store::ImageStore;
use crate::{Error, Result};

/// What the loader accepts, and how it copies.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions<'m> {
    /// What the header checks accept (machines, sizes, counts).
    pub limits: ElfLimits<'m>,
    /// Bytes copied per step.
    pub chunk: usize,
}

impl Default for LoadOptions<'_> {
    fn default() -> Self {
        LoadOptions {
            limits: ElfLimits::DEFAULT,
            chunk: 4096,
        }
    }
}

/// An [`ImageStore`] as the source the header checks read from.
struct StoreSource<'s, S: ?Sized>(&'s mut S);

impl<S: ImageStore + ?Sized> ImageSource for StoreSource<'_, S> {
    type Error = Error;
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.0.read_at(offset, buf)
    }
}

/// Reads and checks the headers of the image `store` has open, of `size`
/// bytes. A refused image is [`Error::Elf`], naming the field or segment.
pub fn parse(store: &mut impl ImageStore, size: u64, opts: &LoadOptions<'_>) -> Result<ElfImage> {
    ElfImage::parse(&mut StoreSource(store), size, &opts.limits)
}

/// Reads the resource table's bytes from the image (at most `max` bytes).
pub fn read_table(
    image: &ElfImage,
    store: &mut impl ImageStore,
    max: usize,
) -> Result<Option<Vec<u8>>> {
    let Some(t) = image.resource_table else {
        return Ok(None);
    };
    let len = usize::try_from(t.size)
        .ok()
        .filter(|l| *l <= max)
        .ok_or(Error::TableTooLarge { size: t.size, max })?;
    let mut buf = vec![0u8; len];
    // The checks made sure the section is inside the image.
    store.read_at(t.offset, &mut buf)?;
    Ok(Some(buf))
}

/// Where the loader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More to copy: call [`ElfLoader::step`] again.
    More {
        /// Bytes copied or zeroed so far.
        done: u64,
        /// Bytes to copy or zero in all.
        total: u64,
    },
    /// Every segment is in place.
    Done,
}

/// Copies an [`ElfImage`]'s segments into memory, one chunk per step.
#[derive(Debug)]
pub struct ElfLoader<'a> {
    image: ElfImage,
    /// For each segment, its memory.
    regions: Vec<IoRegion<'a>>,
    segment: usize,
    /// Bytes of the current segment done.
    at: u64,
    done: u64,
    total: u64,
    buf: Vec<u8>,
}

impl<'a> ElfLoader<'a> {
    /// Prepares to load `image`: asks `map` for the memory of every segment
    /// (its device address and memory size) before anything is written, so
    /// that an image that does not fit changes nothing.
    pub fn new(
        image: ElfImage,
        opts: &LoadOptions<'_>,
        mut map: impl FnMut(u64, u64) -> Result<IoRegion<'a>>,
    ) -> Result<Self> {
        let mut regions = Vec::with_capacity(image.segments().len());
        for s in image.segments() {
            let r = map(s.da, s.memsz).map_err(|_| Error::SegmentUnmapped {
                index: s.index,
                da: s.da,
                len: s.memsz,
            })?;
            if (r.size() as u64) < s.memsz {
                return Err(Error::SegmentUnmapped {
                    index: s.index,
                    da: s.da,
                    len: s.memsz,
                });
            }
            regions.push(r);
        }
        let total = image.segments().iter().map(|s| s.memsz).sum();
        Ok(ElfLoader {
            image,
            regions,
            segment: 0,
            at: 0,
            done: 0,
            total,
            buf: vec![0u8; opts.chunk.max(1)],
        })
    }

    /// The image being loaded.
    pub fn image(&self) -> &ElfImage {
        &self.image
    }

    /// Copies (or zero-fills) the next chunk.
    pub fn step(&mut self, store: &mut impl ImageStore) -> Result<Progress> {
        loop {
            let (Some(s), Some(r)) = (
                self.image.segments().get(self.segment),
                self.regions.get(self.segment),
            ) else {
                return Ok(Progress::Done);
            };
            if self.at >= s.memsz {
                self.segment += 1;
                self.at = 0;
                continue;
            }
            let chunk = self.buf.len() as u64;
            // Both offsets are below memsz, which the region covers.
            let off = self.at as usize;
            let n = if self.at < s.filesz {
                let n = (s.filesz - self.at).min(chunk) as usize;
                let buf = self.buf.get_mut(..n).unwrap_or_default();
                store.read_at(s.offset + self.at, buf)?;
                r.write_bytes(off, buf)?;
                n
            } else {
                let n = (s.memsz - self.at).min(chunk) as usize;
                r.fill(off, n, 0)?;
                n
            };
            self.at += n as u64;
            self.done += n as u64;
            return Ok(Progress::More {
                done: self.done,
                total: self.total,
            });
        }
    }

    /// Steps until everything is loaded.
    pub fn run(&mut self, store: &mut impl ImageStore) -> Result<()> {
        while self.step(store)? != Progress::Done {}
        Ok(())
    }
}
