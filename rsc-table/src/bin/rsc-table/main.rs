//! `rsc-table`: prints the resource table of a firmware ELF (its
//! `.resource_table` section) or of a raw table image, like `readelf` prints
//! headers, or as JSON with `--json`. An ELF is first checked as the loader
//! of `openamp-remoteproc` checks it (`openamp_rsc_table::elf`), so an image
//! the loader refuses is refused here, with the same error. A broken image
//! or table prints the error and exits with status 1.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use openamp_rsc_table::elf::{ElfImage, ElfLimits, DEFAULT_MACHINES};
use openamp_rsc_table::{ResourceTable, RESOURCE_TABLE_SECTION};

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
    /// Read the file as an ELF even if it does not start with the ELF magic
    /// (without this, such a file is a raw table image).
    #[arg(long, conflicts_with = "offset")]
    elf: bool,
    /// Byte offset of the table in a raw image (decimal or 0x-hex).
    #[arg(long, default_value = "0", value_parser = parse_offset)]
    offset: usize,
    /// Accept ELF files for this `e_machine` too (repeatable). ARM (40) and
    /// AArch64 (183) are always accepted, as by the loader.
    #[arg(long = "machine", value_name = "E_MACHINE")]
    machines: Vec<u16>,
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
        /// Address of the section (`sh_addr`).
        addr: u64,
        /// File offset of the section.
        file_offset: u64,
        /// Device address a loader puts it at.
        da: u64,
        /// Program header index of the segment that loads it.
        segment: usize,
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
    let (bytes, origin) = if args.elf || data.starts_with(b"\x7fELF") {
        let machines: Vec<u16> = DEFAULT_MACHINES
            .iter()
            .chain(&args.machines)
            .copied()
            .collect();
        let limits = ElfLimits {
            machines: &machines,
            ..ElfLimits::DEFAULT
        };
        let image =
            ElfImage::from_bytes(&data, &limits).map_err(|e| format!("invalid ELF: {e}"))?;
        let (Some(t), Some(bytes)) = (image.resource_table, image.table_bytes(&data)) else {
            return Err(format!(
                "no {RESOURCE_TABLE_SECTION} section in the ELF file"
            ));
        };
        let origin = Origin::Elf {
            addr: t.addr,
            file_offset: t.offset,
            da: t.da,
            segment: t.segment,
        };
        (bytes, origin)
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
