//! The `rsc-table` inspector, run as a process on real files.
#![cfg(feature = "cli")]
#![cfg_attr(miri, allow(unused))]

mod common;

#[path = "common/elf.rs"]
mod elf;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{put_u32, r5_bytes, R5Table};

struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("rsc-table-test-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(args: &[&str], file: &TempFile) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rsc-table"))
        .args(args)
        .arg(&file.0)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
#[cfg_attr(miri, ignore)]
fn prints_the_table_of_an_elf() {
    let f = TempFile::new("r5.elf", &elf::arm_elf_with_table(&r5_bytes()));
    let o = run(&[], &f);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("section .resource_table"), "{out}");
    assert!(out.contains("Entries:  2"), "{out}");
    assert!(
        out.contains("VDEV      id 7 (rpmsg)  notifyid 0  dfeatures 0x1"),
        "{out}"
    );
    assert!(
        out.contains("vring 1: da 0xffffffff  align 0x1000  num 256  notifyid 2"),
        "{out}"
    );
    assert!(
        out.contains("TRACE     da 0x3ed40000  len 0x8000  name \"r5_trace\""),
        "{out}"
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn json_for_scripts() {
    let f = TempFile::new("r5-json.elf", &elf::arm_elf_with_table(&r5_bytes()));
    let o = run(&["--json"], &f);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["num"], 2);
    assert_eq!(v["size"], R5Table::SIZE);
    assert_eq!(v["origin"]["kind"], "elf");
    let e = &v["entries"];
    assert_eq!(e[0]["type"], "vdev");
    assert_eq!(e[0]["offset"], R5Table::OFFSETS[0]);
    assert_eq!(e[0]["dfeatures"], 1);
    assert_eq!(e[0]["vrings"][1]["notifyid"], 2);
    assert_eq!(e[1]["type"], "trace");
    assert_eq!(e[1]["name"], "r5_trace");
    assert_eq!(e[1]["len"], 0x8000);
}

#[test]
#[cfg_attr(miri, ignore)]
fn prints_a_raw_table_and_the_shm_vector() {
    let f = TempFile::new("r5.bin", &r5_bytes());
    let o = run(&[], &f);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("raw, at offset 0x0"));
    if let Some(dir) = common::vectors_dir() {
        let o = Command::new(env!("CARGO_BIN_EXE_rsc-table"))
            .arg("--json")
            .arg(dir.join("after-echo.shm"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["entries"][0]["offset"], 20);
        assert_eq!(v["entries"][0]["status"], 4);
        assert_eq!(v["entries"][0]["gfeatures"], 1);
        assert_eq!(v["entries"][0]["vrings"][0]["da"], 0x4000);
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_broken_table_is_an_error_and_exit_1() {
    let mut b = r5_bytes();
    b[R5Table::OFFSETS[0] as usize + 25] = 200;
    for (name, bytes) in [
        ("broken.bin", b.clone()),
        ("broken.elf", elf::arm_elf_with_table(&b)),
    ] {
        let f = TempFile::new(name, &bytes);
        let o = run(&[], &f);
        assert_eq!(o.status.code(), Some(1), "{name}");
        let err = stderr(&o);
        assert!(err.contains("entry 0: vrings"), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        let o = run(&["--json"], &f);
        assert_eq!(o.status.code(), Some(1), "{name}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(v["error"].as_str().unwrap().contains("entry 0: vrings"));
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn broken_elf_files_never_panic() {
    let good = elf::arm_elf_with_table(&r5_bytes());
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("magic-only".into(), b"\x7fELF".to_vec()),
        ("header-cut".into(), good[..40].to_vec()),
        ("sections-cut".into(), good[..good.len() - 20].to_vec()),
        ("empty".into(), Vec::new()),
    ];
    // e_shoff (ELF32: bytes 32..36) pointing far away, and huge e_shnum.
    let mut far = good.clone();
    put_u32(&mut far, 32, 0x7fff_fff0);
    cases.push(("shoff-far".into(), far));
    let mut many = good.clone();
    many[48] = 0xff;
    many[49] = 0xff;
    cases.push(("shnum-huge".into(), many));
    let mut strndx = good.clone();
    strndx[50] = 0xfe;
    strndx[51] = 0xff;
    cases.push(("shstrndx-bad".into(), strndx));
    // Every byte of the section headers flipped, one at a time (a sample).
    let shoff = u32::from_le_bytes(good[32..36].try_into().unwrap()) as usize;
    for at in (shoff..good.len()).step_by(7) {
        let mut b = good.clone();
        b[at] ^= 0xa5;
        cases.push((format!("flip-{at}"), b));
    }
    for (name, bytes) in cases {
        let f = TempFile::new(&format!("fuzz-{name}"), &bytes);
        let o = run(&[], &f);
        let err = stderr(&o);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn elf_without_a_table_is_an_error() {
    let mut obj = object::write::Object::new(
        object::BinaryFormat::Elf,
        object::Architecture::Arm,
        object::Endianness::Little,
    );
    let text = obj.add_section(Vec::new(), b".text".to_vec(), object::SectionKind::Text);
    obj.append_section_data(text, &[0; 4], 4);
    let f = TempFile::new("no-table.elf", &obj.write().unwrap());
    let o = run(&[], &f);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no .resource_table section"),
        "{}",
        stderr(&o)
    );
}
