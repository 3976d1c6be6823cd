//! The benchmark's results, written as `report.md`, `report.json` and two
//! PNG plots.

use std::fmt::Write as _;
use std::path::Path;

use super::plot::{short, Axis, Canvas, BLACK, GRID, PALETTE};
use super::stats::Summary;

/// OpenAMP C's echo round trip with Unix-socket kicks, 32 bytes (us), as
/// measured on this machine kind (not in this run): 30-50 us.
pub const C_ECHO_US: (f64, f64) = (30.0, 50.0);
/// OpenAMP C's flood rate, 32 or 496 bytes (messages/s).
pub const C_FLOOD: f64 = 450_000.0;
/// OpenAMP C's instructions per echo round trip, protocol code only.
pub const C_INSTR: (f64, f64) = (1044.0, 906.0);

/// The machine the figures come from.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// `nproc`.
    pub cpus: usize,
    /// CPU model from /proc/cpuinfo.
    pub model: String,
    /// Kernel release.
    pub kernel: String,
    /// The CPUs host and remote were pinned to, if they were.
    pub pinned: Option<(usize, usize)>,
    /// When the run started (UTC, from `date`).
    pub date: String,
    /// `--quick` run.
    pub quick: bool,
    /// The source revision measured (`git describe --always --dirty`).
    pub revision: String,
}

/// The floor round trip.
#[derive(Debug, Clone)]
pub struct Floor {
    /// Per-sample summary (ns).
    pub summary: Summary,
    /// Batch mean (ns).
    pub batch_mean_ns: f64,
    /// A sorted subsample of the latencies, for the plot.
    pub cdf: Vec<u64>,
}

/// One echo configuration's result.
#[derive(Debug, Clone)]
pub struct Echo {
    /// Wait mode name.
    pub wait: String,
    /// Payload bytes.
    pub size: usize,
    /// Buffer size, header included.
    pub buffer: u32,
    /// Per-sample summary (ns).
    pub summary: Summary,
    /// Batch mean (ns).
    pub batch_mean_ns: f64,
    /// Heap allocations per round trip, host and remote.
    pub allocs: (f64, f64),
    /// Sorted latencies (subsampled), for the plot.
    pub cdf: Vec<u64>,
}

/// One throughput configuration's result.
#[derive(Debug, Clone)]
pub struct Throughput {
    /// Wait mode name.
    pub wait: String,
    /// Payload bytes.
    pub size: usize,
    /// Zero-copy (fill in place, peek in place) or copying.
    pub zero_copy: bool,
    /// Messages sent.
    pub count: usize,
    /// Messages per second.
    pub msgs_per_s: f64,
    /// Payload bytes per second.
    pub bytes_per_s: f64,
    /// Heap allocations per message, host and remote.
    pub allocs: (f64, f64),
}

/// Instructions per round trip on one side, from callgrind.
#[derive(Debug, Clone, Default)]
pub struct Instr {
    /// "host" or "remote".
    pub side: String,
    /// Total user-space instructions per round trip.
    pub total: f64,
    /// Per group of functions (name, instructions per round trip).
    pub groups: Vec<(String, f64)>,
}

/// memcpy bandwidths (bytes/s).
#[derive(Debug, Clone, Copy, Default)]
pub struct Memcpy {
    /// 4 KiB blocks over 64 MiB.
    pub streaming_4k: f64,
    /// One 4 KiB block, cache-hot.
    pub hot_4k: f64,
    /// One 496-byte block, cache-hot.
    pub hot_496: f64,
}

/// `IoRegion`'s copies against memcpy for one size, cache-hot, bytes/s.
#[derive(Debug, Clone, Copy, Default)]
pub struct RegionCopy {
    /// Bytes per copy.
    pub size: usize,
    /// `read_bytes`: shared memory to a private buffer.
    pub read: f64,
    /// `write_bytes`: a private buffer to shared memory.
    pub write: f64,
    /// memcpy, in the same time slices.
    pub memcpy: f64,
}

