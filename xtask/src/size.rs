//! `cargo xtask size`: flash and RAM of the R5 echo firmware, and each
//! crate's share of it, built with a profile tuned for size.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use goblin::elf::section_header::{SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS};
use goblin::elf::Elf;

use crate::boards::elf_path;
use crate::process::{cargo_nightly, root, run};
use crate::setup;

/// OpenAMP C's R5 echo remote on this machine kind (notes/baselines.md).
const C_TEXT_TOTAL: u64 = 17_708;
/// Its RPMsg + virtio + resource-table part.
const C_PROTOCOL: u64 = 10_094;

/// Crates that make up "the protocol part" (RPMsg, virtio, resource table).
const PROTOCOL_CRATES: &[&str] = &["openamp_rpmsg", "openamp_virtio", "openamp_rsc_table"];

pub fn run_size() -> Result<(), String> {
    setup::nightly_components()?;
    let boards = root().join("examples").join("boards");
    let mut cmd = cargo_nightly();
    cmd.current_dir(&boards)
        .args(["build", "--profile", "size", "-Zbuild-std=core,alloc"])
        .args([
            "-Zbuild-std-features=compiler-builtins-mem",
            "--target",
            "armv7r-none-eabihf",
        ])
        .args(["--package", "zcu102-r5", "--bin", "echo"]);
    run(&mut cmd)?;
    let elf_file = boards.join("target/armv7r-none-eabihf/size/echo");
    let bytes =
        std::fs::read(&elf_file).map_err(|e| format!("cannot read {}: {e}", elf_file.display()))?;
    let report = measure(&bytes)?;
    let text = render(&report, &elf_file);
    print!("{text}");
    let out = root().join("target").join("size");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let md = out.join("report.md");
    std::fs::write(&md, &text).map_err(|e| format!("cannot write {}: {e}", md.display()))?;
    eprintln!(
        "written to {} (release build of the same firmware: {})",
        md.display(),
        elf_path("zcu102-r5", "echo").display()
    );
    Ok(())
}

#[derive(Default)]
struct Report {
    text: u64,
    rodata: u64,
    data: u64,
    bss: u64,
    stack: u64,
    heap: u64,
    /// Flash bytes (text + rodata symbols) per crate.
    flash_by_crate: BTreeMap<String, u64>,
    /// RAM bytes (data + bss symbols) per crate.
    ram_by_crate: BTreeMap<String, u64>,
}

fn measure(bytes: &[u8]) -> Result<Report, String> {
    let elf = Elf::parse(bytes).map_err(|e| format!("not an ELF file: {e}"))?;
    let mut r = Report::default();
    let mut kind_of_section = Vec::new();
    for sh in &elf.section_headers {
        let name = elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("");
        let flags = sh.sh_flags;
        let kind = if flags & u64::from(SHF_ALLOC) == 0 {
            Kind::None
        } else if name == ".stack" {
            r.stack += sh.sh_size;
            Kind::None
        } else if flags & u64::from(SHF_EXECINSTR) != 0 {
            r.text += sh.sh_size;
            Kind::Flash
        } else if sh.sh_type == SHT_NOBITS {
            r.bss += sh.sh_size;
            Kind::Ram
        } else if flags & u64::from(SHF_WRITE) != 0 || name == ".resource_table" {
            r.data += sh.sh_size;
            Kind::Ram
        } else {
            r.rodata += sh.sh_size;
            Kind::Flash
        };
        kind_of_section.push(kind);
    }
    for sym in &elf.syms {
        if sym.st_size == 0 {
            continue;
        }
        let Some(kind) = kind_of_section.get(sym.st_shndx) else {
            continue;
        };
        let name = elf.strtab.get_at(sym.st_name).unwrap_or("");
        let owner = crate_of(name);
        if name.contains("HEAP") && matches!(kind, Kind::Ram) {
            r.heap += sym.st_size;
        }
        match kind {
            Kind::Flash => *r.flash_by_crate.entry(owner).or_default() += sym.st_size,
            Kind::Ram => *r.ram_by_crate.entry(owner).or_default() += sym.st_size,
            Kind::None => {}
        }
    }
    Ok(r)
}

