//! Trace buffers: the log a remote writes into memory the host can read.

use alloc::string::String;
use alloc::vec;

use openamp_metal::IoRegion;

use crate::Result;

/// A trace buffer from the resource table.
#[derive(Debug, Clone)]
pub struct TraceBuffer<'a> {
    /// The entry's index in the table.
    pub index: usize,
    /// The entry's name.
    pub name: String,
    /// The buffer's device address.
    pub da: u32,
    /// The buffer.
    pub region: IoRegion<'a>,
}

impl TraceBuffer<'_> {
    /// The text in the buffer: its bytes up to the first NUL (all of them if
    /// none), with invalid UTF-8 replaced.
    pub fn text(&self) -> Result<String> {
        let mut buf = vec![0u8; self.region.size()];
        self.region.read_bytes(0, &mut buf)?;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        buf.truncate(end);
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// A reader that returns what was added since its last read.
    pub fn reader(&self) -> TraceReader<'_> {
        TraceReader {
            buffer: self,
            seen: 0,
        }
    }
}

/// Reads a trace buffer a bit at a time, as `tail -f` does.
#[derive(Debug)]
pub struct TraceReader<'t> {
    buffer: &'t TraceBuffer<'t>,
    seen: usize,
}

impl TraceReader<'_> {
    /// The text added since the last call. If the text became shorter (the
    /// remote restarted or wrapped round), all of it is returned again.
    pub fn read_new(&mut self) -> Result<String> {
        let text = self.buffer.text()?;
        let from = if text.len() >= self.seen && text.is_char_boundary(self.seen) {
            self.seen
        } else {
            0
        };
        self.seen = text.len();
        Ok(String::from(text.get(from..).unwrap_or_default()))
    }
}
