//! The machine's floors: two processes ping-ponging a counter in shared
//! memory with busy polling (no RPMsg at all), and memcpy bandwidth.

use std::hint::black_box;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use openamp_metal_sys_linux::{set_inheritable, SharedMemory};

use super::stats::Summary;

/// The counter's offset in the shared page.
const COUNTER: usize = 0;
/// Where the peer says it is ready (another cache line).
const READY: usize = 128;
/// The counter value that tells the peer to stop.
const STOP: u32 = u32::MAX;

/// The ping-pong's result.
#[derive(Debug, Clone)]
pub struct FloorResult {
    /// Each round trip timed alone (one clock read per sample).
    pub samples: Vec<u64>,
    /// Their summary.
    pub summary: Summary,
    /// Mean of a batch of round trips timed as a whole (no clock reads
    /// inside): the purest figure.
    pub batch_mean_ns: f64,
}

/// Runs the ping-pong: spawns `exe floor-peer` (pinned to `peer_cpu`) over
/// a 4 KiB memfd, then times `samples` round trips one by one and `batch`
/// round trips as a whole, after `warmup` untimed ones.
pub fn ping_pong(
    exe: &std::path::Path,
    peer_cpu: Option<usize>,
    warmup: usize,
    samples: usize,
    batch: usize,
) -> Result<FloorResult, String> {
    let shm = SharedMemory::memfd("openamp-bench-floor", 4096).map_err(|e| e.to_string())?;
    let region = shm.region();
    set_inheritable(&shm, true).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.args(["floor-peer", "--shm-fd", &shm.as_raw_fd().to_string()]);
    if let Some(c) = peer_cpu {
        cmd.args(["--cpu", &c.to_string()]);
    }
    let child = cmd.spawn();
    set_inheritable(&shm, false).map_err(|e| e.to_string())?;
    let mut child = super::session::Reaper(Some(
        child.map_err(|e| format!("cannot start the floor peer: {e}"))?,
    ));

    let io = |e: openamp_metal::Error| e.to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while region.load_u32(READY, Ordering::Acquire).map_err(io)? == 0 {
        if Instant::now() > deadline {
            return Err("the floor peer never got ready".into());
        }
        std::thread::yield_now();
    }
    let mut next = 1u32;
    let mut round_trip = || -> Result<(), String> {
        // Odd values go to the peer, which answers with the next even one.
        region
            .store_u32(COUNTER, next, Ordering::Release)
            .map_err(io)?;
        let want = next + 1;
        let mut spins = 0u64;
        while region.load_u32(COUNTER, Ordering::Acquire).map_err(io)? != want {
            spins += 1;
            if spins % (1 << 24) == 0 && Instant::now() > deadline + Duration::from_secs(600) {
                return Err("the floor peer stopped answering".into());
            }
        }
        next += 2;
        Ok(())
    };
    for _ in 0..warmup {
        round_trip()?;
    }
    let mut lat = Vec::with_capacity(samples);
    let mut prev = Instant::now();
    for _ in 0..samples {
        round_trip()?;
        let now = Instant::now();
        lat.push((now - prev).as_nanos() as u64);
        prev = now;
    }
    let t = Instant::now();
    for _ in 0..batch {
        round_trip()?;
    }
    let batch_mean_ns = t.elapsed().as_nanos() as f64 / batch.max(1) as f64;
    region
        .store_u32(COUNTER, STOP, Ordering::Release)
        .map_err(io)?;
    child.wait(Duration::from_secs(10))?;
    let mut sorted = lat.clone();
    let summary = Summary::of(&mut sorted);
    Ok(FloorResult {
        samples: lat,
        summary,
        batch_mean_ns,
    })
}

/// The peer's side of [`ping_pong`]: answers every odd counter value with
/// the next one until told to stop.
pub fn peer(shm: SharedMemory) -> Result<(), String> {
    let region = shm.region();
    let io = |e: openamp_metal::Error| e.to_string();
    region.store_u32(READY, 1, Ordering::Release).map_err(io)?;
    let mut expect = 1u32;
    loop {
        let v = region.load_u32(COUNTER, Ordering::Acquire).map_err(io)?;
        if v == STOP {
            return Ok(());
        }
        if v == expect {
            region
                .store_u32(COUNTER, v + 1, Ordering::Release)
                .map_err(io)?;
            expect += 2;
        }
    }
}

/// memcpy bandwidth in bytes per second.
#[derive(Debug, Clone, Copy)]
pub struct MemcpyResult {
    /// 4 KiB blocks streaming through 64 MiB (bigger than any cache).
    pub streaming_4k: f64,
    /// The same 4 KiB block copied again and again (in L1).
    pub hot_4k: f64,
    /// A 496-byte block copied again and again (one RPMsg payload).
    pub hot_496: f64,
}