#[derive(Clone, Copy)]
enum Kind {
    Flash,
    Ram,
    None,
}

/// The crate a symbol belongs to: the first path segment of its demangled
/// name; for `<T as Trait>::f` with `T` a primitive, the trait's crate.
fn crate_of(mangled: &str) -> String {
    let demangled = format!("{:#}", rustc_demangle::demangle(mangled));
    owner(&demangled).unwrap_or_else(|| {
        if mangled.starts_with("__") {
            "compiler_builtins".into()
        } else {
            "other (start-up, tables)".into()
        }
    })
}

fn owner(name: &str) -> Option<String> {
    let s = name
        .trim_start_matches(['<', '&'])
        .trim_start_matches("mut ")
        .trim_start_matches("dyn ");
    let first = s.split("::").next()?;
    let is_path = s.contains("::")
        && !first.is_empty()
        && first.chars().all(|c| c.is_alphanumeric() || c == '_');
    let primitive = matches!(
        first,
        "u8" | "u16"
            | "u32"
            | "u64"
            | "usize"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "isize"
            | "char"
            | "str"
            | "bool"
    );
    if is_path && !primitive {
        return Some(first.to_string());
    }
    // `<char as core::fmt::Debug>::fmt`: charge the trait's crate.
    name.split_once(" as ").and_then(|(_, rest)| owner(rest))
}

fn render(r: &Report, elf: &std::path::Path) -> String {
    let flash = r.text + r.rodata;
    let ram = r.data + r.bss;
    let protocol: u64 = PROTOCOL_CRATES
        .iter()
        .filter_map(|c| r.flash_by_crate.get(*c))
        .sum();
    let mut s = String::new();
    let _ = writeln!(s, "# Size of the R5 RPMsg echo firmware\n");
    let _ = writeln!(
        s,
        "`{}` (profile `size`: opt-level z, LTO, one codegen unit, panic = abort)\n",
        relative(elf)
    );
    let _ = writeln!(s, "| part | bytes |\n|---|---:|");
    let _ = writeln!(s, "| flash: text | {} |", r.text);
    let _ = writeln!(s, "| flash: rodata | {} |", r.rodata);
    let _ = writeln!(s, "| **flash total** | **{flash}** |");
    let _ = writeln!(s, "| RAM: data (incl. the resource table) | {} |", r.data);
    let _ = writeln!(
        s,
        "| RAM: bss (incl. a {}-byte start-up heap) | {} |",
        r.heap, r.bss
    );
    let _ = writeln!(s, "| **RAM total** (stack reserve of {} not counted; shared buffers live outside) | **{ram}** |", r.stack);
    let _ = writeln!(s, "\n## Each crate's share (symbol sizes)\n");
    let _ = writeln!(s, "| crate | flash | RAM |\n|---|---:|---:|");
    let mut crates: Vec<&String> = r
        .flash_by_crate
        .keys()
        .chain(r.ram_by_crate.keys())
        .collect();
    crates.sort();
    crates.dedup();
    crates.sort_by_key(|c| std::cmp::Reverse(r.flash_by_crate.get(*c).copied().unwrap_or(0)));
    for c in crates {
        let _ = writeln!(
            s,
            "| {c} | {} | {} |",
            r.flash_by_crate.get(c).copied().unwrap_or(0),
            r.ram_by_crate.get(c).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(
        s,
        "\n## Against OpenAMP C (gcc -Os, newlib-nano; measured on this machine kind)\n"
    );
    let _ = writeln!(
        s,
        "| figure | OpenAMP C | ours | ratio | target |\n|---|---:|---:|---:|---|"
    );
    let _ = writeln!(
        s,
        "| whole ELF, text | {C_TEXT_TOTAL} | {flash} | {:.2}x | <= 6 KB |",
        flash as f64 / C_TEXT_TOTAL as f64
    );
    let _ = writeln!(
        s,
        "| RPMsg + virtio + resource table | {C_PROTOCOL} | {protocol} | {:.2}x | <= 2.9 KB |",
        protocol as f64 / C_PROTOCOL as f64
    );
    s
}

fn relative(p: &std::path::Path) -> String {
    p.strip_prefix(root())
        .map(PathBuf::from)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}
