//! Block copies made of relaxed atomic accesses, for memory that another
//! thread or core may access at the same time.
//!
//! Each copy is split by address alone: a byte-wide head up to the first
//! word boundary, the whole aligned machine words (`AtomicUsize`), and a
//! byte-wide tail (`AtomicU8`). Two copies over the same range therefore
//! make exactly the same accesses, whoever runs them. A relaxed atomic load
//! or store of a word is the same `mov`/`ldr`/`str` as a plain one; what it
//! gives up is that the compiler may not merge accesses into vector moves.
//!
//! All functions take raw pointers into the shared memory and never form a
//! reference to it other than the transient `&Atomic*` of one access.

use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering::Relaxed};

/// The width of the middle accesses.
const WORD: usize = core::mem::size_of::<usize>();

/// How `len` bytes at `addr` split into (head bytes, whole words, tail bytes).
fn split(addr: usize, len: usize) -> (usize, usize, usize) {
    // Bytes from `addr` up to the next word boundary (0 if already there).
    let head = addr.wrapping_neg() % WORD;
    if head >= len {
        return (len, 0, 0);
    }
    let rest = len - head;
    (head, rest / WORD, rest % WORD)
}

/// One relaxed atomic byte load.
///
/// # Safety
/// `p` is valid for reads and writes, and Rust code accesses it only
/// atomically while others may (the contract of the `pub(crate)` functions).
#[inline(always)]
unsafe fn load_u8(p: *const u8) -> u8 {
    // SAFETY: `AtomicU8` has the size and alignment of `u8`; `p` is valid
    // (caller). The reference lives for this one load.
    unsafe { AtomicU8::from_ptr(p.cast_mut()) }.load(Relaxed)
}

/// One relaxed atomic byte store.
///
/// # Safety
/// As for [`load_u8`].
#[inline(always)]
unsafe fn store_u8(p: *mut u8, v: u8) {
    // SAFETY: as in `load_u8`.
    atomic_store!(unsafe { AtomicU8::from_ptr(p) }, v, Relaxed)
}

/// One relaxed atomic word load.
///
/// # Safety
/// As for [`load_u8`], and `p` is aligned to a word.
#[inline(always)]
unsafe fn load_word(p: *const usize) -> usize {
    // SAFETY: `AtomicUsize` has the size and alignment of `usize`, `p` is
    // aligned and valid (caller). The reference lives for this one load.
    unsafe { AtomicUsize::from_ptr(p.cast_mut()) }.load(Relaxed)
}

/// One relaxed atomic word store.
///
/// # Safety
/// As for [`load_word`].
#[inline(always)]
unsafe fn store_word(p: *mut usize, v: usize) {
    // SAFETY: as in `load_word`.
    atomic_store!(unsafe { AtomicUsize::from_ptr(p) }, v, Relaxed)
}

/// Copies `dst.len()` bytes from shared memory at `src` into `dst`.
///
/// # Safety
/// `src..src + dst.len()` is valid for reads and writes for the duration of
/// the call, and Rust code touches it only with atomic accesses meanwhile.
pub(crate) unsafe fn load(src: *const u8, dst: &mut [u8]) {
    let len = dst.len();
    let (head, _, _) = split(src as usize, len);
    // Splitting by `chunks_exact` leaves no bounds check (and no panic) in
    // the loop; `head <= len` by `split`.
    let (dst_head, rest) = dst.split_at_mut(head);
    for (i, d) in dst_head.iter_mut().enumerate() {
        // SAFETY: `i < head <= len`: inside the source range (caller).
        *d = unsafe { load_u8(src.add(i)) };
    }
    // SAFETY: `head <= len`, so this stays inside (or one past) the range;
    // it is word-aligned whenever a whole word follows, by `split`.
    let src_words = unsafe { src.add(head) }.cast::<usize>();
    let mut words = rest.chunks_exact_mut(WORD);
    for (i, d) in words.by_ref().enumerate() {
        // SAFETY: word `i` lies inside the range (it is a whole chunk of
        // the rest) and is aligned.
        let w = unsafe { load_word(src_words.add(i)) };
        d.copy_from_slice(&w.to_ne_bytes());
    }
    let dst_tail = words.into_remainder();
    // SAFETY: the tail is the last `dst_tail.len() <= len` bytes.
    let src_tail = unsafe { src.add(len - dst_tail.len()) };
    for (i, d) in dst_tail.iter_mut().enumerate() {
        // SAFETY: `i < tail`: inside the range.
        *d = unsafe { load_u8(src_tail.add(i)) };
    }
}

/// Copies `src` into shared memory at `dst`.
///
/// # Safety
/// As for [`load`], for `dst..dst + src.len()`.
pub(crate) unsafe fn store(dst: *mut u8, src: &[u8]) {
    let len = src.len();
    let (head, _, _) = split(dst as usize, len);
    let (src_head, rest) = src.split_at(head);
    for (i, s) in src_head.iter().enumerate() {
        // SAFETY: `i < head <= len`: inside the destination range (caller).
        unsafe { store_u8(dst.add(i), *s) };
    }
    // SAFETY: as in `load`.
    let dst_words = unsafe { dst.add(head) }.cast::<usize>();
    let mut words = rest.chunks_exact(WORD);
    for (i, s) in words.by_ref().enumerate() {
        let mut w = [0u8; WORD];
        w.copy_from_slice(s);
        // SAFETY: word `i` lies inside the range and is aligned, as in `load`.
        unsafe { store_word(dst_words.add(i), usize::from_ne_bytes(w)) };
    }
    let src_tail = words.remainder();
    // SAFETY: the tail is the last `src_tail.len() <= len` bytes.
    let dst_tail = unsafe { dst.add(len - src_tail.len()) };
    for (i, s) in src_tail.iter().enumerate() {
        // SAFETY: `i < tail`: inside the range.
        unsafe { store_u8(dst_tail.add(i), *s) };
    }
}

