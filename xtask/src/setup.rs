//! Installing what the tasks need on a fresh machine: nightly's `rust-src`
//! and `miri` components (board builds, Miri) and QEMU (board runs).

use std::process::Command;
use std::sync::OnceLock;

use crate::process::{output, run};

/// Installs everything.
pub fn all() -> Result<(), String> {
    nightly_components()?;
    qemu()
}

/// Makes sure nightly has `rust-src` and `miri`.
pub fn nightly_components() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let installed = output(Command::new("rustup").args(["component", "list", "--toolchain", "nightly", "--installed"]))
            .ok_or("the nightly toolchain is missing: board builds and Miri need rustup's `nightly` (it cannot be downloaded on machines without network access to static.rust-lang.org)")?;
        let missing: Vec<&str> = ["rust-src", "miri"]
            .into_iter()
            .filter(|c| !installed.lines().any(|l| l.starts_with(c)))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        eprintln!("xtask: installing nightly components {missing:?}");
        run(Command::new("rustup").args(["component", "add", "--toolchain", "nightly"]).args(&missing))
            .map_err(|e| format!("{e}: board builds and Miri need nightly's {missing:?}"))
    })
    .clone()
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Makes sure `qemu-system-aarch64` and `qemu-system-arm` exist, installing
/// Debian's QEMU when running as root.
pub fn qemu() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        if have("qemu-system-aarch64") && have("qemu-system-arm") {
            return Ok(());
        }
        let root = output(Command::new("id").arg("-u")).map(|s| s.trim() == "0").unwrap_or(false);
        if !root {
            return Err("QEMU is missing; install it with: sudo apt-get install --no-install-recommends qemu-system-arm".into());
        }
        eprintln!("xtask: installing QEMU from Debian");
        run(Command::new("apt-get").arg("update"))?;
        // Debian 12's qemu-system-arm wants the qemu-utils of its own
        // release; machines that carry a newer one from backports need it
        // taken back, hence the release pin and --allow-downgrades.
        let mut install = Command::new("apt-get");
        install
            .args(["install", "-y", "--no-install-recommends", "--allow-downgrades", "qemu-system-arm"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        let pinned = output(Command::new("apt-cache").args(["policy", "qemu-utils"]))
            .map(|p| p.contains("bookworm/main") || p.contains("bookworm "))
            .unwrap_or(false);
        if pinned {
            install.arg("qemu-utils/bookworm");
        }
        run(&mut install)?;
        if have("qemu-system-aarch64") && have("qemu-system-arm") {
            Ok(())
        } else {
            Err("QEMU still missing after apt-get install".into())
        }
    })
    .clone()
}
