//! `rsc-table`: prints the resource table of a firmware ELF (its
//! `.resource_table` section) or of a raw table image, like `readelf` prints
//! headers, or as JSON with `--json`. A broken table prints the error and
//! exits with status 1.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use openamp_rsc_table::{ResourceTable, RESOURCE_TABLE_SECTION};

mod elf;
mod render;

/// Print the remoteproc resource table of a firmware ELF or a raw table image.
#[derive(Debug, Parser)]
#[command(name = "rsc-table", version)]
struct Args {
    /// A firmware ELF file, or a raw table image (e.g. a shared-memory dump).
    file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Byte offset of the table in a raw image (decimal or 0x-hex).
    #[arg(long, default_value = "0", value_parser = parse_offset)]
    offset: usize,
}

fn parse_offset(s: &str) -> Result<usize, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => usize::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|e| format!("bad offset {s:?}: {e}"))
}

/// Where the table came from, for the report.
pub enum Origin {
    /// An ELF section.
    Elf {
        /// Load address of the section.
        addr: u64,
        /// File offset of the section.
        file_offset: u64,
    },
    /// A raw image, at this offset.
    Raw {
        /// Offset of the table in the file.
        offset: usize,
    },
}

fn run(args: &Args) -> Result<String, String> {
    let data = std::fs::read(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let (bytes, origin) = if elf::is_elf(&data) {
        let s = elf::find_section(&data, RESOURCE_TABLE_SECTION)?;
        let origin = Origin::Elf {
            addr: s.addr,
            file_offset: s.file_offset,
        };
        (s.bytes, origin)
    } else {
        let bytes = data.get(args.offset..).ok_or_else(|| {
            format!(
                "offset {:#x} is past the end of the file ({:#x} bytes)",
                args.offset,
                data.len()
            )
        })?;
        (
            bytes,
            Origin::Raw {
                offset: args.offset,
            },
        )
    };
    let table = ResourceTable::parse(bytes).map_err(|e| format!("invalid resource table: {e}"))?;
    let source = args.file.display().to_string();
    Ok(if args.json {
        render::json(&table, &source, &origin)
    } else {
        render::text(&table, &source, &origin)
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "file": args.file.display().to_string(), "error": e })
                );
            }
            eprintln!("rsc-table: {}: {e}", args.file.display());
            ExitCode::FAILURE
        }
    }
}
