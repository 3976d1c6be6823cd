//! The RPMsg echo demo: host and remote as two Linux processes.
//!
//! `demo` alone starts an echo remote as a child process and plays the ping
//! host against it, with private paths for the shared file and the socket.
//! `demo --role remote` and `demo --role host` run one side each, at
//! OpenAMP's paths (`/dev/shm/openamp.shm`, `/tmp/openamp.event.0`) unless
//! `--shm`/`--socket` say otherwise, so either side can meet OpenAMP's C
//! echo remote or ping host.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use openamp_examples_linux::profile::{self, Profile, PROFILES};
use openamp_examples_linux::{echo, ping, DEMO_CHANNEL};
use openamp_metal_sys_linux::PrivateDir;
use openamp_remoteproc::linux::LinuxProcessLayout;

const TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    match parse() {
        Ok(Parsed::Help) => {
            print!("{}", help());
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(args)) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("demo: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("demo: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

struct Args {
    role: Option<String>,
    shm: Option<PathBuf>,
    socket: Option<PathBuf>,
    rounds: u64,
    profile: &'static Profile,
}

enum Parsed {
    Help,
    Run(Args),
}

const USAGE: &str = "usage: demo [--role host|remote] [--shm PATH] [--socket PATH] [--rounds N] \
                     [--profile NAME]";

fn help() -> String {
    let mut s = format!(
        "{USAGE}\n\n\
         RPMsg echo over OpenAMP's Linux-process platform (a shared file and a Unix socket).\n\
         The remote announces the endpoint \"{DEMO_CHANNEL}\" and echoes every message\n\
         back; the host binds to it, sends every payload size from 1 to 496 bytes (--rounds\n\
         times), checks each echo byte for byte, then destroys its endpoint, which sends a\n\
         name-service DESTROY: the remote sees its endpoint unbound and exits. Payloads are\n\
         arbitrary bytes; a payload starting with the u32 0xEF56A55A also stops the remote.\n\n\
         --role host|remote  run one side only, at OpenAMP's paths (/dev/shm/openamp.shm,\n\
         \x20                   /tmp/openamp.event.0), to meet OpenAMP C's echo remote or ping\n\
         \x20                   host; without --role, both sides run as two processes at private paths\n\
         --shm PATH, --socket PATH  other paths (also OPENAMP_SHM_PATH, OPENAMP_EVENT_SOCKET)\n\
         --rounds N          host: how many times every size is sent (default 2)\n\
         --profile NAME      what this side writes where peers differ (default ours):\n"
    );
    for p in PROFILES {
        s += &format!("    {:<12} {}\n", p.name, p.about);
    }
    s
}

fn parse() -> Result<Parsed, String> {
    let mut args = Args {
        role: None,
        shm: None,
        socket: None,
        rounds: 2,
        profile: &PROFILES[0],
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--role" => args.role = Some(value()?),
            "--shm" => args.shm = Some(PathBuf::from(value()?)),
            "--socket" => args.socket = Some(PathBuf::from(value()?)),
            "--rounds" => args.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--profile" => args.profile = profile::find(&value()?)?,
            "-h" | "--help" => return Ok(Parsed::Help),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Parsed::Run(args))
}

fn layout(args: &Args, private: Option<&PrivateDir>) -> LinuxProcessLayout {
    // OPENAMP_SHM_PATH / OPENAMP_EVENT_SOCKET, as a remoteproc Linux-process
    // platform passes them, else OpenAMP's defaults.
    let mut layout = LinuxProcessLayout::from_env();
    if let Some(dir) = private {
        // Both sides in one command: paths in a fresh 0700 directory with a
        // random name, so a real OpenAMP run on the same machine is not
        // disturbed and no other user can plant anything there first.
        let d = LinuxProcessLayout::in_dir(dir.path());
        layout.shm_path = d.shm_path;
        layout.socket_path = d.socket_path;
    }
    if let Some(p) = &args.shm {
        layout.shm_path = p.clone();
    }
    if let Some(p) = &args.socket {
        layout.socket_path = p.clone();
    }
    layout
}

fn run(args: &Args) -> Result<(), String> {
    match args.role.as_deref() {
        Some("remote") => {
            let report = echo::run(&layout(args, None), TIMEOUT, args.profile.config())?;
            eprintln!("echo remote: {} messages echoed", report.echoed);
            Ok(())
        }
        Some("host") => host(&layout(args, None), args),
        Some(other) => Err(format!("unknown role {other:?}")),
        None => both(args),
    }
}

fn host(layout: &LinuxProcessLayout, args: &Args) -> Result<(), String> {
    let side = ping::connect(layout, TIMEOUT)?;
    let dev = ping::device_with(&side, args.profile.config())?;
    let ep = ping::bind_demo(&dev, TIMEOUT)?;
    let report = ping::run(&dev, ep, args.rounds, TIMEOUT)?;
    // Destroying the endpoint announces it, which ends the echo remote.
    dev.destroy_endpoint(ep).map_err(|e| format!("host: {e}"))?;
    let stats = dev.stats();
    println!(
        "demo: {} messages of 1..={} bytes echoed and checked ({} payload bytes each way); \
         mean round trip {:.1} us; dropped {}",
        report.messages,
        dev.max_payload(),
        report.bytes,
        report.mean_us(),
        stats.dropped_unknown_addr + stats.dropped_malformed
    );
    Ok(())
}

fn both(args: &Args) -> Result<(), String> {
    let dir = if args.shm.is_none() && args.socket.is_none() {
        Some(PrivateDir::new("openamp-rs-demo-").map_err(|e| format!("private directory: {e}"))?)
    } else {
        None
    };
    let layout = layout(args, dir.as_ref());
    let me = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let mut child = Command::new(me)
        .args(["--role", "remote", "--profile", args.profile.name, "--shm"])
        .arg(&layout.shm_path)
        .arg("--socket")
        .arg(&layout.socket_path)
        .spawn()
        .map_err(|e| format!("cannot start the remote: {e}"))?;
    let result = host(&layout, args);
    if result.is_err() {
        let _ = child.kill();
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for the remote: {e}"));
    let _ = std::fs::remove_file(&layout.shm_path);
    result?;
    match status? {
        s if s.success() => Ok(()),
        s => Err(format!("remote exited with {s}")),
    }
}
