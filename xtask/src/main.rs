//! `cargo xtask`: the project's automation. Run `cargo xtask help`.

mod bench;
mod boards;
mod coverage;
mod demo;
mod fuzz;
mod process;
mod qemu;
mod setup;
mod size;
mod soak;
mod test;

use std::process::ExitCode;

const USAGE: &str = "\
cargo xtask <command>

commands:
  build                    cross-build every board example into target/boards/<board>/<example>
  qemu <board> [<example>] run a board example under QEMU; exits with the firmware's status
                           (boards: zcu102, zynq7000)
  demo                     run the host demo (two processes echoing over shared memory)
  bench [--quick]          RPMsg latency, throughput and instructions per message next to the
                           machine's floors: target/bench/report.md, report.json, PNG plots
  size                     flash and RAM of the R5 echo firmware, per crate, against OpenAMP C
  fuzz [<target>] [--time S | --runs N] [--sanitizer none|address]
                           build and run the fuzz targets (rsc-table, virtio, rpmsg,
                           remoteproc; all by default, 60 s each): `cargo xtask fuzz help`
  soak [--kills N] [--messages N]
                           fault injection: two processes, the remote then the host killed
                           N times (default 100) over 10^6 messages; prints the counts
  coverage [--html]        line coverage of each crate by the tests (nightly llvm-tools)
  test                     everything: format, lints, host tests, Miri, cross builds, QEMU runs
  setup                    install what the above need (nightly rust-src and miri, QEMU)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["build"] => boards::build_all().map(|elfs| {
            for elf in elfs {
                println!("{}", elf.display());
            }
        }),
        ["qemu", board] => qemu::run(board, None).and_then(qemu::status_to_result),
        ["qemu", board, example] => {
            qemu::run(board, Some(example)).and_then(qemu::status_to_result)
        }
        ["demo", rest @ ..] => demo::run(rest),
        ["bench", rest @ ..] => bench::run(rest),
        ["fuzz", rest @ ..] => fuzz::run_cli(rest),
        ["soak", rest @ ..] => soak::run_soak(rest),
        ["coverage", rest @ ..] => coverage::run_coverage(rest),
        ["test"] => test::run_all(),
        ["size"] => size::run_size(),
        ["setup"] => setup::all(),
        [] | ["help"] | ["--help"] | ["-h"] => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown command {args:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
