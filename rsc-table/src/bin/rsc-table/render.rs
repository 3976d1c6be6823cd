//! The report: `readelf`-style text, or JSON.

use std::fmt::Write as _;

use openamp_rsc_table::layout::NAME_LEN;
use openamp_rsc_table::{Entry, ResourceTable, TableEntry, VdevEntry, VIRTIO_ID_RPMSG};
use serde_json::{json, Value};

use crate::Origin;

/// A name for a virtio device id.
fn virtio_name(id: u32) -> &'static str {
    match id {
        1 => "net",
        2 => "block",
        3 => "console",
        4 => "rng",
        5 => "balloon",
        VIRTIO_ID_RPMSG => "rpmsg",
        8 => "scsi",
        9 => "9p",
        _ => "unknown",
    }
}

/// A NUL-padded name, printable: bytes outside printable ASCII as `\xNN`.
fn show_name(name: &[u8; NAME_LEN]) -> String {
    openamp_rsc_table::layout::name_bytes(name)
        .iter()
        .map(|&b| match b {
            b'"' | b'\\' => format!("\\{}", b as char),
            0x20..=0x7e => (b as char).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The text report.
pub fn text(table: &ResourceTable<'_>, source: &str, origin: &Origin) -> String {
    let mut out = String::new();
    let _ = match origin {
        Origin::Elf {
            addr,
            file_offset,
            da,
            segment,
        } => writeln!(
            out,
            "Resource table of {source} (section .resource_table at address {addr:#x}, file offset {file_offset:#x}, loaded by segment {segment} at {da:#x}):"
        ),
        Origin::Raw { offset } => writeln!(out, "Resource table of {source} (raw, at offset {offset:#x}):"),
    };
    let _ = writeln!(out, "  Version:  1");
    let _ = writeln!(out, "  Entries:  {}", table.len());
    let _ = writeln!(
        out,
        "  Size:     {:#x} ({} bytes)",
        table.size(),
        table.size()
    );
    if table.is_empty() {
        return out;
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "  [Nr] Offset     Type      Details");
    for e in table.entries() {
        entry_text(&mut out, &e);
    }
    out
}

fn entry_text(out: &mut String, e: &TableEntry<'_>) {
    let head = format!("  [{:>2}] {:#010x} ", e.index, e.offset);
    let _ = match e.entry {
        Entry::Carveout(c) => writeln!(
            out,
            "{head}CARVEOUT  da {:#010x}  pa {:#010x}  len {:#x}  flags {:#x}  name \"{}\"",
            c.da,
            c.pa,
            c.len,
            c.flags,
            show_name(&c.name)
        ),
        Entry::Devmem(d) => writeln!(
            out,
            "{head}DEVMEM    da {:#010x}  pa {:#010x}  len {:#x}  flags {:#x}  name \"{}\"",
            d.da,
            d.pa,
            d.len,
            d.flags,
            show_name(&d.name)
        ),
        Entry::Trace(t) => writeln!(
            out,
            "{head}TRACE     da {:#010x}  len {:#x}  name \"{}\"",
            t.da,
            t.len,
            show_name(&t.name)
        ),
        Entry::Vdev(v) => vdev_text(out, &head, &v),
        Entry::Vendor(r) => writeln!(
            out,
            "{head}VENDOR    type {}  {} bytes",
            r.kind,
            r.data.len()
        ),
        Entry::Unknown(r) => writeln!(out, "{head}UNKNOWN   type {} (skipped)", r.kind),
        _ => writeln!(out, "{head}?"),
    };
}

fn vdev_text(out: &mut String, head: &str, v: &VdevEntry<'_>) -> std::fmt::Result {
    let d = v.vdev;
    writeln!(
        out,
        "{head}VDEV      id {} ({})  notifyid {}  dfeatures {:#x}  gfeatures {:#x}  status {:#04x}  config_len {}  vrings {}",
        d.id,
        virtio_name(d.id),
        d.notifyid,
        d.dfeatures,
        d.gfeatures,
        d.status,
        d.config_len,
        d.num_of_vrings
    )?;
    for (i, r) in v.vrings().enumerate() {
        writeln!(
            out,
            "                        vring {i}: da {:#010x}  align {:#x}  num {}  notifyid {}  pa {:#x}",
            r.da, r.align, r.num, r.notifyid, r.pa
        )?;
    }
    if !v.config().is_empty() {
        writeln!(out, "                        config: {}", hex(v.config()))?;
    }
    Ok(())
}

/// The JSON report.
pub fn json(table: &ResourceTable<'_>, source: &str, origin: &Origin) -> String {
    let origin = match origin {
        Origin::Elf {
            addr,
            file_offset,
            da,
            segment,
        } => json!({
            "kind": "elf", "section": ".resource_table", "addr": addr,
            "file_offset": file_offset, "da": da, "segment": segment,
        }),
        Origin::Raw { offset } => json!({ "kind": "raw", "offset": offset }),
    };
    let entries: Vec<Value> = table.entries().map(|e| entry_json(&e)).collect();
    let report = json!({
        "file": source,
        "origin": origin,
        "version": 1,
        "num": table.len(),
        "size": table.size(),
        "entries": entries,
    });
    let mut s = serde_json::to_string_pretty(&report).unwrap_or_default();
    s.push('\n');
    s
}

fn entry_json(e: &TableEntry<'_>) -> Value {
    let (kind, mut fields) = match e.entry {
        Entry::Carveout(c) => (
            "carveout",
            json!({ "da": c.da, "pa": c.pa, "len": c.len, "flags": c.flags, "name": String::from_utf8_lossy(c.name()) }),
        ),
        Entry::Devmem(d) => (
            "devmem",
            json!({ "da": d.da, "pa": d.pa, "len": d.len, "flags": d.flags, "name": String::from_utf8_lossy(d.name()) }),
        ),
        Entry::Trace(t) => (
            "trace",
            json!({ "da": t.da, "len": t.len, "name": String::from_utf8_lossy(t.name()) }),
        ),
        Entry::Vdev(v) => {
            let d = v.vdev;
            let vrings: Vec<Value> = v
                .vrings()
                .map(|r| json!({ "da": r.da, "align": r.align, "num": r.num, "notifyid": r.notifyid, "pa": r.pa }))
                .collect();
            (
                "vdev",
                json!({
                    "id": d.id, "notifyid": d.notifyid, "dfeatures": d.dfeatures,
                    "gfeatures": d.gfeatures, "config_len": d.config_len, "status": d.status,
                    "vrings": vrings, "config": hex(v.config()),
                }),
            )
        }
        Entry::Vendor(r) => ("vendor", json!({ "kind": r.kind, "data": hex(r.data) })),
        Entry::Unknown(r) => ("unknown", json!({ "kind": r.kind })),
        _ => ("unknown", json!({})),
    };
    if let Value::Object(map) = &mut fields {
        map.insert("index".into(), json!(e.index));
        map.insert("offset".into(), json!(e.offset));
        map.insert("type".into(), json!(kind));
    }
    fields
}
