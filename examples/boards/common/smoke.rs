#![allow(dead_code)] // each image uses its half of the map

//! The memory map and protocol both ZynqMP smoke images agree on.
//!
//! The A53 zeroes the shared page, starts R5 core 0 at `R5_ENTRY`, and waits
//! for the R5's "ready" kick. Each round it writes `VALUES` and the round
//! number, kicks, and waits for the R5 to fill `RESULTS` with
//! `value * 3 + round` and kick back. Round `LAST_ROUND` tells the R5 to stop.

/// Where the R5 image is linked: its `_start` is the first byte (memory.x).
pub const R5_ENTRY: u64 = 0x3ED0_0000;
/// The shared page, in DDR, outside both images.
pub const SHM_BASE: usize = 0x3FD0_0000;
/// Its size.
pub const SHM_LEN: usize = 0x1000;
/// Doorbell word written by the A53.
pub const BELL_A53: usize = 0x00;
/// Doorbell word written by the R5.
pub const BELL_R5: usize = 0x04;
/// The round number, written by the A53.
pub const ROUND: usize = 0x08;
/// Values written by the A53.
pub const VALUES: usize = 0x40;
/// Results written by the R5.
pub const RESULTS: usize = 0x80;
/// Number of values per round.
pub const N: usize = 16;
/// The round number that means "stop".
pub const LAST_ROUND: u32 = u32::MAX;

/// The R5's trace buffer (named in its resource table): NUL-terminated log text.
pub const TRACE_BASE: usize = SHM_BASE + SHM_LEN;
/// Its size.
pub const TRACE_LEN: usize = 0x1000;

/// Where the echo example's host places the vrings (a `MemPool` for the
/// table's "any" addresses).
pub const VRING_POOL: usize = 0x3FD1_0000;
/// Its size.
pub const VRING_POOL_LEN: usize = 0x10000;
/// The host's RPMsg buffer pool: 256 receive and 256 transmit buffers of 512 bytes.
pub const BUFFER_POOL: usize = 0x3FE0_0000;
/// Its size.
pub const BUFFER_POOL_LEN: usize = 0x40000;
/// The whole window the two cores share: doorbells, trace, vrings, buffers.
pub const WINDOW: usize = SHM_BASE;
/// Its size (to the end of the low DDR the examples use).
pub const WINDOW_LEN: usize = 0x4000_0000 - SHM_BASE;
/// The echo example's stop handshake: the R5 writes 1 here once it has
/// left its echo loop and parked.
pub const R5_HALTED: usize = 0x0C;

/// The shared window as a region. Both cores of every ZynqMP example reach
/// their shared memory through this one description.
pub fn window() -> openamp_metal::Result<openamp_metal::IoRegion<'static>> {
    // SAFETY: WINDOW..WINDOW + WINDOW_LEN is DDR that neither image is
    // linked into (see both memory.x), identity-mapped with the MMU/MPU off;
    // only the two cores touch it, through IoRegion's volatile and atomic
    // accesses, for the life of the program.
    unsafe {
        openamp_metal::IoRegion::new(
            WINDOW as *mut u8,
            WINDOW_LEN,
            openamp_metal::PhysMap::Contiguous(WINDOW as u64),
            openamp_metal::IoAttr::UNCACHED,
        )
    }
}

/// A part of the window, named by its address.
pub fn shared(base: usize, len: usize) -> openamp_metal::Result<openamp_metal::IoRegion<'static>> {
    window()?.sub_region(base.wrapping_sub(WINDOW), len)
}

/// What the R5 computes from a value.
pub fn answer(value: u32, round: u32) -> u32 {
    value.wrapping_mul(3).wrapping_add(round)
}
