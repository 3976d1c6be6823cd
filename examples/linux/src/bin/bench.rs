//! The benchmark behind `cargo xtask bench`: RPMsg latency, throughput and
//! cost per message on OpenAMP's Linux-process platform, each next to the
//! machine's floor. `bench all [--quick] [--out DIR]` runs everything and
//! writes `DIR/report.md`, `report.json`, `latency.png` and
//! `throughput.png`; the other subcommands are the roles it spawns.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use openamp_examples_linux::bench::alloc::CountingAlloc;
use openamp_examples_linux::bench::report::{self, Results};
use openamp_examples_linux::bench::session::{self, HostSetup, RemoteArgs, WaitMode};
use openamp_examples_linux::bench::{allowed_cpus, floor, inherited_fd, pin_to};
use openamp_metal_sys_linux::SharedMemory;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const USAGE: &str = "\
usage: bench all [--quick] [--out DIR] [--no-callgrind] [--callgrind-exe PATH]
       bench echo-count --wait MODE --size N --count N [--cpu C] [--remote-cpu C]
                        [--valgrind-remote OUTFILE]
       bench remote --wait MODE --buffer-size N --shm-fd FD [--kick-fd FD] [--wait-fd FD] [--cpu C]
       bench floor-peer --shm-fd FD [--cpu C]
       bench copy [--ms N]    (only the shared-memory copies against memcpy)
MODE: busy, socket or eventfd";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Command-line options, as `--name value` pairs and bare flags.
struct Opts(Vec<(String, Option<String>)>);

impl Opts {
    fn parse(args: &[String], flags: &[&str]) -> Result<Self, String> {
        let mut v = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if !a.starts_with("--") {
                return Err(format!("unexpected argument {a:?}\n{USAGE}"));
            }
            if flags.contains(&a.as_str()) {
                v.push((a.clone(), None));
            } else {
                let value = it.next().ok_or(format!("{a} needs a value\n{USAGE}"))?;
                v.push((a.clone(), Some(value.clone())));
            }
        }
        Ok(Opts(v))
    }

    fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn num<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String>
    where
        T::Err: std::fmt::Display,
    {
        self.get(name)
            .map(|v| v.parse().map_err(|e| format!("{name} {v:?}: {e}")))
            .transpose()
    }

    fn need<T: std::str::FromStr>(&self, name: &str) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        self.num(name)?.ok_or(format!("{name} is needed\n{USAGE}"))
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err(USAGE.into());
    };
    match cmd.as_str() {
        "all" => all(&Opts::parse(rest, &["--quick", "--no-callgrind"])?),
        "echo-count" => echo_count(&Opts::parse(rest, &[])?),
        "copy" => {
            let o = Opts::parse(rest, &[])?;
            let time = Duration::from_millis(o.num("--ms")?.unwrap_or(1000));
            for c in floor::region_copy(&[496, 4096], time)? {
                println!(
                    "{:>5} B: read_bytes {:.2} GB/s ({:.2}x memcpy), write_bytes {:.2} GB/s \
                     ({:.2}x memcpy), memcpy {:.2} GB/s",
                    c.size,
                    c.read / 1e9,
                    c.read / c.memcpy,
                    c.write / 1e9,
                    c.write / c.memcpy,
                    c.memcpy / 1e9
                );
            }
            Ok(())
        }
        "remote" => {
            let o = Opts::parse(rest, &[])?;
            if let Some(c) = o.num("--cpu")? {
                pin_to(c);
            }
            session::remote(RemoteArgs {
                wait: WaitMode::parse(o.get("--wait").unwrap_or("busy"))?,
                shm_fd: o.need("--shm-fd")?,
                kick_fd: o.num("--kick-fd")?,
                wait_fd: o.num("--wait-fd")?,
                buffer_size: o.num("--buffer-size")?.unwrap_or(512),
            })
        }
        "floor-peer" => {
            let o = Opts::parse(rest, &[])?;
            if let Some(c) = o.num("--cpu")? {
                pin_to(c);
            }
            let shm = SharedMemory::from_fd(inherited_fd(o.need("--shm-fd")?)?)
                .map_err(|e| e.to_string())?;
            floor::peer(shm)
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

fn exe() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))
}

/// The CPUs for host and remote: the first two this process may use.
fn cpus() -> Option<(usize, usize)> {
    match allowed_cpus().as_slice() {
        [a, b, ..] => Some((*a, *b)),
        _ => None,
    }
}

