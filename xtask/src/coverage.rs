//! `cargo xtask coverage`: line coverage of the library crates by the
//! workspace's tests, through LLVM's source-based coverage.
//!
//! The tests are built with nightly and `-C instrument-coverage` in a target
//! directory of their own (`target/coverage/build`), run with every
//! process (the tests, and the `demo`/`soak`/... programs they start)
//! writing a profile into `target/coverage/profraw/`, and the profiles are
//! merged and mapped with `llvm-profdata` and `llvm-cov` from nightly's
//! `llvm-tools` component (installed if missing). Line coverage is then
//! summed per crate over the files under `<crate>/src/`, leaving out unit
//! test files (`src/tests.rs`, `src/tests/`, `src/**/tests.rs`); test
//! modules inside a library file cannot be told apart and count.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{cargo_nightly, output, root, run, show};

/// Crates reported: (directory, whether the 85 % goal applies).
const CRATES: &[(&str, bool)] = &[
    ("metal", true),
    ("rsc-table", true),
    ("virtio", true),
    ("rpmsg", true),
    ("remoteproc", true),
    ("metal-sys-linux", false),
    ("metal-sys-baremetal", false),
];

/// The line coverage each goal crate should reach, in percent.
const GOAL: f64 = 85.0;

/// The test runs: the workspace as `cargo test` builds it, then the
/// features the workspace build leaves off.
const RUNS: &[&[&str]] = &[
    &[
        "--workspace",
        "--exclude",
        "xtask",
        "--lib",
        "--bins",
        "--tests",
    ],
    &[
        "--package",
        "openamp-rpmsg",
        "--features",
        "async",
        "--lib",
        "--tests",
    ],
    &[
        "--package",
        "openamp-rsc-table",
        "--features",
        "cli",
        "--lib",
        "--bins",
        "--tests",
    ],
];

const USAGE: &str = "\
cargo xtask coverage [--html]

Builds the workspace's tests with nightly and -C instrument-coverage (target/coverage),
runs them, and prints line coverage per crate (goal: 85 % for metal, rsc-table, virtio,
rpmsg, remoteproc). --html also writes llvm-cov's annotated sources to
target/coverage/html/index.html.
";

/// One file's line counts.
#[derive(Debug, Clone, Copy, Default)]
struct Lines {
    count: u64,
    covered: u64,
}

impl Lines {
    fn percent(&self) -> f64 {
        if self.count == 0 {
            100.0
        } else {
            self.covered as f64 * 100.0 / self.count as f64
        }
    }
}

