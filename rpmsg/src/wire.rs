//! The RPMsg wire format: the 16-byte header and name-service messages.

/// Size of the header before every payload.
pub const HEADER_LEN: usize = 16;
/// Default buffer size, header included (OpenAMP's and Linux's).
pub const DEFAULT_BUFFER_SIZE: u32 = 512;
/// The name-service endpoint address.
pub const NS_ADDR: u32 = 53;
/// "Any address": as a source, pick one; as a destination, not bound yet.
pub const ADDR_ANY: u32 = 0xFFFF_FFFF;
/// Addresses below this are reserved for fixed services.
pub const RESERVED_ADDRS: u32 = 1024;
/// Device feature bit 0: name service.
pub const VIRTIO_RPMSG_F_NS: u32 = 1 << 0;
/// The virtio device id of RPMsg.
pub const VIRTIO_ID_RPMSG: u32 = 7;
/// Length of an endpoint name on the wire.
pub const NAME_LEN: usize = 32;
/// Length of a name-service message.
pub const NS_MSG_LEN: usize = NAME_LEN + 8;
/// Name-service flag: an endpoint was created.
pub const NS_CREATE: u32 = 0;
/// Name-service flag: an endpoint was destroyed.
pub const NS_DESTROY: u32 = 1;

/// The header before every payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// Sending endpoint's address.
    pub src: u32,
    /// Receiving endpoint's address.
    pub dst: u32,
    /// The sender's scratch space (OpenAMP keeps a descriptor index there):
    /// written as 0 by us, ignored on receipt.
    pub reserved: u32,
    /// Payload length.
    pub len: u16,
    /// Flags (unused, 0).
    pub flags: u16,
}

impl Header {
    /// The header as it lies in memory.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&self.src.to_le_bytes());
        b[4..8].copy_from_slice(&self.dst.to_le_bytes());
        b[8..12].copy_from_slice(&self.reserved.to_le_bytes());
        b[12..14].copy_from_slice(&self.len.to_le_bytes());
        b[14..16].copy_from_slice(&self.flags.to_le_bytes());
        b
    }

    /// Decodes a header. Any bytes are a header; the caller checks `len`.
    pub fn from_bytes(b: &[u8; HEADER_LEN]) -> Self {
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Header {
            src: u32_at(0),
            dst: u32_at(4),
            reserved: u32_at(8),
            len: u16::from_le_bytes([b[12], b[13]]),
            flags: u16::from_le_bytes([b[14], b[15]]),
        }
    }
}

/// An endpoint name as the wire carries it: 32 bytes, the name being the
/// bytes before the first NUL (all 32 if there is none).
///
/// Two names are equal when their bytes before the first NUL are: OpenAMP C
/// leaves arbitrary bytes after the NUL of the names it announces, and both
/// OpenAMP and Linux compare names only up to it. A decoded name is kept
/// normalized (zeros after the NUL), so the junk never travels further.
#[derive(Clone, Copy, Default)]
pub struct Name([u8; NAME_LEN]);

impl Name {
    /// The empty name (an endpoint that is never announced).
    pub const EMPTY: Name = Name([0; NAME_LEN]);

    /// A name from a string of at most 31 bytes, without NUL.
    ///
    /// 31, not 32: Linux keeps 31 name bytes and a NUL, so a 32-byte name
    /// would be cut there and never match on a Linux peer.
    pub fn new(name: &str) -> Result<Self, crate::Error> {
        let b = name.as_bytes();
        if b.len() >= NAME_LEN {
            return Err(crate::Error::NameTooLong { len: b.len() });
        }
        if let Some(at) = b.iter().position(|c| *c == 0) {
            return Err(crate::Error::NameHasNul { at });
        }
        let mut n = [0u8; NAME_LEN];
        n[..b.len()].copy_from_slice(b);
        Ok(Name(n))
    }

    /// A name as a peer sent it: the bytes before the first NUL, the rest
    /// zeroed. A name of 32 bytes without NUL is kept whole (legal on the
    /// wire for OpenAMP).
    pub fn from_wire(raw: &[u8; NAME_LEN]) -> Self {
        let mut n = [0u8; NAME_LEN];
        let end = raw.iter().position(|b| *b == 0).unwrap_or(NAME_LEN);
        n[..end].copy_from_slice(&raw[..end]);
        Name(n)
    }

    /// The raw 32 bytes, NUL-padded.
    pub fn as_bytes(&self) -> &[u8; NAME_LEN] {
        &self.0
    }