/// Everything one run measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Where.
    pub machine: Machine,
    /// Section 1.
    pub floor: Option<Floor>,
    /// Section 2.
    pub echo: Vec<Echo>,
    /// Section 3.
    pub throughput: Vec<Throughput>,
    /// Section 4 (empty if skipped, with the reason in `instr_note`).
    pub instr: Vec<Instr>,
    /// Why section 4 is missing or how it was measured.
    pub instr_note: String,
    /// Section 5.
    pub memcpy: Memcpy,
    /// Section 5: the shared-memory copies against memcpy.
    pub region_copy: Vec<RegionCopy>,
}

/// Keeps at most `n` evenly spaced values of sorted `v`.
pub fn subsample(sorted: &[u64], n: usize) -> Vec<u64> {
    if sorted.len() <= n {
        return sorted.to_vec();
    }
    (0..n)
        .map(|i| sorted[i * (sorted.len() - 1) / (n - 1)])
        .collect()
}

fn ns(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} ms", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.2} us", v / 1e3)
    } else {
        format!("{v:.0} ns")
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "-".into()
    }
}

fn gbs(v: f64) -> String {
    format!("{:.2} GB/s", v / 1e9)
}

impl Results {
    /// The busy-poll echo of `size` bytes, if measured.
    fn echo_of(&self, wait: &str, size: usize) -> Option<&Echo> {
        self.echo.iter().find(|e| e.wait == wait && e.size == size)
    }

    /// The report in Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(s, "# openamp-rs benchmark report\n");
        let _ = writeln!(
            s,
            "Machine: {} CPUs, {}, Linux {}; {}; run {}{}; source {}.\n",
            m.cpus,
            m.model,
            m.kernel,
            match m.pinned {
                Some((h, r)) => format!("host pinned to CPU {h}, remote to CPU {r}"),
                None => "processes not pinned (fewer than 2 CPUs allowed)".into(),
            },
            m.date,
            if m.quick {
                " (--quick: fewer samples)"
            } else {
                ""
            },
            if m.revision.is_empty() {
                "unknown"
            } else {
                &m.revision
            }
        );
        let _ = writeln!(
            s,
            "Host and remote are separate processes on OpenAMP's Linux-process layout \
             (a memfd, vrings of 256 entries). Wall-clock figures on a shared machine vary \
             between runs: compare figures of one run, and prefer the instruction counts.\n"
        );

        // 1. floor
        let _ = writeln!(s, "## 1. Floor: shared-memory ping-pong\n");
        let floor = self.floor.as_ref();
        if let Some(f) = floor {
            let _ = writeln!(
                s,
                "Two processes ping-pong a counter in one cache line of shared memory, \
                 busy polling, no RPMsg.\n\n\
                 | round trip | median | p99 | mean of a batch (no clock reads) |\n|---|---|---|---|\n\
                 | floor | {} | {} | {} |\n",
                ns(f.summary.median),
                ns(f.summary.p99),
                ns(f.batch_mean_ns)
            );
        }
        let floor_median = floor.map_or(0.0, |f| f.summary.median);
        let floor_mean = floor.map_or(0.0, |f| f.batch_mean_ns);

