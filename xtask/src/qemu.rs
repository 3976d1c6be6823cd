//! Running board examples under QEMU.

use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::boards::elf_path;
use crate::process::show;
use crate::setup;

/// How long a run may take before it counts as hung (a good one takes < 1 s).
const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `example` (default: `echo` on zcu102, `rpmsg` on zynq7000) of `board` under QEMU
/// and returns its exit status (the firmware's semihosting status).
pub fn run(board: &str, example: Option<&str>) -> Result<ExitStatus, String> {
    let mut cmd = command(board, example)?;
    cmd.stdin(Stdio::null());
    wait_with_timeout(board, cmd)
}

/// Runs like [`run`], but captures the console and returns it with the status.
pub fn run_captured(board: &str, example: &str) -> Result<(ExitStatus, String), String> {
    let mut cmd = command(board, Some(example))?;
    let out_path = log_path(&format!("{board}-{example}.console.log"));
    if let Some(dir) = out_path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let out = std::fs::File::create(&out_path)
        .map_err(|e| format!("cannot create {}: {e}", out_path.display()))?;
    cmd.stdin(Stdio::null()).stdout(out);
    let status = wait_with_timeout(board, cmd)?;
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    print!("{text}");
    Ok((status, text))
}

fn command(board: &str, example: Option<&str>) -> Result<Command, String> {
    setup::qemu()?;
    let cmd = match board {
        "zcu102" => {
            let example = example.unwrap_or("echo");
            // `el2` and `el3` run the `el` image with the A53 started at
            // EL2 (virtualization=on) or EL3 (secure=on).
            let (image, machine) = match example {
                "el2" => ("el", "xlnx-zcu102,virtualization=on"),
                "el3" => ("el", "xlnx-zcu102,secure=on"),
                other => (other, "xlnx-zcu102"),
            };
            let a53 = existing(elf_path("zcu102-a53", image))?;
            let mut c = Command::new("qemu-system-aarch64");
            c.args(["-M", machine, "-smp", "6", "-m", "2G"]);
            c.args(["-nographic", "-semihosting", "-audiodev", "none,id=snd0"]);
            // UART0 (the A53's console) on our stdout, UART1 (the R5's) in a file.
            let r5_log = log_path(&format!("zcu102-{example}.r5-uart1.log"));
            if let Some(dir) = r5_log.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            c.args(["-serial", "mon:stdio", "-serial"])
                .arg(format!("file:{}", r5_log.display()));
            c.arg("-kernel").arg(a53);
            // QEMU loads the R5 image of examples whose A53 half does not
            // load it itself (the echo host does, with remoteproc).
            let r5 = elf_path("zcu102-r5", image);
            if r5.exists() && !A53_LOADS_R5.contains(&image) {
                c.arg("-device")
                    .arg(format!("loader,file={},cpu-num=4", r5.display()));
            }
            c
        }
        "zynq7000" => {
            let example = example.unwrap_or("rpmsg");
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
    Ok(cmd)
}

fn wait_with_timeout(board: &str, mut cmd: Command) -> Result<ExitStatus, String> {
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

/// ZynqMP examples whose A53 image embeds and loads the R5 firmware.
const A53_LOADS_R5: &[&str] = &["echo"];

/// Where QEMU runs leave their console logs.
fn log_path(name: &str) -> PathBuf {
    crate::process::root()
        .join("target")
        .join("qemu")
        .join(name)
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
