//! `cargo xtask fuzz`: builds and runs the libFuzzer targets.
//!
//! Each crate that faces a hostile peer or hostile input has a fuzz crate
//! of its own (`<crate>/fuzz`, its own workspace and lockfile) with one
//! target and a committed seed corpus (`<crate>/fuzz/seeds/<bin>/`). A run
//! copies the seeds into a working corpus under `target/fuzz/corpus/` (which
//! the fuzzer then grows, run after run) so that nothing in the repository
//! changes; crashes land in `target/fuzz/artifacts/<target>/`.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::process::{cargo, cargo_nightly, output, root, run, show};

mod seeds;

/// One fuzz target.
struct Target {
    /// The name on the command line (the crate it fuzzes).
    name: &'static str,
    /// The fuzz crate, from the workspace root.
    dir: &'static str,
    /// Its `[[bin]]` (unique: the fuzz crates share a target directory).
    bin: &'static str,
    /// What it drives, for `help`.
    what: &'static str,
    /// Committed files elsewhere in the repository that are good seeds too.
    extra_seeds: &'static [&'static str],
    /// libFuzzer's `-max_len`.
    max_len: usize,
}

const TARGETS: &[Target] = &[
    Target {
        name: "rsc-table",
        dir: "rsc-table/fuzz",
        bin: "parse",
        what: "resource table parser and writer, firmware ELF checks",
        extra_seeds: &["rsc-table/tests/fixtures/zcu102-r5-smoke.elf"],
        max_len: 0x2_0000,
    },
    Target {
        name: "virtio",
        dir: "virtio/fuzz",
        bin: "hostile_peer",
        what: "driver and device queues, hostile peer, 1..=1024 entries, paged maps, caches",
        extra_seeds: &[],
        max_len: 1024,
    },
    Target {
        name: "rpmsg",
        dir: "rpmsg/fuzz",
        bin: "rpmsg_peer",
        what: "RPMsg host and remote against a hostile device or driver",
        extra_seeds: &[],
        max_len: 2048,
    },
    Target {
        name: "remoteproc",
        dir: "remoteproc/fuzz",
        bin: "load_elf",
        what: "Remoteproc::load of hostile ELFs and tables, then create_virtio",
        // The board firmware is among its seeds (seeds/load_elf/*-smoke).
        extra_seeds: &[],
        max_len: 0x2_0000,
    },
];

/// How long a target runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// `-max_total_time`, seconds.
    Time(u64),
    /// `-runs`: this many executions.
    Runs(u64),
}

/// Which sanitizer the targets are built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sanitizer {
    /// AddressSanitizer: catches out-of-bounds accesses in `unsafe` code
    /// (metal's shared-memory accesses), at a third to a fifth of the speed.
    Address,
    /// None: Rust's own checks (bounds, overflow, debug assertions) only.
    None,
}

