//! The `rsc-table` inspector, run as a process on real files.
#![cfg(feature = "cli")]
#![cfg_attr(miri, allow(unused))]

mod common;

#[path = "common/firmware.rs"]
mod firmware;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{put_u32, r5_bytes, R5Table};
use firmware::Firmware;

/// An ELF executable around `table`, as a firmware is.
fn elf_with_table(table: &[u8]) -> Vec<u8> {
    Firmware::new(table).bytes
}

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
    let f = TempFile::new("r5.elf", &elf_with_table(&r5_bytes()));
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
    let f = TempFile::new("r5-json.elf", &elf_with_table(&r5_bytes()));
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
    // The images are part of the repository: their absence is a failure.
    let dir = common::vectors_dir().expect("vectors/ of the repository (or OPENAMP_VECTORS)");
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

#[test]
#[cfg_attr(miri, ignore)]
fn a_broken_table_is_an_error_and_exit_1() {
    let mut b = r5_bytes();
    b[R5Table::OFFSETS[0] as usize + 25] = 200;
    for (name, bytes) in [
        ("broken.bin", b.clone()),
        ("broken.elf", elf_with_table(&b)),
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
    let good = elf_with_table(&r5_bytes());
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
    // The section renamed: a valid executable with no table.
    let fw = Firmware::new(&r5_bytes());
    let at = fw.strtab_off + ".text".len() + 2 + ".resource_".len();
    let f = TempFile::new("no-table.elf", &fw.with(|b| b[at] = b'X'));
    let o = run(&[], &f);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no .resource_table section"),
        "{}",
        stderr(&o)
    );
}

/// The corpus of `common/firmware.rs`: every broken image and table is
/// refused, with exit status 1 and the very error the ELF checks and the
/// parser give (which the loader gives too); every valid one is printed.
#[test]
#[cfg_attr(miri, ignore)]
fn the_broken_corpus_is_refused_with_the_loaders_errors() {
    let cases = firmware::broken_elfs()
        .into_iter()
        .chain(firmware::broken_tables());
    for (i, c) in cases.enumerate() {
        let f = TempFile::new(&format!("corpus-{i}.elf"), &c.bytes);
        let want = if c.want.is_elf() {
            format!("invalid ELF: {}", c.want)
        } else {
            format!("invalid resource table: {}", c.want)
        };
        // `--elf`: a file without the magic is otherwise a raw table.
        let o = run(&["--elf"], &f);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{}: {err}", c.name);
        assert!(err.contains(&want), "{}: {err:?} lacks {want:?}", c.name);
        assert!(!err.contains("panicked"), "{}: {err}", c.name);
        let o = run(&["--elf", "--json"], &f);
        assert_eq!(o.status.code(), Some(1), "{}", c.name);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["error"].as_str(), Some(&want[..]), "{}", c.name);
    }
    for (name, bytes) in firmware::valid_elfs() {
        let f = TempFile::new("corpus-valid.elf", &bytes);
        let o = run(&[], &f);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        assert!(stdout(&o).contains("Entries:  3"), "{name}: {}", stdout(&o));
    }
}

/// The committed copy of the R5 board firmware, and an option for other
/// machines than the loader's.
#[test]
#[cfg_attr(miri, ignore)]
fn prints_the_r5_board_firmware_and_other_machines_on_request() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zcu102-r5-smoke.elf");
    let o = Command::new(env!("CARGO_BIN_EXE_rsc-table"))
        .arg(&path)
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains(
            "at address 0x3ed02c58, file offset 0x12c58, loaded by segment 2 at 0x3ed02c58"
        ),
        "{out}"
    );
    assert!(out.contains("name \"r5_trace\""), "{out}");

    let riscv = Firmware::new(&r5_bytes()).with(|b| b[18] = 243);
    let f = TempFile::new("riscv.elf", &riscv);
    let o = run(&[], &f);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("e_machine 243"), "{}", stderr(&o));
    let o = run(&["--machine", "243"], &f);
    assert!(o.status.success(), "{}", stderr(&o));
}
