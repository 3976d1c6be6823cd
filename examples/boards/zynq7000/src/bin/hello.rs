//! Zynq-7000 hello: prints on UART0, turns the MMU and caches on, checks
//! the timer and a critical section, and exits through semihosting with status 0.
#![no_std]
#![no_main]

use openamp_metal::{Clock, DelayNs};
use openamp_metal_sys_baremetal::machine::zynq7000::GLOBAL_TIMER_HZ;
use openamp_metal_sys_baremetal::mmu_a9;
use openamp_metal_sys_baremetal::timer::GlobalTimer;
use openamp_metal_sys_baremetal::{entry, exit, println};

entry!(main);

static COUNTER: openamp_metal::Mutex<u32> = openamp_metal::Mutex::new(0);

fn main() -> ! {
    println!("hello from the Zynq-7000 Cortex-A9");
    // MMU and caches on: the Mutex below is an exclusive load/store, which
    // wants Normal memory (with the MMU off everything is Strongly-ordered).
    if mmu_a9::enable(&[]).is_err() || !mmu_a9::is_enabled() {
        println!("hello FAILED: MMU");
        exit(1)
    }
    let mut timer = GlobalTimer::new(GLOBAL_TIMER_HZ);
    let t0 = timer.now_ns();
    timer.delay_us(100);
    let t1 = timer.now_ns();
    critical_section::with(|_| *COUNTER.lock() += 1);
    let count = *COUNTER.lock();
    if t1 < t0 + 100_000 || count != 1 {
        println!(
            "hello FAILED: delay of 100 us took {} ns, counter {count}",
            t1 - t0
        );
        exit(1)
    }
    println!("hello: 100 us delay took {} ns; bye", t1 - t0);
    exit(0)
}
