//! `cargo xtask fuzz seeds`: writes the generated part of the committed seed
//! corpora (`gen-*` files), deterministically.
//!
//! The fuzz targets read structured inputs (a configuration, then a script
//! of steps); each seed below is such an input, written step by step in the
//! format its target's source documents, so that fuzzing starts from whole
//! exchanges (an echo with name service, a flood, a reset, a firmware with
//! an RPMsg vdev) instead of from nothing. A seed that drifts from its
//! target's format is still a valid input, only a less useful one. The
//! resource-table seeds are taken from OpenAMP C's own shared memory
//! (`vectors/`).

use std::path::Path;

use crate::process::root;

/// Little-endian helpers for writing inputs.
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Bytes {
    fn b(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }
    fn u16(self, v: u16) -> Self {
        self.b(&v.to_le_bytes())
    }
    fn u32(self, v: u32) -> Self {
        self.b(&v.to_le_bytes())
    }
}

/// virtio `hostile_peer`: config bytes b0 b1 b2 b3, a page-map seed (u32),
/// the queue-size byte (rings of up to 16 entries only), then steps.
fn virtio() -> Vec<(String, Vec<u8>)> {
    // An honest exchange: chains out, in and mixed; the device takes,
    // answers (also reporting another length); the driver takes back;
    // kicks and interrupts checked, toggled; the device resumes.
    let exchange = Bytes::default()
        .b(&[0x11, 0x00, 0x40]) // add: one out buffer
        .b(&[0xc1, 0x10, 0x20, 0x00, 0x80, 0x08, 0x30]) // add: three in buffers
        .b(&[0x51, 0x04, 0x60, 0x00, 0xff]) // add: out then in
        .b(&[0x07, 0x02, 0x02, 0x02, 0x07]) // kicks, three pops
        .b(&[0x04, 0x00])
        .u16(0x10) // return the first held, 16 bytes
        .b(&[0x0f, 0x00])
        .u16(0x40)
        .u16(0x80) // return another, reporting 128
        .b(&[0x04, 0x00])
        .u16(0x100)
        .b(&[0x07, 0x05, 0x05, 0x05, 0x05, 0x09]) // interrupts, take all back
        .b(&[0x18, 0x38, 0x28, 0x08, 0x07, 0x0a]) // toggles, resume
        .b(&[0x11, 0x00, 0x40, 0x02, 0x04, 0x00, 0x00, 0x00, 0x05, 0x09]);
    // A hostile driver and device: descriptors, entries and indices.
    let hostile = Bytes::default()
        .b(&[0x11, 0x00, 0x10, 0x02])
        .b(&[0x4c])
        .u16(1)
        .u16(0x100)
        .b(&[0x40, 0x02])
        .u16(0) // a descriptor, offered
        .b(&[0x02, 0x0d, 0x10, 0x05]) // pop it; a used entry for our chain
        .b(&[0xdc])
        .u16(2)
        .u16(0x200)
        .b(&[0x20, 0x01])
        .u16(3)
        .u16(0x100) // a chain that loops
        .b(&[0x02, 0x1b])
        .u16(0x22)
        .b(&[0x7f, 0x00]) // raw: the avail index
        .b(&[0x02, 0x5d])
        .u32(77)
        .b(&[0x10])
        .u16(9) // a used id nobody gave
        .b(&[0x05, 0x05, 0x02, 0x0e])
        .u16(0x10)
        .b(&[0xaa]);
    let configs: &[(&str, [u8; 4], bool)] = &[
        ("n8", [0x03, 0x00, 0x00, 0x00], true),
        ("n8-event-idx", [0x03, 0x20, 0x00, 0x00], true),
        ("n1", [0x00, 0x00, 0x00, 0x00], true),
        ("n16-align4096", [0x04, 0x04, 0x00, 0x00], true),
        ("n8-cached-both-64", [0x03, 0x03, 0xe0, 0x00], true),
        ("n8-cached-driver-32", [0x03, 0x22, 0x20, 0x00], true),
        ("n8-scattered-pages", [0x03, 0x00, 0x01, 0x00], true),
        ("n8-scattered-cached", [0x03, 0x02, 0x61, 0x01], true),
        ("n8-hostile-pages", [0x03, 0x00, 0x03, 0x02], true),
        ("n1024", [0xfa, 0x04, 0x00, 0x06], false),
        ("n256-event-idx-cached", [0xf8, 0x24, 0x40, 0x00], false),
        ("refused-2048", [0x0b, 0x00, 0x00, 0x00], false),
        ("refused-3", [0x0d, 0x00, 0x00, 0x00], true),
        ("refused-align-24", [0x03, 0x17, 0x00, 0x00], true),
        ("refused-short-ring", [0x03, 0x00, 0x00, 0x38], true),
        ("refused-misaligned-ring", [0x03, 0x00, 0x00, 0x28], true),
    ];
    let mut out = Vec::new();
    for (name, cfg, small) in configs {
        for (script, steps) in [("exchange", &exchange), ("hostile", &hostile)] {
            let mut b = Bytes::default().b(cfg).u32(0x1234_5678);
            if *small {
                b = b.b(&[0x01]);
            }
            out.push((format!("gen-{name}-{script}"), b.b(&steps.0).0));
        }
    }
    out
}

