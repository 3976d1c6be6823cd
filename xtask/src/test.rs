//! `cargo xtask test`: every check the project has, in one command.
//!
//! Steps run in order and all of them run even when one fails, so one run
//! shows everything that is broken; the last line is `N passed, N failed`
//! and the exit status is non-zero if anything failed.

use std::time::Instant;

use crate::process::{cargo, cargo_nightly, run};
use crate::{boards, fuzz, qemu, setup};

/// Crates whose unit tests also run under Miri.
const MIRI_CRATES: &[(&str, &str)] = &[
    ("openamp-metal", ""),
    ("openamp-metal-sys-baremetal", ""),
    ("openamp-rsc-table", ""),
    ("openamp-virtio", ""),
    ("openamp-rpmsg", "async"),
];

/// Two-thread tests also run under Miri with many seeds: (crate, features,
/// test-name filter).
const MIRI_SEEDED: &[(&str, &str, &str)] = &[
    ("openamp-virtio", "", "threads_"),
    ("openamp-rpmsg", "async", "threads_share_one_device"),
];

type Step = (String, Box<dyn FnOnce() -> Result<(), String>>);

fn steps() -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut step =
        |name: &str, f: Box<dyn FnOnce() -> Result<(), String>>| steps.push((name.into(), f));
    step("setup (nightly components, QEMU)", Box::new(setup::all));
    step(
        "cargo fmt --check",
        Box::new(|| {
            run(cargo().args(["fmt", "--all", "--check"]))?;
            run(cargo().args([
                "fmt",
                "--manifest-path",
                "examples/boards/Cargo.toml",
                "--all",
                "--check",
            ]))
        }),
    );
    step(
        "cargo clippy -D warnings",
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
    );
    // Before the host tests: some of them inspect the board ELFs.
    step(
        "cross-build board examples",
        Box::new(|| boards::build_all().map(|_| ())),
    );
    step(
        "cargo test (debug)",
        Box::new(|| run(cargo().args(["test", "--workspace"]))),
    );
    step(
        "cargo test (release: integration tests at full size)",
        Box::new(|| run(cargo().args(["test", "--workspace", "--release", "--tests"]))),
    );
    step(
        "soak: remote, then host, killed 30 times each over 3x10^5 messages (release)",
        Box::new(|| crate::soak::run_soak(crate::soak::SHORT)),
    );
    step(
        "cargo test -p openamp-rpmsg --features async",
        Box::new(|| {
            run(cargo().args(["test", "--package", "openamp-rpmsg", "--features", "async"]))
        }),
    );
    step(
        "cargo test -p openamp-rsc-table --features cli",
        Box::new(|| {
            run(cargo().args([
                "test",
                "--package",
                "openamp-rsc-table",
                "--features",
                "cli",
            ]))
        }),
    );
    step(
        "rsc-table inspects the R5 firmwares' tables (smoke, echo: TCM boot, table in DDR)",
        Box::new(|| {
            for example in ["smoke", "echo"] {
                let elf = boards::elf_path("zcu102-r5", example);
                run(cargo()
                    .args([
                        "run",
                        "--quiet",
                        "--package",
                        "openamp-rsc-table",
                        "--features",
                        "cli",
                        "--",
                    ])
                    .arg(elf))?;
            }
            Ok(())
        }),
    );
    step(
        "cargo doc",
        Box::new(|| {
            run(cargo()
                .args(["doc", "--workspace", "--no-deps"])
                .env("RUSTDOCFLAGS", "-D warnings"))
        }),
    );
    step(
        "cargo doc with docs.rs's settings (features marked)",
        Box::new(docs_rs),
    );
    for &(krate, features) in MIRI_CRATES {
        step(
            &format!("miri test -p {krate}"),
            Box::new(move || {
                run(cargo_nightly().args([
                    "miri",
                    "test",
                    "--package",
                    krate,
                    "--features",
                    features,
                ]))
            }),
        );
    }
    // Lost kicks hide in weak-memory orderings that one seed rarely picks:
    // the two-thread tests again, under 16 seeds each (~2.5 min).
    for &(krate, features, filter) in MIRI_SEEDED {
        step(
            &format!("miri test -p {krate} {filter} (-Zmiri-many-seeds=0..16)"),
            Box::new(move || {
                run(cargo_nightly()
                    .args(["miri", "test", "--package", krate, "--features", features])
                    .args(["--lib", filter])
                    .env("MIRIFLAGS", "-Zmiri-many-seeds=0..16"))
            }),
        );
    }
    step(
        "loom model of the virtio notification protocol",
        Box::new(|| {
            // Its own target dir: the cfg would rebuild everything in the
            // shared one. Release: loom runs ~20x faster (~1 min in all).
            run(cargo()
                .args(["test", "--package", "openamp-virtio", "--lib", "--release"])
                .args(["tests::model::", "--", "--nocapture"])
                .env("RUSTFLAGS", "--cfg loom")
                .env(
                    "CARGO_TARGET_DIR",
                    crate::process::root().join("target/loom"),
                ))
        }),
    );
    step(
        "fuzz targets, 20 s each with ASan (cargo xtask fuzz)",
        Box::new(fuzz::ci),
    );
    step(
        "no_std builds for every board target",
        Box::new(boards::check_no_std),
    );
    step(
        "QEMU zcu102 smoke (A53 starts R5)",
        Box::new(|| qemu_step("zcu102", "smoke")),
    );
    step(
        "QEMU zcu102 echo (A53 loads and starts the R5, RPMsg echo, R5 kicks taken by the A53 IRQ handler)",
        Box::new(|| qemu_step("zcu102", "echo")),
    );
    step(
        "QEMU zynq7000 rpmsg (host and remote on one A9, kicks by SGI through the IRQ handler)",
        Box::new(|| qemu_step("zynq7000", "rpmsg")),
    );
    step(
        "QEMU zynq7000 hello",
        Box::new(|| qemu_step("zynq7000", "hello")),
    );
    step(
        "QEMU zcu102 el (A53 started at EL1 runs, at EL2 drops to EL1, at EL3 refuses)",
        Box::new(el_step),
    );
    step(
        "QEMU zcu102 fault is reported (A53 exception vectors)",
        Box::new(|| fault_step("zcu102", "synchronous exception")),
    );
    step(
        "QEMU zynq7000 fault is reported (A9 exception vectors)",
        Box::new(|| fault_step("zynq7000", "undefined instruction")),
    );
    steps
}

