//! `cargo xtask test`: every check the project has, in one command.
//!
//! Steps run in order and all of them run even when one fails, so one run
//! shows everything that is broken; the last line is `N passed, N failed`
//! and the exit status is non-zero if anything failed.

use std::time::Instant;

use crate::process::{cargo, cargo_nightly, run};
use crate::{boards, qemu, setup};

/// Crates whose unit tests also run under Miri.
const MIRI_CRATES: &[&str] = &[
    "openamp-metal",
    "openamp-metal-sys-baremetal",
    "openamp-rsc-table",
    "openamp-virtio",
];

type Step = (String, Box<dyn FnOnce() -> Result<(), String>>);

fn steps() -> Vec<Step> {
    let mut steps: Vec<Step> = vec![
        (
            "setup (nightly components, QEMU)".into(),
            Box::new(setup::all),
        ),
        (
            "cargo fmt --check".into(),
            Box::new(|| run(cargo().args(["fmt", "--all", "--check"]))),
        ),
        (
            "cargo clippy -D warnings".into(),
            Box::new(|| {
                run(cargo().args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]))
            }),
        ),
        (
            "cargo test (debug)".into(),
            Box::new(|| run(cargo().args(["test", "--workspace"]))),
        ),
        (
            "cargo test (release: integration tests at full size)".into(),
            Box::new(|| run(cargo().args(["test", "--workspace", "--release", "--tests"]))),
        ),
        (
            "cargo doc".into(),
            Box::new(|| {
                run(cargo()
                    .args(["doc", "--workspace", "--no-deps"])
                    .env("RUSTDOCFLAGS", "-D warnings"))
            }),
        ),
    ];
    for krate in MIRI_CRATES {
        steps.push((
            format!("miri test -p {krate}"),
            Box::new(move || run(cargo_nightly().args(["miri", "test", "--package", krate]))),
        ));
    }
    steps.push((
        "no_std builds for every board target".into(),
        Box::new(boards::check_no_std),
    ));
    steps.push((
        "cross-build board examples".into(),
        Box::new(|| boards::build_all().map(|_| ())),
    ));
    steps.push((
        "QEMU zcu102 smoke (A53 starts R5)".into(),
        Box::new(|| qemu_step("zcu102", "smoke")),
    ));
    steps.push((
        "QEMU zynq7000 hello".into(),
        Box::new(|| qemu_step("zynq7000", "hello")),
    ));
    steps
}

fn qemu_step(board: &str, example: &str) -> Result<(), String> {
    qemu::run(board, Some(example)).and_then(qemu::status_to_result)
}

pub fn run_all() -> Result<(), String> {
    let start = Instant::now();
    let mut results = Vec::new();
    for (name, step) in steps() {
        eprintln!("\n==> {name}");
        let t = Instant::now();
        let r = step();
        if let Err(e) = &r {
            eprintln!("FAILED: {name}: {e}");
        }
        results.push((name, r.is_ok(), t.elapsed()));
    }
    eprintln!("\nsummary ({:.0?} in all):", start.elapsed());
    for (name, ok, took) in &results {
        eprintln!(
            "  {} {name} ({took:.1?})",
            if *ok { "ok    " } else { "FAILED" }
        );
    }
    let failed = results.iter().filter(|(_, ok, _)| !ok).count();
    let passed = results.len() - failed;
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} step(s) failed"))
    }
}