/// rpmsg `rpmsg_peer`: b0 (role, ring size, align), b1 (features,
/// conventions), b2 (buffer sizes), b3 (callbacks, spin, remote: offers
/// and status), remote: one byte per offer, then steps.
fn rpmsg() -> Vec<(String, Vec<u8>)> {
    // Name service both ways, messages both ways, a callback that echoes,
    // a destroyed endpoint, then the peer resets.
    let echo = Bytes::default()
        .b(&[0x00, 0x01]) // create "echo"
        .b(&[0x10, 0x00]) // the peer takes our announcement
        .b(&[0x0e, 0x01, 0x00]) // the peer announces "echo" at 1024
        .b(&[0x09]) // poll: bound
        .b(&[0x0c, 0x00, 0x00, 0x00, 0x20, 0x00]) // the peer sends 32 bytes
        .b(&[0x07, 0x00]) // we take them
        .b(&[0x03, 0x00])
        .u16(0x20) // we send 32 bytes back
        .b(&[0x10, 0x00]) // the peer takes them
        .b(&[0x01, 0x42]) // create "rpmsg-openamp-demo-channel", echo callback
        .b(&[0x10, 0x00])
        .b(&[0x0c, 0x00, 0x00, 0x01, 0x30, 0x01]) // to it, OpenAMP's used len
        .b(&[0x09, 0x10, 0x00]) // poll: it echoes; the peer takes the echo
        .b(&[0x05, 0x40, 0x06, 0x00, 0x00, 0x40, 0x00]) // zero-copy send
        .b(&[0x10, 0x00])
        .b(&[0x02, 0x00, 0x10, 0x00]) // destroy "echo": DESTROY
        .b(&[0x13, 0x00, 0x09, 0x08, 0x00]); // reset; poll and recv see it
                                             // Floods of announcements, DESTROY of names nobody has, names with
                                             // junk after the NUL and 32-byte names, lengths that are not 40.
    let names = Bytes::default()
        .b(&[0x00, 0x03, 0x00, 0x06])
        .b(&[0x0f, 0x0f])
        .b(&[0x00; 16]) // 16 announcements of n0..n15
        .b(&[0x09, 0x0f, 0x2f])
        .b(&[0x01; 16])
        .b(&[0x09])
        .b(&[0x0e, 0x05, 0x00, 0x0e, 0x04, 0x00, 0x0e, 0x26, 0x00])
        .b(&[0x0e, 0x41, 0x00, 0x27, 0x0e, 0x31, 0x02])
        .u32(0xffff_ffff)
        .u32(7)
        .b(&[0x09, 0x07, 0x00, 0x07, 0x01]);
    // Hostile headers and lengths, raw writes while we wait, status flips.
    let hostile = Bytes::default()
        .b(&[0x00, 0x00, 0x00, 0x08, 0x03])
        .b(&[0x0c, 0x42, 0x02])
        .u32(0x1000_0000)
        .u16(0xffff)
        .b(&[0x02])
        .u16(0x0400) // a header claiming 64 KiB
        .b(&[0x0d, 0xc4, 0x00])
        .u32(0xdead)
        .u16(0xffff)
        .b(&[0x01])
        .b(&[0x12, 0x03])
        .u16(0x00)
        .u32(0x40) // NEEDS_RESET while we wait
        .b(&[0x0a, 0x43, 0x00, 0x12, 0x00])
        .u16(0x102)
        .u32(0xffff_ffff)
        .b(&[0x13, 0x81, 0x23, 0x00])
        .u16(0x100)
        .b(&[0x09, 0x13, 0x04, 0x09]);
    let roles: &[(&str, Vec<u8>)] = &[
        ("host", vec![0x06, 0x01, 0x00, 0x01]),
        ("host-openamp-c", vec![0x06, 0x11, 0x00, 0x11]),
        ("host-linux-event-idx", vec![0x16, 0x23, 0x00, 0x09]),
        ("host-small-buffers", vec![0x04, 0x01, 0x53, 0x01]),
        ("remote", vec![0x07, 0x01, 0x00, 0x13, 0, 0, 0, 0]),
        (
            "remote-openamp-c",
            vec![0x07, 0x11, 0x00, 0x13, 0, 0x41, 0x82, 0xc3],
        ),
        (
            "remote-small-slots",
            vec![0x05, 0x01, 0x00, 0x0d, 0, 0, 0x0a],
        ),
        ("remote-needs-reset", vec![0x07, 0x01, 0x00, 0x27, 0]),
    ];
    let mut out = Vec::new();
    for (name, cfg) in roles {
        for (script, steps) in [("echo", &echo), ("names", &names), ("hostile", &hostile)] {
            let mut b = cfg.clone();
            b.extend_from_slice(&steps.0);
            out.push((format!("gen-{name}-{script}"), b));
        }
    }
    out
}

