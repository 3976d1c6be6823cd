//! Running commands, with the command line echoed and failures explained.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs `cmd` and fails with its command line when it does not succeed.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("$ {}", show(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {}: {e}", show(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", show(cmd)))
    }
}

/// Runs `cmd` quietly and returns its standard output, if it succeeded.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A printable command line.
pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// `cargo` with the stable toolchain the host work uses, from the root.
pub fn cargo() -> Command {
    let mut c = Command::new("cargo");
    c.current_dir(root());
    // Inside `cargo xtask`, cargo sets RUSTUP_TOOLCHAIN for us; drop it so
    // `+nightly` and the default toolchain both work in children.
    c.env_remove("RUSTUP_TOOLCHAIN");
    c
}

/// `cargo +nightly`, for board builds and Miri.
pub fn cargo_nightly() -> Command {
    let mut c = cargo();
    c.arg("+nightly");
    c
}