        // 2. echo
        let _ = writeln!(s, "## 2. RPMsg echo round trip\n");
        let _ = writeln!(
            s,
            "The host sends a payload to the remote's echo endpoint and waits for it to \
             come back (`send_to_timeout` + `recv_timeout`, the echo copied out); the remote \
             echoes from a callback run by `poll`. Samples are timed one by one (one clock \
             read each); the batch mean times many round trips as a whole. Ratios are to the \
             floor's figure of the same kind. Allocations are heap allocations per round trip \
             (host / remote).\n"
        );
        let _ = writeln!(
            s,
            "| wait | payload | buffer | median | p99 | batch mean | median / floor | mean / floor | allocs |\n\
             |---|---|---|---|---|---|---|---|---|"
        );
        for e in &self.echo {
            let _ = writeln!(
                s,
                "| {} | {} B | {} B | {} | {} | {} | {} | {} | {} / {} |",
                e.wait,
                e.size,
                e.buffer,
                ns(e.summary.median),
                ns(e.summary.p99),
                ns(e.batch_mean_ns),
                ratio(e.summary.median, floor_median),
                ratio(e.batch_mean_ns, floor_mean),
                e.allocs.0,
                e.allocs.1
            );
        }
        if let Some(e) = self.echo_of("socket", 64).or(self.echo_of("socket", 1)) {
            let _ = writeln!(
                s,
                "\nOpenAMP C, 32 B with Unix-socket kicks, measured on this machine kind (not \
                 in this run): {}-{} us. Ours with the socket, {} B: median {} = {:.2}-{:.2}x C.",
                C_ECHO_US.0,
                C_ECHO_US.1,
                e.size,
                ns(e.summary.median),
                e.summary.median / 1e3 / C_ECHO_US.1,
                e.summary.median / 1e3 / C_ECHO_US.0
            );
        }
        let _ = writeln!(s, "\n![latency distribution](latency.png)\n");
        let _ = writeln!(
            s,
            "`latency.png`: share of round trips (y, 0-100%) at or below a time (x, \
             logarithmic, ns) for the floor (blue) and the echo of 64-byte payloads busy polling (red), with \
             socket kicks (green) and with eventfd kicks (orange).\n"
        );

        // 3. throughput
        let _ = writeln!(s, "## 3. One-way throughput\n");
        let _ = writeln!(
            s,
            "The host sends messages to a sink on the remote as fast as it takes them, then \
             waits for the remote to confirm it counted them all. *copy*: `send_to_timeout` \
             from a buffer, and the remote copies every payload out. *zero-copy*: \
             `alloc_tx_timeout` + `TxBuffer::write_at` (the payload written once, in place) + \
             `send_to`, and the remote reads only the first 8 bytes in place. Ratios are to \
             streaming memcpy of 4 KiB blocks ({}).\n",
            gbs(self.memcpy.streaming_4k)
        );
        let _ = writeln!(
            s,
            "| wait | payload | mode | messages | msgs/s | MB/s | / memcpy floor | allocs |\n\
             |---|---|---|---|---|---|---|---|"
        );
        for t in &self.throughput {
            let _ = writeln!(
                s,
                "| {} | {} B | {} | {} | {:.0} | {:.1} | {} | {} / {} |",
                t.wait,
                t.size,
                if t.zero_copy { "zero-copy" } else { "copy" },
                t.count,
                t.msgs_per_s,
                t.bytes_per_s / 1e6,
                ratio(t.bytes_per_s, self.memcpy.streaming_4k),
                t.allocs.0,
                t.allocs.1
            );
        }
        let flood = self
            .throughput
            .iter()
            .filter(|t| t.wait == "socket" && (t.size == 64 || t.size == 496))
            .map(|t| t.msgs_per_s)
            .fold(0.0, f64::max);
        if flood > 0.0 {
            let _ = writeln!(
                s,
                "\nOpenAMP C floods ~{:.0} msgs/s of 32 or 496 B with socket kicks (this machine \
                 kind, not this run); our best with the socket at 64/496 B: {:.0} msgs/s = {:.2}x C.",
                C_FLOOD,
                flood,
                flood / C_FLOOD
            );
        }
        let _ = writeln!(s, "\n![throughput by size](throughput.png)\n");
        let _ = writeln!(
            s,
            "`throughput.png`: MB/s (logarithmic) by payload size 1, 64, 496, 4096 B; in each \
             group the bars are busy copy (blue), busy zero-copy (red), socket copy (green), \
             socket zero-copy (orange), eventfd copy (purple), eventfd zero-copy (brown); the black line is the streaming memcpy floor.\n"
        );