/// remoteproc `load_elf`: a described image (flags, loader chunk, entry,
/// segments, a table built entry by entry), then the bytes the checks of
/// the transports read.
fn remoteproc() -> Vec<(String, Vec<u8>)> {
    // One RPMsg vdev with two vrings the host places, a trace buffer and
    // a carveout "anywhere": what an OpenAMP firmware declares.
    let table = |vring: u8, ring_da: &[u8]| {
        let mut t = Bytes::default()
            .b(&[0x03]) // three entries
            .b(&[0x03, 0x00]); // vdev id 7, notify id 0; no config space
        for _ in 0..2 {
            // Layout and address, then "the table's own notify id".
            t = t.b(&[vring]).b(ring_da).b(&[0]);
        }
        t.b(&[0x02, 0x02])
            .u16(0x2000)
            .u16(0x100) // trace in bank 0
            .b(&[0x00, 0x00, 0x01])
            .u16(0x400) // carveout anywhere
    };
    let image = |flags: u8, table: &Bytes| {
        Bytes::default()
            .b(&[flags, 0x00])
            .u32(0x1000_0000)
            .b(&[0x01]) // two segments
            .b(&[0x00])
            .u16(0)
            .u16(0x100)
            .u16(0x100)
            .b(&[0x02])
            .u16(0)
            .u16(0x200)
            .u16(0)
            .b(&[0x03]) // the table, in segment 1
            .b(&table.0)
            .b(&[0x00])
            .u32(0)
            .b(&[0x00, 0x04, 0x01])
            .u32(1)
            .b(&[0x00, 0x04, 0x01])
            .u32(2)
            .u32(1)
            .b(&[0x01])
    };
    let placed = table(0x00, &[]);
    let big = table(0x11, &[]);
    let fixed = table(0x80, &[0x00, 0x10]);
    let mut attach = Bytes::default().b(&[0x88, 0x00]).b(&placed.0);
    attach = attach.u16(0x100).b(&[0x01, 0x00, 0x04, 0x01]).u32(1);
    vec![
        (
            "gen-elf32-vdev-trace-carveout".into(),
            image(0x08, &placed).0,
        ),
        (
            "gen-elf64-vdev-trace-carveout".into(),
            image(0x09, &placed).0,
        ),
        ("gen-elf32-vrings-256-4096".into(), image(0x08, &big).0),
        ("gen-elf32-vrings-at-fixed-da".into(), image(0x08, &fixed).0),
        ("gen-elf32-no-pool".into(), image(0x00, &placed).0),
        ("gen-elf32-get-mem-vendor".into(), image(0x38, &placed).0),
        ("gen-attach-table".into(), attach.0),
    ]
}

/// rsc-table `parse`: the resource tables of OpenAMP C's shared memory.
fn rsc_table() -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    // (remote-initialized is the committed openamp-remote-initialized.)
    for v in ["after-echo", "c-remote-ns"] {
        let path = root().join("vectors").join(format!("{v}.shm"));
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        // The table is at offset 0: its header, one vdev and two vrings.
        out.push((format!("vec-{v}"), bytes[..0x60].to_vec()));
    }
    Ok(out)
}

fn write(dir: &str, seeds: Vec<(String, Vec<u8>)>) -> Result<(), String> {
    let dir = root().join(dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, bytes) in &seeds {
        let path = Path::new(&dir).join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    eprintln!("xtask: {} seeds in {}", seeds.len(), dir.display());
    Ok(())
}

/// Writes every generated seed.
pub fn write_all() -> Result<(), String> {
    write("virtio/fuzz/seeds/hostile_peer", virtio())?;
    write("rpmsg/fuzz/seeds/rpmsg_peer", rpmsg())?;
    write("remoteproc/fuzz/seeds/load_elf", remoteproc())?;
    write("rsc-table/fuzz/seeds/parse", rsc_table()?)
}
