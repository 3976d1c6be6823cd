//! The board firmware: which package builds for which target, and where the
//! ELF files end up.

use std::path::PathBuf;

use crate::process::{cargo_nightly, root, run};
use crate::setup;

/// One core's firmware package in `examples/boards`.
pub struct Board {
    /// Name used in `target/boards/<name>/` and on the command line.
    pub name: &'static str,
    /// Rust target triple.
    pub target: &'static str,
    /// Its examples (binaries).
    pub examples: &'static [&'static str],
}

pub const BOARDS: &[Board] = &[
    Board {
        name: "zcu102-r5",
        target: "armv7r-none-eabihf",
        examples: &["smoke", "echo"],
    },
    Board {
        name: "zcu102-a53",
        target: "aarch64-unknown-none",
        examples: &["smoke", "fault", "echo", "el"],
    },
    Board {
        name: "zynq7000",
        target: "armv7a-none-eabi",
        examples: &["hello", "fault", "rpmsg"],
    },
];

/// Library crates that must build, without std, for every board target.
pub const NO_STD_CRATES: &[&str] = &[
    "openamp-metal",
    "openamp-rsc-table",
    "openamp-virtio",
    "openamp-rpmsg",
    "openamp-metal-sys-baremetal",
    "openamp-remoteproc",
];

/// Extra targets the no_std crates must build for (remote cores of other SoCs).
pub const EXTRA_TARGETS: &[&str] = &["thumbv7em-none-eabihf"];

fn boards_dir() -> PathBuf {
    root().join("examples").join("boards")
}

/// Where `cargo xtask build` leaves an example's ELF.
pub fn elf_path(board: &str, example: &str) -> PathBuf {
    root()
        .join("target")
        .join("boards")
        .join(board)
        .join(example)
}

/// Cross-builds every board example and copies the ELFs to `target/boards`.
pub fn build_all() -> Result<Vec<PathBuf>, String> {
    setup::nightly_components()?;
    let mut elfs = Vec::new();
    for board in BOARDS {
        let mut cmd = cargo_nightly();
        cmd.current_dir(boards_dir())
            .args([
                "build",
                "--release",
                "-Zbuild-std=core,alloc",
                "-Zbuild-std-features=compiler-builtins-mem",
            ])
            .args(["--target", board.target, "--package", board.name])
            // The A53 echo host embeds the R5 echo firmware, built just before
            // (BOARDS lists the R5 first).
            .env("OPENAMP_R5_ECHO_ELF", elf_path("zcu102-r5", "echo"));
        run(&mut cmd)?;
        let built = boards_dir()
            .join("target")
            .join(board.target)
            .join("release");
        for example in board.examples {
            let dest = elf_path(board.name, example);
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            let src = built.join(example);
            std::fs::copy(&src, &dest)
                .map_err(|e| format!("cannot copy {} to {}: {e}", src.display(), dest.display()))?;
            elfs.push(dest);
        }
    }
    // The hardware variants cannot run under QEMU; make sure they keep
    // building (into their own target dir, so that they do not replace the
    // QEMU images), without semihosting, which faults on a board without a
    // debugger. ZCU102: IPI doorbells, PM wake-up, the board's TTC rate.
    for board in ["zcu102-r5", "zcu102-a53"] {
        let target = board_target(board);
        let mut cmd = cargo_nightly();
        cmd.current_dir(boards_dir())
            .args([
                "build",
                "--release",
                "-Zbuild-std=core,alloc",
                "-Zbuild-std-features=compiler-builtins-mem",
            ])
            .args([
                "--target",
                target,
                "--package",
                board,
                "--bin",
                "echo",
                "--no-default-features",
                "--features",
                "zcu102-hw",
            ])
            .env("CARGO_TARGET_DIR", hw_target_dir())
            // The hardware A53 host embeds the hardware R5 firmware, built
            // just before it.
            .env(
                "OPENAMP_R5_ECHO_ELF",
                hw_target_dir().join("armv7r-none-eabihf/release/echo"),
            );
        run(&mut cmd)?;
        check_no_semihosting(&hw_target_dir().join(target).join("release").join("echo"))?;
    }
    // The R5 echo firmware, both builds, must load where a ZCU102 boots it
    // (and where Linux's zynqmp_r5_remoteproc can put it).
    check_r5_layout(&elf_path("zcu102-r5", "echo"))?;
    check_r5_layout(&hw_target_dir().join("armv7r-none-eabihf/release/echo"))?;
    // Zynq-7000: the same examples without semihosting.
    let mut cmd = cargo_nightly();
    cmd.current_dir(boards_dir())
        .args([
            "build",
            "--release",
            "-Zbuild-std=core,alloc",
            "-Zbuild-std-features=compiler-builtins-mem",
        ])
        .args([
            "--target",
            board_target("zynq7000"),
            "--package",
            "zynq7000",
        ])
        .arg("--no-default-features")
        .env("CARGO_TARGET_DIR", hw_target_dir());
    run(&mut cmd)?;
    for example in ["hello", "rpmsg"] {
        check_no_semihosting(
            &hw_target_dir()
                .join(board_target("zynq7000"))
                .join("release")
                .join(example),
        )?;
    }
    // The echo remote's RPMsg part also serves Cortex-M remote cores
    // (STM32MP1, i.MX): it must keep building for them (compile only).
    let mut cmd = cargo_nightly();
    cmd.current_dir(boards_dir())
        .args([
            "build",
            "--release",
            "-Zbuild-std=core",
            "--target",
            "thumbv7em-none-eabihf",
        ])
        .args(["--package", "echo-remote"]);
    run(&mut cmd)?;
    Ok(elfs)
}