    /// The name up to its first NUL.
    pub fn trimmed(&self) -> &[u8] {
        let end = self.0.iter().position(|b| *b == 0).unwrap_or(NAME_LEN);
        &self.0[..end]
    }

    /// Whether the name is empty.
    pub fn is_empty(&self) -> bool {
        self.0[0] == 0
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.trimmed() == other.trimmed()
    }
}

impl Eq for Name {}

impl core::fmt::Debug for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match core::str::from_utf8(self.trimmed()) {
            Ok(s) => write!(f, "{s:?}"),
            Err(_) => write!(f, "{:?}", self.trimmed()),
        }
    }
}

/// A name-service announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsMessage {
    /// The endpoint's name.
    pub name: Name,
    /// The endpoint's address.
    pub addr: u32,
    /// [`NS_CREATE`] or [`NS_DESTROY`].
    pub flags: u32,
}

impl NsMessage {
    /// The message as it lies in a buffer.
    pub fn to_bytes(&self) -> [u8; NS_MSG_LEN] {
        let mut b = [0u8; NS_MSG_LEN];
        b[..NAME_LEN].copy_from_slice(self.name.as_bytes());
        b[NAME_LEN..NAME_LEN + 4].copy_from_slice(&self.addr.to_le_bytes());
        b[NAME_LEN + 4..].copy_from_slice(&self.flags.to_le_bytes());
        b
    }

    /// Decodes a message; OpenAMP ignores messages whose length is not
    /// exactly 40 bytes, and so does the caller.
    pub fn from_bytes(b: &[u8; NS_MSG_LEN]) -> Self {
        let mut name = [0u8; NAME_LEN];
        name.copy_from_slice(&b[..NAME_LEN]);
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        NsMessage {
            name: Name::from_wire(&name),
            addr: word(NAME_LEN),
            flags: word(NAME_LEN + 4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_layout() {
        let h = Header {
            src: 1024,
            dst: 53,
            reserved: 0xdead,
            len: 40,
            flags: 0,
        };
        let b = h.to_bytes();
        assert_eq!(&b[..8], &[0, 4, 0, 0, 53, 0, 0, 0]);
        assert_eq!(&b[12..14], &[40, 0]);
        assert_eq!(Header::from_bytes(&b), h);
    }

    #[test]
    fn names_pad_trim_and_refuse_long_ones() {
        let n = Name::new("rpmsg-openamp-demo-channel").unwrap();
        assert_eq!(n.trimmed(), b"rpmsg-openamp-demo-channel");
        assert_eq!(n.as_bytes()[26..], [0; 6]);
        assert!(Name::new(&"x".repeat(31)).is_ok());
        // Linux would cut a 32-byte name to 31: refused, like longer ones.
        assert_eq!(
            Name::new(&"x".repeat(32)),
            Err(crate::Error::NameTooLong { len: 32 })
        );
        assert_eq!(
            Name::new(&"x".repeat(33)),
            Err(crate::Error::NameTooLong { len: 33 })
        );
        assert_eq!(Name::new("a\0b"), Err(crate::Error::NameHasNul { at: 1 }));
        assert!(Name::EMPTY.is_empty());
    }

    #[test]
    fn names_compare_up_to_the_first_nul() {
        let mut raw = [0u8; NAME_LEN];
        raw[..3].copy_from_slice(b"abc");
        raw[4..7].copy_from_slice(&[0x15, 0xAD, 0x55]);
        let junk = Name::from_wire(&raw);
        assert_eq!(junk, Name::new("abc").unwrap());
        assert_ne!(junk, Name::new("abcd").unwrap());
        // Normalized: the junk is gone from the bytes we keep.
        assert_eq!(junk.as_bytes(), Name::new("abc").unwrap().as_bytes());
        // 32 bytes without NUL: legal from a peer, kept whole.
        let full = Name::from_wire(&[b'x'; NAME_LEN]);
        assert_eq!(full.trimmed().len(), NAME_LEN);
    }

    #[test]
    fn ns_message_round_trip() {
        let m = NsMessage {
            name: Name::new("abc").unwrap(),
            addr: 1024,
            flags: NS_DESTROY,
        };
        let b = m.to_bytes();
        assert_eq!(&b[32..], &[0, 4, 0, 0, 1, 0, 0, 0]);
        assert_eq!(NsMessage::from_bytes(&b), m);
    }
}
