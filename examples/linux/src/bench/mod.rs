//! The benchmark behind `cargo xtask bench` (the `bench` binary): RPMsg
//! latency, throughput and cost per message on OpenAMP's Linux-process
//! platform, each next to the machine's floor.
//!
//! - [`floor`]: two processes ping-ponging a counter in shared memory (the
//!   round-trip floor) and memcpy bandwidth (the floor for bulk copies);
//! - [`session`]: an RPMsg host and the remote it spawns, over a memfd laid
//!   out as OpenAMP's Linux-process platform, woken by busy polling, a Unix
//!   socket or a pair of eventfds;
//! - [`stats`]: medians and percentiles; [`plot`]: the PNG charts;
//!   [`alloc`]: a counting allocator, to show the message path allocates
//!   nothing.

pub mod alloc;
pub mod floor;
pub mod plot;
pub mod report;
pub mod session;
pub mod stats;

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Pins the calling thread to `cpu`, if the machine has it. Returns whether
/// it did (a machine or container with fewer CPUs is not an error: the
/// figures are then just noisier).
pub fn pin_to(cpu: usize) -> bool {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set).is_ok()
}

/// The CPUs this process may run on (at most the first 64).
pub fn allowed_cpus() -> Vec<usize> {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..64).filter(|&c| set.is_set(c)).collect(),
        Err(_) => Vec::new(),
    }
}

/// Takes ownership of a descriptor inherited from the parent process,
/// named on our command line.
///
/// Fails unless `fd` is open; the caller must not use the number again.
pub fn inherited_fd(fd: RawFd) -> Result<OwnedFd, String> {
    if fd < 3 {
        return Err(format!("descriptor {fd} is not an inherited one"));
    }
    rustix::io::fcntl_getfd(
        // SAFETY: only used for this fcntl, while `fd` is not owned by anyone
        // else in this process (it was inherited, named on our command line).
        unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) },
    )
    .map_err(|e| format!("descriptor {fd} is not open: {e}"))?;
    // SAFETY: `fd` is open (checked above) and nothing else in this process
    // owns it: the parent passed its number to us alone, and we take it once.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