impl Sanitizer {
    fn flag(self) -> &'static str {
        match self {
            Sanitizer::Address => "address",
            Sanitizer::None => "none",
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub target: &'static str,
    pub executions: u64,
    pub per_second: u64,
    pub corpus: usize,
    pub took: Duration,
}

pub const USAGE: &str = "\
cargo xtask fuzz [TARGET] [--time S | --runs N] [--sanitizer none|address]
cargo xtask fuzz seeds

Builds (with nightly and cargo-fuzz, installed if missing) and runs one
fuzz target, or all of them one after the other; default --time 60 each and
no sanitizer. Seeds are copied into target/fuzz/corpus/<target>/, crashes go
to target/fuzz/artifacts/<target>/. `seeds` rewrites the generated seeds
(gen-*, vec-*) committed under <crate>/fuzz/seeds/.

targets:
";

fn usage() -> String {
    let mut s = USAGE.to_string();
    for t in TARGETS {
        s.push_str(&format!("  {:<11} {}\n", t.name, t.what));
    }
    s
}

/// `cargo xtask fuzz ...`.
pub fn run_cli(args: &[&str]) -> Result<(), String> {
    if args == ["seeds"] {
        return seeds::write_all();
    }
    let mut budget = Budget::Time(60);
    let mut sanitizer = Sanitizer::None;
    let mut only: Option<&str> = None;
    let mut it = args.iter();
    while let Some(&a) = it.next() {
        match a {
            "--time" | "--runs" => {
                let v = it
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| format!("{a} needs a number\n\n{}", usage()))?;
                budget = if a == "--time" {
                    Budget::Time(v)
                } else {
                    Budget::Runs(v)
                };
            }
            "--sanitizer" => {
                sanitizer = match it.next().copied() {
                    Some("address") => Sanitizer::Address,
                    Some("none") => Sanitizer::None,
                    other => {
                        return Err(format!(
                            "--sanitizer takes none or address, not {}\n\n{}",
                            other.unwrap_or("nothing"),
                            usage()
                        ))
                    }
                }
            }
            "-h" | "--help" | "help" => {
                print!("{}", usage());
                return Ok(());
            }
            name if only.is_none() && !name.starts_with('-') => only = Some(name),
            other => return Err(format!("unexpected argument {other:?}\n\n{}", usage())),
        }
    }
    let targets: Vec<&Target> = match only {
        None | Some("all") => TARGETS.iter().collect(),
        Some(name) => vec![TARGETS
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| format!("no fuzz target {name:?}\n\n{}", usage()))?],
    };
    let outcomes = fuzz(&targets, budget, sanitizer)?;
    report(&outcomes);
    Ok(())
}

/// The short run of every target that `cargo xtask test` makes.
pub fn ci() -> Result<(), String> {
    let targets: Vec<&Target> = TARGETS.iter().collect();
    let outcomes = fuzz(&targets, Budget::Time(20), Sanitizer::Address)?;
    report(&outcomes);
    Ok(())
}

fn report(outcomes: &[Outcome]) {
    eprintln!("\nfuzz summary:");
    for o in outcomes {
        eprintln!(
            "  {:<11} {:>12} executions ({} per second, {:.0?}), corpus of {}",
            o.target, o.executions, o.per_second, o.took, o.corpus
        );
    }
}

/// Builds every target first (so that a broken one fails early), then runs
/// them one after the other.
fn fuzz(targets: &[&Target], budget: Budget, san: Sanitizer) -> Result<Vec<Outcome>, String> {
    tools()?;
    for t in targets {
        build(t, san)?;
    }
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    for t in targets {
        match run_target(t, budget, san) {
            Ok(o) => outcomes.push(o),
            Err(e) => {
                eprintln!("xtask: fuzz {}: {e}", t.name);
                failed.push(format!("{}: {e}", t.name));
            }
        }
    }
    if failed.is_empty() {
        Ok(outcomes)
    } else {
        report(&outcomes);
        Err(failed.join("\n"))
    }
}

/// Makes sure nightly and cargo-fuzz are there, installing cargo-fuzz from
/// crates.io if it is not.
fn tools() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        if output(cargo_nightly().arg("--version")).is_none() {
            return Err("fuzzing needs rustup's nightly toolchain (cargo +nightly)".into());
        }
        if output(cargo().args(["fuzz", "--version"])).is_none() {
            eprintln!("xtask: installing cargo-fuzz from crates.io");
            run(cargo().args(["install", "cargo-fuzz"]))?;
        }
        Ok(())
    })
    .clone()
}

fn target_dir(san: Sanitizer) -> PathBuf {
    root().join("target/fuzz/build").join(san.flag())
}

fn binary(t: &Target, san: Sanitizer) -> PathBuf {
    target_dir(san)
        .join(host_triple())
        .join("release")
        .join(t.bin)
}

fn host_triple() -> &'static str {
    static TRIPLE: OnceLock<String> = OnceLock::new();
    TRIPLE.get_or_init(|| {
        output(Command::new("rustc").args(["+nightly", "-vV"]))
            .and_then(|v| {
                v.lines()
                    .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
            })
            .unwrap_or_else(|| "x86_64-unknown-linux-gnu".into())
    })
}

