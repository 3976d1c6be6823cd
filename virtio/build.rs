//! Declares the `loom` cfg, under which the unit tests run the loom model of
//! the ring (see `src/tests/model.rs`), so that rustc's cfg check knows it.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(loom)");
}
