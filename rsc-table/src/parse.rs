//! The validating parser.
//!
//! [`ResourceTable::parse`] checks the whole table once — version, entry count,
//! every offset (aligned, past the header, in bounds), every entry's whole
//! length (vrings and config space included), overlaps, address ranges that
//! wrap past 4 GiB, vring sizes and duplicate notify ids — and only then hands out typed entries, read by value.
//! Shared memory is first copied into a buffer we own
//! ([`ResourceTable::read_from_region`]), so the peer cannot change what was
//! validated.

use openamp_metal::IoRegion;
use zerocopy::FromBytes;

use crate::error::{Error, Field, Result};
use crate::layout::{self, Carveout, Devmem, Trace, Vdev, Vring};
use crate::{
    FW_RSC_ADDR_ANY, FW_RSC_NOTIFY_ID_ANY, RSC_CARVEOUT, RSC_DEVMEM, RSC_TABLE_VERSION, RSC_TRACE,
    RSC_VDEV, RSC_VENDOR_END, RSC_VENDOR_START,
};

/// The most entries a table may have. Real tables have a handful; the limit
/// bounds the parser's work (overlap checks are quadratic, without allocation).
pub const MAX_ENTRIES: usize = 256;
/// The most notify ids (vdevs' and vrings') a table may have, for the same reason.
pub const MAX_NOTIFY_IDS: usize = 512;
/// The largest vring `num` (legacy virtio indices are 16 bits).
pub const MAX_VRING_NUM: u32 = 32768;

/// A validated resource table over bytes we own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceTable<'a> {
    bytes: &'a [u8],
    num: usize,
    size: usize,
}

/// One entry, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entry<'a> {
    /// A carveout.
    Carveout(Carveout),
    /// A device memory mapping.
    Devmem(Devmem),
    /// A trace buffer.
    Trace(Trace),
    /// A virtio device with its vrings and config space.
    Vdev(VdevEntry<'a>),
    /// A vendor-specific entry (type 128..=512), kept as raw bytes.
    Vendor(RawEntry<'a>),
    /// An entry of a type this crate does not know; skipped by consumers.
    Unknown(RawEntry<'a>),
}

/// An entry with its place in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableEntry<'a> {
    /// Position in the offset array.
    pub index: usize,
    /// Byte offset from the start of the table.
    pub offset: usize,
    /// The decoded entry.
    pub entry: Entry<'a>,
}

/// A vdev entry: its fixed part, its vrings and its config space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VdevEntry<'a> {
    /// The fixed part (id, notify id, features, status...).
    pub vdev: Vdev,
    vrings: &'a [u8],
    config: &'a [u8],
}

/// An entry kept as bytes: vendor-specific or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEntry<'a> {
    /// Its `type` word.
    pub kind: u32,
    /// The bytes after the `type` word, up to the next entry (by offset) or
    /// the end of the table: the format does not say how long such an entry is.
    pub data: &'a [u8],
}

impl<'a> VdevEntry<'a> {
    /// Number of vrings.
    pub fn num_vrings(&self) -> u8 {
        self.vdev.num_of_vrings
    }
    /// Vring `i`, if it exists.
    pub fn vring(&self, i: u8) -> Option<Vring> {
        let at = usize::from(i) * layout::VRING_SIZE;
        let bytes = self.vrings.get(at..)?;
        Vring::read_from_prefix(bytes).ok().map(|(v, _)| v)
    }
    /// The vrings, in order.
    pub fn vrings(&self) -> impl Iterator<Item = Vring> + 'a {
        self.vrings
            .chunks_exact(layout::VRING_SIZE)
            .filter_map(|c| Vring::read_from_bytes(c).ok())
    }
    /// The config space (`config_len` bytes).
    pub fn config(&self) -> &'a [u8] {
        self.config
    }
}

/// Whether `len` bytes at the 32-bit address `addr` run past 4 GiB.
/// `FW_RSC_ADDR_ANY` is "the host chooses": no range yet, never wrapping.
pub(crate) fn range_wraps(addr: u32, len: u32) -> bool {
    addr != FW_RSC_ADDR_ANY && u64::from(addr) + u64::from(len) > 1 << 32
}

/// Reads the little-endian `u32` at `at`, if it is inside `bytes`.
fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    let word: [u8; 4] = bytes.get(at..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(word))
}

/// Where an entry lies and what it is, once its own checks have passed.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    kind: u32,
}

