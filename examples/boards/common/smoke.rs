#![allow(dead_code)] // each image uses its half of the map

//! The memory map and protocol both ZynqMP images agree on (smoke and echo).
//!
//! Smoke: the A53 zeroes the shared page, starts R5 core 0 at `R5_ENTRY`, and waits
//! for the R5's "ready" kick. Each round it writes `VALUES` and the round
//! number, kicks, and waits for the R5 to fill `RESULTS` with
//! `value * 3 + round` and kick back. Round `LAST_ROUND` tells the R5 to stop.

/// Where the R5 starts: its reset vector at 0x0, the start of its ATCM,
/// where its images link their vectors (memory.x). Under QEMU, which models
/// no TCM, 0x0 is DDR.
pub const R5_ENTRY: u64 = 0;
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

/// The echo firmware's DDR carveout (`rproc_0_fw_image` in Xilinx's device
/// trees): the image's DDR part, then (past the image, in its last 8 KiB)
/// the control page and the trace buffer.
pub const FW_CARVEOUT: usize = 0x3ED0_0000;
/// Its size.
pub const FW_CARVEOUT_LEN: usize = 0x4_0000;
/// The echo's control page: the R5 writes 1 at [`R5_PARKED`] once it has
/// left its echo loop and parked (the host's `stop` waits for it).
pub const R5_CONTROL: usize = 0x3ED3_E000;
/// Offset of the "parked" word in the control page.
pub const R5_PARKED: usize = 0;
/// The echo firmware's trace buffer (named `r5_trace` in its table).
pub const ECHO_TRACE: usize = 0x3ED3_F000;
/// Its size.
pub const ECHO_TRACE_LEN: usize = 0x1000;
/// Where the echo's host places the two vrings (a `MemPool` for the
/// table's "any" addresses): the `vdev0vring0` and `vdev0vring1`
/// carveouts of Xilinx's device trees, 16 KiB each.
pub const VRING_POOL: usize = 0x3ED4_0000;
/// Its size.
pub const VRING_POOL_LEN: usize = 0x8000;
/// The host's RPMsg buffers (`vdev0buffer`, 1 MiB): our host uses 256
/// receive and 256 transmit buffers of 512 bytes, the first 256 KiB.
pub const BUFFER_POOL: usize = 0x3ED4_8000;
/// Its size.
pub const BUFFER_POOL_LEN: usize = 0x10_0000;
/// The part of it our host hands out.
pub const HOST_BUFFERS_LEN: usize = 0x4_0000;
/// Everything of the echo's that both cores reach besides the image:
/// control page, trace, vrings and buffers.
pub const ECHO_SHARED: usize = R5_CONTROL;
/// Its size.
pub const ECHO_SHARED_LEN: usize = BUFFER_POOL + BUFFER_POOL_LEN - R5_CONTROL;

/// The shared page and doorbell words the smoke test and (under QEMU) the
/// echo's polled doorbell use.
pub const WINDOW: usize = SHM_BASE;
/// Its size (the smoke page and the smoke's trace page).
pub const WINDOW_LEN: usize = 0x2000;

/// The echo's shared memory as a region.
pub fn echo_shared() -> openamp_metal::Result<openamp_metal::IoRegion<'static>> {
    // SAFETY: ECHO_SHARED..+ECHO_SHARED_LEN is DDR reserved for the echo
    // (past the R5 image in its carveout, then the vring and buffer
    // carveouts), which neither image is linked into, identity-mapped with
    // the MMU/MPU off; only the two cores touch it, through IoRegion's
    // volatile and atomic accesses, for the life of the program.
    unsafe {
        openamp_metal::IoRegion::new(
            ECHO_SHARED as *mut u8,
            ECHO_SHARED_LEN,
            openamp_metal::PhysMap::Contiguous(ECHO_SHARED as u64),
            openamp_metal::IoAttr::UNCACHED,
        )
    }
}

/// A part of the echo's shared memory, named by its address.
pub fn echo_part(
    base: usize,
    len: usize,
) -> openamp_metal::Result<openamp_metal::IoRegion<'static>> {
    echo_shared()?.sub_region(base.wrapping_sub(ECHO_SHARED), len)
}

/// The smoke's shared window as a region.
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
