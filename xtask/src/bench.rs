//! `cargo xtask bench [--quick]`: builds the `bench` program of the Linux
//! examples in release and runs it, which measures RPMsg latency,
//! throughput and instructions per message next to the machine's floors and
//! writes `target/bench/report.md`, `report.json`, `latency.png` and
//! `throughput.png`.

use std::path::Path;
use std::process::Command;

use crate::process::{cargo, output, root, run as run_cmd};

/// Runs the benchmark; `args` may hold `--quick` and `--no-callgrind`.
pub fn run(args: &[&str]) -> Result<(), String> {
    let mut quick = false;
    let mut callgrind = true;
    for a in args {
        match *a {
            "--quick" => quick = true,
            "--no-callgrind" => callgrind = false,
            other => {
                return Err(format!(
                "unknown argument {other:?}; usage: cargo xtask bench [--quick] [--no-callgrind]"
            ))
            }
        }
    }
    let root = root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let out = root.join("target").join("bench");

    build(&target, false)?;
    let exe = target.join("release").join("bench");
    let mut cmd = Command::new(&exe);
    cmd.current_dir(&root).arg("all").arg("--out").arg(&out);
    if quick {
        cmd.arg("--quick");
    }
    if callgrind && ensure_valgrind() {
        // rustix's own vDSO lookup crashes under valgrind
        // (bytecodealliance/rustix#1559): callgrind gets a build on its libc
        // backend, in its own target directory so the two builds do not
        // keep rebuilding each other.
        let vg_target = target.join("bench-valgrind");
        build(&vg_target, true)?;
        cmd.arg("--callgrind-exe")
            .arg(vg_target.join("release").join("bench"));
    } else {
        cmd.arg("--no-callgrind");
    }
    run_cmd(&mut cmd)?;
    for f in ["report.md", "report.json", "latency.png", "throughput.png"] {
        let p = out.join(f);
        if !p.is_file() {
            return Err(format!("the benchmark did not write {}", p.display()));
        }
        println!("{}", p.display());
    }
    Ok(())
}

/// `cargo build --release` of the bench program into `target_dir`.
fn build(target_dir: &Path, valgrind: bool) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.env("CARGO_TARGET_DIR", target_dir).args([
        "build",
        "--release",
        "--quiet",
        "--package",
        "openamp-examples-linux",
        "--bin",
        "bench",
    ]);
    if valgrind {
        cmd.args(["--features", "valgrind"]);
    }
    run_cmd(&mut cmd)
}

/// Whether valgrind is there, installing it with apt-get if we are root.
fn ensure_valgrind() -> bool {
    let have = || output(Command::new("valgrind").arg("--version")).is_some();
    if have() {
        return true;
    }
    let root_user = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    if !root_user {
        eprintln!(
            "xtask: valgrind is missing and we are not root: skipping the instruction counts"
        );
        return false;
    }
    eprintln!("xtask: installing valgrind for the instruction counts");
    let ok = run_cmd(Command::new("apt-get").args(["update", "-qq"])).is_ok()
        && run_cmd(
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "-qq", "valgrind"]),
        )
        .is_ok();
    if !ok || !have() {
        eprintln!("xtask: could not install valgrind: skipping the instruction counts");
        return false;
    }
    true
}