impl<'a> ResourceTable<'a> {
    /// Validates the table at the start of `bytes` (which may run past its end).
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let len = bytes.len();
        let header = layout::Header::read_from_prefix(bytes)
            .map(|(h, _)| h)
            .map_err(|_| Error::TooShort {
                field: Field::Header,
                need: layout::HEADER_SIZE,
                len,
            })?;
        if header.ver != RSC_TABLE_VERSION {
            return Err(Error::BadVersion {
                version: header.ver,
            });
        }
        let fit = (len - layout::HEADER_SIZE) / 4;
        let max = fit.min(MAX_ENTRIES);
        let num = usize::try_from(header.num)
            .ok()
            .filter(|n| *n <= max)
            .ok_or(Error::TooManyEntries {
                num: header.num,
                max,
            })?;
        let table = ResourceTable {
            bytes,
            num,
            size: layout::HEADER_SIZE + 4 * num,
        };
        let mut size = table.size;
        for i in 0..num {
            let span = table.span(i)?;
            for j in 0..i {
                let other = table.span(j)?;
                if span.start < other.end && other.start < span.end {
                    return Err(Error::Overlap {
                        index: i,
                        start: span.start,
                        end: span.end,
                        other: j,
                    });
                }
            }
            size = size.max(span.end);
        }
        table.check_notify_ids()?;
        Ok(ResourceTable { size, ..table })
    }

    /// Copies up to `buf.len()` bytes of the table at `offset` of `region`
    /// into `buf`, then validates the copy.
    ///
    /// The copy is what is validated and returned, so a peer writing the
    /// shared memory meanwhile cannot make a checked value unsafe to use.
    /// `buf` must be large enough for the whole table (a shorter copy fails
    /// validation with the part that did not fit). If the region is cached and
    /// the peer does not snoop our caches, invalidate it first
    /// ([`IoRegion::invalidate`]).
    pub fn read_from_region<'b>(
        region: &IoRegion<'_>,
        offset: usize,
        buf: &'b mut [u8],
    ) -> Result<ResourceTable<'b>> {
        let avail = region.size().checked_sub(offset).ok_or(Error::Region(
            openamp_metal::Error::OutOfRange {
                offset,
                len: 0,
                size: region.size(),
            },
        ))?;
        let n = avail.min(buf.len());
        let copy = buf.get_mut(..n).unwrap_or_default();
        region.read_bytes(offset, copy)?;
        ResourceTable::parse(copy)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.num
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.num == 0
    }

    /// Bytes from the table start to the end of its last fixed-size part
    /// (header, offsets, and every entry whose length the format defines;
    /// the `type` word of vendor and unknown entries).
    pub fn size(&self) -> usize {
        self.size
    }

    /// The bytes the table was parsed from.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The offset of entry `index`.
    pub fn offset(&self, index: usize) -> Result<usize> {
        if index >= self.num {
            return Err(self.no_such(index));
        }
        self.raw_offset(index).map(|o| o as usize)
    }

    /// Entry `index`, decoded.
    pub fn entry(&self, index: usize) -> Result<TableEntry<'a>> {
        if index >= self.num {
            return Err(self.no_such(index));
        }
        let span = self.span(index)?;
        let body = self.bytes.get(span.start..span.end).ok_or(self.oob(
            index,
            Field::Body,
            span.start,
            span.end,
        ))?;
        let entry = match span.kind {
            RSC_CARVEOUT => Entry::Carveout(self.read(index, body)?),
            RSC_DEVMEM => Entry::Devmem(self.read(index, body)?),
            RSC_TRACE => Entry::Trace(self.read(index, body)?),
            RSC_VDEV => {
                let (vdev, rest) = Vdev::read_from_prefix(body)
                    .map_err(|_| self.oob(index, Field::Body, span.start, span.end))?;
                let vrings_len = usize::from(vdev.num_of_vrings) * layout::VRING_SIZE;
                let (vrings, config) = rest.split_at_checked(vrings_len).ok_or(self.oob(
                    index,
                    Field::Vrings,
                    span.start,
                    span.end,
                ))?;
                Entry::Vdev(VdevEntry {
                    vdev,
                    vrings,
                    config,
                })
            }
            kind => {
                let next = (0..self.num)
                    .filter_map(|j| self.raw_offset(j).ok())
                    .map(|o| o as usize)
                    .filter(|&o| o > span.start)
                    .min()
                    .unwrap_or(self.bytes.len());
                let data = self.bytes.get(span.start + 4..next).unwrap_or_default();
                let raw = RawEntry { kind, data };
                if (RSC_VENDOR_START..=RSC_VENDOR_END).contains(&kind) {
                    Entry::Vendor(raw)
                } else {
                    Entry::Unknown(raw)
                }
            }
        };
        Ok(TableEntry {
            index,
            offset: span.start,
            entry,
        })
    }

    /// The entries, in offset-array order.
    ///
    /// Every entry was validated by [`parse`](Self::parse), so none is missing.
    pub fn entries(&self) -> impl Iterator<Item = TableEntry<'a>> + '_ {
        (0..self.num).map_while(|i| self.entry(i).ok())
    }

    /// The first vdev entry with virtio device id `id`, with its index.
    pub fn find_vdev(&self, id: u32) -> Option<(usize, VdevEntry<'a>)> {
        self.entries().find_map(|e| match e.entry {
            Entry::Vdev(v) if v.vdev.id == id => Some((e.index, v)),
            _ => None,
        })
    }

    fn no_such(&self, index: usize) -> Error {
        Error::NoSuchEntry {
            index,
            num: u32::try_from(self.num).unwrap_or(u32::MAX),
        }
    }

    fn oob(&self, index: usize, field: Field, start: usize, end: usize) -> Error {
        Error::OutOfBounds {
            index,
            field,
            start,
            end,
            len: self.bytes.len(),
        }
    }

    fn read<T: FromBytes>(&self, index: usize, body: &[u8]) -> Result<T> {
        T::read_from_prefix(body)
            .map(|(v, _)| v)
            .map_err(|_| self.oob(index, Field::Body, 0, body.len()))
    }

    fn raw_offset(&self, index: usize) -> Result<u32> {
        let at = layout::HEADER_SIZE + 4 * index;
        read_u32(self.bytes, at).ok_or(Error::TooShort {
            field: Field::Offsets,
            need: at + 4,
            len: self.bytes.len(),
        })
    }

    /// Checks entry `index` on its own and returns where it lies.
    fn span(&self, index: usize) -> Result<Span> {
        let offset = self.raw_offset(index)?;
        if offset % 4 != 0 {
            return Err(Error::Misaligned { index, offset });
        }
        let header_end = layout::HEADER_SIZE + 4 * self.num;
        let start = offset as usize;
        if start < header_end {
            return Err(Error::InsideHeader {
                index,
                offset,
                header_end,
            });
        }
        let kind = read_u32(self.bytes, start).ok_or(self.oob(
            index,
            Field::Type,
            start,
            start.saturating_add(4),
        ))?;
        let fixed = match kind {
            RSC_CARVEOUT | RSC_DEVMEM => layout::CARVEOUT_SIZE,
            RSC_TRACE => layout::TRACE_SIZE,
            RSC_VDEV => layout::VDEV_SIZE,
            _ => 4,
        };
        let end = self.fits(index, Field::Body, start, fixed)?;
        if kind != RSC_VDEV {
            self.check_ranges(index, kind, start, end)?;
            return Ok(Span { start, end, kind });
        }
        let vdev = self
            .bytes
            .get(start..end)
            .and_then(|b| Vdev::read_from_bytes(b).ok())
            .ok_or(self.oob(index, Field::Body, start, end))?;
        if vdev.reserved != [0; 2] {
            return Err(Error::InvalidField {
                index,
                field: Field::Reserved,
                value: u32::from(u16::from_le_bytes(vdev.reserved)),
                reason: "must be zero",
            });
        }
        let vrings_len = usize::from(vdev.num_of_vrings) * layout::VRING_SIZE;
        let vrings_end = self.fits(index, Field::Vrings, end, vrings_len)?;
        let config_len = vdev.config_len as usize;
        let config_end = self.fits(index, Field::Config, vrings_end, config_len)?;
        for i in 0..vdev.num_of_vrings {
            let at = end + usize::from(i) * layout::VRING_SIZE;
            let vring = self
                .bytes
                .get(at..at + layout::VRING_SIZE)
                .and_then(|b| Vring::read_from_bytes(b).ok())
                .ok_or(self.oob(index, Field::Vrings, end, vrings_end))?;
            if !vring.num.is_power_of_two() || vring.num > MAX_VRING_NUM {
                return Err(Error::InvalidField {
                    index,
                    field: Field::VringNum(i),
                    value: vring.num,
                    reason: "must be a power of two from 1 to 32768",
                });
            }
            if !vring.align.is_power_of_two() {
                return Err(Error::InvalidField {
                    index,
                    field: Field::VringAlign(i),
                    value: vring.align,
                    reason: "must be a power of two",
                });
            }
        }
        Ok(Span {
            start,
            end: config_end,
            kind,
        })
    }

    /// Checks that a carveout's, devmem's or trace buffer's `da + len` (and a
    /// carveout's or devmem's `pa + len`) stays inside the 32-bit address
    /// space: a host would otherwise ask its platform for a range that wraps
    /// to address 0 (or runs past 4 GiB in a 64-bit calculation).
    fn check_ranges(&self, index: usize, kind: u32, start: usize, end: usize) -> Result<()> {
        let body = self.bytes.get(start..end).unwrap_or_default();
        let bad = || self.oob(index, Field::Body, start, end);
        // A devmem entry has the carveout's layout, so one read serves both.
        let (da, pa, len) = match kind {
            RSC_CARVEOUT | RSC_DEVMEM => {
                let c = Carveout::read_from_bytes(body).map_err(|_| bad())?;
                (c.da, Some(c.pa), c.len)
            }
            RSC_TRACE => {
                let t = Trace::read_from_bytes(body).map_err(|_| bad())?;
                (t.da, None, t.len)
            }
            _ => return Ok(()),
        };
        let fields = [(Field::Da, Some(da)), (Field::Pa, pa)];
        for (field, addr) in fields {
            let Some(addr) = addr else { continue };
            if range_wraps(addr, len) {
                return Err(Error::RangeWraps {
                    index,
                    kind,
                    field,
                    addr,
                    len,
                });
            }
        }
        Ok(())
    }

    /// Checks that `len` bytes at `start` are inside the table; returns the end.
    fn fits(&self, index: usize, field: Field, start: usize, len: usize) -> Result<usize> {
        match start.checked_add(len) {
            Some(end) if end <= self.bytes.len() => Ok(end),
            end => Err(self.oob(index, field, start, end.unwrap_or(usize::MAX))),
        }
    }

    /// Vdev entry `index`, if it is one (and valid).
    fn vdev_at(&self, index: usize) -> Option<VdevEntry<'a>> {
        if self.span(index).ok()?.kind != RSC_VDEV {
            return None;
        }
        match self.entry(index) {
            Ok(TableEntry {
                entry: Entry::Vdev(v),
                ..
            }) => Some(v),
            _ => None,
        }
    }

    /// Checks that no notify id (of a vdev or a vring) is used twice.
    ///
    /// Without an allocator this compares pairs, so the number of ids is
    /// bounded by [`MAX_NOTIFY_IDS`].
    fn check_notify_ids(&self) -> Result<()> {
        let mut count = 0usize;
        for i in 0..self.num {
            let Some(vi) = self.vdev_at(i) else { continue };
            count += notify_ids(&vi).count();
            if count > MAX_NOTIFY_IDS {
                return Err(Error::TooManyNotifyIds {
                    index: i,
                    max: MAX_NOTIFY_IDS,
                });
            }
            for j in 0..=i {
                let Some(vj) = self.vdev_at(j) else { continue };
                for (pos, (field, id)) in notify_ids(&vi).enumerate() {
                    // Within one entry, compare each id with those before it.
                    let earlier = notify_ids(&vj).take(if j == i { pos } else { usize::MAX });
                    for (other_field, other_id) in earlier {
                        if other_id == id {
                            return Err(Error::DuplicateNotifyId {
                                index: i,
                                field,
                                id,
                                other: j,
                                other_field,
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The notify ids of a vdev and its vrings, with the field each comes from;
/// `FW_RSC_NOTIFY_ID_ANY` ("the host assigns") is left out.
fn notify_ids<'v>(v: &VdevEntry<'v>) -> impl Iterator<Item = (Field, u32)> + 'v {
    let own = (Field::NotifyId, v.vdev.notifyid);
    let rings = v
        .vrings()
        .zip(0u8..)
        .map(|(r, i)| (Field::VringNotifyId(i), r.notifyid));
    core::iter::once(own)
        .chain(rings)
        .filter(|(_, id)| *id != FW_RSC_NOTIFY_ID_ANY)
}
