//! ZynqMP A53 half of the smoke test: starts R5 core 0 through PSCI and
//! exchanges values with it through shared DDR using the metal layer.
#![no_std]
#![no_main]

#[path = "../../../common/smoke.rs"]
mod smoke;

use core::time::Duration;

use openamp_metal::{Error, Notify, WaitNotify};
use openamp_metal_sys_baremetal::doorbell::PolledDoorbell;
use openamp_metal_sys_baremetal::machine::zynqmp::QEMU_R5_0_CPU;
use openamp_metal_sys_baremetal::rpu::psci_cpu_on;
use openamp_metal_sys_baremetal::timer::GenericTimer;
use openamp_metal_sys_baremetal::{entry, exit, println};

const ROUNDS: u32 = 100;

entry!(main);

fn main() -> ! {
    match run() {
        Ok(()) => {
            println!(
                "a53: smoke passed: {ROUNDS} rounds of {} values matched",
                smoke::N
            );
            exit(0)
        }
        Err(e) => {
            println!("a53: smoke FAILED: {e}");
            exit(1)
        }
    }
}

fn run() -> Result<(), Error> {
    let shm = smoke::shared(smoke::SHM_BASE, smoke::SHM_LEN)?;
    // Clears the smoke page and the trace page after it.
    shm.fill(0, smoke::SHM_LEN, 0)?;
    smoke::shared(smoke::TRACE_BASE, smoke::TRACE_LEN)?.fill(0, smoke::TRACE_LEN, 0)?;
    let bell = PolledDoorbell::new(shm, smoke::BELL_A53, smoke::BELL_R5, GenericTimer::new())?;

    let ret = psci_cpu_on(QEMU_R5_0_CPU, smoke::R5_ENTRY);
    if ret != 0 {
        println!("a53: PSCI CPU_ON(R5 0) returned {ret}");
        return Err(Error::Os { errno: ret as i32 });
    }
    println!("a53: R5 core 0 started at {:#x}", smoke::R5_ENTRY);
    wait(&bell)?;

    let mut seed = 0x1234_5678u32;
    for round in 1..=ROUNDS {
        let mut values = [0u32; smoke::N];
        for (i, v) in values.iter_mut().enumerate() {
            // xorshift: different values every round.
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            *v = seed;
            shm.write_u32(smoke::VALUES + 4 * i, seed)?;
        }
        shm.write_u32(smoke::ROUND, round)?;
        bell.notify(0)?;
        wait(&bell)?;
        for (i, v) in values.iter().enumerate() {
            let got = shm.read_u32(smoke::RESULTS + 4 * i)?;
            if got != smoke::answer(*v, round) {
                println!("a53: round {round} value {i}: sent {v:#x}, got {got:#x}");
                return Err(Error::InvalidRegion {
                    reason: "R5 answered wrong",
                });
            }
        }
    }
    shm.write_u32(smoke::ROUND, smoke::LAST_ROUND)?;
    bell.notify(0)?;
    // The R5 writes its last trace line, then kicks once more.
    wait(&bell)?;
    print_trace()
}

/// Prints the R5's trace buffer, which a host reads to see the remote's log.
fn print_trace() -> Result<(), Error> {
    let trace = smoke::shared(smoke::TRACE_BASE, smoke::TRACE_LEN)?;
    let mut text = [0u8; 256];
    trace.read_bytes(0, &mut text)?;
    let len = text.iter().position(|b| *b == 0).unwrap_or(text.len());
    match core::str::from_utf8(&text[..len]) {
        Ok(s) => {
            for line in s.lines() {
                println!("a53: R5 trace: {line}");
            }
            Ok(())
        }
        Err(_) => Err(Error::InvalidRegion {
            reason: "R5 trace is not UTF-8",
        }),
    }
}

fn wait(bell: &impl WaitNotify) -> Result<(), Error> {
    match bell.wait(Duration::from_secs(5))? {
        Some(_) => Ok(()),
        None => Err(Error::Timeout),
    }
}
