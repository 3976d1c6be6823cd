//! Puts the linker script of the selected core family where the final link finds it.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let script = match (arch.as_str(), os.as_str()) {
        ("arm", "none") => Some("link/armv7.x"),
        ("aarch64", "none") => Some("link/aarch64.x"),
        _ => None,
    };
    if let Some(script) = script {
        fs::copy(script, out.join("link.x")).expect("copy linker script");
        println!("cargo:rustc-link-search={}", out.display());
        println!("cargo:rerun-if-changed={script}");
    }
    // `machine`: a supported core is selected and we build for it, so the
    // start-up code, console and timers are compiled in.
    println!("cargo::rustc-check-cfg=cfg(machine)");
    let machine = ["ZYNQ7000", "ZYNQMP_A53", "ZYNQMP_R5"]
        .iter()
        .any(|f| env::var_os(format!("CARGO_FEATURE_{f}")).is_some());
    if machine && script.is_some() {
        println!("cargo:rustc-cfg=machine");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