/// `cargo +nightly fuzz build`: release, debug assertions and overflow
/// checks on (cargo-fuzz's default), into one target directory per
/// sanitizer that all four fuzz workspaces share.
fn build(t: &Target, san: Sanitizer) -> Result<(), String> {
    eprintln!("\n==> fuzz build {} ({})", t.name, t.dir);
    run(cargo_nightly()
        .args([
            "fuzz",
            "build",
            "--fuzz-dir",
            t.dir,
            "--sanitizer",
            san.flag(),
        ])
        .arg("--target-dir")
        .arg(target_dir(san))
        .arg(t.bin))
}

/// Copies the committed seeds that the working corpus lacks into it.
fn seed(t: &Target, corpus: &Path) -> Result<(), String> {
    std::fs::create_dir_all(corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let have: HashSet<_> = std::fs::read_dir(corpus)
        .map_err(|e| format!("{}: {e}", corpus.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    let mut files = Vec::new();
    let seeds = root().join(t.dir).join("seeds").join(t.bin);
    if let Ok(dir) = std::fs::read_dir(&seeds) {
        files.extend(dir.filter_map(|e| e.ok().map(|e| e.path())));
    }
    files.extend(t.extra_seeds.iter().map(|p| root().join(p)));
    let mut copied = 0;
    for f in files.iter().filter(|f| f.is_file()) {
        let Some(name) = f.file_name() else { continue };
        if !have.contains(name) {
            std::fs::copy(f, corpus.join(name)).map_err(|e| format!("{}: {e}", f.display()))?;
            copied += 1;
        }
    }
    if copied > 0 {
        eprintln!("xtask: {copied} seed(s) copied into {}", corpus.display());
    }
    Ok(())
}

fn run_target(t: &Target, budget: Budget, san: Sanitizer) -> Result<Outcome, String> {
    let base = root().join("target/fuzz");
    let corpus = base.join("corpus").join(t.name);
    let artifacts = base.join("artifacts").join(t.name);
    seed(t, &corpus)?;
    std::fs::create_dir_all(&artifacts).map_err(|e| format!("{}: {e}", artifacts.display()))?;
    let mut cmd = Command::new(binary(t, san));
    cmd.arg(&corpus)
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(format!("-max_len={}", t.max_len))
        // A run that takes this long is a hang: reported like a crash.
        .arg("-timeout=10")
        .arg("-rss_limit_mb=4096")
        .arg("-print_final_stats=1")
        .arg(match budget {
            Budget::Time(s) => format!("-max_total_time={s}"),
            Budget::Runs(n) => format!("-runs={n}"),
        })
        .current_dir(root())
        .stderr(Stdio::piped());
    if san == Sanitizer::Address {
        // The fake stacks of use-after-return checks and a large quarantine
        // cost more than they find in Rust code.
        cmd.env(
            "ASAN_OPTIONS",
            "detect_stack_use_after_return=0:quarantine_size_mb=64:detect_leaks=0",
        );
    }
    eprintln!("\n==> fuzz {} ({budget:?})\n$ {}", t.name, show(&cmd));
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", show(&cmd)))?;
    let (mut executions, mut per_second) = (0, 0);
    let mut crash = Vec::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(v) = line.strip_prefix("stat::number_of_executed_units:") {
                executions = v.trim().parse().unwrap_or(0);
            } else if let Some(v) = line.strip_prefix("stat::average_exec_per_sec:") {
                per_second = v.trim().parse().unwrap_or(0);
            }
            // The fuzzer's progress lines ("#123 NEW ...") are many; show
            // its periodic ones and everything else.
            let progress = (line.starts_with('#')
                && !(line.contains("pulse") || line.contains("INITED") || line.contains("DONE")))
                || line.starts_with('"')
                || line.contains("ecommended dictionary");
            if !progress {
                eprintln!("{line}");
            }
            if line.contains("Test unit written to") {
                crash.push(line);
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let took = start.elapsed();
    if !status.success() {
        return Err(format!(
            "the fuzzer stopped with {status}{}",
            if crash.is_empty() {
                String::new()
            } else {
                format!(": {}", crash.join("; "))
            }
        ));
    }
    let corpus = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
    Ok(Outcome {
        target: t.name,
        executions,
        per_second,
        corpus,
        took,
    })
}