/// Measures memcpy: `passes` passes of 4 KiB block copies over 64 MiB, and
/// cache-hot copies of 4 KiB and 496 bytes for about `hot_time`.
pub fn memcpy(passes: usize, hot_time: Duration) -> MemcpyResult {
    const BIG: usize = 64 << 20;
    const BLOCK: usize = 4096;
    let src: Vec<u8> = (0..BIG).map(|i| i as u8).collect();
    let mut dst = vec![0u8; BIG];
    // One untimed pass faults the pages in.
    for (d, s) in dst.chunks_mut(BLOCK).zip(src.chunks(BLOCK)) {
        d.copy_from_slice(s);
    }
    let t = Instant::now();
    for _ in 0..passes {
        for (d, s) in dst.chunks_mut(BLOCK).zip(src.chunks(BLOCK)) {
            black_box(&mut *d).copy_from_slice(black_box(s));
        }
    }
    let streaming_4k = (passes * BIG) as f64 / t.elapsed().as_secs_f64();
    black_box(&dst);
    MemcpyResult {
        streaming_4k,
        hot_4k: hot(BLOCK, hot_time),
        hot_496: hot(496, hot_time),
    }
}

fn hot(size: usize, time: Duration) -> f64 {
    let src = vec![0x5au8; size];
    let mut dst = vec![0u8; size];
    let mut bytes = 0usize;
    let t = Instant::now();
    while t.elapsed() < time {
        for _ in 0..4096 {
            black_box(&mut dst[..]).copy_from_slice(black_box(&src[..]));
        }
        bytes += 4096 * size;
    }
    bytes as f64 / t.elapsed().as_secs_f64()
}

/// Bandwidth of `IoRegion`'s copies next to memcpy's, for one size.
#[derive(Debug, Clone, Copy, Default)]
pub struct RegionCopyResult {
    /// Bytes per copy.
    pub size: usize,
    /// `read_bytes` (shared memory to a private buffer), bytes/s.
    pub read: f64,
    /// `write_bytes` (a private buffer to shared memory), bytes/s.
    pub write: f64,
    /// memcpy between two private buffers, bytes/s, measured in the same
    /// time slices as the two above.
    pub memcpy: f64,
}

/// Measures `IoRegion::read_bytes` and `write_bytes` (relaxed atomic words,
/// bytes at the edges) against memcpy, cache-hot, for each of `sizes`, for
/// about `time` per size. The region is a memfd mapping, as RPMsg's, and
/// the copies start 16 bytes into it, where a payload follows its header.
/// The three copies take turns in short slices, so that a change of clock
/// speed meets all three alike.
pub fn region_copy(sizes: &[usize], time: Duration) -> Result<Vec<RegionCopyResult>, String> {
    const AT: usize = 16;
    const SLICES: u32 = 10;
    let max = sizes.iter().copied().max().unwrap_or(0);
    let shm = SharedMemory::memfd("openamp-bench-copy", (AT + max).next_multiple_of(4096))
        .map_err(|e| e.to_string())?;
    let region = shm.region();
    let src = vec![0x5au8; max];
    let mut dst = vec![0u8; max];
    let mut out = Vec::new();
    for &size in sizes {
        let io = |e: openamp_metal::Error| e.to_string();
        region.write_bytes(AT, &src[..size]).map_err(io)?;
        let slice = time / (3 * SLICES);
        let (mut read, mut write, mut memcpy) = (Rate::default(), Rate::default(), Rate::default());
        for _ in 0..SLICES {
            read.run(size, slice, || {
                black_box(&region)
                    .read_bytes(black_box(AT), black_box(&mut dst[..size]))
                    .map_err(io)
            })?;
            write.run(size, slice, || {
                black_box(&region)
                    .write_bytes(black_box(AT), black_box(&src[..size]))
                    .map_err(io)
            })?;
            memcpy.run(size, slice, || {
                black_box(&mut dst[..size]).copy_from_slice(black_box(&src[..size]));
                Ok(())
            })?;
        }
        out.push(RegionCopyResult {
            size,
            read: read.per_s(),
            write: write.per_s(),
            memcpy: memcpy.per_s(),
        });
    }
    Ok(out)
}

/// Bytes copied and time taken, summed over slices.
#[derive(Default)]
struct Rate {
    bytes: usize,
    time: Duration,
}

impl Rate {
    /// Runs `copy` (of `size` bytes) in batches for about `time`.
    fn run(
        &mut self,
        size: usize,
        time: Duration,
        mut copy: impl FnMut() -> Result<(), String>,
    ) -> Result<(), String> {
        let t = Instant::now();
        loop {
            for _ in 0..1024 {
                copy()?;
            }
            self.bytes += 1024 * size;
            let e = t.elapsed();
            if e >= time {
                self.time += e;
                return Ok(());
            }
        }
    }

    fn per_s(&self) -> f64 {
        self.bytes as f64 / self.time.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}
