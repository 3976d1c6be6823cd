//! A remote's log in its resource table's trace buffer.

use openamp_metal::IoRegion;

/// Appends text to a trace buffer, always NUL-terminated, so that the host
/// (remoteproc's trace reader, or Linux's debugfs `trace0`) can read it at
/// any moment. Text past the end is dropped, never wrapped over older lines.
#[derive(Debug)]
pub struct TraceLog<'a> {
    buf: IoRegion<'a>,
    at: usize,
}

impl<'a> TraceLog<'a> {
    /// A log over the trace buffer `buf`, starting empty.
    pub fn new(buf: IoRegion<'a>) -> Self {
        // An empty string first, so a host reading now sees nothing stale.
        let _ = buf.write_u8(0, 0);
        TraceLog { buf, at: 0 }
    }

    /// Bytes written so far (without the NUL).
    pub fn len(&self) -> usize {
        self.at
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.at == 0
    }
}

impl core::fmt::Write for TraceLog<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.size().saturating_sub(self.at + 1);
        let n = s.len().min(room);
        self.buf
            .write_bytes(self.at, &s.as_bytes()[..n])
            .map_err(|_| core::fmt::Error)?;
        self.at += n;
        self.buf.write_u8(self.at, 0).map_err(|_| core::fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn text_is_nul_terminated_and_clipped() {
        let mut mem = [0xAAu8; 8];
        let region = IoRegion::from_slice(&mut mem);
        let mut log = TraceLog::new(region);
        assert!(log.is_empty());
        write!(log, "abc").unwrap();
        let mut out = [0u8; 8];
        region.read_bytes(0, &mut out).unwrap();
        assert_eq!(&out[..4], b"abc\0");
        write!(log, "defghij").unwrap();
        region.read_bytes(0, &mut out).unwrap();
        assert_eq!(&out, b"abcdefg\0", "clipped, still terminated");
        assert_eq!(log.len(), 7);
    }
}
