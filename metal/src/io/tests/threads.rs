//! Two threads sharing one region through the safe API. Under Miri these are
//! the data-race checks: each test races two threads on the same bytes, and
//! repeats the race so that one run of the suite sees many interleavings
//! (Miri's scheduler draws a different one each round).

use super::*;
use std::thread;

/// Rounds of each race: every round is a fresh pair of threads.
const ROUNDS: usize = if cfg!(miri) { 16 } else { 200 };
/// Copies each thread makes per round.
const COPIES: usize = if cfg!(miri) { 3 } else { 200 };

/// A range with an unaligned start and end, so that the copies run through
/// both their byte edges and their word-sized middle.
const AT: usize = 3;
const LEN: usize = 37;

/// Every byte of `got` is one of the values written over the range: copies
/// may tear between words, but never produce a byte nobody wrote.
fn assert_each_byte_from(got: &[u8], values: &[u8]) {
    for (i, b) in got.iter().enumerate() {
        assert!(
            values.contains(b),
            "byte {i} is {b:#x}, not one of {values:x?}"
        );
    }
}

#[test]
fn write_bytes_against_read_bytes() {
    for _ in 0..ROUNDS {
        let mut b = Backing([0; 64]);
        let r = IoRegion::from_slice(&mut b.0);
        thread::scope(|s| {
            s.spawn(|| {
                for i in 0..COPIES {
                    r.write_bytes(AT, &[(i % 2) as u8 + 1; LEN]).unwrap();
                }
            });
            s.spawn(|| {
                let mut got = [0u8; LEN];
                for _ in 0..COPIES {
                    r.read_bytes(AT, &mut got).unwrap();
                    assert_each_byte_from(&got, &[0, 1, 2]);
                }
            });
        });
    }
}

#[test]
fn fill_against_read_bytes_and_write_bytes() {
    for _ in 0..ROUNDS {
        let mut b = Backing([0; 64]);
        let r = IoRegion::from_slice(&mut b.0);
        thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..COPIES {
                    r.fill(AT, LEN, 0xaa).unwrap();
                }
            });
            s.spawn(|| {
                let mut got = [0u8; LEN];
                for _ in 0..COPIES {
                    r.read_bytes(AT, &mut got).unwrap();
                    assert_each_byte_from(&got, &[0, 0xaa, 0x55]);
                    r.write_bytes(AT, &[0x55; LEN]).unwrap();
                }
            });
        });
    }
}

#[test]
fn copy_within_against_writes_at_both_ends() {
    // Source and destination are not aligned alike, so the copy cannot be
    // one word loop over both. They do not overlap here: a racing access
    // must cover the same bytes as the copy's own (see the module docs);
    // overlapping moves are tested on one thread in `copy`.
    const SRC: usize = AT;
    const DST: usize = 40;
    const N: usize = 21;
    for _ in 0..ROUNDS {
        let mut b = Backing([0; 64]);
        let r = IoRegion::from_slice(&mut b.0);
        thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..COPIES {
                    r.copy_within(SRC, DST, N).unwrap();
                    r.copy_within(DST, SRC, N).unwrap();
                }
            });
            s.spawn(|| {
                let mut got = [0u8; N];
                for i in 0..COPIES {
                    r.write_bytes(SRC, &[(i % 2) as u8 + 1; N]).unwrap();
                    r.read_bytes(DST, &mut got).unwrap();
                    assert_each_byte_from(&got, &[0, 1, 2]);
                }
            });
        });
    }
}

#[test]
fn typed_writes_against_typed_reads_of_the_same_width() {
    for _ in 0..ROUNDS {
        let mut b = Backing([0; 64]);
        let r = IoRegion::from_slice(&mut b.0);
        thread::scope(|s| {
            s.spawn(|| {
                for i in 0..COPIES as u32 {
                    r.write_u32(8, i).unwrap();
                    r.write_u8(1, i as u8).unwrap();
                    r.write_u64(16, u64::from(i) << 32 | u64::from(i)).unwrap();
                }
            });
            s.spawn(|| {
                for _ in 0..COPIES {
                    assert!(r.read_u32(8).unwrap() < COPIES as u32);
                    assert!(usize::from(r.read_u8(1).unwrap()) < COPIES);
                    let w = r.read_u64(16).unwrap();
                    assert!(w >> 32 < COPIES as u64 && w as u32 as usize <= COPIES);
                }
            });
        });
    }
}

/// What the rings do: one side copies a message into a buffer and publishes
/// it with a release store of an index; the other acquires the index and
/// reads the buffer, here with other widths and edges than the writer's.
/// Accesses of different sizes to the same bytes are fine in Rust's model
/// when one happens before the other, and the index pair makes it so.
#[test]
fn index_hand_off_orders_copies_of_different_widths() {
    const IDX: usize = 0;
    const BUF: usize = 8;
    for _ in 0..ROUNDS {
        let mut b = Backing([0; 64]);
        let r = IoRegion::from_slice(&mut b.0);
        thread::scope(|s| {
            s.spawn(|| {
                let msg: [u8; 21] = core::array::from_fn(|i| i as u8 + 1);
                r.write_bytes(BUF, &msg).unwrap();
                r.store_u16(IDX, 1, Release).unwrap();
            });
            s.spawn(|| {
                while r.load_u16(IDX, Acquire).unwrap() == 0 {
                    thread::yield_now();
                }
                assert_eq!(r.read_u32(BUF).unwrap(), 0x0403_0201);
                let mut tail = [0u8; 9];
                r.read_bytes(BUF + 12, &mut tail).unwrap();
                assert_eq!(tail, [13, 14, 15, 16, 17, 18, 19, 20, 21]);
                // The reader may then reuse the buffer, after the writer's copy.
                r.fill(BUF, 21, 0).unwrap();
            });
        });
    }
}

/// What the rings do over time: one location written with different widths
/// and extents, each write ordered after the last (here by program order,
/// then by a thread hand-off). Rust's model allows it; the Miri we run
/// panics on it unless IoRegion's stores are swaps under Miri (see the
/// module docs), so this is the regression test of that work-around.
#[test]
fn one_location_written_with_different_widths_in_turn() {
    let mut b = Backing([0; 64]);
    let r = IoRegion::from_slice(&mut b.0);
    let check = |r: IoRegion<'_>| {
        r.fill(0, 64, 0).unwrap(); // words
        r.store_u16(2, 7, Release).unwrap(); // part of the first word
        r.write_u32(4, 9).unwrap();
        r.write_u64(0, u64::MAX).unwrap();
        r.write_bytes(8, &[1; 21]).unwrap(); // two words, five bytes
        r.write_bytes(8, &[2; 40]).unwrap(); // five words over those bytes
        r.write_u8(29, 3).unwrap();
        r.store_u8(30, 4, Release).unwrap();
        r.copy_within(0, 33, 20).unwrap();
        let mut got = [0u8; 64];
        r.read_bytes(0, &mut got).unwrap();
        assert_eq!(got[29..31], [3, 4]);
        assert_eq!(got[33..41], [0xff; 8]);
    };
    check(r);
    thread::scope(|s| {
        s.spawn(|| check(r));
    });
    check(r);
}
