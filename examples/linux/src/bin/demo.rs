//! Host and remote echoing over shared memory, as two Linux processes.
//!
//! `demo` alone starts a remote child process and plays the host against it.
//! `demo --role remote` and `demo --role host` run one side each, meeting at
//! OpenAMP's Linux-process paths (`/dev/shm/openamp.shm`,
//! `/tmp/openamp.event.0`) unless `--shm` and `--socket` say otherwise.
//!
//! Until the RPMsg layer lands, the echo travels through a mailbox in the
//! shared file (length word + payload in each direction) with one kick per
//! message over the Unix socket: the portability layer end to end.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use openamp_metal::{IoRegion, Notify, WaitNotify};
use openamp_metal_sys_linux::LinuxProcessConfig;

/// Host -> remote mailbox: length at +0, payload at +8.
const TO_REMOTE: usize = 0x10000;
/// Remote -> host mailbox.
const TO_HOST: usize = 0x20000;
/// Largest payload, as RPMsg's default 512-byte buffer minus its header.
const MAX_PAYLOAD: usize = 496;
/// A length that tells the remote to stop.
const STOP: u32 = u32::MAX;
const TIMEOUT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    role: Option<String>,
    config: LinuxProcessConfig,
    rounds: usize,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        role: None,
        config: LinuxProcessConfig::default(),
        rounds: 2,
    };
    let mut own_paths = true;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--role" => args.role = Some(value()?),
            "--shm" => {
                args.config.shm_path = PathBuf::from(value()?);
                own_paths = false;
            }
            "--socket" => {
                args.config.socket_path = PathBuf::from(value()?);
                own_paths = false;
            }
            "--rounds" => args.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "-h" | "--help" => {
                return Err(
                    "usage: demo [--role host|remote] [--shm PATH] [--socket PATH] [--rounds N]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    // Both sides in one command: private paths, so a real OpenAMP run on the
    // same machine is not disturbed.
    if args.role.is_none() && own_paths {
        let pid = std::process::id();
        args.config.shm_path = PathBuf::from(format!("/dev/shm/openamp-rs-demo-{pid}.shm"));
        args.config.socket_path = std::env::temp_dir().join(format!("openamp-rs-demo-{pid}.sock"));
    }
    Ok(args)
}

fn run() -> Result<(), String> {
    let args = parse()?;
    match args.role.as_deref() {
        Some("remote") => remote(&args.config),
        Some("host") => host(&args.config, args.rounds),
        Some(other) => Err(format!("unknown role {other:?} (host or remote)")),
        None => both(&args),
    }
}

fn both(args: &Args) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let mut child = Command::new(me)
        .args(["--role", "remote", "--shm"])
        .arg(&args.config.shm_path)
        .arg("--socket")
        .arg(&args.config.socket_path)
        .spawn()
        .map_err(|e| format!("cannot start the remote: {e}"))?;
    let result = host(&args.config, args.rounds);
    let status = child
        .wait()
        .map_err(|e| format!("waiting for the remote: {e}"));
    let _ = std::fs::remove_file(&args.config.shm_path);
    result?;
    match status? {
        s if s.success() => Ok(()),
        s => Err(format!("remote exited with {s}")),
    }
}

fn remote(config: &LinuxProcessConfig) -> Result<(), String> {
    let side = config.remote(TIMEOUT).map_err(|e| format!("remote: {e}"))?;
    let shm = side.shm.region();
    let mut buf = [0u8; MAX_PAYLOAD];
    loop {
        if side
            .kick
            .wait(TIMEOUT)
            .map_err(|e| format!("remote: {e}"))?
            .is_none()
        {
            return Err("remote: no message from the host in time".into());
        }
        let len = shm.read_u32(TO_REMOTE).map_err(|e| e.to_string())?;
        if len == STOP {
            return Ok(());
        }
        // The host is a peer we do not trust: a length past the mailbox is refused.
        let payload = buf
            .get_mut(..len as usize)
            .ok_or(format!("remote: message of {len} bytes is too long"))?;
        shm.read_bytes(TO_REMOTE + 8, payload)
            .map_err(|e| e.to_string())?;
        shm.write_bytes(TO_HOST + 8, payload)
            .map_err(|e| e.to_string())?;
        shm.write_u32(TO_HOST, len).map_err(|e| e.to_string())?;
        side.kick.notify(0).map_err(|e| format!("remote: {e}"))?;
    }
}

fn host(config: &LinuxProcessConfig, rounds: usize) -> Result<(), String> {
    let side = config.host(TIMEOUT).map_err(|e| format!("host: {e}"))?;
    let shm = side.shm.region();
    let (mut messages, mut bytes, mut total) = (0usize, 0usize, Duration::ZERO);
    let mut sent = [0u8; MAX_PAYLOAD];
    let mut got = [0u8; MAX_PAYLOAD];
    for round in 0..rounds {
        for size in 1..=MAX_PAYLOAD {
            for (i, b) in sent[..size].iter_mut().enumerate() {
                *b = (i + size + round) as u8;
            }
            let t = Instant::now();
            echo(&shm, &side.kick, &sent[..size], &mut got[..size])?;
            total += t.elapsed();
            if sent[..size] != got[..size] {
                return Err(format!("echo of {size} bytes came back different"));
            }
            messages += 1;
            bytes += size;
        }
    }
    shm.write_u32(TO_REMOTE, STOP).map_err(|e| e.to_string())?;
    side.kick.notify(0).map_err(|e| format!("host: {e}"))?;
    println!(
        "demo: {messages} messages of 1..={MAX_PAYLOAD} bytes echoed ({bytes} bytes each way), all matched; mean round trip {:.1} us",
        total.as_secs_f64() * 1e6 / messages.max(1) as f64
    );
    Ok(())
}

fn echo(
    shm: &IoRegion<'_>,
    kick: &(impl Notify + WaitNotify),
    out: &[u8],
    back: &mut [u8],
) -> Result<(), String> {
    shm.write_bytes(TO_REMOTE + 8, out)
        .map_err(|e| e.to_string())?;
    shm.write_u32(TO_REMOTE, out.len() as u32)
        .map_err(|e| e.to_string())?;
    kick.notify(0).map_err(|e| format!("host: {e}"))?;
    if kick
        .wait(TIMEOUT)
        .map_err(|e| format!("host: {e}"))?
        .is_none()
    {
        return Err("host: no echo from the remote in time".into());
    }
    let len = shm.read_u32(TO_HOST).map_err(|e| e.to_string())? as usize;
    if len != out.len() {
        return Err(format!("echo of {} bytes came back with {len}", out.len()));
    }
    shm.read_bytes(TO_HOST + 8, back).map_err(|e| e.to_string())
}