/// Exactly `--count` echo round trips, for callgrind (run under it, or with
/// the remote under it).
fn echo_count(o: &Opts) -> Result<(), String> {
    if let Some(c) = o.num("--cpu")? {
        pin_to(c);
    }
    let mut prefix: Vec<OsString> = Vec::new();
    if let Some(out) = o.get("--valgrind-remote") {
        prefix = vec![
            "valgrind".into(),
            "--tool=callgrind".into(),
            format!("--callgrind-out-file={out}").into(),
        ];
    }
    let setup = HostSetup {
        wait: WaitMode::parse(o.get("--wait").unwrap_or("eventfd"))?,
        buffer_size: 512,
        remote_cpu: o.num("--remote-cpu")?,
        remote_prefix: prefix,
    };
    let size: usize = o.need("--size")?;
    let count: usize = o.need("--count")?;
    session::host(&exe()?, &setup, |b| b.echo_count(size, count))
}

/// How much of everything to do.
struct Plan {
    floor: (usize, usize, usize),
    echo: (usize, usize, usize),
    echo_notify: (usize, usize, usize),
    tput_busy: usize,
    tput_notify: usize,
    memcpy_passes: usize,
    hot: Duration,
    callgrind: (usize, usize),
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                floor: (10_000, 100_000, 1_000_000),
                echo: (2_000, 20_000, 20_000),
                echo_notify: (500, 5_000, 5_000),
                tput_busy: 500_000,
                tput_notify: 100_000,
                memcpy_passes: 3,
                hot: Duration::from_millis(200),
                callgrind: (1_000, 6_000),
            }
        } else {
            Plan {
                floor: (100_000, 1_000_000, 10_000_000),
                echo: (10_000, 200_000, 200_000),
                echo_notify: (2_000, 50_000, 50_000),
                tput_busy: 5_000_000,
                tput_notify: 1_000_000,
                memcpy_passes: 20,
                hot: Duration::from_secs(1),
                callgrind: (2_000, 22_000),
            }
        }
    }
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine(quick: bool, pinned: Option<(usize, usize)>) -> report::Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|m| m.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    report::Machine {
        cpus: sh("nproc", &[]).parse().unwrap_or(1),
        model,
        kernel: sh("uname", &["-r"]),
        pinned,
        date: sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        // An exported tree has no git: the caller may name the revision.
        revision: std::env::var("OPENAMP_BENCH_REVISION")
            .unwrap_or_else(|_| sh("git", &["describe", "--always", "--dirty"])),
        quick,
    }
}