pub fn run_coverage(args: &[&str]) -> Result<(), String> {
    let html = match args {
        [] => false,
        ["--html"] => true,
        ["help"] | ["--help"] | ["-h"] => {
            print!("{USAGE}");
            return Ok(());
        }
        _ => return Err(format!("unknown arguments {args:?}\n\n{USAGE}")),
    };
    let tools = llvm_tools()?;
    let dir = root().join("target/coverage");
    let profraw = dir.join("profraw");
    let _ = std::fs::remove_dir_all(&profraw);
    std::fs::create_dir_all(&profraw).map_err(|e| format!("{}: {e}", profraw.display()))?;

    let mut objects = Vec::new();
    let mut failed = Vec::new();
    for run_args in RUNS {
        // The executables first (tests and the programs tests start), then
        // the run itself, which builds nothing more.
        let built = output(
            instrumented(&dir, &profraw)
                .arg("test")
                .args(*run_args)
                .args(["--no-run", "--message-format=json"])
                .stderr(std::process::Stdio::inherit()),
        )
        .ok_or_else(|| format!("building the instrumented tests ({run_args:?}) failed"))?;
        for exe in executables(&built) {
            if !objects.contains(&exe) {
                objects.push(exe);
            }
        }
        let mut cmd = instrumented(&dir, &profraw);
        // The tests' own output to stderr: stdout is the report.
        cmd.arg("test")
            .args(*run_args)
            .arg("--no-fail-fast")
            .stdout(std::io::stderr());
        if let Err(e) = run(&mut cmd) {
            failed.push(e);
        }
    }

    let profiles: Vec<PathBuf> = std::fs::read_dir(&profraw)
        .map_err(|e| format!("{}: {e}", profraw.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "profraw"))
        .collect();
    if profiles.is_empty() {
        return Err("no profile was written".into());
    }
    let list = dir.join("profraw.list");
    let names: Vec<String> = profiles.iter().map(|p| p.display().to_string()).collect();
    std::fs::write(&list, names.join("\n")).map_err(|e| format!("{}: {e}", list.display()))?;
    let merged = dir.join("merged.profdata");
    run(Command::new(&tools.profdata)
        .args(["merge", "-sparse", "-o"])
        .arg(&merged)
        .arg("-f")
        .arg(&list))?;

    let mut export = Command::new(&tools.cov);
    export
        .args(["export", "-format=text", "-summary-only", "-instr-profile"])
        .arg(&merged);
    object_args(&mut export, &objects);
    eprintln!("$ {} ({} objects)", show(&export), objects.len());
    let json = export
        .output()
        .map_err(|e| format!("cannot run llvm-cov: {e}"))
        .and_then(|o| {
            if o.status.success() {
                Ok(String::from_utf8_lossy(&o.stdout).into_owned())
            } else {
                Err(format!(
                    "llvm-cov export failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                ))
            }
        })?;
    let files = file_lines(&json);
    let per_crate = per_crate(&files);
    print_table(&per_crate, profiles.len());

    if html {
        let out = dir.join("html");
        let mut show_cmd = Command::new(&tools.cov);
        show_cmd
            .args(["show", "-format=html", "-instr-profile"])
            .arg(&merged)
            .arg(format!("-output-dir={}", out.display()))
            .arg(format!("-ignore-filename-regex={}", ignored_regex()));
        object_args(&mut show_cmd, &objects);
        run(&mut show_cmd)?;
        println!("annotated sources: {}", out.join("index.html").display());
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "tests failed under coverage: {}",
            failed.join("; ")
        ))
    }
}

struct Tools {
    profdata: PathBuf,
    cov: PathBuf,
}

/// `llvm-profdata` and `llvm-cov` of nightly's `llvm-tools` (which matches
/// the nightly compiler that instruments the tests), installed if missing.
fn llvm_tools() -> Result<Tools, String> {
    let sysroot = output(Command::new("rustc").args(["+nightly", "--print", "sysroot"]))
        .ok_or("coverage needs rustup's nightly toolchain")?;
    let host = output(Command::new("rustc").args(["+nightly", "-vV"]))
        .and_then(|v| {
            v.lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        })
        .ok_or("cannot tell nightly's host triple")?;
    let bin = Path::new(sysroot.trim()).join(format!("lib/rustlib/{host}/bin"));
    let tools = Tools {
        profdata: bin.join("llvm-profdata"),
        cov: bin.join("llvm-cov"),
    };
    if !tools.profdata.exists() || !tools.cov.exists() {
        run(Command::new("rustup").args([
            "component",
            "add",
            "--toolchain",
            "nightly",
            "llvm-tools",
        ]))
        .map_err(|e| format!("{e}: coverage needs nightly's llvm-tools"))?;
    }
    Ok(tools)
}

/// `cargo +nightly` building instrumented code into `dir/build`, profiles
/// going to `profraw` (one per process and binary).
fn instrumented(dir: &Path, profraw: &Path) -> Command {
    let mut c = cargo_nightly();
    c.env("CARGO_TARGET_DIR", dir.join("build"))
        .env("RUSTFLAGS", "-C instrument-coverage")
        .env("CARGO_INCREMENTAL", "0")
        .env("LLVM_PROFILE_FILE", profraw.join("%p-%m.profraw"));
    c
}

/// The `executable` paths in cargo's JSON messages.
fn executables(json: &str) -> Vec<PathBuf> {
    const KEY: &str = "\"executable\":\"";
    json.lines()
        .filter_map(|line| {
            let start = line.find(KEY)? + KEY.len();
            let end = line[start..].find('"')? + start;
            Some(PathBuf::from(&line[start..end]))
        })
        .collect()
}

fn ignored_regex() -> &'static str {
    // Dependencies, the standard library, and generated code.
    r"(/\.cargo/|/rustc/|/\.rustup/|/target/)"
}

fn object_args(cmd: &mut Command, objects: &[PathBuf]) {
    cmd.arg(format!("-ignore-filename-regex={}", ignored_regex()));
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            cmd.arg("-object");
        }
        cmd.arg(o);
    }
}

