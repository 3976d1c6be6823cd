//! Reports the exception level the A53 was started at and the one it runs
//! at. The start-up code runs the application at EL1: from EL1 as it is,
//! from EL2 after dropping there; at EL3 it refuses (the run then ends with
//! status 1 and a message). `cargo xtask qemu zcu102 el`, `el2` and `el3`
//! start QEMU at each level.
#![no_std]
#![no_main]

use openamp_metal::{Clock, DelayNs};
use openamp_metal_sys_baremetal::timer::GenericTimer;
use openamp_metal_sys_baremetal::{boot_el, current_el, entry, exit, println};

entry!(main);

fn main() -> ! {
    let (boot, now) = (boot_el(), current_el());
    println!("a53: started at EL{boot}, running at EL{now}");
    // The timer works at EL1 after the drop (EL2 opened it to EL1).
    let mut timer = GenericTimer::new();
    let t0 = timer.now_ns();
    timer.delay_us(50);
    let took = timer.now_ns() - t0;
    if now != 1 || took < 50_000 {
        println!("a53: el FAILED (EL{now}, 50 us delay took {took} ns)");
        exit(1)
    }
    println!(
        "a53: el passed: EL1, generic timer at {} Hz",
        timer.frequency()
    );
    exit(0)
}