fn all(o: &Opts) -> Result<(), String> {
    let quick = o.flag("--quick");
    let out = PathBuf::from(o.get("--out").unwrap_or("target/bench"));
    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let plan = Plan::new(quick);
    let exe = exe()?;
    let pinned = cpus();
    // Before pinning, or nproc would see one CPU.
    let mut res = Results {
        machine: machine(quick, pinned),
        ..Results::default()
    };
    if let Some((h, _)) = pinned {
        pin_to(h);
    }
    let remote_cpu = pinned.map(|(_, r)| r);

    eprintln!("bench: 1/5 floor (shared-memory ping-pong)");
    let (w, s, b) = plan.floor;
    let f = floor::ping_pong(&exe, remote_cpu, w, s, b)?;
    let mut sorted = f.samples.clone();
    sorted.sort_unstable();
    res.floor = Some(report::Floor {
        summary: f.summary,
        batch_mean_ns: f.batch_mean_ns,
        cdf: report::subsample(&sorted, 400),
    });

    eprintln!("bench: 2/5 and 3/5 RPMsg echo and throughput");
    for wait in WaitMode::ALL {
        for (buffer, sizes) in [(512u32, &[1usize, 64, 496][..]), (4096 + 16, &[4096][..])] {
            let setup = HostSetup {
                wait,
                buffer_size: buffer,
                remote_cpu,
                remote_prefix: Vec::new(),
            };
            let (ew, es, eb) = if wait == WaitMode::Busy {
                plan.echo
            } else {
                plan.echo_notify
            };
            let count = if wait == WaitMode::Busy {
                plan.tput_busy
            } else {
                plan.tput_notify
            };
            let (echoes, tputs) = session::host(&exe, &setup, |b| {
                let mut echoes = Vec::new();
                let mut tputs = Vec::new();
                for &size in sizes {
                    eprintln!("bench:   {} echo {size} B", wait.name());
                    let e = b.echo(size, ew, es, eb)?;
                    let mut sorted = e.samples.clone();
                    sorted.sort_unstable();
                    echoes.push(report::Echo {
                        wait: wait.name().into(),
                        size,
                        buffer,
                        summary: e.summary,
                        batch_mean_ns: e.batch_mean_ns,
                        allocs: (e.host_allocs, e.remote_allocs),
                        cdf: report::subsample(&sorted, 400),
                    });
                }
                for &size in sizes {
                    // Big messages: fewer of them.
                    let count = if size > 512 { count / 4 } else { count };
                    for zero_copy in [false, true] {
                        eprintln!(
                            "bench:   {} throughput {size} B {}",
                            wait.name(),
                            if zero_copy { "zero-copy" } else { "copy" }
                        );
                        let t = b.throughput(size, zero_copy, count)?;
                        tputs.push(report::Throughput {
                            wait: wait.name().into(),
                            size,
                            zero_copy,
                            count,
                            msgs_per_s: t.msgs_per_s,
                            bytes_per_s: t.bytes_per_s,
                            allocs: (t.host_allocs, t.remote_allocs),
                        });
                    }
                }
                Ok((echoes, tputs))
            })?;
            res.echo.extend(echoes);
            res.throughput.extend(tputs);
        }
    }
    res.echo.sort_by_key(|e| (mode_rank(&e.wait), e.size));
    res.throughput
        .sort_by_key(|t| (mode_rank(&t.wait), t.size, t.zero_copy));

    eprintln!("bench: 4/5 instructions per round trip (callgrind)");
    if o.flag("--no-callgrind") {
        res.instr_note = "Skipped (--no-callgrind).".into();
    } else if sh("valgrind", &["--version"]).is_empty() {
        res.instr_note = "Skipped: valgrind is not installed (cargo xtask bench installs it \
                          with apt-get when run as root)."
            .into();
    } else {
        // rustix's raw vDSO lookup crashes under valgrind: callgrind runs a
        // build with feature `valgrind` (given by `cargo xtask bench`).
        let cg_exe = o.get("--callgrind-exe").map_or(exe.clone(), PathBuf::from);
        match callgrind(&cg_exe, &out, plan.callgrind, pinned) {
            Ok(instr) => {
                res.instr = instr;
                res.instr_note = format!(
                    "Counted by `valgrind --tool=callgrind` (user-space instructions; the \
                     kernel's work in system calls is not counted), with eventfd kicks and 1-byte \
                     payloads. The host sends, waits for the remote's kick and then takes the \
                     echo with `try_recv`, so it never polls an empty ring; the remote runs its \
                     usual `wait_and_poll` loop (an empty poll after a spurious wake-up counts). \
                     One side runs under callgrind for {a} and for {b} round trips and \
                     the difference is divided by {d}, so start-up and shut-down cancel out. \
                     Function groups, by symbol name (inlined code counts where it was inlined): \
                     *protocol* = openamp-rpmsg, -virtio, -metal and the remoteproc vdev \
                     transport; *os* = the Linux backend, rustix, std and libc (system-call \
                     wrappers, clock, poll); *bench* = the benchmark's own code; *copy* = \
                     memcpy/memmove and `IoRegion`'s atomic copies (`read_bytes`, \
                     `write_bytes`, `fill`, `copy_within`).",
                    a = plan.callgrind.0,
                    b = plan.callgrind.1,
                    d = plan.callgrind.1 - plan.callgrind.0
                );
            }
            Err(e) => res.instr_note = format!("Failed: {e}"),
        }
    }

    eprintln!("bench: 5/5 memcpy");
    let m = floor::memcpy(plan.memcpy_passes, plan.hot);
    res.memcpy = report::Memcpy {
        streaming_4k: m.streaming_4k,
        hot_4k: m.hot_4k,
        hot_496: m.hot_496,
    };
    eprintln!("bench: 5/5 shared-memory copies against memcpy");
    res.region_copy = floor::region_copy(&[496, 4096], plan.hot)?
        .into_iter()
        .map(|c| report::RegionCopy {
            size: c.size,
            read: c.read,
            write: c.write,
            memcpy: c.memcpy,
        })
        .collect();

    res.write(&out)?;
    println!(
        "bench: wrote {}/report.md, report.json, latency.png, throughput.png",
        out.display()
    );
    Ok(())
}

fn mode_rank(w: &str) -> usize {
    WaitMode::ALL
        .iter()
        .position(|m| m.name() == w)
        .unwrap_or(9)
}