/// The line counts of every file in `llvm-cov export -summary-only` output.
fn file_lines(json: &str) -> Vec<(String, Lines)> {
    const FILE: &str = "\"filename\":\"";
    let mut files = Vec::new();
    let mut rest = json;
    while let Some(at) = rest.find(FILE) {
        rest = &rest[at + FILE.len()..];
        let Some(end) = rest.find('"') else { break };
        let name = rest[..end].to_string();
        let next = rest.find(FILE).unwrap_or(rest.len());
        let summary = &rest[..next];
        if let Some(lines_at) = summary.find("\"lines\":{") {
            let obj = &summary[lines_at..];
            if let (Some(count), Some(covered)) = (number(obj, "count"), number(obj, "covered")) {
                files.push((name, Lines { count, covered }));
            }
        }
    }
    files
}

fn number(s: &str, key: &str) -> Option<u64> {
    let k = format!("\"{key}\":");
    let start = s.find(&k)? + k.len();
    let digits: String = s[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn is_test_file(rel: &str) -> bool {
    rel.ends_with("/tests.rs") || rel.contains("/tests/") || rel == "tests.rs"
}

/// Per crate: its total, and its files from the least covered.
type PerCrate = BTreeMap<&'static str, (Lines, Vec<(String, Lines)>)>;

fn per_crate(files: &[(String, Lines)]) -> PerCrate {
    let root = root();
    let mut out = BTreeMap::new();
    for &(krate, _) in CRATES {
        let src = root.join(krate).join("src");
        let src = format!("{}/", src.display());
        let mut total = Lines::default();
        let mut list = Vec::new();
        for (name, l) in files {
            let Some(rel) = name.strip_prefix(&src) else {
                continue;
            };
            if is_test_file(&format!("/{rel}")) {
                continue;
            }
            total.count += l.count;
            total.covered += l.covered;
            list.push((rel.to_string(), *l));
        }
        list.sort_by(|a, b| a.1.percent().total_cmp(&b.1.percent()));
        out.insert(krate, (total, list));
    }
    out
}

fn print_table(per_crate: &PerCrate, profiles: usize) {
    println!("\nline coverage ({profiles} profiles; unit-test files left out):");
    println!(
        "  {:<22} {:>7} {:>7} {:>8}",
        "crate", "lines", "missed", "cover"
    );
    for &(krate, goal) in CRATES {
        let Some((total, files)) = per_crate.get(krate) else {
            continue;
        };
        let mark = match (goal, total.percent() >= GOAL) {
            (false, _) => "",
            (true, true) => "  (>= 85 %)",
            (true, false) => "  BELOW 85 %",
        };
        println!(
            "  {:<22} {:>7} {:>7} {:>7.1}%{mark}",
            krate,
            total.count,
            total.count - total.covered,
            total.percent()
        );
        // The least covered files of each crate with a goal.
        if goal {
            let n = if total.percent() < GOAL { 6 } else { 3 };
            for (f, l) in files.iter().take(n) {
                println!(
                    "      {f:<30} {:>5}/{:<5} {:>5.1}%",
                    l.covered,
                    l.count,
                    l.percent()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_llvm_cov_summaries_and_cargo_messages() {
        let json = r#"{"data":[{"files":[{"filename":"/w/metal/src/a.rs","summary":{"branches":{"count":0,"covered":0},"functions":{"count":3,"covered":2},"lines":{"count":10,"covered":7,"percent":70}}},{"filename":"/w/metal/src/tests.rs","summary":{"lines":{"count":5,"covered":5}}}],"totals":{}}]}"#;
        let files = file_lines(json);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].0, "/w/metal/src/a.rs");
        assert_eq!((files[0].1.count, files[0].1.covered), (10, 7));
        assert!(is_test_file("/tests.rs") && is_test_file("/io/tests/threads.rs"));
        assert!(!is_test_file("/io/mod.rs"));
        let msgs = "{\"reason\":\"compiler-artifact\",\"executable\":\"/t/deps/x-1\",\"fresh\":true}\n{\"executable\":null}";
        assert_eq!(executables(msgs), vec![PathBuf::from("/t/deps/x-1")]);
    }
}
