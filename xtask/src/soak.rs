//! `cargo xtask soak`: the fault-injection soak of two processes on the
//! Linux-process platform (`examples/linux/src/bin/soak`), built in release.
//!
//! By default 10^6 messages and 100 kills of the remote, then the same with
//! the host killed; the arguments go to the soak program (`--kills N`,
//! `--messages N`, `--lanes N`, `--seed S`, `--only remote|host`). It prints
//! the counts and fails if any message is unaccounted for, duplicated or
//! reordered, a kill goes unnoticed or a wait does not end.

use crate::process::{cargo, run};

/// The short version `cargo xtask test` runs (seconds: each scenario does
/// ~10^5 messages a second here).
pub const SHORT: &[&str] = &["--kills", "30", "--messages", "300000"];

/// Builds and runs the soak with `args`.
pub fn run_soak(args: &[&str]) -> Result<(), String> {
    if matches!(args, ["help"] | ["--help"] | ["-h"]) {
        print!("{USAGE}");
        return Ok(());
    }
    run(cargo()
        .args(["run", "--quiet", "--release"])
        .args(["--package", "openamp-examples-linux", "--bin", "soak", "--"])
        .args(args))
}

const USAGE: &str = "\
cargo xtask soak [--kills N] [--messages N] [--lanes N] [--seed S] [--only remote|host]

Two processes on the Linux-process platform exchange numbered messages of random
sizes on several endpoints (echoed back). The remote is killed with SIGKILL N times
(default 100) at set-up, mid-exchange and while the host holds zero-copy buffers;
each time the host must report PeerReset and resume with a new remote and a new
host device. Then the same with the host killed: the remote must report PeerReset
and end, and a new pair resumes. Default 10^6 messages per scenario.

Prints accepted = delivered + failed, lost, duplicated, reordered, damaged,
resets detected, and fails if anything is off.
";