/// Sets `len` bytes of shared memory at `dst` to `value`.
///
/// # Safety
/// As for [`load`], for `dst..dst + len`.
pub(crate) unsafe fn fill(dst: *mut u8, len: usize, value: u8) {
    let (head, words, tail) = split(dst as usize, len);
    for i in 0..head {
        // SAFETY: `i < head <= len`: inside the range (caller).
        unsafe { store_u8(dst.add(i), value) };
    }
    // SAFETY: as in `load`.
    let dst_words = unsafe { dst.add(head) }.cast::<usize>();
    let w = usize::from_ne_bytes([value; WORD]);
    for i in 0..words {
        // SAFETY: word `i < words` lies inside the range and is aligned.
        unsafe { store_word(dst_words.add(i), w) };
    }
    // SAFETY: the tail starts inside (or one past) the range.
    let dst_tail = unsafe { dst.add(head + words * WORD) };
    for i in 0..tail {
        // SAFETY: `i < tail`: inside the range.
        unsafe { store_u8(dst_tail.add(i), value) };
    }
}

/// Copies `len` bytes from `src` to `dst`, both in shared memory; the ranges
/// may overlap.
///
/// The bytes go through a buffer on the stack, a chunk at a time, so that
/// each side is split by its own alignment (source and destination need not
/// be aligned alike). Chunks are taken from the end that the destination
/// does not overwrite before it is read, as `memmove` does.
///
/// # Safety
/// As for [`load`], for both `src..src + len` and `dst..dst + len`.
pub(crate) unsafe fn copy_within(src: *const u8, dst: *mut u8, len: usize) {
    const CHUNK: usize = 256;
    let mut buf = [0u8; CHUNK];
    let forward = (dst as usize) <= (src as usize);
    let mut done = 0;
    while done < len {
        let n = CHUNK.min(len - done);
        // Forward: chunks from the start; backward: from the end.
        let at = if forward { done } else { len - done - n };
        // SAFETY: `at + n <= len`, so both chunks are inside their ranges
        // (caller). Each chunk is read whole into `buf` before it is
        // written, and no write reaches source bytes still to be read:
        // forward (`dst <= src`) this write ends at `dst + at + n <=
        // src + at + n`, where the next read begins; backward (`dst > src`)
        // it begins at `dst + at > src + at`, where the next read ends.
        unsafe {
            load(src.add(at), &mut buf[..n]);
            store(dst.add(at), &buf[..n]);
        }
        done += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_by_address() {
        let w = WORD;
        assert_eq!(split(0, 0), (0, 0, 0));
        assert_eq!(split(w, 3 * w), (0, 3, 0));
        assert_eq!(split(1, 2), (2, 0, 0), "short range inside one word");
        assert_eq!(split(1, w - 1), (w - 1, 0, 0), "exactly up to the boundary");
        assert_eq!(split(1, 2 * w + 3), (w - 1, 1, 4));
        assert_eq!(split(w - 1, w), (1, 0, w - 1));
    }

    /// Every start and length inside a small window, against a plain copy.
    #[test]
    fn every_alignment_and_length() {
        #[repr(C, align(16))]
        struct A([u8; 48]);
        let pattern: [u8; 48] = core::array::from_fn(|i| i as u8 ^ 0xa5);
        let max_len = if cfg!(miri) { 20 } else { 40 };
        for at in 0..8 {
            for len in 0..max_len {
                let mut mem = A([0; 48]);
                let p = mem.0.as_mut_ptr();
                // SAFETY: `at + len <= 48`, inside `mem`, which only this
                // thread touches, and only through these functions.
                unsafe {
                    store(p.add(at), &pattern[..len]);
                    let mut got = [0u8; 48];
                    load(p.add(at), &mut got[..len]);
                    assert_eq!(got[..len], pattern[..len], "at {at} len {len}");
                    fill(p.add(at), len, 7);
                }
                let mut expect = [0u8; 48];
                expect[at..at + len].fill(7);
                assert_eq!(mem.0, expect, "fill at {at} len {len}");
            }
        }
    }

    #[test]
    fn copy_within_either_direction_across_chunks() {
        const N: usize = 700;
        let shifts: &[isize] = if cfg!(miri) {
            &[-3, 5]
        } else {
            &[-300, -9, -1, 1, 8, 13, 299]
        };
        for &shift in shifts {
            let mut mem: std::vec::Vec<u8> = (0..N + 600).map(|i| i as u8).collect();
            let mut expect = mem.clone();
            let src = 300usize;
            let dst = src.wrapping_add_signed(shift);
            let len = N - 100;
            expect.copy_within(src..src + len, dst);
            let p = mem.as_mut_ptr();
            // SAFETY: both ranges are inside `mem`, which only this thread
            // touches, and only through this function.
            unsafe { copy_within(p.add(src), p.add(dst), len) };
            assert_eq!(mem, expect, "shift {shift}");
        }
    }
}
