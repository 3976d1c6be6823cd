//! Host tests of the cache maintenance plan (`src/arch/cache/plan.rs`, the
//! pure part of `CoreCache`): which lines each level cleans or invalidates,
//! and in which order, for the machines' line sizes: Cortex-A9 L1 and PL310
//! L2 both 32 bytes (Zynq-7000), Cortex-R5 L1 32 bytes and no outer cache we
//! maintain, Cortex-A53 64 bytes (by VA to the point of coherency, one level).

#[allow(dead_code)]
#[path = "../src/arch/cache/plan.rs"]
mod plan;

use plan::{steps, Level, Op, Step};

const A9: (usize, Option<usize>) = (32, Some(32));
const R5: (usize, Option<usize>) = (32, None);
const A53: (usize, Option<usize>) = (64, None);

fn plan(op: Op, addr: usize, len: usize, (inner, outer): (usize, Option<usize>)) -> Vec<Step> {
    steps(op, addr, len, inner, outer).collect()
}

fn at(level: Level, op: Op, line: usize) -> Step {
    Step { level, op, line }
}

use Level::{Inner, Outer};
use Op::{Clean, CleanInvalidate, Invalidate};

#[test]
fn a9_invalidate_cleans_both_partial_edges_in_l2_too() {
    // 0x1010..0x1050: half of 0x1000, all of 0x1020, half of 0x1040. The
    // PL310 step used to get the start rounded down to the L1 line (0x1000)
    // and invalidated that line, dropping dirty bytes 0x1000..0x1010.
    let edges = |level| {
        vec![
            at(level, CleanInvalidate, 0x1000),
            at(level, Invalidate, 0x1020),
            at(level, CleanInvalidate, 0x1040),
        ]
    };
    let want: Vec<Step> = edges(Outer).into_iter().chain(edges(Inner)).collect();
    assert_eq!(plan(Invalidate, 0x1010, 0x40, A9), want);
}

#[test]
fn a9_invalidate_goes_outer_first_and_clean_inner_first() {
    let inv = plan(Invalidate, 0x2000, 0x40, A9);
    assert_eq!(
        inv,
        vec![
            at(Outer, Invalidate, 0x2000),
            at(Outer, Invalidate, 0x2020),
            at(Inner, Invalidate, 0x2000),
            at(Inner, Invalidate, 0x2020),
        ]
    );
    let clean = plan(Clean, 0x2004, 0x40, A9);
    assert_eq!(
        clean,
        vec![
            at(Inner, Clean, 0x2000),
            at(Inner, Clean, 0x2020),
            at(Inner, Clean, 0x2040),
            at(Outer, Clean, 0x2000),
            at(Outer, Clean, 0x2020),
            at(Outer, Clean, 0x2040),
        ]
    );
}

#[test]
fn a_range_inside_one_line_cleans_it() {
    for m in [A9, R5, A53] {
        let p = plan(Invalidate, 0x3004, 8, m);
        assert!(p
            .iter()
            .all(|s| s.op == CleanInvalidate && s.line == 0x3000));
        assert_eq!(p.len(), if m.1.is_some() { 2 } else { 1 });
    }
}

#[test]
fn only_the_partial_end_is_cleaned() {
    // Aligned start, end in the middle of a line.
    assert_eq!(
        plan(Invalidate, 0x4000, 0x30, R5),
        vec![
            at(Inner, Invalidate, 0x4000),
            at(Inner, CleanInvalidate, 0x4020),
        ]
    );
    // Unaligned start, aligned end.
    assert_eq!(
        plan(Invalidate, 0x4008, 0x38, R5),
        vec![
            at(Inner, CleanInvalidate, 0x4000),
            at(Inner, Invalidate, 0x4020),
        ]
    );
}

#[test]
fn a53_lines_are_64_bytes_and_one_level() {
    assert_eq!(
        plan(Invalidate, 0x5020, 0x80, A53),
        vec![
            at(Inner, CleanInvalidate, 0x5000),
            at(Inner, Invalidate, 0x5040),
            at(Inner, CleanInvalidate, 0x5080),
        ]
    );
}

#[test]
fn an_outer_line_larger_than_the_inner_one_decides_its_own_edges() {
    // L1 32, L2 64: 0x6020..0x6060 is whole L1 lines but half of each L2 line.
    let p = plan(Invalidate, 0x6020, 0x40, (32, Some(64)));
    assert_eq!(
        p,
        vec![
            at(Outer, CleanInvalidate, 0x6000),
            at(Outer, CleanInvalidate, 0x6040),
            at(Inner, Invalidate, 0x6020),
            at(Inner, Invalidate, 0x6040),
        ]
    );
}

#[test]
fn nothing_for_an_empty_range() {
    for op in [Clean, Invalidate] {
        assert!(plan(op, 0x1234, 0, A9).is_empty());
    }
}

#[test]
fn the_top_of_the_address_space_does_not_overflow() {
    let p = plan(Invalidate, usize::MAX - 40, 100, A9);
    let last = usize::MAX & !31;
    assert_eq!(p.last(), Some(&at(Inner, CleanInvalidate, last)));
    assert_eq!(p.len(), 4);
}

/// Every byte of the range is covered at every level, each line once and
/// in address order, and a line is invalidated without a clean only when it
/// lies wholly inside the range; a clean stays a clean. All ranges of up to
/// four lines at every offset in a line, for every machine.
#[test]
#[cfg_attr(miri, ignore = "pure arithmetic, 130 000 plans: too slow to interpret")]
fn every_range_is_covered_and_no_outside_byte_is_discarded() {
    for m in [A9, R5, A53, (32, Some(64))] {
        for addr in 0x8000..0x8000 + 64 {
            for len in 0..=256 {
                for op in [Clean, Invalidate] {
                    let p = plan(op, addr, len, m);
                    for level in [Inner, Outer] {
                        let size = match level {
                            Inner => m.0,
                            Outer => match m.1 {
                                Some(s) => s,
                                None => continue,
                            },
                        };
                        let lines: Vec<_> = p.iter().filter(|s| s.level == level).collect();
                        let mut expect = addr & !(size - 1);
                        for s in &lines {
                            assert_eq!(s.line, expect, "{m:?} {addr:#x}+{len} {op:?}");
                            expect += size;
                            let inside = s.line >= addr && s.line + size <= addr + len;
                            match op {
                                Clean => assert_eq!(s.op, Clean),
                                _ => assert_eq!(
                                    s.op,
                                    if inside { Invalidate } else { CleanInvalidate },
                                    "{m:?} {addr:#x}+{len} line {:#x}",
                                    s.line
                                ),
                            }
                        }
                        if len > 0 {
                            assert!(expect >= addr + len, "range not covered");
                        } else {
                            assert!(lines.is_empty());
                        }
                    }
                    // Levels in order, and never interleaved.
                    let levels: Vec<_> = p.iter().map(|s| s.level).collect();
                    let first = plan::order(op)[0];
                    let switch = levels.iter().position(|&l| l != first);
                    if let Some(i) = switch {
                        assert!(levels[i..].iter().all(|&l| l != first));
                    }
                }
            }
        }
    }
}
