//! Executes an undefined instruction on purpose: the start-up code's
//! exception reporting must print it and exit with status 1.
#![no_std]
#![no_main]

use openamp_metal_sys_baremetal::{entry, println};

entry!(main);

fn main() -> ! {
    println!("fault: executing an undefined instruction");
    // SAFETY: `udf` raises the undefined-instruction exception, whose
    // handler reports it and ends the program; nothing after it runs.
    unsafe { core::arch::asm!("udf #0", options(noreturn)) }
}