/// Instructions per round trip on each side: callgrind runs of `a` and `b`
/// round trips, differenced.
fn callgrind(
    exe: &Path,
    out: &Path,
    (a, b): (usize, usize),
    pinned: Option<(usize, usize)>,
) -> Result<Vec<report::Instr>, String> {
    let mut result = Vec::new();
    for side in ["host", "remote"] {
        let mut per_run = Vec::new();
        for count in [a, b] {
            let file = out.join(format!("callgrind.{side}.{count}.out"));
            let mut cmd;
            if side == "host" {
                cmd = Command::new("valgrind");
                cmd.arg("--tool=callgrind")
                    .arg(format!("--callgrind-out-file={}", file.display()))
                    .arg(exe);
            } else {
                cmd = Command::new(exe);
            }
            cmd.args([
                "echo-count",
                "--wait",
                "eventfd",
                "--size",
                "1",
                "--count",
                &count.to_string(),
            ]);
            if let Some((h, r)) = pinned {
                cmd.args(["--cpu", &h.to_string(), "--remote-cpu", &r.to_string()]);
            }
            if side == "remote" {
                cmd.arg("--valgrind-remote").arg(&file);
            }
            let o = cmd
                .output()
                .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
            if !o.status.success() {
                return Err(format!(
                    "{cmd:?} failed ({}): {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr)
                ));
            }
            per_run.push(groups(&file)?);
        }
        let d = (b - a) as f64;
        let (ga, gb) = (&per_run[0], &per_run[1]);
        let mut groups = Vec::new();
        let total = (gb.get("summary") - ga.get("summary")) / d;
        for name in ["protocol", "os", "bench", "copy"] {
            groups.push((name.to_string(), (gb.get(name) - ga.get(name)) / d));
        }
        result.push(report::Instr {
            side: side.into(),
            total,
            groups,
        });
    }
    Ok(result)
}

/// Instruction counts of one callgrind output, by function group.
struct Groups(Vec<(String, f64)>);

impl Groups {
    fn get(&self, name: &str) -> f64 {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |(_, v)| *v)
    }
}

fn groups(file: &Path) -> Result<Groups, String> {
    let o = Command::new("callgrind_annotate")
        .args(["--threshold=100", "--inclusive=no", "--auto=no"])
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run callgrind_annotate: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "callgrind_annotate {} failed: {}",
            file.display(),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&o.stdout);
    let raw =
        std::fs::read_to_string(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    let summary = raw
        .lines()
        .find_map(|l| l.strip_prefix("summary:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| format!("{} has no summary line", file.display()))?;
    let mut g: Vec<(String, f64)> = ["protocol", "os", "bench", "copy"]
        .iter()
        .map(|n| (n.to_string(), 0.0))
        .collect();
    g.push(("summary".into(), summary));
    for line in text.lines() {
        let line = line.trim_start();
        let Some((count, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(n) = count.replace(',', "").parse::<f64>() else {
            continue;
        };
        // Totals and summary lines have no "file:function".
        let rest = rest.trim_start();
        if rest.starts_with('(') {
            // The percentage column.
            if let Some((_, r)) = rest.split_once(')') {
                if r.contains("PROGRAM TOTALS") || !r.contains(':') {
                    continue;
                }
                let group = classify(r.trim());
                if let Some(e) = g.iter_mut().find(|(name, _)| name == group) {
                    e.1 += n;
                }
            }
            continue;
        }
        if !rest.contains(':') || rest.contains("PROGRAM TOTALS") {
            continue;
        }
        let group = classify(rest);
        if let Some(e) = g.iter_mut().find(|(name, _)| name == group) {
            e.1 += n;
        }
    }
    Ok(Groups(g))
}

/// The function name of a `callgrind_annotate` line's `file:function
/// [object]` part (the file ends at the first single colon).
fn function_of(entry: &str) -> &str {
    let b = entry.as_bytes();
    let split = (0..b.len())
        .find(|&i| b[i] == b':' && b.get(i + 1) != Some(&b':') && (i == 0 || b[i - 1] != b':'));
    let f = split.map_or(entry, |i| &entry[i + 1..]);
    match f.rfind(" [") {
        Some(j) => &f[..j],
        None => f,
    }
}

fn classify(entry: &str) -> &'static str {
    let f = function_of(entry);
    let any = |names: &[&str]| names.iter().any(|n| f.contains(n));
    if any(&[
        "memcpy",
        "memmove",
        "memset",
        "IoRegion::read_bytes",
        "IoRegion::write_bytes",
        "IoRegion::fill",
        "IoRegion::copy_within",
    ]) {
        "copy"
    } else if any(&["openamp_metal_sys_linux", "rustix"]) {
        "os"
    } else if any(&[
        "openamp_rpmsg",
        "openamp_virtio",
        "openamp_metal",
        "openamp_remoteproc",
        // Dropping the device's per-call bookkeeping (wakers to wake).
        "Waker",
    ]) {
        "protocol"
    } else if any(&["openamp_examples_linux", "bench::"]) {
        "bench"
    } else {
        // libc, the dynamic loader, std: system-call wrappers, clock reads,
        // start-up and shut-down.
        "os"
    }
}
