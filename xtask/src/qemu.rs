//! Running board examples under QEMU.

use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::boards::elf_path;
use crate::process::show;
use crate::setup;

/// How long a run may take before it counts as hung (a good one takes < 1 s).
const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `example` (default: the board's smoke test) of `board` under QEMU
/// and returns its exit status (the firmware's semihosting status).
pub fn run(board: &str, example: Option<&str>) -> Result<ExitStatus, String> {
    setup::qemu()?;
    let mut cmd = match board {
        "zcu102" => {
            let example = example.unwrap_or("smoke");
            let a53 = existing(elf_path("zcu102-a53", example))?;
            let mut c = Command::new("qemu-system-aarch64");
            c.args(["-M", "xlnx-zcu102", "-smp", "6", "-m", "2G"]);
            c.args(["-nographic", "-semihosting", "-audiodev", "none,id=snd0"]);
            // UART0 (the A53's console) on our stdout, UART1 (the R5's) in a file.
            let r5_log = elf_path("zcu102-r5", &format!("{example}.uart1.log"));
            c.args(["-serial", "mon:stdio", "-serial"])
                .arg(format!("file:{}", r5_log.display()));
            c.arg("-kernel").arg(a53);
            let r5 = elf_path("zcu102-r5", example);
            if r5.exists() {
                c.arg("-device")
                    .arg(format!("loader,file={},cpu-num=4", r5.display()));
            }
            c
        }
        "zynq7000" => {
            let example = example.unwrap_or("hello");
            let a9 = existing(elf_path("zynq7000", example))?;
            let mut c = Command::new("qemu-system-arm");
            c.args(["-M", "xilinx-zynq-a9", "-nographic", "-semihosting"]);
            c.arg("-kernel").arg(a9);
            c
        }
        other => {
            return Err(format!(
                "unknown QEMU board {other:?} (known: zcu102, zynq7000)"
            ))
        }
    };
    cmd.stdin(Stdio::null());
    eprintln!("$ {}", show(&cmd));
    let mut child = cmd.spawn().map_err(|e| format!("cannot start QEMU: {e}"))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{board}: QEMU still running after {TIMEOUT:?}; killed"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for QEMU: {e}")),
        }
    }
}

fn existing(p: PathBuf) -> Result<PathBuf, String> {
    if p.exists() {
        Ok(p)
    } else {
        Err(format!(
            "{} does not exist: run `cargo xtask build` first",
            p.display()
        ))
    }
}

/// Turns a firmware's exit status into our result.
pub fn status_to_result(status: ExitStatus) -> Result<(), String> {
    if status.success() {
        Ok(())
    } else {
        Err(format!("firmware exited with {status}"))
    }
}
