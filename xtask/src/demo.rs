//! `cargo xtask demo`: the host demo.

use crate::process::cargo;

/// Builds and runs the Linux demo (host and remote as two processes).
pub fn run(args: &[&str]) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "--quiet",
        "--package",
        "openamp-examples-linux",
        "--bin",
        "demo",
        "--",
    ])
    .args(args);
    crate::process::run(&mut cmd)
}