fn board_target(board: &str) -> &'static str {
    BOARDS
        .iter()
        .find(|b| b.name == board)
        .map(|b| b.target)
        .unwrap_or_default()
}

/// Where the hardware variants are built.
fn hw_target_dir() -> PathBuf {
    boards_dir().join("target").join("zcu102-hw")
}

/// Fails if `elf` holds a semihosting trap (AArch64 `hlt #0xf000`, ARM
/// `svc #0x123456`) at a word-aligned place of an executable section: a
/// hardware image must not. Only code is scanned: debug information holds
/// arbitrary words (it changes with the path the build ran in).
fn check_no_semihosting(elf: &std::path::Path) -> Result<(), String> {
    use goblin::elf::section_header::{SHF_EXECINSTR, SHT_NOBITS};
    let bytes = std::fs::read(elf).map_err(|e| format!("cannot read {}: {e}", elf.display()))?;
    let parsed = goblin::elf::Elf::parse(&bytes)
        .map_err(|e| format!("{} is not an ELF file: {e}", elf.display()))?;
    const TRAPS: [u32; 2] = [0xD45E_0000, 0xEF12_3456];
    for sh in &parsed.section_headers {
        if sh.sh_flags & u64::from(SHF_EXECINSTR) == 0 || sh.sh_type == SHT_NOBITS {
            continue;
        }
        let code = usize::try_from(sh.sh_offset)
            .ok()
            .zip(usize::try_from(sh.sh_size).ok())
            .and_then(|(at, len)| bytes.get(at..at.checked_add(len)?))
            .ok_or(format!(
                "{}: a code section lies past the file's end",
                elf.display()
            ))?;
        let found = code
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .any(|w| TRAPS.contains(&w));
        if found {
            return Err(format!(
                "{} is a hardware build but contains a semihosting trap",
                elf.display()
            ));
        }
    }
    Ok(())
}

/// R5 core 0's memory in split mode as Xilinx's device trees give it to a
/// firmware: ATCM, BTCM (R5 addresses) and the `rproc_0_fw_image` carveout.
const R5_FIRMWARE_MEMORY: [(u32, u32, &str); 3] = [
    (0x0000_0000, 0x1_0000, "ATCM"),
    (0x0002_0000, 0x1_0000, "BTCM"),
    (0x3ED0_0000, 0x4_0000, "the rproc_0_fw_image carveout"),
];

/// Checks an R5 ELF32 boots from TCM: its entry is in ATCM, a segment
/// loads at 0 (the reset vector), and every loadable segment lies inside
/// one of [`R5_FIRMWARE_MEMORY`].
fn check_r5_layout(elf: &std::path::Path) -> Result<(), String> {
    let b = std::fs::read(elf).map_err(|e| format!("cannot read {}: {e}", elf.display()))?;
    let bad = |what: String| Err(format!("{}: {what}", elf.display()));
    let u16_at = |o: usize| b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |o: usize| {
        b.get(o..o + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    if b.get(..5) != Some(b"\x7fELF\x01") {
        return bad("not an ELF32 file".into());
    }
    let (Some(entry), Some(phoff), Some(phentsize), Some(phnum)) =
        (u32_at(24), u32_at(28), u16_at(42), u16_at(44))
    else {
        return bad("truncated ELF header".into());
    };
    if entry >= R5_FIRMWARE_MEMORY[0].1 {
        return bad(format!("entry {entry:#x} is not in ATCM"));
    }
    let mut at_zero = false;
    for i in 0..usize::from(phnum) {
        let ph = phoff as usize + i * usize::from(phentsize);
        let (Some(kind), Some(paddr), Some(memsz)) = (u32_at(ph), u32_at(ph + 12), u32_at(ph + 20))
        else {
            return bad("truncated program header".into());
        };
        if kind != 1 || memsz == 0 {
            continue; // not PT_LOAD
        }
        at_zero |= paddr == 0;
        let end = u64::from(paddr) + u64::from(memsz);
        if !R5_FIRMWARE_MEMORY
            .iter()
            .any(|&(base, len, _)| paddr >= base && end <= u64::from(base) + u64::from(len))
        {
            return bad(format!(
                "segment {i} at {paddr:#x}..{end:#x} is outside the ATCM, BTCM and the 256 KiB firmware carveout at 0x3ED00000"
            ));
        }
    }
    if !at_zero {
        return bad("no segment loads at 0x0, where the R5 leaves reset".into());
    }
    Ok(())
}

/// Builds the no_std library crates for every board target (and the extra
/// ones), proving they need neither std nor alloc there.
pub fn check_no_std() -> Result<(), String> {
    setup::nightly_components()?;
    let mut targets: Vec<&str> = BOARDS.iter().map(|b| b.target).collect();
    targets.sort_unstable();
    targets.dedup();
    targets.extend_from_slice(EXTRA_TARGETS);
    for target in targets {
        let mut cmd = cargo_nightly();
        cmd.args([
            "build",
            "--release",
            "-Zbuild-std=core,alloc",
            "--target",
            target,
        ]);
        for krate in NO_STD_CRATES {
            // The backend's machine code is for its own cores only; elsewhere
            // it builds its portable part.
            cmd.args(["--package", krate]);
        }
        cmd.env("CARGO_TARGET_DIR", root().join("target").join("no-std"));
        run(&mut cmd)?;
    }
    Ok(())
}