fn qemu_step(board: &str, example: &str) -> Result<(), String> {
    qemu::run(board, Some(example)).and_then(qemu::status_to_result)
}

/// Starts the A53 `el` image at EL1, EL2 and EL3: the first two must run
/// at EL1 and pass, the last must refuse with a message and status 1.
fn el_step() -> Result<(), String> {
    qemu_step("zcu102", "el")?;
    qemu_step("zcu102", "el2")?;
    let (status, console) = qemu::run_captured("zcu102", "el3")?;
    if status.code() != Some(1) || !console.contains("fatal: started at EL3") {
        return Err(format!(
            "started at EL3, the image exited with {status} without refusing"
        ));
    }
    Ok(())
}

/// Runs a board's `fault` example, which must report `expected` and exit 1.
fn fault_step(board: &str, expected: &str) -> Result<(), String> {
    let (status, console) = qemu::run_captured(board, "fault")?;
    if status.code() != Some(1) {
        return Err(format!(
            "fault example exited with {status}, expected status 1"
        ));
    }
    if !console.contains(&format!("fatal: {expected}")) {
        return Err(format!(
            "fault example did not report \"{expected}\" on the console"
        ));
    }
    Ok(())
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

/// Library crates documented as docs.rs documents them.
const DOCS_RS_CRATES: &[&str] = &[
    "metal",
    "metal-sys-linux",
    "rsc-table",
    "virtio",
    "rpmsg",
    "remoteproc",
];

/// Builds each library crate's docs as docs.rs will: nightly, `--cfg docsrs`
/// (every feature-gated item says which feature it needs) and the features
/// its `[package.metadata.docs.rs]` lists, warnings denied.
fn docs_rs() -> Result<(), String> {
    for dir in DOCS_RS_CRATES {
        let manifest = std::fs::read_to_string(format!("{dir}/Cargo.toml"))
            .map_err(|e| format!("{dir}/Cargo.toml: {e}"))?;
        let features = docs_rs_features(&manifest).ok_or(format!(
            "{dir}/Cargo.toml has no [package.metadata.docs.rs] features"
        ))?;
        let mut c = cargo_nightly();
        c.args(["doc", "--no-deps", "--manifest-path"])
            .arg(format!("{dir}/Cargo.toml"))
            .env("RUSTDOCFLAGS", "--cfg docsrs -D warnings");
        if !features.is_empty() {
            c.args(["--features", &features.join(",")]);
        }
        run(&mut c)?;
    }
    Ok(())
}

/// The `features = [...]` of a manifest's `[package.metadata.docs.rs]`.
fn docs_rs_features(manifest: &str) -> Option<Vec<String>> {
    let section = manifest.split("[package.metadata.docs.rs]").nth(1)?;
    let line = section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find(|l| l.trim_start().starts_with("features"))?;
    let list = line.split_once('=')?.1.trim();
    let inner = list.strip_prefix('[')?.strip_suffix(']')?;
    Some(
        inner
            .split(',')
            .map(|f| f.trim().trim_matches('"').to_string())
            .filter(|f| !f.is_empty())
            .collect(),
    )
}