        // 4. instructions
        let _ = writeln!(s, "## 4. Instructions per echo round trip (callgrind)\n");
        let _ = writeln!(s, "{}\n", self.instr_note);
        if !self.instr.is_empty() {
            let _ = writeln!(s, "| side | total | by function group |\n|---|---|---|");
            for i in &self.instr {
                let groups: Vec<String> = i
                    .groups
                    .iter()
                    .map(|(g, v)| format!("{g} {v:.0}"))
                    .collect();
                let _ = writeln!(s, "| {} | {:.0} | {} |", i.side, i.total, groups.join(", "));
            }
            let proto: f64 = self
                .instr
                .iter()
                .flat_map(|i| i.groups.iter())
                .filter(|(g, _)| g == "protocol")
                .map(|(_, v)| v)
                .sum();
            let total: f64 = self.instr.iter().map(|i| i.total).sum();
            let c = C_INSTR.0 + C_INSTR.1;
            let _ = writeln!(
                s,
                "\nOpenAMP C, protocol code only (this machine kind, not this run): host {} + \
                 remote {} = {}. Ours, protocol group: {:.0} = {:.2}x C; everything in user \
                 space: {:.0} = {:.2}x C.",
                C_INSTR.0,
                C_INSTR.1,
                c,
                proto,
                proto / c,
                total,
                total / c
            );
        }

        // 5. memcpy
        let _ = writeln!(s, "\n## 5. memcpy bandwidth\n");
        let _ = writeln!(
            s,
            "| copy | bandwidth |\n|---|---|\n| 4 KiB blocks streaming over 64 MiB | {} |\n\
             | 4 KiB block, cache-hot | {} |\n| 496-byte block, cache-hot | {} |\n",
            gbs(self.memcpy.streaming_4k),
            gbs(self.memcpy.hot_4k),
            gbs(self.memcpy.hot_496)
        );
        if !self.region_copy.is_empty() {
            let _ = writeln!(
                s,
                "Copies in and out of shared memory (`IoRegion::read_bytes`/`write_bytes`: \
                 relaxed atomic machine words, single bytes at unaligned edges, so that \
                 threads sharing a region cannot race) against memcpy between private \
                 buffers, cache-hot, 16 bytes into a memfd mapping (a payload after its \
                 header), measured in alternating slices of one run:\n\n\
                 | size | read_bytes | write_bytes | memcpy | read / memcpy | write / memcpy |\n\
                 |---|---|---|---|---|---|"
            );
            for c in &self.region_copy {
                let _ = writeln!(
                    s,
                    "| {} B | {} | {} | {} | {} | {} |",
                    c.size,
                    gbs(c.read),
                    gbs(c.write),
                    gbs(c.memcpy),
                    ratio(c.read, c.memcpy),
                    ratio(c.write, c.memcpy)
                );
            }
            let _ = writeln!(s);
        }

