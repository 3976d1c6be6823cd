//! Makes this package's memory.x visible to the linker script, and tells
//! the `echo` host where the R5 firmware it embeds is.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-search={dir}");
    println!("cargo:rerun-if-changed=memory.x");
    // Board configuration (see common/config.rs), fixed at build time.
    for (var, default) in [
        ("OPENAMP_ZCU102_HOST_IPI", "7"),
        ("OPENAMP_ZCU102_TTC_HZ", "100000000"),
        ("OPENAMP_ZCU102_CNTFRQ_HZ", "0"),
    ] {
        let value = std::env::var(var).unwrap_or_else(|_| default.to_string());
        println!("cargo:rerun-if-env-changed={var}");
        println!("cargo:rustc-env={var}={value}");
    }
    // `cargo xtask build` builds the R5 first and passes its ELF's path.
    let r5 = std::env::var("OPENAMP_R5_ECHO_ELF")
        .unwrap_or_else(|_| format!("{dir}/../../../target/boards/zcu102-r5/echo"));
    println!("cargo:rerun-if-env-changed=OPENAMP_R5_ECHO_ELF");
    println!("cargo:rerun-if-changed={r5}");
    println!("cargo:rustc-env=OPENAMP_R5_ECHO_ELF={r5}");
}