        // targets
        let _ = writeln!(s, "## Targets (reported, never asserted)\n");
        if let Some(e) = self.echo_of("busy", 1) {
            let _ = writeln!(
                s,
                "- Busy-poll echo round trip within 2x the floor: 1 B median {} vs floor {} = {}; \
                 batch means {} vs {} = {}.",
                ns(e.summary.median),
                ns(floor_median),
                ratio(e.summary.median, floor_median),
                ns(e.batch_mean_ns),
                ns(floor_mean),
                ratio(e.batch_mean_ns, floor_mean)
            );
        }
        if let Some(t) = self
            .throughput
            .iter()
            .find(|t| t.wait == "busy" && t.size == 496 && t.zero_copy)
        {
            let _ = writeln!(
                s,
                "- 496-byte zero-copy throughput within 2x of the memcpy floor: {:.1} MB/s vs {} \
                 streaming ({} slower) and {} for hot 496-byte copies ({} slower).",
                t.bytes_per_s / 1e6,
                gbs(self.memcpy.streaming_4k),
                ratio(self.memcpy.streaming_4k, t.bytes_per_s),
                gbs(self.memcpy.hot_496),
                ratio(self.memcpy.hot_496, t.bytes_per_s)
            );
        }
        let max_allocs = self
            .echo
            .iter()
            .map(|e| e.allocs.0.max(e.allocs.1))
            .chain(self.throughput.iter().map(|t| t.allocs.0.max(t.allocs.1)))
            .fold(0.0, f64::max);
        let _ = writeln!(
            s,
            "- No heap allocation on the message path: at most {max_allocs} allocations per \
             message on either side, in every echo and throughput run (counted by a counting \
             global allocator)."
        );
        s
    }

    /// The results as JSON.
    pub fn json(&self) -> String {
        let m = &self.machine;
        let mut s = String::from("{\n");
        let _ = writeln!(
            s,
            "  \"machine\": {{\"cpus\": {}, \"model\": {}, \"kernel\": {}, \"pinned\": {}, \"date\": {}, \"quick\": {}, \"revision\": {}}},",
            m.cpus,
            quote(&m.model),
            quote(&m.kernel),
            m.pinned
                .map_or("null".into(), |(h, r)| format!("[{h}, {r}]")),
            quote(&m.date),
            m.quick,
            quote(&m.revision)
        );
        match &self.floor {
            Some(f) => {
                let _ = writeln!(
                    s,
                    "  \"floor_round_trip_ns\": {{{}, \"batch_mean\": {:.1}}},",
                    summary_json(&f.summary),
                    f.batch_mean_ns
                );
            }
            None => s.push_str("  \"floor_round_trip_ns\": null,\n"),
        }
        let floor_median = self.floor.as_ref().map_or(0.0, |f| f.summary.median);
        let floor_mean = self.floor.as_ref().map_or(0.0, |f| f.batch_mean_ns);
        let echo: Vec<String> = self
            .echo
            .iter()
            .map(|e| {
                format!(
                    "    {{\"wait\": {}, \"payload\": {}, \"buffer\": {}, \"round_trip_ns\": {{{}, \"batch_mean\": {:.1}}}, \
                     \"median_over_floor\": {:.3}, \"mean_over_floor\": {:.3}, \"allocs_per_round_trip\": {{\"host\": {}, \"remote\": {}}}}}",
                    quote(&e.wait),
                    e.size,
                    e.buffer,
                    summary_json(&e.summary),
                    e.batch_mean_ns,
                    e.summary.median / floor_median.max(f64::MIN_POSITIVE),
                    e.batch_mean_ns / floor_mean.max(f64::MIN_POSITIVE),
                    e.allocs.0,
                    e.allocs.1
                )
            })
            .collect();
        let _ = writeln!(s, "  \"echo\": [\n{}\n  ],", echo.join(",\n"));
        let tput: Vec<String> = self
            .throughput
            .iter()
            .map(|t| {
                format!(
                    "    {{\"wait\": {}, \"payload\": {}, \"zero_copy\": {}, \"messages\": {}, \"msgs_per_s\": {:.0}, \
                     \"bytes_per_s\": {:.0}, \"over_memcpy_floor\": {:.4}, \"allocs_per_message\": {{\"host\": {}, \"remote\": {}}}}}",
                    quote(&t.wait),
                    t.size,
                    t.zero_copy,
                    t.count,
                    t.msgs_per_s,
                    t.bytes_per_s,
                    t.bytes_per_s / self.memcpy.streaming_4k.max(f64::MIN_POSITIVE),
                    t.allocs.0,
                    t.allocs.1
                )
            })
            .collect();
        let _ = writeln!(s, "  \"throughput\": [\n{}\n  ],", tput.join(",\n"));
        let instr: Vec<String> = self
            .instr
            .iter()
            .map(|i| {
                let g: Vec<String> = i
                    .groups
                    .iter()
                    .map(|(n, v)| format!("{}: {v:.1}", quote(n)))
                    .collect();
                format!(
                    "    {{\"side\": {}, \"total\": {:.1}, \"groups\": {{{}}}}}",
                    quote(&i.side),
                    i.total,
                    g.join(", ")
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "  \"instructions_per_round_trip\": [\n{}\n  ],\n  \"instructions_note\": {},",
            instr.join(",\n"),
            quote(&self.instr_note)
        );
        let _ = writeln!(
            s,
            "  \"memcpy_bytes_per_s\": {{\"streaming_4k\": {:.0}, \"hot_4k\": {:.0}, \"hot_496\": {:.0}}},",
            self.memcpy.streaming_4k, self.memcpy.hot_4k, self.memcpy.hot_496
        );
        let copies: Vec<String> = self
            .region_copy
            .iter()
            .map(|c| {
                let over = |v: f64| v / c.memcpy.max(f64::MIN_POSITIVE);
                format!(
                    "    {{\"size\": {}, \"read_bytes\": {:.0}, \"write_bytes\": {:.0}, \"memcpy\": {:.0}, \
                     \"read_over_memcpy\": {:.4}, \"write_over_memcpy\": {:.4}}}",
                    c.size,
                    c.read,
                    c.write,
                    c.memcpy,
                    over(c.read),
                    over(c.write)
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "  \"region_copy_bytes_per_s\": [\n{}\n  ],",
            copies.join(",\n")
        );
        let _ = writeln!(
            s,
            "  \"c_reference\": {{\"note\": \"OpenAMP C on this machine kind, not this run\", \"echo_us\": [{}, {}], \
             \"flood_msgs_per_s\": {}, \"instructions\": {{\"host\": {}, \"remote\": {}}}}}",
            C_ECHO_US.0, C_ECHO_US.1, C_FLOOD, C_INSTR.0, C_INSTR.1
        );
        s.push_str("}\n");
        s
    }

    /// Draws the latency distribution (CDF) plot.
    pub fn latency_plot(&self) -> Canvas {
        let mut series: Vec<&[u64]> = Vec::new();
        if let Some(f) = &self.floor {
            series.push(&f.cdf);
        }
        for w in ["busy", "socket", "eventfd"] {
            if let Some(e) = self.echo_of(w, 64) {
                series.push(&e.cdf);
            }
        }
        let (w, h, left, bottom, top, right) = (900i64, 500i64, 60i64, 40i64, 20i64, 20i64);
        let mut c = Canvas::new(w as usize, h as usize);
        let all = series.iter().flat_map(|s| s.iter().copied());
        let lo = all.clone().min().unwrap_or(10).max(1) as f64;
        let hi = all.max().unwrap_or(1000).max(2) as f64;
        let x = Axis {
            min: 10f64.powf(lo.log10().floor()),
            max: 10f64.powf(hi.log10().ceil()),
            log: true,
        };
        let px = |v: f64| left + (x.frac(v) * (w - left - right) as f64) as i64;
        let py = |f: f64| h - bottom - (f * (h - bottom - top) as f64) as i64;
        for t in x.ticks() {
            c.line((px(t), top), (px(t), h - bottom), 1, GRID);
            c.text(px(t) - 8, h - bottom + 8, &time_label(t), 2, BLACK);
        }
        for q in [0.0, 0.25, 0.5, 0.75, 1.0] {
            c.line((left, py(q)), (w - right, py(q)), 1, GRID);
            c.text(4, py(q) - 5, &format!("{:.0}%", q * 100.0), 2, BLACK);
        }
        c.line((left, top), (left, h - bottom), 2, BLACK);
        c.line((left, h - bottom), (w - right, h - bottom), 2, BLACK);
        for (i, s) in series.iter().enumerate() {
            let n = s.len();
            let mut last = None;
            for (k, &v) in s.iter().enumerate() {
                let p = (px(v as f64), py((k + 1) as f64 / n as f64));
                if let Some(l) = last {
                    c.line(l, p, 2, PALETTE[i % PALETTE.len()]);
                }
                last = Some(p);
            }
        }
        c
    }

    /// Draws throughput (MB/s) by payload size.
    pub fn throughput_plot(&self) -> Canvas {
        let sizes = [1usize, 64, 496, 4096];
        let kinds: Vec<(&str, bool)> = ["busy", "socket", "eventfd"]
            .iter()
            .flat_map(|w| [(*w, false), (*w, true)])
            .collect();
        let (w, h, left, bottom, top, right) = (900i64, 500i64, 70i64, 40i64, 20i64, 20i64);
        let mut c = Canvas::new(w as usize, h as usize);
        let vals = self.throughput.iter().map(|t| t.bytes_per_s / 1e6);
        let hi = vals
            .clone()
            .fold(self.memcpy.streaming_4k / 1e6, f64::max)
            .max(1.0);
        let lo = vals.fold(hi, f64::min).max(1e-3);
        let y = Axis {
            min: 10f64.powf(lo.log10().floor()),
            max: 10f64.powf(hi.log10().ceil()),
            log: true,
        };
        let py = |v: f64| h - bottom - (y.frac(v) * (h - bottom - top) as f64) as i64;
        for t in y.ticks() {
            c.line((left, py(t)), (w - right, py(t)), 1, GRID);
            let label = if t >= 1000.0 {
                format!("{}GB", short(t / 1000.0))
            } else {
                format!("{}MB", short(t))
            };
            c.text(4, py(t) - 5, &label, 2, BLACK);
        }
        let group = (w - left - right) / sizes.len() as i64;
        let bar = (group - 20) / kinds.len() as i64;
        for (gi, &size) in sizes.iter().enumerate() {
            let gx = left + gi as i64 * group + 10;
            c.text(
                gx + group / 2 - 20,
                h - bottom + 8,
                &format!("{size}B"),
                2,
                BLACK,
            );
            for (ki, &(wait, zc)) in kinds.iter().enumerate() {
                let Some(t) = self
                    .throughput
                    .iter()
                    .find(|t| t.wait == wait && t.size == size && t.zero_copy == zc)
                else {
                    continue;
                };
                let x0 = gx + ki as i64 * bar;
                c.rect(
                    x0,
                    py(t.bytes_per_s / 1e6),
                    x0 + bar - 3,
                    h - bottom,
                    PALETTE[ki % PALETTE.len()],
                );
            }
        }
        let floor = py(self.memcpy.streaming_4k / 1e6);
        c.line((left, floor), (w - right, floor), 2, BLACK);
        c.line((left, top), (left, h - bottom), 2, BLACK);
        c.line((left, h - bottom), (w - right, h - bottom), 2, BLACK);
        c
    }

    /// Writes report.md, report.json, latency.png and throughput.png into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let w = |name: &str, data: &[u8]| {
            let p = dir.join(name);
            std::fs::write(&p, data).map_err(|e| format!("writing {}: {e}", p.display()))
        };
        w("report.md", self.markdown().as_bytes())?;
        w("report.json", self.json().as_bytes())?;
        w("latency.png", &self.latency_plot().png())?;
        w("throughput.png", &self.throughput_plot().png())?;
        Ok(())
    }
}

/// "100ns", "1us", "10ms": a tick label for a time in ns.
fn time_label(t: f64) -> String {
    if t >= 1e6 {
        format!("{}ms", short(t / 1e6))
    } else if t >= 1e3 {
        format!("{}us", short(t / 1e3))
    } else {
        format!("{}ns", short(t))
    }
}

fn summary_json(s: &Summary) -> String {
    format!(
        "\"n\": {}, \"min\": {:.1}, \"median\": {:.1}, \"p99\": {:.1}, \"max\": {:.1}, \"mean\": {:.1}",
        s.n, s.min, s.median, s.p99, s.max, s.mean
    )
}

/// A JSON string literal.
fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}
